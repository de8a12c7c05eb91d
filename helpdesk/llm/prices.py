"""Estimated cost of a model call, from a price table kept in configuration (`prompts/prices.yaml`).

Costs are estimates for dashboards, reports and spending limits, not invoices: the provider bills what
it bills. A model the table does not know is priced at zero and counted (`helpdesk_llm_unpriced_total`),
so a missing line shows up in the metrics instead of silently reporting cheap answers.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from helpdesk.llm.call_metrics import LLM_UNPRICED


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_per_1k: float = Field(ge=0.0)
    completion_per_1k: float = Field(ge=0.0)


class PriceTable(BaseModel):
    """USD (or `currency`) per 1,000 prompt and completion tokens, by model name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "USD"
    models: dict[str, ModelPrice] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.models.get(model)
        if price is None:
            LLM_UNPRICED.labels(model).inc()
            return 0.0
        return round(
            prompt_tokens / 1000 * price.prompt_per_1k + completion_tokens / 1000 * price.completion_per_1k,
            8,
        )
