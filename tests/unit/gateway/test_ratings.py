"""Ratings through the API, on in-memory ports: one per answer, one event per answer, limited per user,
and given again when its event could not be published."""

from __future__ import annotations

from helpdesk.events import FeedbackSubmitted
from tests.support.gateway import OPERATOR_KEY, gateway


def test_one_event_per_answer_however_often_it_is_rated() -> None:
    with gateway() as g:
        turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()["turn_id"]
        for _ in range(5):
            response = g.client.post("/v1/feedback", json={"turn_id": turn, "rating": "up"}, headers=g.auth())
            assert response.status_code == 200
            assert response.json()["rating"] == "up"
        assert len(g.published(FeedbackSubmitted)) == 1


def test_a_different_second_rating_is_refused() -> None:
    with gateway() as g:
        turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
        assert (
            g.client.post(
                "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "up"}, headers=g.auth()
            ).status_code
            == 200
        )
        changed = g.client.post(
            "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "down"}, headers=g.auth()
        )
        assert changed.status_code == 409
        assert changed.headers["content-type"].startswith("application/problem+json")
        assert changed.json()["type"].endswith("/already-rated")
        assert "up" in changed.json()["detail"]
        assert [e.rating.value for e in g.published(FeedbackSubmitted)] == ["up"]  # type: ignore[attr-defined]
        turns = g.client.get(turn["links"]["conversation"], headers=g.auth()).json()["turns"]
        assert turns[0]["feedback"] == "up"


def test_feedback_is_limited_per_user() -> None:
    with gateway(feedback_per_user=3) as g:
        turns = [
            g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()["turn_id"]
            for _ in range(4)
        ]
        for turn in turns[:3]:
            assert (
                g.client.post(
                    "/v1/feedback", json={"turn_id": turn, "rating": "up"}, headers=g.auth()
                ).status_code
                == 200
            )
        refused = g.client.post("/v1/feedback", json={"turn_id": turns[3], "rating": "up"}, headers=g.auth())
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert len(g.published(FeedbackSubmitted)) == 3
        other = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth(OPERATOR_KEY)).json()
        mine = {"turn_id": other["turn_id"], "rating": "up"}
        assert g.client.post("/v1/feedback", json=mine, headers=g.auth(OPERATOR_KEY)).status_code == 200


def test_a_rating_whose_event_was_not_published_can_be_given_again() -> None:
    with gateway() as g:
        turn = g.client.post("/v1/chat", json={"message": "hello"}, headers=g.auth()).json()
        g.bus.fail_next = 1
        failed = g.client.post(
            "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "down"}, headers=g.auth()
        )
        assert failed.status_code == 503
        turns = g.client.get(turn["links"]["conversation"], headers=g.auth()).json()["turns"]
        assert turns[0]["feedback"] is None
        again = g.client.post(
            "/v1/feedback", json={"turn_id": turn["turn_id"], "rating": "up"}, headers=g.auth()
        )
        assert again.status_code == 200
        assert [e.rating.value for e in g.published(FeedbackSubmitted)] == ["up"]  # type: ignore[attr-defined]
