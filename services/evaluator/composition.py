"""The evaluator's parts, built once the runtime's ports exist, each given the ports it uses."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from helpdesk.aggregates import ShardedLedger
from helpdesk.background import Background
from helpdesk.dapr.bulk_subscriptions import BulkDelivery
from helpdesk.dapr.ports import SecretSource, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.dapr.subscriptions import Subscriptions
from helpdesk.knowledge.store import KnowledgeStore, KnowledgeStoreBusy, KnowledgeStoreDamaged
from helpdesk.llm.connection import connect
from helpdesk.llm.port import ChatModel, PinnedModel, pin
from helpdesk.llm.prices import PriceTable
from helpdesk.llm.prompts import Prompt, PromptLibrary
from helpdesk.logging import get_logger
from helpdesk.runtime import Runtime
from services.evaluator.candidates.candidate_queue import CandidateQueue
from services.evaluator.candidates.candidate_store import CandidateStore
from services.evaluator.candidates.drafting import Drafter, ExtractiveDrafter, ModelDrafter
from services.evaluator.candidates.wordings import WordingCounts, WordingRules
from services.evaluator.dead_letter_records import DeadLetter
from services.evaluator.evaluation import TurnEvaluator
from services.evaluator.handlers import EvaluatorHandlers
from services.evaluator.judge import DailySpend, JudgeWorker, load_prompt
from services.evaluator.knowledge import KnowledgeFollower, load_directory
from services.evaluator.knowledge_sources import KnowledgeSources, LearnedWordings
from services.evaluator.operator_access import OperatorAuth
from services.evaluator.quality_report import MAX_DAYS, QualityReport
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.source_reader import SourceReader

_log = get_logger(__name__)

ROOT = Path(__file__).resolve().parents[2]

AGGREGATES_KEPT_SECONDS = (MAX_DAYS + 1) * 86400
"""Aggregate shards and day indexes are read back at most `MAX_DAYS` days (the summary, the dashboard);
a day's index is written when the day's first shard opens, so one day more keeps the oldest day whole."""


@dataclass(frozen=True, slots=True)
class SessionCookie:
    """How the dashboard's session cookie is set: `secure` everywhere but local runs."""

    secure: bool
    max_age_seconds: int

    @classmethod
    def of(cls, settings: EvaluatorSettings) -> SessionCookie:
        secure = settings.secure_cookies or settings.environment == "azure"
        return cls(secure=secure, max_age_seconds=settings.operator_session_seconds)


@dataclass(frozen=True)
class EvaluatorParts:
    """What the routes read (operator access, the quality report, single evaluations, the candidate
    queue, the knowledge sources, the session cookie) and what the subscriptions drive (`handlers`);
    the ledger, the judge and the knowledge refresher run in the background until `close`."""

    operators: OperatorAuth
    report: QualityReport
    evaluations: TurnEvaluator
    candidates: CandidateQueue
    sources: KnowledgeSources
    session_cookie: SessionCookie
    handlers: EvaluatorHandlers
    ledger: ShardedLedger
    judge: JudgeWorker
    knowledge_refresher: Background
    model_client: ChatModel | None = None
    """The judge's and drafter's endpoint, closed last."""

    async def close(self) -> None:
        await self.knowledge_refresher.stop()
        await self.judge.stop()
        await self.ledger.stop()
        if self.model_client is not None:
            await self.model_client.close()


async def compose(
    settings: EvaluatorSettings, runtime: Runtime, subscriptions: Subscriptions
) -> EvaluatorParts:
    """Builds the parts, loads what they need from the sidecar (operator keys, learned knowledge, the
    model's key: each skipped while the sidecar is unavailable, as the service must start without it),
    subscribes the handlers and starts the background work."""
    knowledge_dir = Path(settings.knowledge_path) if settings.knowledge_path else ROOT / "knowledge"
    prompts_dir = settings.llm.prompts_directory
    operators = OperatorAuth(runtime.state, runtime.secrets, settings.operator_session_seconds)
    candidate_store = CandidateStore(runtime.state)
    knowledge, sources = knowledge_parts(runtime, knowledge_dir, candidate_store)
    with contextlib.suppress(SidecarUnavailable):
        await operators.load_keys()
    await catch_up(knowledge, sources, knowledge_dir)
    model_client = await open_model(settings, runtime.secrets)
    model = pin(model_client, settings.judge_model, settings.judge_timeout_seconds) if model_client else None
    ledger = ShardedLedger(
        runtime.state,
        flush_seconds=settings.aggregate_flush_seconds,
        batch_size=settings.aggregate_batch_size,
        stale_seconds=settings.aggregate_stale_seconds,
        keep_seconds=AGGREGATES_KEPT_SECONDS,
    )
    evaluations = TurnEvaluator(runtime.state, ledger, knowledge, settings.record_retention_seconds)
    candidates = CandidateQueue(
        candidate_store,
        sources,
        knowledge,
        duplicate_threshold=settings.candidate_duplicate_threshold,
        drafter=faq_drafter(model, prompts_dir),
        wordings=WordingCounts(runtime.state, WordingRules(min_users=settings.learn_wordings_min_users)),
        learn_wordings_automatically=settings.learn_wordings_automatically,
    )
    judge = answer_judge(settings, runtime, model, knowledge, evaluations, prompts_dir)
    dead_letters = Records(runtime.state, DeadLetter, "deadletter", settings.record_retention_seconds)
    handlers = EvaluatorHandlers(evaluations, judge, candidates, knowledge, sources, dead_letters)
    handlers.subscribe(subscriptions, bulk_delivery(settings))
    parts = EvaluatorParts(
        operators=operators,
        report=quality_report(settings, ledger),
        evaluations=evaluations,
        candidates=candidates,
        sources=sources,
        session_cookie=SessionCookie.of(settings),
        handlers=handlers,
        ledger=ledger,
        judge=judge,
        knowledge_refresher=Background(
            partial(follow_knowledge, knowledge, sources, knowledge_dir, settings.knowledge_refresh_seconds)
        ),
        model_client=model_client,
    )
    await ledger.start()
    await judge.start()
    parts.knowledge_refresher.start()
    _log.info("evaluator_ready", kb_entries=len(knowledge.copy), judge_model=model is not None)
    return parts


def bulk_delivery(settings: EvaluatorSettings) -> BulkDelivery | None:
    if not settings.bulk_delivery:
        return None
    return BulkDelivery(
        max_messages=settings.bulk_max_messages,
        max_await_ms=settings.bulk_max_await_ms,
        concurrency=settings.bulk_concurrency,
    )


def quality_report(settings: EvaluatorSettings, ledger: ShardedLedger) -> QualityReport:
    return QualityReport(
        ledger,
        min_samples=settings.min_samples_per_arm,
        alpha=settings.significance_level,
        baseline=settings.baseline_variant,
    )


def faq_drafter(model: PinnedModel | None, prompts_dir: Path) -> Drafter:
    """With a model configured, candidates are drafted by it (falling back to extraction)."""
    draft_prompt = PromptLibrary.load(prompts_dir, Prompt).resolve("faq-draft")
    return ModelDrafter(model, draft_prompt) if model else ExtractiveDrafter()


def answer_judge(
    settings: EvaluatorSettings,
    runtime: Runtime,
    model: PinnedModel | None,
    knowledge: KnowledgeFollower,
    evaluations: TurnEvaluator,
    prompts_dir: Path,
) -> JudgeWorker:
    """The judge, with its prompt and prices; its spend is kept in the state store for every replica."""
    return JudgeWorker(
        load_prompt(prompts_dir),
        model,
        runtime.flags,
        knowledge,
        evaluations,
        PriceTable.load(settings.llm.price_table),
        per_minute=settings.judge_max_per_minute,
        daily_budget_usd=settings.judge_daily_budget_usd,
        queue_size=settings.judge_queue_size,
        spend=DailySpend(runtime.state),
    )


async def open_model(settings: EvaluatorSettings, secrets: SecretSource) -> ChatModel | None:
    """The judge's and drafter's model endpoint, configured as dialogue's is (`settings.llm`): None
    without one, or while the sidecar is unavailable at start (then answers are scored and drafted
    without a model)."""
    with contextlib.suppress(SidecarUnavailable):
        return await connect(settings.llm, secrets)
    return None


def knowledge_parts(
    runtime: Runtime, knowledge_dir: Path, learned_wordings: LearnedWordings | None = None
) -> tuple[KnowledgeFollower, KnowledgeSources]:
    """The copy that follows the knowledge store, and the sources that write it (imports, approvals,
    the seed); imports keep the approved wordings `learned_wordings` gives (the candidate store)."""
    store = KnowledgeStore(runtime.knowledge)
    knowledge = KnowledgeFollower(store, load_directory(knowledge_dir))
    sources = KnowledgeSources(store, runtime.bus, runtime.state, SourceReader(), knowledge, learned_wordings)
    return knowledge, sources


async def catch_up(knowledge: KnowledgeFollower, sources: KnowledgeSources, knowledge_dir: Path) -> None:
    """Seeds an empty knowledge store from the default files, then follows its current version; while
    the sidecar is unavailable (or another replica is writing) the copy keeps what it has."""
    try:
        if knowledge.kb_version is None:
            await sources.seed(knowledge_dir)
        await knowledge.refresh()
    except (SidecarUnavailable, KnowledgeStoreBusy, KnowledgeStoreDamaged) as exc:
        _log.warning("knowledge_refresh_failed", error_type=type(exc).__name__)


async def follow_knowledge(
    knowledge: KnowledgeFollower, sources: KnowledgeSources, knowledge_dir: Path, every_seconds: float
) -> None:
    """Compares the copy with the knowledge store every `every_seconds`, so a version whose live
    `kb.updated` this replica missed reaches it (and a store still empty at start gets its seed)."""
    while True:
        await asyncio.sleep(every_seconds)
        await catch_up(knowledge, sources, knowledge_dir)
