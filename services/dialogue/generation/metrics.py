"""Prometheus metrics of answer generation: spend, cache effectiveness, endpoint health.

Cache hit rate: `sum(rate(helpdesk_llm_cache_total{outcome="hit"}[5m])) /
sum(rate(helpdesk_llm_cache_total{outcome=~"hit|miss"}[5m]))`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from helpdesk.telemetry import LATENCY_BUCKETS

LLM_TOKENS = Counter("helpdesk_llm_tokens_total", "Tokens spent on the model", ["model", "prompt", "kind"])
LLM_COST = Counter("helpdesk_llm_cost_usd_total", "Estimated model cost in USD", ["model", "prompt"])
LLM_CACHE = Counter(
    "helpdesk_llm_cache_total", "Response cache look-ups by outcome (hit, miss, error)", ["outcome"]
)
LLM_CALLS = Counter(
    "helpdesk_llm_calls_total",
    "Model calls (each attempt) by outcome: success, timeout, rate_limited, server_error, "
    "connection_error, client_error; breaker_open when no call was made",
    ["outcome"],
)
LLM_SECONDS = Histogram(
    "helpdesk_llm_call_seconds", "Latency of one model call attempt", ["model"], buckets=LATENCY_BUCKETS
)
LLM_ANSWERS = Counter(
    "helpdesk_llm_answers_total",
    "Generation results: generated, or fallback with the reason the FAQ answer was used instead",
    ["result", "reason"],
)
LLM_LEAKS = Counter(
    "helpdesk_llm_leaks_total",
    "Model outputs refused for carrying the canary or the system prompt, by kind (canary, prompt) and "
    "the form it was written in (plain, joined, escaped, base64, hex; +reversed)",
    ["kind", "form"],
)
LLM_BREAKER_OPEN = Gauge("helpdesk_llm_breaker_open", "1 while the model endpoint's circuit is open")
LLM_UNPRICED = Counter(
    "helpdesk_llm_unpriced_total", "Answers from a model missing in the price table", ["model"]
)
