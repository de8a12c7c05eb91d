"""Answer prompts (`kind: answer` in `prompts/`): the rules every prompt that writes a user's answer
keeps, and how its messages are built. `KnowledgePrompt` is what every prompt that shows the model the
retrieved knowledge shares (the choice prompts of choice_prompts.py too).

An answer prompt holds the system template (the rules, with a `${canary}` placeholder and the user's
`${language_name}`), the user template (the retrieved knowledge and the question, each inside its own
tags, marked as data rather than instructions), the template of one FAQ entry and, from version 2 on,
the template of one passage of a document (its id, document title, section path, page and text). A
prompt without a passage template shows a passage as an FAQ entry whose question is its document and
section, so older prompt versions still get passages only as data.

What goes into the tags is escaped (`<`, `>`, `&`; quotes too inside attributes), so neither a user nor
a FAQ entry nor an imported document can close a tag and write outside the data section. The canary
appears in the system message only, so finding it in an output proves a leak.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import ClassVar, Literal

from pydantic import model_validator

from helpdesk.events import Language
from helpdesk.llm.port import ChatMessage
from helpdesk.llm.prompts import Prompt, PromptLibrary, placeholders

ANSWER_KIND = "answer"

LANGUAGE_NAMES: dict[Language, dict[Language, str]] = {
    Language.EN: {Language.EN: "English", Language.JA: "Japanese"},
    Language.JA: {Language.EN: "英語", Language.JA: "日本語"},
}
"""How a prompt written in one language names the user's language."""

_REQUIRED = {
    "system": {"canary", "language_name"},
    "user": {"faq_context", "question"},
    "faq_entry": {"id", "question", "answer"},
    "passage": {"id", "title", "text"},
}
_ALLOWED = {
    "canary",
    "language_name",
    "faq_context",
    "question",
    "id",
    "answer",
    "title",
    "section",
    "page",
    "text",
}
SECTION_SEPARATOR = " › "


@dataclass(frozen=True, slots=True)
class FaqContext:
    """One retrieved FAQ entry handed to the model; `id` is what the answer must cite."""

    id: str
    question: str
    answer: str

    @property
    def data(self) -> tuple[str, ...]:
        """The texts shown to the model as data (which an answer may quote)."""
        return (self.question, self.answer)


@dataclass(frozen=True, slots=True)
class PassageContext:
    """One retrieved passage of a document handed to the model, as quoted data; `id` is what the
    answer must cite."""

    id: str
    title: str
    text: str
    section: tuple[str, ...] = ()
    page: int | None = None

    @property
    def data(self) -> tuple[str, ...]:
        return (self.title, *self.section, self.text)

    @property
    def heading(self) -> str:
        return SECTION_SEPARATOR.join(dict.fromkeys((self.title, *self.section)))


KnowledgeContext = FaqContext | PassageContext


class KnowledgePrompt(Prompt):
    """A prompt that shows the model the retrieved FAQ entries and passages, escaped, as data inside
    tags, with the canary in the system message only. Subclasses say which placeholders each part
    needs (`required`)."""

    required: ClassVar[dict[str, set[str]]] = _REQUIRED
    faq_entry: str

    @model_validator(mode="after")
    def _templates(self) -> KnowledgePrompt:
        for part, needed in self.required.items():
            template = getattr(self, part)
            if template is None:
                continue
            found = placeholders(template)
            if missing := needed - found:
                raise ValueError(f"{part} lacks {sorted(missing)}")
            if unknown := found - _ALLOWED:
                raise ValueError(f"{part} uses unknown placeholders {sorted(unknown)}")
        if "${canary}" in self.user or "$canary" in self.user:
            raise ValueError("the canary belongs in the system prompt only")
        return self

    def messages(
        self, question: str, language: Language, context: Sequence[KnowledgeContext], canary: str
    ) -> list[ChatMessage]:
        """The chat messages: instructions in the system message, data (escaped) in the user message."""
        names = LANGUAGE_NAMES[self.language]
        entries = "\n".join(self._shown(item) for item in context)
        system = Template(self.system).substitute(
            canary=canary, language_name=names.get(language, names[self.language])
        )
        user = Template(self.user).substitute(
            faq_context=entries, question=html.escape(question, quote=False)
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _shown(self, item: KnowledgeContext) -> str:
        if isinstance(item, PassageContext):
            if self.passage is not None:
                return Template(self.passage).substitute(
                    id=html.escape(item.id, quote=True),
                    title=html.escape(item.title, quote=True),
                    section=html.escape(SECTION_SEPARATOR.join(item.section), quote=True),
                    page="" if item.page is None else str(item.page),
                    text=html.escape(item.text, quote=False),
                )
            item = FaqContext(item.id, item.heading, item.text)
        return Template(self.faq_entry).substitute(
            id=html.escape(item.id, quote=True),
            question=html.escape(item.question, quote=False),
            answer=html.escape(item.answer, quote=False),
        )


class AnswerPrompt(KnowledgePrompt):
    kind: Literal["answer"] = "answer"


AnswerPrompts = PromptLibrary[AnswerPrompt]


def load_answer_prompts(directory: Path) -> AnswerPrompts:
    """The answer prompts of `directory`; the other prompt files beside them are left alone."""
    return PromptLibrary.load(directory, AnswerPrompt, kind=ANSWER_KIND)
