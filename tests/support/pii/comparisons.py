"""How many times findings are compared with each other: the PII finders and nlp's entities keep a
finding only when it overlaps none kept before, and the tests that hold that work to the number of
findings (not its square) count the comparisons."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from helpdesk.text.pii.spans import Span


def counted_comparisons(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Count every `Span.overlaps` call from now on; the returned function says how many so far."""
    compared = 0
    overlaps = Span.overlaps

    def counted(span: Span, other: Span) -> bool:
        nonlocal compared
        compared += 1
        return overlaps(span, other)

    monkeypatch.setattr(Span, "overlaps", counted)
    return lambda: compared
