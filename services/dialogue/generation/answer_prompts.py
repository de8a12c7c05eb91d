"""Answer prompts (`kind: answer` in `prompts/`): the rules every prompt that writes a user's answer
keeps, and how its messages are built.

An answer prompt holds the system template (the rules, with a `${canary}` placeholder and the user's
`${language_name}`), the user template (the retrieved FAQ entries and the question, each inside its own
tags, marked as data rather than instructions) and the template of one FAQ entry.

What goes into the tags is escaped (`<`, `>`, `&`; quotes too inside the id attribute), so neither a
user nor a FAQ entry can close a tag and write outside the data section. The canary appears in the
system message only, so finding it in an output proves a leak.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

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
}
_ALLOWED = {"canary", "language_name", "faq_context", "question", "id", "answer"}


@dataclass(frozen=True, slots=True)
class FaqContext:
    """One retrieved FAQ entry handed to the model; `id` is what the answer must cite."""

    id: str
    question: str
    answer: str


class AnswerPrompt(Prompt):
    kind: Literal["answer"] = "answer"
    faq_entry: str

    @model_validator(mode="after")
    def _templates(self) -> AnswerPrompt:
        for part, needed in _REQUIRED.items():
            found = placeholders(getattr(self, part))
            if missing := needed - found:
                raise ValueError(f"{part} lacks {sorted(missing)}")
            if unknown := found - _ALLOWED:
                raise ValueError(f"{part} uses unknown placeholders {sorted(unknown)}")
        if "${canary}" in self.user or "$canary" in self.user:
            raise ValueError("the canary belongs in the system prompt only")
        return self

    def messages(
        self, question: str, language: Language, context: Sequence[FaqContext], canary: str
    ) -> list[ChatMessage]:
        """The chat messages: instructions in the system message, data (escaped) in the user message."""
        names = LANGUAGE_NAMES[self.language]
        entries = "\n".join(
            Template(self.faq_entry).substitute(
                id=html.escape(entry.id, quote=True),
                question=html.escape(entry.question, quote=False),
                answer=html.escape(entry.answer, quote=False),
            )
            for entry in context
        )
        system = Template(self.system).substitute(
            canary=canary, language_name=names.get(language, names[self.language])
        )
        user = Template(self.user).substitute(
            faq_context=entries, question=html.escape(question, quote=False)
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


AnswerPrompts = PromptLibrary[AnswerPrompt]


def load_answer_prompts(directory: Path) -> AnswerPrompts:
    """The answer prompts of `directory`; the other prompt files beside them are left alone."""
    return PromptLibrary.load(directory, AnswerPrompt, kind=ANSWER_KIND)
