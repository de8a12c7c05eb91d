"""Learned wordings through the evaluator service in process: two users' choices delivered as
`chat.answered` become a wording candidate on the dashboard, and the operator's approval there adds the
wording to the entry and publishes a new knowledge version."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from helpdesk.events import Channel, ChannelRef, Choice, Clarified, KbUpdated
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.memory_ports import MemoryBus, MemoryStateStore
from tests.unit.evaluator.conftest import PASSWORD_FAQ_FILE, answered
from tests.unit.evaluator.test_app import OPERATOR_KEY, await_store, bus, client, deliver, knowledge, operator
from tests.unit.evaluator.test_knowledge_imports import csrf_of

__all__ = ["bus", "client", "knowledge"]

WORDING = "locked out after too many tries, what now"


def picked(user: str) -> object:
    return answered(
        channel=ChannelRef(channel=Channel.WEB, user_id=user),
        clarified=Clarified(
            question=WORDING,
            faq_id="password-reset",
            choices=[Choice(faq_id="password-reset", question="How do I reset my password?")],
        ),
    )


def dashboard(client: TestClient) -> str:
    """The dashboard's page for an operator who has just logged in."""
    assert (
        client.post("/dashboard/login", data={"api_key": OPERATOR_KEY}, follow_redirects=False).status_code
        == 303
    )
    return client.get("/dashboard").text


def reviewed_on_the_dashboard(client: TestClient, page: str, candidate_id: object, action: str) -> Any:
    """The candidate as the API shows it after the operator pressed `action` on the dashboard `page`."""
    done = client.post(
        f"/dashboard/candidates/{candidate_id}/{action}", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert done.status_code == 303
    return client.get(f"/v1/faq-candidates/{candidate_id}", headers=operator()).json()


def test_two_users_choices_become_a_wording_the_operator_approves_on_the_dashboard(
    client: TestClient, bus: MemoryBus, knowledge: MemoryStateStore
) -> None:
    first = picked("user-a")
    assert deliver(client, first, "chat.answered") == "SUCCESS"
    assert deliver(client, first, "chat.answered") == "SUCCESS"
    listing = client.get("/v1/faq-candidates", params={"status": "pending"}, headers=operator()).json()
    assert listing["candidates"] == [], "one user is not enough"
    assert deliver(client, picked("user-b"), "chat.answered") == "SUCCESS"
    (candidate,) = client.get("/v1/faq-candidates", params={"status": "pending"}, headers=operator()).json()[
        "candidates"
    ]
    assert (candidate["kind"], candidate["faq_id"], candidate["question"]) == (
        "wording",
        "password-reset",
        WORDING,
    )

    page = dashboard(client)
    assert "alternative wording for entry <code>password-reset</code>" in page
    assert "chosen by 2 users in a clarification" in page
    approved = reviewed_on_the_dashboard(client, page, candidate["id"], "approve")
    assert approved["status"] == "approved"
    assert approved["published"] is True
    assert [u.changed_ids for u in bus.of(KbUpdated) if isinstance(u, KbUpdated)][-1] == ["password-reset"]
    entry = await_store(KnowledgeStore(knowledge)).items["password-reset"].model_dump(mode="json")
    assert entry["en"]["alternatives"] == [WORDING]
    assert deliver(client, picked(f"user-{uuid.uuid4().hex[:6]}"), "chat.answered") == "SUCCESS"
    assert (
        client.get("/v1/faq-candidates", params={"status": "pending"}, headers=operator()).json()[
            "candidates"
        ]
        == []
    )


def test_reimporting_the_entrys_file_through_the_api_keeps_the_approved_wording(
    client: TestClient, knowledge: MemoryStateStore
) -> None:
    approved_on_the_api(client)

    imported = client.post(
        "/v1/knowledge/imports", params={"name": "faq.yaml"}, headers=operator(), content=PASSWORD_FAQ_FILE
    )
    assert imported.status_code == 200, imported.text
    entry = await_store(KnowledgeStore(knowledge)).items["password-reset"].model_dump(mode="json")
    assert entry["en"]["alternatives"] == [WORDING]
    assert imported.json()["kept_wordings"] == 1
    listed = client.get("/v1/knowledge/sources", headers=operator()).json()
    assert listed["recent"][0]["kept_wordings"] == 1


def approved_on_the_api(client: TestClient) -> dict[str, object]:
    assert deliver(client, picked("user-a"), "chat.answered") == "SUCCESS"
    assert deliver(client, picked("user-b"), "chat.answered") == "SUCCESS"
    (candidate,) = client.get("/v1/faq-candidates", params={"status": "pending"}, headers=operator()).json()[
        "candidates"
    ]
    approved = client.post(f"/v1/faq-candidates/{candidate['id']}/approve", headers=operator(), json={})
    assert approved.status_code == 200, approved.text
    found: dict[str, object] = approved.json()
    return found


def test_an_operator_withdraws_an_approved_wording_through_the_api(
    client: TestClient, bus: MemoryBus, knowledge: MemoryStateStore
) -> None:
    candidate = approved_on_the_api(client)
    assert client.post(f"/v1/faq-candidates/{candidate['id']}/withdraw").status_code == 401

    withdrawn = client.post(f"/v1/faq-candidates/{candidate['id']}/withdraw", headers=operator())

    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert (body["status"], body["withdrawn_by"], body["withdrawal_done"]) == (
        "withdrawn",
        "local-operator",
        True,
    )
    assert body["withdrawn_at"]
    updates = [u for u in bus.of(KbUpdated) if isinstance(u, KbUpdated)]
    assert updates[-1].changed_ids == ["password-reset"]
    entry = await_store(KnowledgeStore(knowledge)).items["password-reset"].model_dump(mode="json")
    assert entry["en"].get("alternatives", []) == []
    again = client.post(f"/v1/faq-candidates/{candidate['id']}/withdraw", headers=operator())
    assert again.status_code == 200
    assert again.json() == body
    assert len(bus.of(KbUpdated)) == len(updates), "withdrawing twice publishes once"
    listed = client.get("/v1/faq-candidates", params={"status": "withdrawn"}, headers=operator()).json()
    assert [c["id"] for c in listed["candidates"]] == [candidate["id"]]

    imported = client.post(
        "/v1/knowledge/imports", params={"name": "faq.yaml"}, headers=operator(), content=PASSWORD_FAQ_FILE
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["kept_wordings"] == 0
    entry = await_store(KnowledgeStore(knowledge)).items["password-reset"].model_dump(mode="json")
    assert WORDING not in entry["en"].get("alternatives", [])


def test_withdrawing_anything_but_an_approved_wording_is_a_problem(client: TestClient) -> None:
    assert deliver(client, picked("user-a"), "chat.answered") == "SUCCESS"
    assert deliver(client, picked("user-b"), "chat.answered") == "SUCCESS"
    (pending,) = client.get("/v1/faq-candidates", params={"status": "pending"}, headers=operator()).json()[
        "candidates"
    ]

    refused = client.post(f"/v1/faq-candidates/{pending['id']}/withdraw", headers=operator())

    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == (
        "Only an approved wording can be withdrawn; this candidate is a pending wording."
    )
    assert client.get(f"/v1/faq-candidates/{pending['id']}", headers=operator()).json()["status"] == "pending"
    unknown = client.post("/v1/faq-candidates/nope/withdraw", headers=operator())
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_the_dashboard_withdraws_an_approved_wording_with_the_sessions_csrf_token(
    client: TestClient, knowledge: MemoryStateStore
) -> None:
    candidate = approved_on_the_api(client)
    page = dashboard(client)
    action = f'action="/dashboard/candidates/{candidate["id"]}/withdraw"'
    assert action in page
    assert page.count("Withdraw wording") == 1
    assert client.post(f"/dashboard/candidates/{candidate['id']}/withdraw", data={}).status_code == 403
    assert client.post(f"/v1/faq-candidates/{candidate['id']}/withdraw").status_code == 403
    assert (
        client.get(f"/v1/faq-candidates/{candidate['id']}", headers=operator()).json()["status"] == "approved"
    )

    withdrawn = reviewed_on_the_dashboard(client, page, candidate["id"], "withdraw")

    assert (withdrawn["status"], withdrawn["withdrawn_by"]) == ("withdrawn", "local-operator")
    entry = await_store(KnowledgeStore(knowledge)).items["password-reset"].model_dump(mode="json")
    assert WORDING not in entry["en"].get("alternatives", [])
    after = client.get("/dashboard").text
    assert action not in after, "a withdrawn wording has nothing left to withdraw"
