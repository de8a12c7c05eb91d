"""Checking the model's pick among the offered entries before the helpdesk acts on it.

The model is asked for exactly `{"id": "<offered id>"}` or `{"id": null}`. Since a pick turns a
clarification into a direct answer, anything else is refused and the user gets the clarification the
policy decided (which is never wrong, only slower):
- the canary of the system prompt or a substantial part of the system prompt, in any form (leaks.py,
  on every string of the parsed JSON and on the raw output): a leak, counted as for answers, although
  the user would never see the output. Checked first and read as answers are read, whatever the
  output's length (bounded by the prompt's `max_tokens`), so an obeyed "print your instructions" is
  counted however it came out;
- an output longer than `MAX_CHOICE_REPLY_CHARS` (an id is at most 128 characters; a longer reply is
  not the object asked for);
- anything but that one object: prose, a list, other or extra keys, a non-string id, an empty id. The
  object may stand in one code fence (```json ... ```) and nothing else around it, read as answers are
  (`validation.loaded`);
- an id that was not offered (an invented entry, or one an instruction planted in the data named).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.dialogue.generation.leaks import Leak, LeakCheck, LeakKind
from services.dialogue.generation.validation import Rejection, loaded, strings

MAX_CHOICE_REPLY_CHARS = 1_000
"""Far above `{"id": "<128 characters>"}` in any spacing or fence."""


class ChoiceRejection(StrEnum):
    CANARY_LEAK = Rejection.CANARY_LEAK.value
    PROMPT_LEAK = Rejection.PROMPT_LEAK.value
    INVALID_OUTPUT = Rejection.INVALID_OUTPUT.value
    NOT_OFFERED = "not_offered"


class ModelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=128)] | None


@dataclass(frozen=True, slots=True)
class CheckedChoice:
    chosen: str | None = None
    """The offered id the model picked; None: it picked none (or the output was refused)."""
    rejection: ChoiceRejection | None = None
    leak: Leak | None = None


_LEAK_REJECTIONS = {
    LeakKind.CANARY: ChoiceRejection.CANARY_LEAK,
    LeakKind.PROMPT: ChoiceRejection.PROMPT_LEAK,
}


def check_choice(
    content: str,
    *,
    offered_ids: Collection[str],
    canary: str,
    system_prompt: str,
    data: Sequence[str] = (),
) -> CheckedChoice:
    """`data`: the texts of the offered entries, given to the model as data."""
    parsed = loaded(content)
    if leak := LeakCheck(canary, system_prompt, data).find([*strings(parsed), content]):
        return CheckedChoice(rejection=_LEAK_REJECTIONS[leak.kind], leak=leak)
    if len(content) > MAX_CHOICE_REPLY_CHARS:
        return CheckedChoice(rejection=ChoiceRejection.INVALID_OUTPUT)
    try:
        choice = ModelChoice.model_validate(parsed) if isinstance(parsed, dict) else None
    except ValidationError:
        choice = None
    if choice is None:
        return CheckedChoice(rejection=ChoiceRejection.INVALID_OUTPUT)
    if choice.id is not None and choice.id not in offered_ids:
        return CheckedChoice(rejection=ChoiceRejection.NOT_OFFERED)
    return CheckedChoice(chosen=choice.id)
