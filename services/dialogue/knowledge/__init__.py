"""dialogue's knowledge base: the FAQ entries (model, files), their retrieval index and calibrated
confidence, and the live, stored copy every replica answers from (library).

For operator tooling: `files.kb_update_from_file(path)` builds the `kb.updated` event that publishes a
file of entries (`helpdeskctl kb publish <file>`).
"""
