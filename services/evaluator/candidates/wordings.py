"""Learning alternative wordings from the choices users make (issue 19).

A question that needed a clarification and was resolved to one entry says the question's wording means
that entry. Once enough distinct users (the channel's user id, already pseudonymous: not conversations
of one user) chose the same entry for the same normalised wording, the wording is proposed as an
alternative of the entry, so the next user who asks it that way is answered directly. An agent's answer
that repeats an entry's answer vouches for the handed-off question on its own (one user suffices).

A wording is refused when it is already a question or alternative of any entry, is suspected injection,
is too short or too long, or reads as another entry's: a phrasing of another entry is a near duplicate
of it (term similarity at least `near_duplicate`) and clearly closer than any phrasing of the chosen
entry (by `closer_margin`). Learned there, it would answer that entry's questions with the chosen one.
Merely "another entry shares a word more" is not refused: everyday paraphrases share few words with
any entry, so which entry is closest by terms is mostly noise (on kb-tune that rule refused 37 of 91
wordings users resolved rightly and 34 of 63 resolved wrongly: it hardly told them apart), while several
distinct users choosing the entry is evidence of its own. The guard against users who attach a wording
to the wrong entry is the number of users (`min_users`) and the operator's review, not this rule.

The counts are one record per entry (distinct users per wording, bounded: at most `max_wordings` per
entry, each forgotten `keep_seconds` after its last choice) changed by etag-checked read-modify-write;
a user is counted once per wording, so a redelivered turn changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.events import Language, utcnow
from helpdesk.knowledge.entries import FaqEntry, parse_entry
from helpdesk.text import normalise, terms
from helpdesk.text.injection import check_injection
from services.evaluator.knowledge import KnowledgeCopy, similarity

_TRAILING = re.compile(r"[\s?？!！.。、,]+$")
KEEP_TURN_IDS = 10


def wording_key(wording: str) -> str:
    """The form two users' wordings are compared in: normalised (NFKC, whitespace folded), case-folded,
    without trailing punctuation."""
    return _TRAILING.sub("", normalise(wording).casefold())


@dataclass(frozen=True, slots=True)
class WordingRules:
    min_users: int = 2
    """Distinct users who must choose the same entry for the same wording before it is proposed."""
    min_terms: int = 2
    """A wording of fewer index terms ("VPN") names a topic, not a need: several entries fit it."""
    max_chars: int = 200
    max_wordings: int = 200
    """Wordings counted per entry at once; the least recently chosen go first."""
    keep_seconds: int = 30 * 86400
    """A wording's count is forgotten this long after its last choice."""
    near_duplicate: float = 0.5
    """Term similarity (Dice) from which another entry's phrasing counts as a near duplicate of the
    wording (chosen on kb-tune, docs/benchmarks.md)."""
    closer_margin: float = 0.1
    """How much more alike than the chosen entry's best phrasing that near duplicate must be."""


class WordingRefusal(StrEnum):
    NO_ENTRY = "no_entry"
    NO_VERSION = "no_version"
    """The entry has no version in the wording's language to add it to."""
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    KNOWN = "known"
    """Already a question or alternative of an entry."""
    INJECTION = "injection"
    CLOSER_TO_ANOTHER = "closer_to_another"
    """A near duplicate of another entry's phrasing, clearly closer than the chosen entry."""


@dataclass(frozen=True, slots=True)
class WordingChoice:
    """One user's evidence that `wording` (redacted) means entry `faq_id`."""

    faq_id: str
    wording: str
    language: Language
    user_id: str
    turn_id: UUID
    vouched: bool = False
    """An agent's answer repeated the entry's: one user is enough."""


def refusal(choice: WordingChoice, copy: KnowledgeCopy, rules: WordingRules) -> WordingRefusal | None:
    """Why the wording must not become an alternative of the chosen entry (None: it may). Likeness to
    an entry is to its best phrasing (as `KnowledgeCopy.closest` measures), so an entry with many
    alternatives is not made to look far or near by their number."""
    entry = copy.get(choice.faq_id)
    if entry is None:
        return WordingRefusal.NO_ENTRY
    if choice.language not in entry.texts:
        return WordingRefusal.NO_VERSION
    wording = normalise(choice.wording)
    wanted = frozenset(terms(wording, choice.language))
    if len(wanted) < rules.min_terms:
        return WordingRefusal.TOO_SHORT
    if len(wording) > rules.max_chars:
        return WordingRefusal.TOO_LONG
    key = wording_key(wording)
    if any(wording_key(p) == key for e in copy for t in e.texts.values() for p in t.phrasings):
        return WordingRefusal.KNOWN
    if check_injection(wording).suspected:
        return WordingRefusal.INJECTION
    chosen = likeness(wanted, entry, choice.language)
    other = max((likeness(wanted, e, choice.language) for e in copy if e.id != entry.id), default=0.0)
    if other >= rules.near_duplicate - _EPSILON and other - chosen >= rules.closer_margin - _EPSILON:
        return WordingRefusal.CLOSER_TO_ANOTHER
    return None


_EPSILON = 1e-9
"""Dice coefficients are ratios of small counts: 0.6 - 0.5 must reach a margin of 0.1 despite rounding."""


def likeness(wanted: frozenset[str], entry: FaqEntry, language: Language) -> float:
    """Term similarity of a wording's terms to the entry's best phrasing in `language` (0 without it)."""
    text = entry.texts.get(language)
    if text is None:
        return 0.0
    return max(similarity(wanted, phrasing_terms(p, language)) for p in text.phrasings)


@lru_cache(maxsize=20_000)
def phrasing_terms(phrasing: str, language: Language) -> frozenset[str]:
    """Cached: every clarified reply compares its wording with every phrasing of every entry."""
    return frozenset(terms(phrasing, language))


def with_wording(entry: FaqEntry, language: Language, wording: str, at: datetime) -> FaqEntry:
    """The entry with `wording` added to its alternatives in `language` (unchanged when it has it)."""
    text = entry.texts[language]
    if any(wording_key(p) == wording_key(wording) for p in text.phrasings):
        return entry
    raw = entry.model_dump(mode="json")
    raw[language.value] = {**raw[language.value], "alternatives": [*text.alternatives, normalise(wording)]}
    raw["updated_at"] = at.isoformat()
    return parse_entry(raw)


def without_wording(entry: FaqEntry, language: Language, wording: str, at: datetime) -> FaqEntry:
    """The entry with `wording` taken out of its alternatives in `language` (the same entry when it
    has no such alternative). The entry's question is never taken out: a withdrawn wording was only
    ever added as an alternative."""
    text = entry.texts.get(language)
    key = wording_key(wording)
    if text is None or not any(wording_key(a) == key for a in text.alternatives):
        return entry
    raw = entry.model_dump(mode="json")
    kept = [a for a in text.alternatives if wording_key(a) != key]
    raw[language.value] = {**raw[language.value], "alternatives": kept}
    raw["updated_at"] = max(entry.updated_at, at).isoformat()
    return parse_entry(raw)


@dataclass(frozen=True, slots=True)
class LearnedWording:
    """An approved wording of entry `faq_id` in `language`: what a re-import of the entry's file keeps."""

    faq_id: str
    language: Language
    wording: str
    approved_at: datetime
    candidate_id: str


class WordingCount(BaseModel):
    wording: str
    """As the first user wrote it (redacted)."""
    language: Language
    users: list[str] = Field(default_factory=list)
    vouched: bool = False
    turn_ids: list[UUID] = Field(default_factory=list)
    """The latest turns that chose it (the candidate's sources)."""
    last_chosen: datetime = Field(default_factory=utcnow)
    proposed: bool = False

    def enough(self, rules: WordingRules) -> bool:
        return self.vouched or len(self.users) >= rules.min_users


class EntryWordings(BaseModel):
    """The wordings being counted for one entry, by language and `wording_key`."""

    faq_id: str
    counts: dict[str, WordingCount] = Field(default_factory=dict)


def count_key(language: Language, wording: str) -> str:
    return f"{language.value}:{wording_key(wording)}"


def counted(
    current: EntryWordings | None, choice: WordingChoice, rules: WordingRules, now: datetime
) -> EntryWordings | None:
    """The entry's counts with this choice (None: nothing changes, e.g. the user was counted already
    or the wording was proposed already). Counts not chosen for `keep_seconds` are dropped, and the
    least recently chosen beyond `max_wordings`."""
    record = current or EntryWordings(faq_id=choice.faq_id)
    key = count_key(choice.language, choice.wording)
    count = record.counts.get(key) or WordingCount(wording=choice.wording, language=choice.language)
    if count.proposed or (choice.user_id in count.users and (count.vouched or not choice.vouched)):
        return None
    users = count.users if choice.user_id in count.users else [*count.users, choice.user_id]
    count = count.model_copy(
        update={
            "users": users[: max(rules.min_users, 1)],
            "vouched": count.vouched or choice.vouched,
            "turn_ids": [*count.turn_ids, choice.turn_id][-KEEP_TURN_IDS:],
            "last_chosen": now,
        }
    )
    horizon = now - timedelta(seconds=rules.keep_seconds)
    kept = {k: c for k, c in record.counts.items() if k != key and c.last_chosen >= horizon}
    kept[key] = count
    newest = sorted(kept.items(), key=lambda item: item[1].last_chosen, reverse=True)[: rules.max_wordings]
    return record.model_copy(update={"counts": dict(newest)})


def marked_proposed(current: EntryWordings | None, key: str) -> EntryWordings | None:
    if current is None or key not in current.counts or current.counts[key].proposed:
        return None
    count = current.counts[key].model_copy(update={"proposed": True})
    return current.model_copy(update={"counts": {**current.counts, key: count}})


class WordingCounts:
    """The per-entry count records in the state store (etag-checked, kept `keep_seconds`)."""

    def __init__(self, state: KeyValueStore, rules: WordingRules) -> None:
        self._state = state
        self.rules = rules

    async def choose(self, choice: WordingChoice) -> WordingCount | None:
        """Count the choice; the wording's count when it has enough users and is not proposed yet."""
        now = utcnow()
        record = await self._change(choice.faq_id, lambda current: counted(current, choice, self.rules, now))
        count = record.counts.get(count_key(choice.language, choice.wording)) if record else None
        return count if count is not None and count.enough(self.rules) and not count.proposed else None

    async def proposed(self, faq_id: str, count: WordingCount) -> None:
        key = count_key(count.language, count.wording)
        await self._change(faq_id, lambda current: marked_proposed(current, key))

    async def _change(
        self, faq_id: str, change: Callable[[EntryWordings | None], EntryWordings | None]
    ) -> EntryWordings | None:
        key = f"wordings:{faq_id}"
        for _ in range(16):
            stored = await self._state.get(key)
            current = EntryWordings.model_validate_json(stored.value) if stored else None
            updated = change(current)
            if updated is None:
                return current
            payload = updated.model_dump_json().encode()
            try:
                if stored is None:
                    if await self._state.create(key, payload, ttl_seconds=self.rules.keep_seconds):
                        return updated
                    continue
                await self._state.save(key, payload, etag=stored.etag, ttl_seconds=self.rules.keep_seconds)
                return updated
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{key} kept changing")
