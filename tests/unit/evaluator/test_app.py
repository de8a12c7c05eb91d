"""The evaluator service end to end in-process: subscriptions, operator API, dashboard."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpdesk.events import (
    AnswerMode,
    EscalationReason,
    FeedbackSubmitted,
    HandoffReplied,
    KbUpdated,
    Language,
    Rating,
    Variant,
)
from helpdesk.knowledge.entries import FaqEntry
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.knowledge.versions import LoadedKnowledge
from helpdesk.memory_ports import MemoryBus, MemoryStateStore, memory_runtime
from helpdesk_ops.seed import local_secrets
from services.evaluator.app import create_app
from services.evaluator.settings import EvaluatorSettings
from tests.support.events import envelope
from tests.unit.evaluator.conftest import PASSWORD_FAQ_FILE, answered, escalated

OPERATOR_KEY = "hdop_test-operator-key"
USER_KEY = "hd_test-user-key"


@pytest.fixture
def bus() -> MemoryBus:
    return MemoryBus()


@pytest.fixture
def knowledge() -> MemoryStateStore:
    """The knowledge store the evaluator writes (shared with dialogue in a running stack)."""
    return MemoryStateStore()


@pytest.fixture
def client(bus: MemoryBus, knowledge: MemoryStateStore, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "faq.yaml").write_text(PASSWORD_FAQ_FILE, encoding="utf-8")
    runtime = memory_runtime(
        "evaluator", secrets=local_secrets(USER_KEY, OPERATOR_KEY), bus=bus, knowledge=knowledge
    )
    settings = EvaluatorSettings(
        knowledge_path=str(tmp_path), min_samples_per_arm=5, aggregate_flush_seconds=0.01
    )
    with TestClient(create_app(settings, runtime)) as test_client:
        yield test_client


def await_store(store: KnowledgeStore) -> LoadedKnowledge:
    loaded = asyncio.run(store.load())
    assert loaded is not None
    return loaded


def operator() -> dict[str, str]:
    return {"authorization": f"Bearer {OPERATOR_KEY}"}


def deliver(client: TestClient, event: object, topic: str) -> str:
    response = client.post(f"/events/pubsub/{topic}", json=envelope(event, topic))  # type: ignore[arg-type]
    assert response.status_code == 200
    return str(response.json()["status"])


def escalate(client: TestClient, conversation_id: uuid.UUID, question: str) -> None:
    """The escalation an agent's reply follows (the evaluator waits for it before drafting)."""
    escalation = escalated(
        conversation_id=conversation_id, reason=EscalationReason.LOW_CONFIDENCE, question=question
    )
    assert deliver(client, escalation, "chat.escalated") == "SUCCESS"


def test_the_operator_api_needs_an_operator_key(client: TestClient) -> None:
    assert client.get("/v1/evaluations/summary").status_code == 401
    assert client.get("/v1/evaluations/summary", headers={"authorization": "Bearer nope"}).status_code == 401
    assert (
        client.get("/v1/evaluations/summary", headers={"authorization": f"Bearer {USER_KEY}"}).status_code
        == 401
    )
    assert client.get("/v1/evaluations/summary", headers=operator()).status_code == 200


def test_an_answer_is_scored_once_and_its_thumbs_are_joined(client: TestClient) -> None:
    event = answered()
    assert deliver(client, event, "chat.answered") == "SUCCESS"
    assert deliver(client, event, "chat.answered") == "SUCCESS"
    feedback = FeedbackSubmitted(
        turn_id=event.turn_id,
        conversation_id=event.conversation_id,
        channel=event.channel,
        rating=Rating.DOWN,
        comment="Wrong, mail me at someone@example.com",
    )
    assert deliver(client, feedback, "feedback.submitted") == "SUCCESS"
    assert deliver(client, feedback, "feedback.submitted") == "SUCCESS"

    record = client.get(f"/v1/evaluations/{event.turn_id}", headers=operator()).json()
    assert record["relevance"] == 1.0
    assert record["groundedness"] == 1.0
    assert record["feedback"]["rating"] == "down"
    assert record["feedback"]["comment"] == "Wrong, mail me at [EMAIL]"
    summary = client.get("/v1/evaluations/summary", headers=operator()).json()
    numbers = summary["variants"]["a"]
    assert numbers["turns"] == 1
    assert numbers["ratings"] == 1
    assert numbers["thumbs_up_rate"] == 0.0
    assert numbers["sessions"]["conversations"] == 1
    assert numbers["sessions"]["resolution_rate"] == 0.0
    assert summary["series"][0]["variant"] == "a"
    recent = client.get("/v1/evaluations/recent", headers=operator()).json()["turns"]
    assert recent[0]["turn_id"] == str(event.turn_id)


def test_feedback_before_its_answer_is_retried(client: TestClient) -> None:
    event = answered()
    feedback = FeedbackSubmitted(
        turn_id=event.turn_id, conversation_id=event.conversation_id, channel=event.channel, rating=Rating.UP
    )
    assert deliver(client, feedback, "feedback.submitted") == "RETRY"
    deliver(client, event, "chat.answered")
    assert deliver(client, feedback, "feedback.submitted") == "SUCCESS"


def test_a_split_shows_per_variant_numbers_and_a_verdict(client: TestClient) -> None:
    for index in range(12):
        variant = "a" if index % 2 else "b"
        mode = AnswerMode.FAQ if variant == "a" else AnswerMode.FALLBACK
        event = answered(variant=Variant(name=variant), mode=mode)
        deliver(client, event, "chat.answered")
        rating = Rating.UP if variant == "a" else Rating.DOWN
        deliver(
            client,
            FeedbackSubmitted(
                turn_id=event.turn_id,
                conversation_id=event.conversation_id,
                channel=event.channel,
                rating=rating,
            ),
            "feedback.submitted",
        )
    escalation = escalated(summary="wants a human", variant=Variant(name="b"))
    deliver(client, escalation, "chat.escalated")
    report = client.get("/v1/experiments", headers=operator()).json()
    arms = {arm["variant"]: arm for arm in report["arms"]}
    assert set(arms) == {"a", "b"}
    assert arms["b"]["turns"] == 7
    assert arms["b"]["rates"]["handoff_rate"]["value"] == pytest.approx(1 / 7)
    challenger = next(arm for arm in report["arms"] if not arm["is_baseline"])
    assert challenger["verdict"] in {"worse", "better"}
    thumbs = next(c for c in challenger["comparisons"] if c["metric"] == "thumbs_up_rate")
    assert thumbs["p_value"] < 0.01


def test_a_handoff_reply_yields_a_candidate_and_approval_publishes_it(
    client: TestClient, bus: MemoryBus, knowledge: MemoryStateStore
) -> None:
    reply = HandoffReplied(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=answered().channel,
        operator_id="agent-7",
        answer="Hi! Open tray 2 and remove the jammed paper. Regards, Kim",
        question="The printer on floor 3 is jammed",
        language=Language.EN,
    )
    assert deliver(client, reply, "handoff.replied") == "RETRY"
    escalate(client, reply.conversation_id, "The printer on floor 3 is jammed")
    assert deliver(client, reply, "handoff.replied") == "SUCCESS"
    pending = client.get("/v1/faq-candidates", params={"status": "pending"}, headers=operator()).json()[
        "candidates"
    ]
    assert len(pending) == 1
    candidate = pending[0]
    approved = client.post(
        f"/v1/faq-candidates/{candidate['id']}/approve", headers=operator(), json={"category": "printing"}
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    seeded, approval = bus.of(KbUpdated)
    assert isinstance(approval, KbUpdated)
    assert isinstance(seeded, KbUpdated)
    assert approval.schema_version == 2
    assert not approval.entries, "the event refers to the version; the entry is in the knowledge store"
    assert approval.previous_version == seeded.kb_version
    assert approval.counts.added == 1
    assert approval.actor == "local-operator"
    assert approved.json()["kb_version"] == approval.kb_version
    loaded = await_store(KnowledgeStore(knowledge))
    assert loaded.version.version == approval.kb_version
    learned = loaded.items[approved.json()["faq_id"]]
    assert isinstance(learned, FaqEntry)
    assert learned.en is not None
    assert learned.en.question == "The printer on floor 3 is jammed"
    conflict = client.post(f"/v1/faq-candidates/{candidate['id']}/reject", headers=operator())
    assert conflict.status_code == 409
    assert client.post("/v1/faq-candidates/nope/approve", headers=operator()).status_code == 404


def test_the_dashboard_signs_in_with_the_operator_key_and_escapes_text(client: TestClient) -> None:
    login = client.get("/dashboard")
    assert login.status_code == 200
    assert 'name="api_key"' in login.text
    assert "script-src 'self'" in login.headers["content-security-policy"]
    refused = client.post("/dashboard/login", data={"api_key": USER_KEY}, follow_redirects=False)
    assert refused.status_code == 401
    deliver(client, answered(question='<script>alert("x")</script> reset password?'), "chat.answered")
    reply = HandoffReplied(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=answered().channel,
        operator_id="agent-7",
        answer='<img src=x onerror="alert(1)"> restart the router',
        question="<b>router</b> is down",
        language=Language.EN,
    )
    escalate(client, reply.conversation_id, "<b>router</b> is down")
    deliver(client, reply, "handoff.replied")

    signed = client.post("/dashboard/login", data={"api_key": OPERATOR_KEY}, follow_redirects=False)
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert" in page.text
    assert "<img src=x onerror" not in page.text
    assert "&lt;b&gt;router&lt;/b&gt;" in page.text

    candidate_id = re.search(r'data-candidate="([0-9a-f]+)"', page.text)
    assert candidate_id is not None
    no_csrf = client.post(f"/dashboard/candidates/{candidate_id.group(1)}/reject", data={})
    assert no_csrf.status_code == 403
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = client.post(
        f"/dashboard/candidates/{candidate_id.group(1)}/reject",
        data={"csrf": csrf.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    rejected = client.get(f"/v1/faq-candidates/{candidate_id.group(1)}", headers=operator()).json()
    assert rejected["status"] == "rejected"
    assert rejected["reviewed_by"] == "local-operator"
    api_without_csrf = client.post(f"/v1/faq-candidates/{candidate_id.group(1)}/approve")
    assert api_without_csrf.status_code == 403


def test_dead_letters_are_still_recorded(client: TestClient) -> None:
    event = {"id": "dl-1", "data": {"turn_id": str(uuid.uuid4())}, "datacontenttype": "application/json"}
    response = client.post("/events/pubsub/deadletter.nlp.chat.requested", json=event)
    assert response.json()["status"] == "SUCCESS"


def test_live_knowledge_updates_are_followed(client: TestClient) -> None:
    update = KbUpdated(
        update_id=uuid.uuid4(),
        kb_version="v9",
        added=["new-entry"],
        entries=[{"id": "new-entry", "en": {"question": "Where is the canteen?", "answer": "Building B."}}],
    )
    response = client.post(
        "/events/broadcast/live.kb.updated", json=envelope(update, "live.kb.updated", "broadcast")
    )
    assert response.json()["status"] == "SUCCESS"
    event = answered(question="Where is the canteen?", answer="Building B.", cited_faq_ids=["new-entry"])
    deliver(client, event, "chat.answered")
    record = client.get(f"/v1/evaluations/{event.turn_id}", headers=operator()).json()
    assert record["citation_validity"] == 1.0
    assert record["groundedness"] == 1.0


def test_with_the_judge_flag_on_answers_are_judged_off_the_request_path(tmp_path: Path) -> None:
    import time

    from helpdesk.flags import FlagDefinition
    from helpdesk.llm.settings import ModelSettings
    from tests.support.openai_server import OpenAITestServer

    model = OpenAITestServer(
        script=lambda _: '{"groundedness": 5, "relevance": 4, "coherence": 5, "reason": "ok"}',
        prompt_tokens=900,
        completion_tokens=40,
    )
    runtime = memory_runtime(
        "evaluator",
        secrets={**local_secrets(USER_KEY, OPERATOR_KEY), "openai-api-key": "test-key"},
        flags={"judge_enabled": FlagDefinition(value=True)},
    )
    with model:
        settings = EvaluatorSettings(
            knowledge_path=str(tmp_path),
            aggregate_flush_seconds=0.01,
            llm=ModelSettings(openai_base_url=model.base_url),
        )
        app = create_app(settings, runtime)
        with TestClient(app) as client:
            event = answered()
            deliver(client, event, "chat.answered")
            for _ in range(100):
                summary = client.get("/v1/evaluations/summary", headers=operator()).json()
                if summary["overall"]["judged"]:
                    break
                time.sleep(0.05)
            judged = client.get(f"/v1/evaluations/{event.turn_id}", headers=operator()).json()
    assert judged["judge"] == {
        "prompt": "judge@1",
        "model": "gpt-4o-mini",
        "groundedness": 5,
        "relevance": 4,
        "coherence": 5,
        "reason": "ok",
        "cost_usd": pytest.approx(0.000159),
    }
    assert summary["overall"]["judged"] == 1
    assert summary["overall"]["judge"]["groundedness"] == 5


def test_long_ranges_chart_one_point_per_day(client: TestClient) -> None:
    deliver(client, answered(), "chat.answered")
    hourly = client.get("/v1/evaluations/summary", params={"days": 1}, headers=operator()).json()
    daily = client.get("/v1/evaluations/summary", params={"days": 30}, headers=operator()).json()
    assert hourly["granularity"] == "hour"
    assert len(hourly["series"][0]["hour"]) == 13
    assert daily["granularity"] == "day"
    assert len(daily["series"][0]["hour"]) == 10
    assert daily["series"][0]["turns"] == 1


def test_a_reply_after_asking_for_a_person_learns_the_question_the_bot_could_not_answer(
    client: TestClient,
) -> None:
    unanswered = answered(
        question="How do I get a standing desk?", mode=AnswerMode.FALLBACK, cited_faq_ids=[]
    )
    deliver(client, unanswered, "chat.answered")
    escalation = escalated(
        conversation_id=unanswered.conversation_id,
        channel=unanswered.channel,
        question="I want to talk to a person",
    )
    deliver(client, escalation, "chat.escalated")
    reply = HandoffReplied(
        turn_id=uuid.uuid4(),
        conversation_id=unanswered.conversation_id,
        channel=unanswered.channel,
        operator_id="agent-7",
        answer="Order one in the facilities portal.",
        question="I want to talk to a person",
        language=Language.EN,
    )
    deliver(client, reply, "handoff.replied")
    pending = client.get("/v1/faq-candidates", params={"status": "pending"}, headers=operator()).json()
    assert [c["question"] for c in pending["candidates"]] == ["How do I get a standing desk?"]
