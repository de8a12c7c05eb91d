"""The evaluator's own use of a chat model (the judge, FAQ drafting): OpenAI or Azure OpenAI through the
`openai` package, an explicit timeout and one retry, versioned prompt files and price estimates.

Never on the chat's request path: both callers run in the background or on `handoff.replied`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Protocol

import orjson
import yaml


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int


class ChatModel(Protocol):
    name: str

    async def complete(
        self, system: str, user: str, *, temperature: float, max_tokens: int
    ) -> Completion: ...


class OpenAIChatModel:
    """OpenAI or Azure OpenAI through the `openai` package, with an explicit timeout and one retry."""

    def __init__(
        self,
        api_key: str,
        model: str,
        *,
        timeout: float,
        base_url: str | None = None,
        azure_endpoint: str | None = None,
        azure_api_version: str | None = None,
    ) -> None:
        import openai

        self.name = model
        self._client: Any
        if azure_endpoint:
            self._client = openai.AsyncAzureOpenAI(
                api_key=api_key,
                azure_endpoint=azure_endpoint,
                api_version=azure_api_version,
                timeout=timeout,
                max_retries=1,
            )
        else:
            self._client = openai.AsyncOpenAI(
                api_key=api_key, base_url=base_url, timeout=timeout, max_retries=1
            )

    async def complete(self, system: str, user: str, *, temperature: float, max_tokens: int) -> Completion:
        response = await self._client.chat.completions.create(
            model=self.name,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            temperature=temperature,
            max_tokens=max_tokens,
            response_format={"type": "json_object"},
        )
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )


class Prices:
    """USD per 1,000 tokens by model, from `prompts/prices.yaml`; unknown models cost 0."""

    def __init__(self, table: dict[str, tuple[float, float]]) -> None:
        self._table = table

    @classmethod
    def load(cls, path: Path) -> Prices:
        if not path.exists():
            return cls({})
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        table = {
            str(name): (float(p.get("prompt_per_1k", 0)), float(p.get("completion_per_1k", 0)))
            for name, p in (data.get("models") or {}).items()
        }
        return cls(table)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        prompt, completion = self._table.get(model, (0.0, 0.0))
        return (prompt_tokens * prompt + completion_tokens * completion) / 1000


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's reply (tolerating prose or fences around it), or None."""
    match = _JSON_OBJECT.search(text)
    if match is None:
        return None
    try:
        data = orjson.loads(match.group(0))
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class PromptFile:
    """A versioned prompt (`prompts/<id>.v<N>.<lang>.yaml`): system text and a user template."""

    id: str
    version: int
    system: Template
    user: Template
    extra: dict[str, Any]
    temperature: float
    max_tokens: int

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


def load_prompt_file(directory: Path, prompt_id: str) -> PromptFile:
    """The newest version of a prompt in `directory`."""
    found: list[tuple[int, dict[str, Any]]] = []
    for path in directory.glob(f"{prompt_id}.v*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("id") == prompt_id:
            found.append((int(data["version"]), data))
    if not found:
        raise FileNotFoundError(f"no {prompt_id} prompt in {directory}")
    version, data = max(found, key=lambda item: item[0])
    return PromptFile(
        id=prompt_id,
        version=version,
        system=Template(str(data["system"])),
        user=Template(str(data["user"])),
        extra={k: v for k, v in data.items() if k not in ("system", "user")},
        temperature=float(data.get("temperature", 0.0)),
        max_tokens=int(data.get("max_tokens", 300)),
    )
