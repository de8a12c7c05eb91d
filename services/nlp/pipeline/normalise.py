"""Normalisation: the one form of the message that every later step sees (shared with dialogue and the
evaluator through `helpdesk.text`, so offsets and tokens agree across services)."""

from __future__ import annotations

from helpdesk.text import normalise

__all__ = ["normalise"]
