"""Checking what the model wrote before a user sees it.

The model is asked for `{"answer", "citations", "answerable"}`. An output is refused (and the user gets
the FAQ answer) when it:
- carries the canary of the system prompt, or a substantial part of the system prompt, in any form a
  user could read back (a leak, typically the result of an injected "print your instructions"). The
  leak check (leaks.py) reads what the user would be shown: every string of the parsed JSON, decoded,
  and the raw output as well (so an output that is not even valid JSON is still recognised as a leak);
- is not that JSON object, or has an empty answer or one longer than `MAX_MODEL_ANSWER_CHARS` (which
  the completion's token limit keeps far from: such an output is broken, and cutting it could drop the
  steps that matter);
- claims to answer but cites nothing, or cites an id that was not among the FAQ entries and passages
  provided (an invented source, or one planted by an instruction inside the context).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.dialogue.generation.leaks import Leak, LeakCheck, LeakKind

MAX_MODEL_ANSWER_CHARS = 20_000
"""As long as an FAQ answer may be (the knowledge base's bound), so the answer event's bound
(`MAX_ANSWER_CHARS`) holds a model's answer the same way."""

_FENCE = re.compile(r"```(?:json)?(.*)```", re.DOTALL)
"""A fenced answer, matched whole against the output stripped of surrounding whitespace: one unbounded
repeat, so reading it is linear in the output's length. (Matching the whitespace with the pattern,
`\\s*` beside a lazy `.*?`, made it cubic on whitespace runs: ~40 s of CPU for 4,000 characters.)"""


class Rejection(StrEnum):
    CANARY_LEAK = "canary_leak"
    PROMPT_LEAK = "prompt_leak"
    INVALID_OUTPUT = "invalid_output"
    UNCITED = "uncited"
    UNKNOWN_CITATION = "unknown_citation"


class ModelAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    answer: str = Field(min_length=1, max_length=MAX_MODEL_ANSWER_CHARS)
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
    leak: Leak | None = None
    """For a leak: what leaked and in which form (for the metric and the log; never the text)."""


_LEAK_REJECTIONS = {LeakKind.CANARY: Rejection.CANARY_LEAK, LeakKind.PROMPT: Rejection.PROMPT_LEAK}


def loaded(content: str) -> object:
    """The JSON value an output is, alone or inside one code fence; None when it is not one."""
    stripped = content.strip()
    fenced = _FENCE.fullmatch(stripped)
    raw = fenced.group(1).strip() if fenced else stripped
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return None


def strings(data: object) -> Iterator[str]:
    """Every string value of a parsed JSON value, depth first: what any renderer could show. Without
    recursion, so that an output nested deeper than Python's stack is still read."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))


def parse(content: str) -> ModelAnswer | None:
    return _answer(loaded(content))


def _answer(data: object) -> ModelAnswer | None:
    try:
        return ModelAnswer.model_validate(data) if isinstance(data, dict) else None
    except ValidationError:
        return None


def check(
    content: str,
    *,
    provided_ids: Collection[str],
    canary: str,
    system_prompt: str,
    data: Sequence[str] = (),
) -> Checked:
    """`data`: the texts given to the model as data (the FAQ entries and passages), which an answer may
    quote even where they read like the rules."""
    parsed = loaded(content)
    if leak := LeakCheck(canary, system_prompt, data).find([*strings(parsed), content]):
        return Checked(None, _LEAK_REJECTIONS[leak.kind], leak)
    answer = _answer(parsed)
    if answer is None:
        return Checked(None, Rejection.INVALID_OUTPUT)
    if answer.answerable and not answer.citations:
        return Checked(None, Rejection.UNCITED)
    if any(cited not in provided_ids for cited in answer.citations):
        return Checked(None, Rejection.UNKNOWN_CITATION)
    answer.citations = list(dict.fromkeys(answer.citations))
    return Checked(answer)
