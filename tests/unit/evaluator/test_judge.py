"""LLM-as-a-judge: versioned prompt, verdict parsing, flag, budget; never on the request path."""

from __future__ import annotations

import uuid
from pathlib import Path

from helpdesk.dapr.configstore_flags import FlagTable
from helpdesk.flags import Flag, FlagDefinition
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.llm.port import Completion, PinnedModel
from helpdesk.llm.prices import PriceTable
from helpdesk.memory_ports import MemoryStateStore
from helpdesk.runtime import flags_client
from services.evaluator.judge import JudgeWorker, RateLimit, load_prompt, parse_verdict
from services.evaluator.knowledge import KnowledgeFollower
from services.evaluator.records import EvaluationRecord, JudgeScores
from services.evaluator.scores.turn_scores import evaluate_answer
from tests.unit.evaluator.conftest import answered, knowledge

PROMPTS = Path(__file__).resolve().parents[3] / "prompts"


class FakeModel:
    name = "gpt-4o-mini"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[tuple[str, str]] = []

    async def complete(self, system: str, user: str, *, temperature: float, max_tokens: int) -> Completion:
        self.calls.append((system, user))
        return Completion(self.reply, prompt_tokens=1000, completion_tokens=100)


class Verdicts:
    def __init__(self) -> None:
        self.recorded: list[JudgeScores] = []

    async def judged(self, _: EvaluationRecord, scores: JudgeScores) -> bool:
        self.recorded.append(scores)
        return True


def worker(
    model: PinnedModel | None, enabled: bool = True, budget: float = 1.0
) -> tuple[JudgeWorker, list[JudgeScores]]:
    verdicts = Verdicts()
    flags = flags_client(f"judge-{uuid.uuid4().hex}", FlagTable({Flag.JUDGE: FlagDefinition(value=enabled)}))
    return (
        JudgeWorker(
            load_prompt(PROMPTS),
            model,
            flags,
            KnowledgeFollower(KnowledgeStore(MemoryStateStore()), list(knowledge())),
            verdicts,
            PriceTable.load(PROMPTS / "prices.yaml"),
            per_minute=60,
            daily_budget_usd=budget,
            queue_size=2,
        ),
        verdicts.recorded,
    )


def test_the_judge_prompt_is_versioned() -> None:
    prompt = load_prompt(PROMPTS)
    assert prompt.ref == "judge@1"
    rendered = prompt.render(evaluate_answer(answered(), knowledge()), knowledge())
    assert '<faq id="password-reset">' in rendered
    assert "How do I reset my password?" in rendered


def test_verdicts_are_parsed_strictly() -> None:
    assert parse_verdict('Sure! {"groundedness": 5, "relevance": 4, "coherence": 5, "reason": "ok"}') == {
        "groundedness": 5,
        "relevance": 4,
        "coherence": 5,
        "reason": "ok",
    }
    assert parse_verdict('{"groundedness": 9, "relevance": 4, "coherence": 5}') is None
    assert parse_verdict("no json here") is None
    assert parse_verdict('{"groundedness": true, "relevance": 4, "coherence": 5}') is None


async def test_an_answer_is_judged_and_costed() -> None:
    model = FakeModel('{"groundedness": 4, "relevance": 5, "coherence": 5, "reason": "cites the entry"}')
    judge, verdicts = worker(model)
    scores = await judge.judge(evaluate_answer(answered(), knowledge()))
    assert scores is not None
    assert scores.prompt == "judge@1"
    assert scores.model == "gpt-4o-mini"
    assert (scores.groundedness, scores.relevance, scores.coherence) == (4, 5, 5)
    assert scores.cost_usd > 0
    assert verdicts == [scores]


async def test_nothing_is_judged_when_the_flag_is_off_or_no_model_is_configured() -> None:
    record = evaluate_answer(answered(), knowledge())
    model = FakeModel("{}")
    off, _ = worker(model, enabled=False)
    assert not off.offer(record)
    assert await off.judge(record) is None
    unconfigured, _ = worker(None)
    assert not unconfigured.offer(record)
    assert model.calls == []


async def test_the_queue_is_bounded_and_offers_never_wait() -> None:
    judge, _ = worker(FakeModel("{}"))
    record = evaluate_answer(answered(), knowledge())
    assert [judge.offer(record) for _ in range(4)] == [True, True, False, False]


async def test_the_daily_budget_stops_judging() -> None:
    model = FakeModel('{"groundedness": 4, "relevance": 5, "coherence": 5}')
    judge, verdicts = worker(model, budget=0.0001)
    record = evaluate_answer(answered(), knowledge())
    assert await judge.judge(record) is not None
    assert await judge.judge(record) is None
    assert len(model.calls) == 1
    assert len(verdicts) == 1


def test_the_rate_limit_spaces_calls() -> None:
    now = [0.0]
    limit = RateLimit(2, clock=lambda: now[0])
    assert limit.wait_seconds() == 0
    assert limit.wait_seconds() == 0
    assert limit.wait_seconds() > 0
    now[0] += 30
    assert limit.wait_seconds() == 0


async def test_the_openai_client_judges_over_real_http() -> None:
    from helpdesk.llm.openai_adapter import openai_model
    from helpdesk.llm.port import pin
    from helpdesk.llm.settings import ModelSettings
    from tests.support.openai_server import OpenAITestServer

    with OpenAITestServer() as server:
        server.script = lambda _: (
            '{"groundedness": 3, "relevance": 4, "coherence": 5, "reason": "partly supported"}'
        )
        chat = openai_model(ModelSettings(openai_base_url=server.base_url), "test-key")
        judge, verdicts = worker(pin(chat, "gpt-4o-mini", timeout_seconds=5.0))
        scores = await judge.judge(evaluate_answer(answered(), knowledge()))
        await chat.close()
        request = server.requests[-1]
    assert scores is not None
    assert (scores.groundedness, scores.relevance, scores.coherence) == (3, 4, 5)
    assert verdicts == [scores]
    assert "strict quality reviewer" in request.system
    assert "password-reset" in request.user
    assert request.body["response_format"] == {"type": "json_object"}
