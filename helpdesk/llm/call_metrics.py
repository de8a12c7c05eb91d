"""Prometheus series of the model stack itself: every call attempt, its latency, unpriced models.

They are the same in every service that calls a model; each service's own series (tokens per prompt,
answers, judge outcomes) stay with the service.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from helpdesk.telemetry import LATENCY_BUCKETS

LLM_CALLS = Counter(
    "helpdesk_llm_calls_total",
    "Model calls (each attempt) by outcome: success, timeout, rate_limited, server_error, "
    "connection_error, client_error; breaker_open when no call was made",
    ["outcome"],
)
LLM_SECONDS = Histogram(
    "helpdesk_llm_call_seconds", "Latency of one model call attempt", ["model"], buckets=LATENCY_BUCKETS
)
LLM_UNPRICED = Counter(
    "helpdesk_llm_unpriced_total", "Answers from a model missing in the price table", ["model"]
)
