"""What the detector reports: a found span of personal data, and the placeholder each kind becomes."""

from __future__ import annotations

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
