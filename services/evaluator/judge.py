"""LLM-as-a-judge: groundedness, relevance and coherence (1-5, with a short reason) for answers.

Off the request path by construction: scored answers are offered to a bounded in-memory queue (a full
queue drops the offer and counts it) and one background worker judges them, rate-limited and within a
daily budget shared by the replicas, only while the `judge_enabled` flag is on and a model is
configured. The prompt is a versioned file (`prompts/judge.v<N>.en.yaml`); every verdict records
`judge@<version>` and the model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from openfeature.client import OpenFeatureClient
from prometheus_client import Counter

from helpdesk.background import Background
from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.flags import Flag
from helpdesk.llm.json_reply import json_object
from helpdesk.llm.port import PinnedModel
from helpdesk.llm.prices import PriceTable
from helpdesk.llm.prompts import Prompt, PromptLibrary, fill
from helpdesk.logging import get_logger
from services.evaluator.knowledge import KnowledgeCopy, KnowledgeFollower
from services.evaluator.records import EvaluationRecord, JudgeScores

_log = get_logger(__name__)

JUDGED = Counter("helpdesk_evaluator_judge_total", "Judge attempts by outcome", ["outcome"])


class JudgeOutcome(StrEnum):
    SCORED = "scored"
    DROPPED = "dropped"
    """The queue was full."""
    FAILED = "failed"
    OFF = "off"
    OVER_BUDGET = "over_budget"
    UNPARSABLE = "unparsable"


CRITERIA = ("groundedness", "relevance", "coherence")


@dataclass(frozen=True)
class JudgePrompt:
    file: Prompt

    @property
    def ref(self) -> str:
        return self.file.ref

    @property
    def system(self) -> str:
        return fill(self.file.system)

    @property
    def temperature(self) -> float:
        return self.file.temperature

    @property
    def max_tokens(self) -> int:
        return self.file.max_tokens

    def render(self, record: EvaluationRecord, knowledge: KnowledgeCopy) -> str:
        faq_entry = self.file.faq_entry or "${question}\n${answer}"
        entries = []
        for faq_id in record.cited_faq_ids:
            entry, passage = knowledge.get(faq_id), knowledge.passage(faq_id)
            if entry is not None:
                text = entry.text(record.language)
                entries.append(fill(faq_entry, id=faq_id, question=text.question, answer=text.answer))
            elif passage is not None:
                entries.append(fill(faq_entry, id=faq_id, question=passage.citation, answer=passage.text))
        return fill(
            self.file.user,
            faq_entries="\n".join(entries) or "(none)",
            question=record.question,
            answer=record.answer,
        )


def load_prompt(directory: Path, prompt_id: str = "judge") -> JudgePrompt:
    """The newest version of the judge prompt in `directory`."""
    return JudgePrompt(PromptLibrary.load(directory, Prompt).resolve(prompt_id))


def parse_verdict(text: str) -> dict[str, Any] | None:
    """The judge's JSON (tolerating prose around it), or None when it is not a valid verdict."""
    data = json_object(text)
    if data is None:
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
    """Daily spend of the judge in this replica's memory, kept in step with `DailySpend`. Only the
    current day is held: a day that is over is never asked about again."""

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
        self.spent = {day: self.spent.get(day, 0.0) + usd}

    def settle(self, day: str, total: float) -> None:
        """Take the day's total shared by every replica when it is above this replica's own."""
        self.spent = {day: max(self.spent.get(day, 0.0), total)}


SPEND_KEEP_SECONDS = 3 * 86400


class DailySpend:
    """The judge's spend per day in the state store, so that replicas and restarts share one budget."""

    def __init__(self, state: KeyValueStore) -> None:
        self._state = state

    async def load(self, day: str) -> float:
        stored = await self._state.get(_spend_key(day))
        return float(stored.value.decode()) if stored else 0.0

    async def add(self, day: str, usd: float) -> None:
        """Adds `usd` to the day's total (etag-checked; gives up quietly after 8 lost races, since the
        in-memory budget still holds this replica back)."""
        key = _spend_key(day)
        for _ in range(8):
            stored = await self._state.get(key)
            total = (float(stored.value.decode()) if stored else 0.0) + usd
            try:
                if stored is None:
                    if await self._state.create(key, str(total).encode(), ttl_seconds=SPEND_KEEP_SECONDS):
                        return
                    continue
                await self._state.save(
                    key, str(total).encode(), etag=stored.etag, ttl_seconds=SPEND_KEEP_SECONDS
                )
                return
            except ETagMismatch:
                continue


def _spend_key(day: str) -> str:
    return f"judge-spend:{day}"


class VerdictRecorder(Protocol):
    async def judged(self, record: EvaluationRecord, scores: JudgeScores) -> bool:
        """Join the verdict to the turn's evaluation and count it once."""
        ...


class JudgeWorker:
    def __init__(
        self,
        prompt: JudgePrompt,
        model: PinnedModel | None,
        flags: OpenFeatureClient,
        knowledge: KnowledgeFollower,
        verdicts: VerdictRecorder,
        prices: PriceTable,
        *,
        per_minute: int,
        daily_budget_usd: float,
        queue_size: int,
        spend: DailySpend | None = None,
    ) -> None:
        """`model` is None when no model is configured (then nothing is judged); `flags` is read for
        `judge_enabled` at every offer, so operators switch the judge on and off at run time."""
        self.prompt = prompt
        self._model = model
        self._flags = flags
        self._knowledge = knowledge
        self._verdicts = verdicts
        self._prices = prices
        self._limit = RateLimit(per_minute)
        self.budget = Budget(daily_budget_usd)
        self._queue: asyncio.Queue[EvaluationRecord] = asyncio.Queue(maxsize=queue_size)
        self._spend = spend
        self._background = Background(self._run)

    def _enabled(self) -> bool:
        return bool(self._flags.get_boolean_value(Flag.JUDGE.value, False))

    @property
    def active(self) -> bool:
        return self._enabled() and self._model is not None

    def offer(self, record: EvaluationRecord) -> bool:
        """Queue an answer for judging, never waiting: False when judging is off or the queue is full."""
        if not record.answer or not self.active:
            return False
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            JUDGED.labels(JudgeOutcome.DROPPED).inc()
            return False
        return True

    async def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        while True:
            record = await self._queue.get()
            try:
                await self.judge(record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                JUDGED.labels(JudgeOutcome.FAILED).inc()
                _log.warning("judge_failed", turn_id=str(record.turn_id), error_type=type(exc).__name__)

    async def judge(self, record: EvaluationRecord) -> JudgeScores | None:
        model = self._model
        if model is None or not self._enabled():
            JUDGED.labels(JudgeOutcome.OFF).inc()
            return None
        day = self.budget.today()
        if self._spend is not None:
            self.budget.settle(day, await self._spend.load(day))
        if not self.budget.allows():
            JUDGED.labels(JudgeOutcome.OVER_BUDGET).inc()
            return None
        wait = self._limit.wait_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        completion = await model.complete(
            self.prompt.system,
            self.prompt.render(record, self._knowledge.copy),
            temperature=self.prompt.temperature,
            max_tokens=self.prompt.max_tokens,
        )
        cost = self._prices.cost(model.name, completion.prompt_tokens, completion.completion_tokens)
        self.budget.charge(cost)
        if self._spend is not None:
            await self._spend.add(day, cost)
        verdict = parse_verdict(completion.text)
        if verdict is None:
            JUDGED.labels(JudgeOutcome.UNPARSABLE).inc()
            return None
        scores = JudgeScores(prompt=self.prompt.ref, model=model.name, cost_usd=cost, **verdict)
        await self._verdicts.judged(record, scores)
        JUDGED.labels(JudgeOutcome.SCORED).inc()
        return scores
