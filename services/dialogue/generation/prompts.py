"""Versioned prompts, read from `prompts/*.yaml` (never strings inside code).

An answer prompt file (`kind: answer`; other kinds, such as the evaluator's judge, live beside them and
are not read here) holds one (id, version, language): the system template (the rules, with a `${canary}`
placeholder), the user template (the retrieved FAQ entries and the question, each inside its own tags,
marked as data rather than instructions) and the template of one FAQ entry. Templates use
`string.Template` (`${name}`), so the JSON shown to the model needs no escaping.

What goes into the tags is escaped (`<`, `>`, `&`; quotes too inside the id attribute), so neither a
user nor a FAQ entry can close a tag and write outside the data section. A prompt is named in flags by
its id ("grounded", the newest version) or pinned with a version ("grounded@1"); every answer records
`id@version`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helpdesk.events import Language

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[3] / "prompts"

ANSWER_KIND = "answer"

LANGUAGE_NAMES: dict[Language, dict[Language, str]] = {
    Language.EN: {Language.EN: "English", Language.JA: "Japanese"},
    Language.JA: {Language.EN: "英語", Language.JA: "日本語"},
}
"""How a prompt written in one language names the user's language."""


@dataclass(frozen=True, slots=True)
class FaqContext:
    """One retrieved FAQ entry handed to the model; `id` is what the answer must cite."""

    id: str
    question: str
    answer: str


class PromptNotFound(LookupError):
    pass


def _placeholders(template: str) -> set[str]:
    return {
        match.group("named") or match.group("braced")
        for match in Template.pattern.finditer(template)
        if match.group("named") or match.group("braced")
    }


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["answer"] = "answer"
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    language: Language
    description: str = ""
    system: str
    user: str
    faq_entry: str
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=500, gt=0)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: Language) -> Language:
        if value is Language.OTHER:
            raise ValueError("a prompt is written in a concrete language (en, ja)")
        return value

    @model_validator(mode="after")
    def _templates(self) -> Prompt:
        required = {
            "system": {"canary", "language_name"},
            "user": {"faq_context", "question"},
            "faq_entry": {"id", "question", "answer"},
        }
        allowed = {"canary", "language_name", "faq_context", "question", "id", "answer"}
        for part, needed in required.items():
            found = _placeholders(getattr(self, part))
            if missing := needed - found:
                raise ValueError(f"{part} lacks {sorted(missing)}")
            if unknown := found - allowed:
                raise ValueError(f"{part} uses unknown placeholders {sorted(unknown)}")
        if "${canary}" in self.user or "$canary" in self.user:
            raise ValueError("the canary belongs in the system prompt only")
        return self

    @property
    def ref(self) -> str:
        """`id@version`, as recorded with every answer."""
        return f"{self.id}@{self.version}"

    def messages(
        self, question: str, language: Language, context: Sequence[FaqContext], canary: str
    ) -> list[dict[str, str]]:
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


class PromptLibrary:
    """All prompt files of a directory, looked up by id (newest version) or `id@version`, per language.

    A language without its own file for that prompt gets the English one, which still tells the
    model to answer in the user's language.
    """

    def __init__(self, prompts: Sequence[Prompt]) -> None:
        self._by_key: dict[tuple[str, int, Language], Prompt] = {}
        for prompt in prompts:
            key = (prompt.id, prompt.version, prompt.language)
            if key in self._by_key:
                raise ValueError(f"two files define {prompt.ref} ({prompt.language.value})")
            self._by_key[key] = prompt

    @classmethod
    def load(cls, directory: Path = DEFAULT_PROMPTS_DIR) -> PromptLibrary:
        prompts = []
        for path in sorted(directory.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("kind") == ANSWER_KIND:
                try:
                    prompts.append(Prompt.model_validate(data))
                except ValueError as exc:
                    raise ValueError(f"{path.name}: {exc}") from exc
        return cls(prompts)

    @property
    def refs(self) -> list[str]:
        return sorted({prompt.ref for prompt in self._by_key.values()})

    def resolve(self, name: str, language: Language) -> Prompt:
        """The prompt a flag value names, in the user's language (English when there is none)."""
        prompt_id, _, pinned = name.strip().partition("@")
        version = int(pinned) if pinned.isdigit() else None
        if pinned and version is None:
            raise PromptNotFound(name)
        for wanted in dict.fromkeys((language, Language.EN)):
            versions = [v for (i, v, lang) in self._by_key if i == prompt_id and lang is wanted]
            if version is not None:
                versions = [v for v in versions if v == version]
            if versions:
                return self._by_key[(prompt_id, max(versions), wanted)]
        raise PromptNotFound(name)
