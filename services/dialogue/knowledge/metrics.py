"""Prometheus metrics of the knowledge base and of the answer policy's decisions."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

KB_ENTRIES = Gauge("helpdesk_kb_entries", "Entries in the knowledge base this replica has indexed")
KB_INDEX_SECONDS = Histogram(
    "helpdesk_kb_index_seconds",
    "Time to build the retrieval index for one knowledge-base version",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
KB_UPDATES = Counter(
    "helpdesk_kb_updates_total",
    "kb.updated events by path (store: the stored copy; durable, live: this replica's index) and result "
    "(applied, duplicate, invalid)",
    ["path", "result"],
)
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
