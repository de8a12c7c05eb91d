"""Prometheus series of the answer policy: what it decided, and how confident retrieval was."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DECISIONS = Counter(
    "helpdesk_dialogue_decisions_total",
    "Answer policy decisions by reason (faq, chosen, clarify, smalltalk:*, low_confidence, ...)",
    ["reason"],
)
RETRIEVAL_CONFIDENCE = Histogram(
    "helpdesk_retrieval_confidence",
    "Calibrated confidence of the first hit, per looked-up turn",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)
