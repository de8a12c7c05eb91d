"""nlp: turns `chat.requested` into `chat.analyzed` (language, tokens, intent, entities, redaction)."""
