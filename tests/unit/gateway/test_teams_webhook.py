"""The Teams webhook: one signed activity, one publish, one reply (even when the Bot Framework resends),
thumbs, handoffs from Teams, and the channel switch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpdesk.events import (
    MAX_CONVERSATION_REF_CHARS,
    MAX_LOCALE_CHARS,
    Channel,
    ChatRequested,
    FeedbackSubmitted,
    HandoffReplied,
    Language,
    Rating,
)
from helpdesk.flags import FlagDefinition
from tests.support.connector_server import ReceivedActivity
from tests.support.gateway import OPERATOR_KEY
from tests.support.teams import APP_ID, TENANT, TeamsGateway, TeamsWorld, teams_gateway, teams_world


@pytest.fixture(scope="module")
def world() -> Iterator[TeamsWorld]:
    with teams_world() as w:
        yield w


@pytest.fixture
def teams(world: TeamsWorld) -> Iterator[TeamsGateway]:
    with teams_gateway(world) as t:
        yield t


def only_request(teams: TeamsGateway) -> ChatRequested:
    [request] = teams.requests()
    return request


def test_a_signed_activity_is_published_with_its_validated_conversation_reference(
    teams: TeamsGateway,
) -> None:
    activity = teams.world.activity("How do I reset my password?", locale="ja-JP")
    response = teams.post(activity)
    assert response.status_code == 200
    request = only_request(teams)
    assert request.text == "How do I reset my password?"
    assert request.locale_hint == "ja-JP"
    assert request.channel.channel is Channel.TEAMS
    assert request.channel.service_url == teams.world.connector.service_url
    ref = request.channel.conversation_ref
    assert ref is not None
    assert ref["conversation_id"] == activity["conversation"]["id"]
    assert ref["bot_id"] == f"28:{APP_ID}"
    assert ref["tenant_id"] == TENANT
    assert ref["user_id"] == activity["from"]["id"]
    assert ref["user_aad_id"] == activity["from"]["aadObjectId"]
    assert ref["activity_id"] == activity["id"]
    assert ref["locale"] == "ja-JP"


def test_the_answer_goes_out_once_as_a_reply_to_the_activity(teams: TeamsGateway) -> None:
    activity = teams.world.activity()
    teams.post(activity)
    request = only_request(teams)
    assert teams.answer(request) == {"status": "SUCCESS"}
    assert teams.answer(request) == {"status": "SUCCESS"}  # a redelivered answer
    [reply] = teams.world.connector.replies
    assert reply.conversation_id == activity["conversation"]["id"]
    assert reply.activity["replyToId"] == activity["id"]
    assert reply.activity["recipient"]["id"] == activity["from"]["id"]
    assert reply.activity["from"]["id"] == f"28:{APP_ID}"
    assert "Open the self-service portal" in reply.shown_text
    assert "How do I reset my password?" in reply.shown_text  # the cited source
    assert reply.authorization is not None
    assert reply.authorization.startswith("Bearer bot-")


def test_the_same_activity_twice_is_one_turn_one_publish_one_reply(teams: TeamsGateway) -> None:
    activity = teams.world.activity()
    assert teams.post(activity).status_code == 200
    assert teams.post(activity).status_code == 200
    request = only_request(teams)
    teams.answer(request)
    assert len(teams.world.connector.replies) == 1


def test_an_activity_replayed_while_the_first_is_handled_gets_exactly_one_reply(teams: TeamsGateway) -> None:
    """The Bot Framework resends while the first copy is still being accepted and answered."""
    activity = teams.world.activity()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: teams.post(activity).status_code, range(4)))
    assert statuses == [200] * 4
    request = only_request(teams)
    teams.post(activity)  # and once more while the answer is on its way
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda _: teams.answer(request)["status"], range(3)))
    assert set(outcomes) <= {"SUCCESS", "RETRY"}
    for _ in range(20):  # a copy that met the first mid-send is redelivered by Dapr
        if "RETRY" not in outcomes:
            break
        outcomes = [teams.answer(request)["status"]]
    assert outcomes == ["SUCCESS"] or "RETRY" not in outcomes
    assert len(teams.requests()) == 1
    assert len(teams.world.connector.replies) == 1


@pytest.mark.parametrize(
    "activity_type",
    ["typing", "conversationUpdate", "messageReaction", "installationUpdate", "invoke", "event"],
)
def test_unsupported_activity_types_are_acknowledged_and_ignored(
    teams: TeamsGateway, activity_type: str
) -> None:
    response = teams.post(teams.world.activity(None, activity_type=activity_type))
    assert response.status_code == 200
    assert teams.g.bus.published == []
    assert teams.g.state.writes == 0
    assert teams.world.connector.received == []


def test_a_mention_of_the_bot_is_not_part_of_the_question(teams: TeamsGateway) -> None:
    activity = teams.world.activity("<at>Helpdesk</at> reset my password")
    activity["entities"] = [
        {
            "type": "mention",
            "text": "<at>Helpdesk</at>",
            "mentioned": {"id": f"28:{APP_ID}", "name": "Helpdesk"},
        }
    ]
    teams.post(activity)
    assert only_request(teams).text == "reset my password"


def test_a_message_with_nothing_to_answer_publishes_nothing(teams: TeamsGateway) -> None:
    assert teams.post(teams.world.activity("   ")).status_code == 200
    assert teams.post(teams.world.activity("x" * 4001)).status_code == 200
    assert teams.g.bus.published == []


def test_a_typing_indicator_is_sent_on_receipt(teams: TeamsGateway) -> None:
    activity = teams.world.activity()
    teams.post(activity)
    assert teams.typing_sent()  # it goes out beside the 200, not before it
    typing = teams.world.connector.typing
    assert [t.activity["replyToId"] for t in typing] == [activity["id"]]
    assert teams.world.connector.replies == []


def test_when_teams_is_switched_off_nothing_is_published(world: TeamsWorld) -> None:
    with teams_gateway(world) as teams:
        teams.g.runtime.flag_table.stored["teams_enabled"] = FlagDefinition(value=False)
        response = teams.post(world.activity())
        assert response.status_code == 503
        assert response.json()["type"].endswith("/channel-disabled")
        assert teams.g.bus.published == []
    with teams_gateway(world, teams={"app_id": None}) as teams:
        assert teams.post(world.activity()).status_code == 503


def test_a_message_whose_publish_failed_is_published_when_teams_resends_it(teams: TeamsGateway) -> None:
    activity = teams.world.activity()
    teams.g.bus.fail_next = 1
    assert teams.post(activity).status_code == 503
    assert teams.post(activity).status_code == 200
    assert teams.post(activity).status_code == 200
    request = only_request(teams)
    teams.answer(request)
    assert len(teams.world.connector.replies) == 1


@pytest.mark.parametrize(
    ("locale", "kept"), [("x" * MAX_LOCALE_CHARS, True), ("x" * (MAX_LOCALE_CHARS + 1), False)]
)
def test_a_locale_longer_than_a_language_tag_is_left_out_and_the_turn_accepted(
    teams: TeamsGateway, locale: str, kept: bool
) -> None:
    assert teams.post(teams.world.activity("How do I reset my password?", locale=locale)).status_code == 200
    request = only_request(teams)
    expected = locale if kept else None
    assert (request.locale_hint, request.channel.locale) == (expected, expected)
    assert request.channel.conversation_ref is not None
    assert request.channel.conversation_ref["locale"] == expected


def test_ids_too_long_to_address_a_reply_with_make_the_activity_400(teams: TeamsGateway) -> None:
    """Refused at the door, before a turn exists: never a turn whose event the contract refuses later."""
    response = teams.post(teams.world.activity(conversation="a:" + "c" * MAX_CONVERSATION_REF_CHARS))
    assert response.status_code == 400
    assert response.json()["type"].endswith("invalid-activity")
    assert teams.requests() == []


def test_a_body_that_is_not_an_activity_is_400(teams: TeamsGateway) -> None:
    activity = teams.world.activity()
    response = teams.g.client.post(
        "/api/messages",
        json={"serviceUrl": activity["serviceUrl"], "type": 42},
        headers=teams.world.auth(activity),
    )
    assert response.status_code == 400
    assert teams.g.bus.published == []


# ---- thumbs ------------------------------------------------------------------------------------------


def thumbs(teams: TeamsGateway, turn_id: uuid.UUID, rating: str, **activity: object) -> dict[str, object]:
    value = {"action": "helpdesk.feedback", "turn_id": str(turn_id), "rating": rating}
    return teams.world.activity(None, value=value, **activity)  # type: ignore[arg-type]


def test_thumbs_down_becomes_feedback_submitted_once(teams: TeamsGateway) -> None:
    teams.post(teams.world.activity())
    request = only_request(teams)
    teams.answer(request)
    [reply] = teams.world.connector.replies
    card = reply.card
    assert card is not None
    [down] = [a for a in card["actions"] if a["data"].get("rating") == "down"]
    submit = teams.world.activity(None, value=down["data"])
    assert teams.post(submit).status_code == 200
    assert teams.post(submit).status_code == 200  # the same submit, resent
    [feedback] = teams.g.published(FeedbackSubmitted)
    assert isinstance(feedback, FeedbackSubmitted)
    assert feedback.turn_id == request.turn_id
    assert feedback.rating is Rating.DOWN
    assert teams.g.published(ChatRequested) == [request]


def test_thumbs_on_someone_elses_turn_publish_nothing(teams: TeamsGateway) -> None:
    teams.post(teams.world.activity())
    request = only_request(teams)
    teams.answer(request)
    response = teams.post(thumbs(teams, request.turn_id, "up", user="29:other", aad="aad-other"))
    assert response.status_code == 200
    assert teams.g.published(FeedbackSubmitted) == []


# ---- handoff from Teams ----------------------------------------------------------------------------------


def test_a_handoff_round_trip_in_teams(teams: TeamsGateway) -> None:
    operator = {"authorization": f"Bearer {OPERATOR_KEY}"}
    teams.post(teams.world.activity("I want to talk to a human"))
    request = only_request(teams)
    teams.escalate(request, "An agent will take over shortly.")
    [notice] = teams.world.connector.replies
    assert notice.text == "An agent will take over shortly."

    teams.world.connector.reset()
    assert teams.post(teams.world.activity("hello? anyone?")).status_code == 200
    assert len(teams.requests()) == 1  # the bot stays silent
    assert teams.world.connector.received == []

    conversation = request.conversation_id
    [listed] = teams.g.client.get("/v1/handoffs", headers=operator).json()
    assert listed["channel"] == "teams"
    assert listed["waiting_messages"] == 1
    replied = teams.g.client.post(
        f"/v1/handoffs/{conversation}/reply", json={"message": "Hi, Sam from IT here."}, headers=operator
    )
    assert replied.status_code == 200
    [event] = teams.g.published(HandoffReplied)
    assert isinstance(event, HandoffReplied)
    teams.deliver(event, "handoff.replied")
    teams.deliver(event, "handoff.replied")  # redelivered
    [agent] = teams.world.connector.replies
    assert "Hi, Sam from IT here." in agent.text
    assert agent.conversation_id == request.channel.conversation_ref["conversation_id"]  # type: ignore[index]

    teams.g.client.post(f"/v1/handoffs/{conversation}/close", headers=operator)
    teams.post(teams.world.activity("thanks, one more question"))
    assert len(teams.requests()) == 2  # the bot answers again


def test_a_japanese_answer_comes_with_japanese_buttons(teams: TeamsGateway) -> None:
    teams.post(teams.world.activity("パスワードを忘れました", locale="ja-JP"))
    teams.answer(only_request(teams), "セルフサービスポータルで再設定できます。", language=Language.JA)
    [reply] = teams.world.connector.replies
    card = reply.card
    assert card is not None
    assert card["lang"] == "ja"
    titles = [a["title"] for a in card["actions"]]
    assert titles == ["👍 役に立った", "👎 役に立たなかった"]
    assert "出典" in reply.shown_text


def replies_after(teams: TeamsGateway, count: int, timeout: float = 5.0) -> list[ReceivedActivity]:
    """The bot's messages once `count` have arrived (sent beside the 200), and a moment for any extra."""
    deadline = time.monotonic() + timeout
    while len(teams.world.connector.replies) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    return teams.world.connector.replies


def test_a_message_too_long_gets_one_short_notice_instead_of_silence(teams: TeamsGateway) -> None:
    activity = teams.world.activity("x" * 4001)
    assert teams.post(activity).status_code == 200
    assert teams.post(activity).status_code == 200  # the Bot Framework resends it
    assert teams.post(teams.world.activity("   ")).status_code == 200  # nothing to answer, nothing to say
    [notice] = replies_after(teams, 1)
    assert notice.card is None
    assert notice.text.startswith("Your message is too long for me to answer (at most 4,000 characters)")
    assert notice.activity["replyToId"] == activity["id"]
    assert teams.g.bus.published == []


def test_a_user_over_the_rate_limit_gets_one_notice_in_their_language(world: TeamsWorld) -> None:
    with teams_gateway(world, rate_limit_per_user=1) as teams:
        assert teams.post(world.activity("パスワードを忘れました", locale="ja-JP")).status_code == 200
        assert teams.typing_sent()
        refused = [world.activity("もう一度お願いします", locale="ja-JP") for _ in range(3)]
        for activity in [*refused, refused[0]]:
            assert teams.post(activity).status_code == 200
        [notice] = replies_after(teams, 1)
        assert "速すぎる" in notice.text
        assert notice.activity["replyToId"] == refused[0]["id"]
        assert len(teams.requests()) == 1
