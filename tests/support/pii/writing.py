"""The ways people write a value: separators (space, hyphen, dot, slash and their full-width forms),
full-width digits and letters, zero-width and soft-hyphen characters, and the sentence around it. Each
kind of personal data is a mixin over `Writing`, drawing from the one seeded random generator."""

from __future__ import annotations

import random
import re
import string

from tests.support.pii.planted import Planted

INVISIBLE = ["\u200b", "\u00ad", "\u200c", "\u200d", "\u2060", "\ufeff"]
SEPARATORS = [" ", "-", ".", "/", "－", "．", "／", "　", " - ", "\u200b"]


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


class Writing:
    """The seeded random generator and the ways of writing a drawn value into a sentence."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _digits(self, n: int, first: str = string.digits) -> str:
        return self.rng.choice(first) + "".join(self.rng.choice(string.digits) for _ in range(n - 1))

    def _sprinkle(self, text: str, chance: float = 0.35) -> str:
        """Invisible characters at one or two random places inside the value."""
        if self.rng.random() > chance or len(text) < 3:
            return text
        chars = list(text)
        for _ in range(self.rng.randint(1, 2)):
            chars.insert(self.rng.randint(1, len(chars) - 1), self.rng.choice(INVISIBLE))
        return "".join(chars)

    def _widen(self, text: str, chance: float = 0.25) -> str:
        return full_width(text) if self.rng.random() < chance else text

    def _grouped(self, digits: str, sizes: list[int], separators: list[str]) -> str:
        groups, at = [], 0
        for size in sizes:
            groups.append(digits[at : at + size])
            at += size
        return self.rng.choice(separators).join(groups)

    def _in(
        self, kind: str, written: str, templates: list[str], pattern: re.Pattern[str], *fragments: str
    ) -> Planted:
        sentence = self.rng.choice(templates).format(written)
        return Planted(kind, written, sentence, pattern, tuple(fragments))
