from __future__ import annotations

from pydantic import Field

from helpdesk.settings import ServiceSettings


class EvaluatorSettings(ServiceSettings):
    record_retention_seconds: int = Field(default=90 * 24 * 3600, gt=0)
