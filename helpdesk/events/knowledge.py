"""The `kb.updated` event: the knowledge base changed (not about a chat turn)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import Field, ModelWrapValidatorHandler, PrivateAttr, model_validator

from helpdesk.events.bounds import (
    MAX_CARRIED_ITEMS,
    MAX_CHANGED_IDS,
    MAX_FAQ_ID_CHARS,
    MAX_KB_VERSION_CHARS,
    MAX_USER_ID_CHARS,
)
from helpdesk.events.contract import Contract, utcnow
from helpdesk.knowledge.entries import FaqEntry, RejectedEntry, sort_entries
from helpdesk.topics import Topic

ItemIds = list[Annotated[str, Field(max_length=MAX_FAQ_ID_CHARS)]]


class KnowledgeCounts(Contract):
    """How many items a knowledge version added, changed and removed, and how many it kept."""

    added: int = Field(default=0, ge=0)
    changed: int = Field(default=0, ge=0)
    removed: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)

    @property
    def nothing_changed(self) -> bool:
        return not (self.added or self.changed or self.removed)


class KbUpdated(Contract):
    """The knowledge base changed; every dialogue replica re-indexes. Not about a chat turn.

    Schema 2 (what the evaluator publishes) is a claim check: it names the new knowledge version in the
    `knowledgestore` component (`kb_version`, `previous_version`, its manifest's `pages`), how much
    changed (`counts`) and the first `MAX_CHANGED_IDS` changed ids; the items themselves are read from
    the store (`helpdesk.knowledge.store`), so no event grows with the knowledge base. It never carries
    content: a schema 2 event with `entries` is refused.

    Schema 1 carried the added or changed entries inline (`entries`, `added`, `changed`, `removed`);
    consumers still accept it during an upgrade. Its received entries are validated one by one: an
    invalid one is set aside in `rejected_entries` instead of failing the whole event, and each consumer
    decides what it means (dialogue refuses the update whole, the evaluator follows the valid rest).
    """

    topic: ClassVar[Topic] = Topic.KB_UPDATED

    schema_version: Literal[1, 2] = 1
    update_id: UUID
    occurred_at: datetime = Field(default_factory=utcnow)
    kb_version: str = Field(min_length=1, max_length=MAX_KB_VERSION_CHARS)
    actor: str = Field(default="system", max_length=MAX_USER_ID_CHARS)
    """Who changed the knowledge base (an operator's id, `seed`, `system`)."""

    previous_version: str | None = Field(default=None, max_length=MAX_KB_VERSION_CHARS)
    """Schema 2: the version this one replaced (None for the first)."""
    pages: int = Field(default=0, ge=0)
    """Schema 2: how many manifest pages the version has."""
    counts: KnowledgeCounts = Field(default_factory=KnowledgeCounts)
    changed_ids: ItemIds = Field(default_factory=list, max_length=MAX_CHANGED_IDS)
    """Schema 2: ids added, changed or removed, up to `MAX_CHANGED_IDS` (all of them when
    `changed_ids_complete`)."""
    changed_ids_complete: bool = True

    added: ItemIds = Field(default_factory=list, max_length=MAX_CARRIED_ITEMS)
    """Schema 1: the ids `entries` adds."""
    changed: ItemIds = Field(default_factory=list, max_length=MAX_CARRIED_ITEMS)
    removed: ItemIds = Field(default_factory=list, max_length=MAX_CARRIED_ITEMS)
    entries: list[FaqEntry] = Field(default_factory=list, max_length=MAX_CARRIED_ITEMS)
    """Schema 1: the added or changed entries themselves."""

    _rejected: tuple[RejectedEntry, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _set_aside_invalid_entries(
        cls, data: Any, handler: ModelWrapValidatorHandler[KbUpdated]
    ) -> KbUpdated:
        rejected: list[RejectedEntry] = []
        if isinstance(data, dict) and isinstance(data.get("entries"), list | tuple):
            if data.get("schema_version") == 2 and data["entries"]:
                raise ValueError("a schema 2 kb.updated carries references only, never entries")
            valid, rejected = sort_entries(data["entries"])
            data = {**data, "entries": valid}
        update = handler(data)
        if rejected:
            update._rejected = tuple(rejected)
        return update

    @property
    def rejected_entries(self) -> tuple[RejectedEntry, ...]:
        return self._rejected

    @property
    def carries_entries(self) -> bool:
        """Schema 1: the content travels in the event; schema 2: it is read from the knowledge store."""
        return self.schema_version == 1

    @classmethod
    def referring(
        cls,
        *,
        update_id: UUID,
        kb_version: str,
        previous_version: str | None,
        pages: int,
        counts: KnowledgeCounts,
        changed_ids: Iterable[str],
        actor: str,
    ) -> KbUpdated:
        """The schema 2 update that names a knowledge version written to the store. An actor's id longer
        than an event keeps is cut: the update is announced whoever made it."""
        ids = list(changed_ids)
        return cls(
            schema_version=2,
            update_id=update_id,
            kb_version=kb_version,
            previous_version=previous_version,
            pages=pages,
            counts=counts,
            changed_ids=ids[:MAX_CHANGED_IDS],
            changed_ids_complete=len(ids) <= MAX_CHANGED_IDS,
            actor=actor[:MAX_USER_ID_CHARS],
        )

    @classmethod
    def carrying(
        cls,
        entries: Iterable[FaqEntry],
        *,
        removed: Iterable[str] = (),
        known_ids: Iterable[str] = (),
        kb_version: str | None = None,
        actor: str = "operator",
    ) -> KbUpdated:
        """A schema 1 update that carries these entries (ids in `known_ids` count as changed, the
        others as added) and removes `removed`; without a `kb_version`, one named after the update id.
        What producers sent before the knowledge store; kept to test that consumers still accept it."""
        items = list(entries)
        known = set(known_ids)
        update_id = uuid4()
        return cls(
            update_id=update_id,
            kb_version=kb_version or f"update-{update_id.hex[:12]}",
            added=[e.id for e in items if e.id not in known],
            changed=[e.id for e in items if e.id in known],
            removed=list(removed),
            entries=items,
            actor=actor,
        )
