"""Feature flags: names, definitions and their evaluation (plain Python, no Dapr).

A flag definition is a small JSON document stored in the configuration store under
`helpdesk.flags.<name>` (Redis locally, Azure App Configuration on Azure) with defaults in
`flags/defaults.json`. It either gives one value to everyone, or splits users between named variants by
weight. The split is sticky: a user's arm is a hash of the flag name and the user id, so every replica
of every service puts the same user in the same arm without storing the assignment.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

CONFIG_KEY_PREFIX = "helpdesk.flags."


class Flag(StrEnum):
    ANSWER_MODE = "answer_mode"
    """faq | llm: whether the dialogue service asks the model at all."""
    PROMPT_VARIANT = "prompt_variant"
    """Which versioned prompt answers; usually a weighted split (the A/B experiment)."""
    MODEL = "model"
    JUDGE = "judge_enabled"
    TEAMS = "teams_enabled"
    HANDOFF = "handoff_enabled"
    BUDGET_EXHAUSTED_BEHAVIOUR = "budget_exhausted"
    """faq_only | reject: what a user over their token budget gets."""


def config_key(flag: str) -> str:
    return CONFIG_KEY_PREFIX + flag


class FlagDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Any = None
    split: dict[str, int] | None = Field(default=None, description="variant name -> weight")
    variants: dict[str, Any] | None = Field(default=None, description="variant name -> value")
    description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> FlagDefinition:
        if self.split is not None:
            if not self.split or any(w < 0 for w in self.split.values()) or sum(self.split.values()) <= 0:
                raise ValueError("a split needs at least one variant and positive total weight")
        elif self.value is None:
            raise ValueError("a flag needs either a value or a split")
        return self


@dataclass(frozen=True, slots=True)
class Evaluation:
    value: Any
    variant: str
    reason: str


def bucket(flag: str, targeting_key: str, total: int) -> int:
    digest = hashlib.sha256(f"{flag}\x00{targeting_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % total


def evaluate(flag: str, definition: FlagDefinition, targeting_key: str | None) -> Evaluation:
    if definition.split is None:
        return Evaluation(definition.value, "static", "STATIC")
    arms = [(name, weight) for name, weight in sorted(definition.split.items()) if weight > 0]
    total = sum(weight for _, weight in arms)
    if targeting_key:
        point, reason = bucket(flag, targeting_key, total), "SPLIT"
    else:
        point, reason = 0, "DEFAULT"
    for name, weight in arms:
        if point < weight:
            value = (definition.variants or {}).get(name, name)
            return Evaluation(value, name, reason)
        point -= weight
    raise AssertionError("unreachable: the point lies inside the total weight")


def parse_definition(raw: str) -> FlagDefinition:
    """Parse a stored flag: a JSON definition, or a bare value for convenience (`llm`, `true`)."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return FlagDefinition(value=raw)
    if isinstance(data, dict) and ({"value", "split"} & data.keys()):
        return FlagDefinition.model_validate(data)
    return FlagDefinition(value=data)


def load_defaults(path: Path) -> dict[str, FlagDefinition]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: FlagDefinition.model_validate(definition) for name, definition in data.items()}
