"""The evaluator's operator API: module-level routers and the typed dependencies they read."""
