"""The seeded generator of personal data: one draw of any kind, or a message of several."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tests.support.pii.addresses import Addresses
from tests.support.pii.contact import ContactData
from tests.support.pii.numbers import CheckDigitNumbers, KeywordNumbers
from tests.support.pii.planted import Planted


class PiiGenerator(ContactData, CheckDigitNumbers, KeywordNumbers, Addresses):
    """Every call draws a new value of one kind from the seeded generator and writes it the way a user
    might (the same seed gives the same values)."""

    KINDS: tuple[str, ...] = (
        "email",
        "phone",
        "card",
        "my_number",
        "iban",
        "passport",
        "bank_account",
        "ip_address",
        "postal_code",
        "address",
    )

    def one(self, kind: str | None = None) -> Planted:
        make: Callable[[], Planted] = getattr(self, kind or self.rng.choice(self.KINDS))
        return make()

    def message(self, count: int, kinds: Iterable[str] | None = None) -> tuple[str, list[Planted]]:
        """A message of `count` sentences, each carrying one value (of the given kinds in turn)."""
        chosen = list(kinds) if kinds is not None else [self.rng.choice(self.KINDS) for _ in range(count)]
        planted = [self.one(kind) for kind in chosen]
        return " ".join(p.sentence for p in planted), planted
