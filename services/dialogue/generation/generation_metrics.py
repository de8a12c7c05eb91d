"""Prometheus series of answer generation: spend, cache effectiveness, refused outputs, the breaker.

The model calls themselves (attempts, latency, unpriced models) are counted by the kernel's model stack
(`helpdesk.llm.call_metrics`). Cache hit rate: `sum(rate(helpdesk_llm_cache_total{outcome="hit"}[5m]))
/ sum(rate(helpdesk_llm_cache_total{outcome=~"hit|miss"}[5m]))`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LLM_TOKENS = Counter("helpdesk_llm_tokens_total", "Tokens spent on the model", ["model", "prompt", "kind"])
LLM_COST = Counter("helpdesk_llm_cost_usd_total", "Estimated model cost in USD", ["model", "prompt"])
LLM_CACHE = Counter(
    "helpdesk_llm_cache_total", "Response cache look-ups by outcome (hit, miss, error)", ["outcome"]
)
LLM_ANSWERS = Counter(
    "helpdesk_llm_answers_total",
    "Model results by task (answer: an answer written; choice: an entry picked among a clarification's "
    "choices): generated, chosen or none (reason cached or model), or fallback with the reason the FAQ "
    "answer or the clarification was used instead",
    ["task", "result", "reason"],
)
LLM_LEAKS = Counter(
    "helpdesk_llm_leaks_total",
    "Model outputs refused for carrying the canary or the system prompt, by kind (canary, prompt) and "
    "the form it was written in (plain, joined, escaped, base64, hex; +reversed)",
    ["kind", "form"],
)
LLM_BREAKER_OPEN = Gauge("helpdesk_llm_breaker_open", "1 while the model endpoint's circuit is open")
