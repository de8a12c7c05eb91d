"""The one chat-model stack both model-using services share (dialogue's answers, the evaluator's judge and
FAQ drafts).

- `port`: what a caller may ask of a model (`ChatModel`, `PinnedModel`) and what it gets back;
- `connection`: `connect(settings, secrets)`, the configured endpoint or None (offline);
- `openai_adapter`: the OpenAI / Azure OpenAI client behind the port (loaded only when configured);
- `retries`: bounded retries of one call within a deadline;
- `prompts`: the versioned prompt files of `prompts/`; `prices`: the price table;
- `json_reply`: reading the JSON object a model was asked to reply with;
- `settings`: `ModelSettings`, embedded in each model-using service's settings;
- `call_metrics`: the Prometheus series every model call feeds.

Domain code imports `port`, `prompts`, `prices` and `json_reply` only; the `openai` package is needed only by
`openai_adapter` (the `llm` extra).
"""
