"""What the detector reports: a found span of personal data, and the placeholder each kind becomes."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from helpdesk.events import EntityType

PLACEHOLDERS: dict[EntityType, str] = {
    EntityType.EMAIL: "[EMAIL]",
    EntityType.PHONE: "[PHONE]",
    EntityType.CARD_NUMBER: "[CARD]",
    EntityType.IBAN: "[IBAN]",
    EntityType.MY_NUMBER: "[MY_NUMBER]",
    EntityType.PASSPORT: "[PASSPORT]",
    EntityType.BANK_ACCOUNT: "[BANK_ACCOUNT]",
    EntityType.IP_ADDRESS: "[IP]",
    EntityType.POSTAL_CODE: "[POSTAL_CODE]",
    EntityType.ADDRESS: "[ADDRESS]",
}
SENSITIVE = frozenset(PLACEHOLDERS)


@dataclass(frozen=True, slots=True)
class Span:
    """A found entity; `start`/`end` index the text given to the finder, `value` is the canonical form
    (ISO date, digits, E.164 number, ...)."""

    type: EntityType
    start: int
    end: int
    text: str
    value: str | None = None

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


class KeptSpans:
    """Non-overlapping spans in text order, as the finders keep them; a message may hold thousands
    ("[IP][IP]...", "明日1時明日1時..."). Since kept spans do not overlap, a new span overlaps one of them
    exactly when it overlaps the last one starting at or before it or the first one starting after it,
    so each check compares two spans, and a message's findings cost their number, not its square. (Every
    finder's spans hold at least one character; an empty one would overlap nothing and be kept.)"""

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        self._starts: list[int] = []
        self._spans: list[Span] = []
        for span in spans:
            self.add(span)

    def overlaps(self, span: Span) -> bool:
        at = bisect_right(self._starts, span.start)
        return (at > 0 and span.overlaps(self._spans[at - 1])) or (
            at < len(self._spans) and span.overlaps(self._spans[at])
        )

    def add(self, span: Span) -> bool:
        """Keep `span` unless it overlaps a kept one; whether it was kept."""
        if self.overlaps(span):
            return False
        at = bisect_right(self._starts, span.start)
        self._starts.insert(at, span.start)
        self._spans.insert(at, span)
        return True

    def __iter__(self) -> Iterator[Span]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)
