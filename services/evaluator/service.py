"""The evaluator's parts wired together, and the read models the operator API and dashboard show."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore, SidecarUnavailable
from helpdesk.flags import Flag
from helpdesk.logging import get_logger
from helpdesk.runtime import Runtime
from services.evaluator.candidates import (
    CandidateQueue,
    Drafter,
    ExtractiveDrafter,
    ModelDrafter,
)
from services.evaluator.evaluation import TurnEvaluator
from services.evaluator.experiments import analyse
from services.evaluator.judge import JudgeWorker, load_prompt
from services.evaluator.knowledge import KnowledgeFollower, load_directory
from services.evaluator.ledger import Ledger
from services.evaluator.llm import ChatModel, OpenAIChatModel, Prices, load_prompt_file
from services.evaluator.operators import OperatorAuth
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.summary import by_variant, days_back, overall, overview, series

_log = get_logger(__name__)

ROOT = Path(__file__).resolve().parents[2]
OPENAI_KEY_SECRET = "openai-api-key"  # noqa: S105 - a secret name
AZURE_OPENAI_KEY_SECRET = "azure-openai-api-key"  # noqa: S105 - a secret name
MAX_DAYS = 90


class Evaluator:
    def __init__(self, settings: EvaluatorSettings, runtime: Callable[[], Runtime]) -> None:
        self.settings = settings
        self._runtime = runtime
        knowledge_dir = Path(settings.knowledge_path) if settings.knowledge_path else ROOT / "knowledge"
        prompts_dir = Path(settings.prompts_path) if settings.prompts_path else ROOT / "prompts"
        self.library = KnowledgeFollower(self._state, load_directory(knowledge_dir))
        self.ledger = Ledger(
            self._state,
            flush_seconds=settings.aggregate_flush_seconds,
            batch_size=settings.aggregate_batch_size,
            stale_seconds=settings.aggregate_stale_seconds,
        )
        self.turns = TurnEvaluator(
            self._state, self.ledger, lambda: self.library.copy, settings.record_retention_seconds
        )
        self.candidates = CandidateQueue(
            self._state,
            lambda: self._runtime().bus,
            self.library,
            duplicate_threshold=settings.candidate_duplicate_threshold,
            drafter=self._drafter,
        )
        self.operators = OperatorAuth(
            self._state, lambda: self._runtime().secrets, settings.operator_session_seconds
        )
        self.model: ChatModel | None = None
        self._draft_prompt = load_prompt_file(prompts_dir, "faq-draft")
        self.judge = JudgeWorker(
            load_prompt(prompts_dir),
            lambda: self.model,
            self._judge_enabled,
            lambda: self.library.copy,
            self.turns.judged,
            Prices.load(prompts_dir / "prices.yaml"),
            per_minute=settings.judge_max_per_minute,
            daily_budget_usd=settings.judge_daily_budget_usd,
            queue_size=settings.judge_queue_size,
            load_spend=self._load_spend,
            add_spend=self._add_spend,
        )
        self._refresher: asyncio.Task[None] | None = None

    def _state(self) -> KeyValueStore:
        return self._runtime().state

    def _drafter(self) -> Drafter:
        """With a model configured, candidates are drafted by it (falling back to extraction)."""
        if self.model is None:
            return ExtractiveDrafter()
        return ModelDrafter(self.model, self._draft_prompt)

    def _judge_enabled(self) -> bool:
        return bool(self._runtime().flags.get_boolean_value(Flag.JUDGE.value, False))

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self, runtime: Runtime) -> None:
        with contextlib.suppress(SidecarUnavailable):
            await self.operators.load_keys()
        with contextlib.suppress(SidecarUnavailable):
            await self.library.refresh()
        with contextlib.suppress(SidecarUnavailable):
            azure = self.settings.azure_openai_endpoint is not None
            api_key = await runtime.secrets.get_secret(
                AZURE_OPENAI_KEY_SECRET if azure else OPENAI_KEY_SECRET
            )
            if api_key:
                self.model = OpenAIChatModel(
                    api_key,
                    self.settings.judge_model,
                    timeout=self.settings.judge_timeout_seconds,
                    base_url=self.settings.openai_base_url,
                    azure_endpoint=self.settings.azure_openai_endpoint,
                    azure_api_version=self.settings.azure_openai_api_version,
                )
        await self.ledger.start()
        await self.judge.start()
        self._refresher = asyncio.create_task(self._refresh_knowledge())
        _log.info("evaluator_ready", kb_entries=len(self.library.copy), judge_model=self.model is not None)

    async def stop(self, runtime: Runtime) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        await self.judge.stop()
        await self.ledger.stop()

    async def _refresh_knowledge(self) -> None:
        while True:
            await asyncio.sleep(self.settings.knowledge_refresh_seconds)
            try:
                await self.library.refresh()
            except SidecarUnavailable as exc:
                _log.warning("knowledge_refresh_failed", error_type=type(exc).__name__)

    async def _load_spend(self, day: str) -> float:
        stored = await self._state().get(f"judge-spend:{day}")
        return float(stored.value.decode()) if stored else 0.0

    async def _add_spend(self, day: str, usd: float) -> None:
        store = self._state()
        for _ in range(8):
            stored = await store.get(f"judge-spend:{day}")
            total = (float(stored.value.decode()) if stored else 0.0) + usd
            try:
                if stored is None:
                    if await store.create(f"judge-spend:{day}", str(total).encode(), ttl_seconds=3 * 86400):
                        return
                    continue
                await store.save(
                    f"judge-spend:{day}", str(total).encode(), etag=stored.etag, ttl_seconds=3 * 86400
                )
                return
            except ETagMismatch:
                continue

    # ---- read models -------------------------------------------------------------------------------

    async def summary(self, days: int) -> dict[str, Any]:
        totals = await self.ledger.totals(days_back(min(days, MAX_DAYS)))
        return {
            "days": days,
            "overall": overview(overall(totals)),
            "variants": {name: overview(tally) for name, tally in sorted(by_variant(totals).items())},
            "granularity": "day" if days > 7 else "hour",
            "series": series(totals, daily=days > 7),
        }

    async def experiment(self, days: int) -> dict[str, Any]:
        totals = await self.ledger.totals(days_back(min(days, MAX_DAYS)))
        report = analyse(
            by_variant(totals),
            min_samples=self.settings.min_samples_per_arm,
            alpha=self.settings.significance_level,
            baseline=self.settings.baseline_variant,
        )
        body = asdict(report)
        body["stop"] = report.stop
        return body

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        docs = await self.ledger.shards(days_back(2))
        turns = [turn for doc in docs for turn in doc.recent]
        turns.sort(key=lambda t: str(t.get("at", "")), reverse=True)
        return turns[:limit]
