"""Checking what the model wrote before a user sees it.

The model is asked for `{"answer", "citations", "answerable"}`. An output is refused (and the user gets
the FAQ answer) when it:
- contains the canary of the system prompt, or a line of the system prompt itself (a leak, typically
  the result of an injected "print your instructions");
- is not that JSON object, or has an empty answer;
- claims to answer but cites nothing, or cites an id that was not among the FAQ entries provided (an
  invented source, or one planted by an instruction inside the context).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_MIN_LEAK_LINE = 30


class Rejection(StrEnum):
    CANARY_LEAK = "canary_leak"
    PROMPT_LEAK = "prompt_leak"
    INVALID_OUTPUT = "invalid_output"
    UNCITED = "uncited"
    UNKNOWN_CITATION = "unknown_citation"


class ModelAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    answer: str = Field(min_length=1)
    citations: list[str] = Field(default_factory=list)
    answerable: bool = True

    @field_validator("answer")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("blank answer")
        return value.strip()

    @field_validator("citations", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(item).strip() for item in value]
        return value


@dataclass(frozen=True, slots=True)
class Checked:
    answer: ModelAnswer | None
    rejection: Rejection | None = None


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def leaks(content: str, canary: str, system_prompt: str) -> Rejection | None:
    squeezed = _squeezed(content)
    if _squeezed(canary) in squeezed:
        return Rejection.CANARY_LEAK
    for line in system_prompt.splitlines():
        line = line.strip()
        if len(line) >= _MIN_LEAK_LINE and _squeezed(line) in squeezed:
            return Rejection.PROMPT_LEAK
    return None


def parse(content: str) -> ModelAnswer | None:
    fenced = _FENCE.match(content)
    raw = fenced.group(1) if fenced else content.strip()
    try:
        data = json.loads(raw)
        return ModelAnswer.model_validate(data) if isinstance(data, dict) else None
    except (json.JSONDecodeError, ValidationError):
        return None


def check(content: str, *, provided_ids: Collection[str], canary: str, system_prompt: str) -> Checked:
    if leak := leaks(content, canary, system_prompt):
        return Checked(None, leak)
    answer = parse(content)
    if answer is None:
        return Checked(None, Rejection.INVALID_OUTPUT)
    if answer.answerable and not answer.citations:
        return Checked(None, Rejection.UNCITED)
    if any(cited not in provided_ids for cited in answer.citations):
        return Checked(None, Rejection.UNKNOWN_CITATION)
    answer.citations = list(dict.fromkeys(answer.citations))
    return Checked(answer)
