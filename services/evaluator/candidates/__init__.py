"""The FAQ learning loop: an agent's answer to a handed-off question becomes a FAQ candidate, operators
review it, and an approved candidate is published to the knowledge base (`kb.updated`).

Drafting is extractive by default (the user's redacted question, the agent's answer without greeting
and sign-off, redacted); with a model configured, a `Drafter` may generalise both. Candidates are
de-duplicated on language-aware terms: one that repeats a knowledge-base question is kept as a
duplicate (not queued), and one that repeats a pending candidate is merged into it as more evidence.
Each `handoff.replied` is handled once: its outcome is remembered under its turn id.
"""
