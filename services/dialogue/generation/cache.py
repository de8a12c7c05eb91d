"""The response cache: identical questions against the same knowledge base get the same answer (or the
same choice among the same offered entries) without paying the model again.

Keyed by a hash of the normalised (redacted) question, its language, the knowledge-base version, the
prompt `id@version`, the model and the FAQ ids given as context (for a choice: the ids offered): any of
those changing is a different answer, so a new KB version or prompt version simply misses. Entries
expire after a TTL (Dapr's `ttlInSeconds`). The cache lives in dialogue's state store, so every replica
shares it. A cache outage is a miss, never a failed turn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk.dapr.ports import KeyValueStore, SidecarUnavailable
from helpdesk.events import Language
from helpdesk.logging import get_logger
from helpdesk.text import normalise
from services.dialogue.generation.generation_metrics import LLM_CACHE
from services.dialogue.generation.validation import MAX_MODEL_ANSWER_CHARS

_log = get_logger(__name__)

KEY_PREFIX = "llmcache"


class CachedAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    text: str = Field(max_length=MAX_MODEL_ANSWER_CHARS)
    """An answer cached before model answers were bounded and longer than they may be is a miss."""
    cited_ids: list[str]
    answerable: bool
    prompt: str
    model: str
    stored_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class CachedChoice(BaseModel):
    """The model's pick among the offered entries (None: none of them), under a choice prompt's key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    chosen: str | None
    prompt: str
    model: str
    stored_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


Cached = TypeVar("Cached", CachedAnswer, CachedChoice)


def cache_key(
    question: str,
    language: Language,
    kb_version: str | None,
    prompt_ref: str,
    model: str,
    context_ids: Sequence[str],
) -> str:
    material = json.dumps(
        [normalise(question).casefold(), language.value, kb_version, prompt_ref, model, sorted(context_ids)],
        ensure_ascii=False,
    )
    return f"{KEY_PREFIX}:{hashlib.sha256(material.encode()).hexdigest()}"


class ResponseCache:
    def __init__(self, store: KeyValueStore, ttl_seconds: int) -> None:
        self._store = store
        self._ttl = ttl_seconds

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    async def get(self, key: str, kind: type[Cached]) -> Cached | None:
        if not self.enabled:
            return None
        try:
            stored = await self._store.get(key)
        except SidecarUnavailable:
            LLM_CACHE.labels("error").inc()
            _log.warning("llm_cache_unavailable", op="get")
            return None
        if stored is None:
            LLM_CACHE.labels("miss").inc()
            return None
        try:
            answer = kind.model_validate_json(stored.value)
        except ValidationError:
            LLM_CACHE.labels("miss").inc()
            return None
        LLM_CACHE.labels("hit").inc()
        return answer

    async def put(self, key: str, answer: CachedAnswer | CachedChoice) -> None:
        if not self.enabled:
            return
        try:
            await self._store.save(key, answer.model_dump_json().encode(), ttl_seconds=self._ttl)
        except SidecarUnavailable:
            _log.warning("llm_cache_unavailable", op="put")
