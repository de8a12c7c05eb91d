"""The operators' index of open handoffs is bounded: it lists the newest `OPEN_HANDOFFS_LISTED`
conversations, and one that leaves the list stays open and reachable by its conversation id."""

from __future__ import annotations

import pytest

from services.gateway.desk import books
from tests.support.gateway import OPERATOR_KEY, gateway
from tests.unit.gateway.test_handoffs import escalate


def test_the_index_lists_the_newest_open_handoffs_and_no_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(books, "OPEN_HANDOFFS_LISTED", 3)
    with gateway(open_handoffs_per_user=0) as g:
        opened = [escalate(g)["conversation_id"] for _ in range(5)]
        listed = g.client.get("/v1/handoffs", headers=g.auth(OPERATOR_KEY)).json()
        assert sorted(h["conversation_id"] for h in listed) == sorted(opened[2:])
        oldest = g.client.get(f"/v1/handoffs/{opened[0]}", headers=g.auth(OPERATOR_KEY))
        assert oldest.status_code == 200
        assert oldest.json()["status"] == "open"
