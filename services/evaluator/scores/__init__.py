"""Per-answer quality numbers that need no LLM: overlap proxies, citation validity, latency, cost."""
