"""Prometheus series of the knowledge base a replica answers from: its size, indexing, updates."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

KB_ENTRIES = Gauge("helpdesk_kb_entries", "Entries in the knowledge base this replica has indexed")
KB_VERSION = Info("helpdesk_kb", "The knowledge version this replica answers from")
KB_INDEX_SECONDS = Histogram(
    "helpdesk_kb_index_seconds",
    "Time to build the retrieval index for one knowledge-base version",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
KB_UPDATES = Counter(
    "helpdesk_kb_updates_total",
    "kb.updated events and looks at the knowledge store by path (durable, live, refresh) and result "
    "(applied, duplicate, invalid)",
    ["path", "result"],
)
