"""Versioned prompts, read from `prompts/<id>.v<version>.<language>.yaml` (never strings inside code).

A prompt file holds one (id, version, language): its system and user templates (`string.Template`,
`${name}`, so JSON shown to the model needs no escaping), optionally the templates of one FAQ entry and
of one passage of a document, and the sampling settings. `kind` says what a prompt is for (`answer`:
dialogue's grounded answers); files without one are the evaluator's task prompts (`judge`,
`faq-draft`). A service validates the prompts it
uses with its own subclass of `Prompt` (dialogue's answer prompts must carry a canary, for instance).

A prompt is named by its id (the newest version) or pinned with a version ("grounded@1"); every result
records `id@version`. A language without its own file for a prompt gets the English one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from string import Template
from typing import Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk.events import Language


class PromptNotFound(LookupError):
    pass


def placeholders(template: str) -> set[str]:
    """The `${name}` and `$name` placeholders of a template."""
    return {
        match.group("named") or match.group("braced")
        for match in Template.pattern.finditer(template)
        if match.group("named") or match.group("braced")
    }


def fill(template: str, **values: str) -> str:
    """The template with the given placeholders filled; others are left as written."""
    return Template(template).safe_substitute(values)


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str | None = None
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    language: Language
    description: str = ""
    system: str
    user: str
    faq_entry: str | None = None
    """How one FAQ entry is shown to the model (`${id}`, `${question}`, `${answer}`)."""
    passage: str | None = None
    """How one passage of a document is shown to the model (`${id}`, `${title}`, `${section}`,
    `${page}`, `${text}`)."""
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=500, gt=0)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: Language) -> Language:
        if value is Language.OTHER:
            raise ValueError("a prompt is written in a concrete language (en, ja)")
        return value

    @property
    def ref(self) -> str:
        """`id@version`, as recorded with every result."""
        return f"{self.id}@{self.version}"


P = TypeVar("P", bound=Prompt)


class PromptLibrary(Generic[P]):
    """Prompts looked up by id (newest version) or `id@version`, per language."""

    def __init__(self, prompts: Sequence[P]) -> None:
        self._by_key: dict[tuple[str, int, Language], P] = {}
        for prompt in prompts:
            key = (prompt.id, prompt.version, prompt.language)
            if key in self._by_key:
                raise ValueError(f"two files define {prompt.ref} ({prompt.language.value})")
            self._by_key[key] = prompt

    @classmethod
    def load(cls, directory: Path, model: type[P], *, kind: str | None = None) -> PromptLibrary[P]:
        """The prompt files of `directory` (YAML mappings with an `id`), validated as `model`; with
        `kind`, only the files of that kind (other files beside them are not read further)."""
        prompts: list[P] = []
        for path in sorted(directory.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or "id" not in data:
                continue
            if kind is not None and data.get("kind") != kind:
                continue
            try:
                prompts.append(model.model_validate(data))
            except ValueError as exc:
                raise ValueError(f"{path.name}: {exc}") from exc
        return cls(prompts)

    @property
    def refs(self) -> list[str]:
        return sorted({prompt.ref for prompt in self._by_key.values()})

    def resolve(self, name: str, language: Language = Language.EN) -> P:
        """The prompt a name gives (`id` or `id@version`), in `language` (English when there is none)."""
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
