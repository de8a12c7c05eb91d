"""LLM-as-a-judge: groundedness, relevance and coherence (1-5, with a short reason) for answers.

Off the request path by construction: scored answers are offered to a bounded in-memory queue (a full
queue drops the offer and counts it) and one background worker judges them, rate-limited and within a
daily budget, only while the `judge_enabled` flag is on and a model is configured. The prompt is a
versioned file (`prompts/judge.v<N>.en.yaml`); every verdict records `judge@<version>` and the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any, Protocol

import orjson
import yaml
from prometheus_client import Counter

from helpdesk.logging import get_logger
from services.evaluator.knowledge import KnowledgeCopy
from services.evaluator.records import EvaluationRecord, JudgeScores

_log = get_logger(__name__)

JUDGED = Counter("helpdesk_evaluator_judge_total", "Judge attempts by outcome", ["outcome"])

CRITERIA = ("groundedness", "relevance", "coherence")


@dataclass(frozen=True)
class JudgePrompt:
    id: str
    version: int
    system: str
    user: Template
    faq_entry: Template
    temperature: float
    max_tokens: int

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def render(self, record: EvaluationRecord, knowledge: KnowledgeCopy) -> str:
        entries = []
        for faq_id in record.cited_faq_ids:
            entry = knowledge.get(faq_id)
            text = entry.text(record.language) if entry else None
            if text is not None:
                entries.append(
                    self.faq_entry.safe_substitute(id=faq_id, question=text.question, answer=text.answer)
                )
        return self.user.safe_substitute(
            faq_entries="\n".join(entries) or "(none)", question=record.question, answer=record.answer
        )


def load_prompt(directory: Path, prompt_id: str = "judge") -> JudgePrompt:
    """The newest version of the judge prompt in `directory`."""
    found: list[tuple[int, dict[str, Any]]] = []
    for path in directory.glob(f"{prompt_id}.v*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("id") == prompt_id:
            found.append((int(data["version"]), data))
    if not found:
        raise FileNotFoundError(f"no {prompt_id} prompt in {directory}")
    version, data = max(found, key=lambda item: item[0])
    return JudgePrompt(
        id=prompt_id,
        version=version,
        system=str(data["system"]),
        user=Template(str(data["user"])),
        faq_entry=Template(str(data.get("faq_entry", "${question}\n${answer}"))),
        temperature=float(data.get("temperature", 0.0)),
        max_tokens=int(data.get("max_tokens", 300)),
    )


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


def parse_verdict(text: str) -> dict[str, Any] | None:
    """The judge's JSON (tolerating prose around it), or None when it is not a valid verdict."""
    match = _JSON_OBJECT.search(text)
    if match is None:
        return None
    try:
        data = orjson.loads(match.group(0))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    verdict: dict[str, Any] = {}
    for criterion in CRITERIA:
        value = data.get(criterion)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
            return None
        verdict[criterion] = round(value)
    verdict["reason"] = str(data.get("reason", ""))[:300]
    return verdict


class RateLimit:
    """A token bucket: `per_minute` calls, refilled continuously."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._tokens = float(per_minute)
        self._clock = clock
        self._last = clock()

    def wait_seconds(self) -> float:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._rate


class Budget:
    """Daily spend of the judge; the caller persists it so replicas and restarts share it."""

    def __init__(self, daily_usd: float) -> None:
        self.daily_usd = daily_usd
        self.spent: dict[str, float] = {}

    @staticmethod
    def today() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%d")

    def allows(self) -> bool:
        return self.spent.get(self.today(), 0.0) < self.daily_usd

    def charge(self, usd: float) -> None:
        day = self.today()
        self.spent[day] = self.spent.get(day, 0.0) + usd


class JudgeWorker:
    def __init__(
        self,
        prompt: JudgePrompt,
        model: Callable[[], ChatModel | None],
        enabled: Callable[[], bool],
        knowledge: Callable[[], KnowledgeCopy],
        record_verdict: Callable[[EvaluationRecord, JudgeScores], Awaitable[object]],
        prices: Prices,
        *,
        per_minute: int,
        daily_budget_usd: float,
        queue_size: int,
        load_spend: Callable[[str], Awaitable[float]] | None = None,
        add_spend: Callable[[str, float], Awaitable[None]] | None = None,
    ) -> None:
        self.prompt = prompt
        self._model = model
        self._enabled = enabled
        self._knowledge = knowledge
        self._record_verdict = record_verdict
        self._prices = prices
        self._limit = RateLimit(per_minute)
        self.budget = Budget(daily_budget_usd)
        self._queue: asyncio.Queue[EvaluationRecord] = asyncio.Queue(maxsize=queue_size)
        self._load_spend = load_spend
        self._add_spend = add_spend
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self._enabled() and self._model() is not None

    def offer(self, record: EvaluationRecord) -> bool:
        """Queue an answer for judging, never waiting: False when judging is off or the queue is full."""
        if not record.answer or not self.active:
            return False
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            JUDGED.labels("dropped").inc()
            return False
        return True

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            record = await self._queue.get()
            try:
                await self.judge(record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                JUDGED.labels("failed").inc()
                _log.warning("judge_failed", turn_id=str(record.turn_id), error_type=type(exc).__name__)

    async def judge(self, record: EvaluationRecord) -> JudgeScores | None:
        model = self._model()
        if model is None or not self._enabled():
            JUDGED.labels("off").inc()
            return None
        day = self.budget.today()
        if self._load_spend is not None:
            self.budget.spent[day] = max(self.budget.spent.get(day, 0.0), await self._load_spend(day))
        if not self.budget.allows():
            JUDGED.labels("over_budget").inc()
            return None
        wait = self._limit.wait_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        completion = await model.complete(
            self.prompt.system,
            self.prompt.render(record, self._knowledge()),
            temperature=self.prompt.temperature,
            max_tokens=self.prompt.max_tokens,
        )
        cost = self._prices.cost(model.name, completion.prompt_tokens, completion.completion_tokens)
        self.budget.charge(cost)
        if self._add_spend is not None:
            await self._add_spend(day, cost)
        verdict = parse_verdict(completion.text)
        if verdict is None:
            JUDGED.labels("unparsable").inc()
            return None
        scores = JudgeScores(prompt=self.prompt.ref, model=model.name, cost_usd=cost, **verdict)
        await self._record_verdict(record, scores)
        JUDGED.labels("scored").inc()
        return scores
