"""Property-style tests of redaction over generated data (seeded; hypothesis is not installed here):
no generated personal data survives `redact_text` in any form, redaction is idempotent, and generated
helpdesk text without personal data (tickets, amounts, dates, times, versions, error codes) is left as is."""

from __future__ import annotations

import random

import pytest

from helpdesk.text.pii import find_sensitive, redact_text
from tests.support.pii import PiiGenerator, found_in

SEEDS = range(4)
MESSAGES_PER_SEED = 100


@pytest.mark.parametrize("seed", SEEDS)
def test_no_generated_personal_data_survives_redaction(seed: int) -> None:
    generator = PiiGenerator(seed)
    survivors: list[str] = []
    for _ in range(MESSAGES_PER_SEED):
        message, planted = generator.message(generator.rng.randint(1, 8))
        redacted = redact_text(message)
        survivors += [
            f"{item.kind}: {item.written!r} as {match!r} in {redacted!r}"
            for item, match in found_in(redacted, planted)
        ]
        assert redact_text(redacted) == redacted, "redacting redacted text changes nothing"
    assert not survivors, "\n".join(survivors[:20])


@pytest.mark.parametrize("kind", PiiGenerator.KINDS)
def test_every_kind_alone_is_redacted(kind: str) -> None:
    generator = PiiGenerator(hash(kind) % 1000)
    for _ in range(100):
        item = generator.one(kind)
        redacted = redact_text(item.sentence)
        assert not found_in(redacted, [item]), f"{item.sentence!r} -> {redacted!r}"


def _harmless(rng: random.Random) -> str:
    year, month, day = rng.randint(2020, 2030), rng.randint(1, 12), rng.randint(1, 28)
    hour, minute = rng.randint(0, 23), rng.randint(0, 59)
    build = rng.randint(1000, 30000)
    choices = [
        f"{year}-{month:02d}-{day:02d}",
        f"{year}/{month}/{day}",
        f"{year}.{month:02d}.{day:02d}",
        f"{year}年{month}月{day}日",
        f"{month}/{day}",
        f"{hour:02d}:{minute:02d}",
        f"{hour}時{minute}分",
        f"INC{rng.randint(0, 9_999_999):07d}",
        f"REQ-{rng.randint(0, 99_999_999):08d}",
        f"#{rng.randint(100, 99_999_999)}",
        f"TKT-{rng.randint(10**15, 10**16 - 1)}",
        f"¥{rng.randint(1000, 99_999_999):,}",
        f"{rng.randint(1000, 99_999_999)}円",
        f"${rng.randint(1, 99_999)}.{rng.randint(0, 99):02d}",
        f"version {rng.randint(1, 20)}.{rng.randint(0, 9)}.{build}.{rng.randint(10, 30000)}",
        f"v{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
        f"build {rng.randint(10, 30)}.{rng.randint(0, 9)}.{rng.randint(10000, 30000)}",
        f"0x{rng.randint(0, 2**32 - 1):08X}",
        f"error {rng.randint(100, 599)}",
        f"KB{rng.randint(1_000_000, 9_999_999)}",
        f"AADSTS{rng.randint(10000, 99999)}",
        f"CVE-{year}-{rng.randint(1000, 99999)}",
        f"{rng.randint(2, 9)}-{rng.randint(10, 30)}日",
        f"{rng.randint(1, 999)} GB",
        f"port {rng.randint(1, 65535)}",
    ]
    return rng.choice(choices)


@pytest.mark.parametrize("seed", range(4))
def test_generated_text_without_personal_data_is_left_alone(seed: int) -> None:
    rng = random.Random(seed)
    changed: list[str] = []
    for _ in range(300):
        words = [_harmless(rng) for _ in range(rng.randint(1, 5))]
        text = rng.choice([" ", ", ", "、", " and "]).join(words)
        if find_sensitive(text):
            changed.append(f"{text!r}: {[(s.type.value, s.text) for s in find_sensitive(text)]}")
    assert not changed, "\n".join(changed[:20])
