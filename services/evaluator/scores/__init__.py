"""Per-answer quality numbers that need no LLM: overlap proxies, citation validity (FAQ entries and
passages of documents alike), latency, cost."""
