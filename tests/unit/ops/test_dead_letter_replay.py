"""Dead letters on Service Bus: where the operator CLI looks, and what it refuses (no broker needed:
the client parses its connection string without connecting)."""

from __future__ import annotations

from typer.testing import CliRunner

from helpdesk.topics import SUBSCRIPTIONS, AppId, Topic, dead_letter_topic
from helpdesk_ops.cli import app
from helpdesk_ops.dead_letter_replay import ServiceBusDeadLetters, origin

CONNECTION = (
    "Endpoint=sb://helpdesk-test.servicebus.windows.net/;SharedAccessKeyName=ops;SharedAccessKey=c2VjcmV0"
)


def test_every_subscription_dead_letter_queue_and_every_dead_letter_topic_is_searched() -> None:
    places = ServiceBusDeadLetters(CONNECTION).queues()
    for app_id, topics in SUBSCRIPTIONS.items():
        for topic in topics:
            assert (topic.value, app_id.value, True) in places
            assert (dead_letter_topic(app_id, topic), "evaluator", False) in places


def test_a_dead_letter_topic_names_the_consumer_that_gave_up_and_the_topic_to_replay_to() -> None:
    assert origin(dead_letter_topic(AppId.DIALOGUE, Topic.CHAT_ANALYZED)) == ("dialogue", "chat.analyzed")
    assert origin("chat.analyzed") == (None, None)


def test_replay_on_service_bus_refuses_a_single_entry_id() -> None:
    result = CliRunner().invoke(app, ["deadletters", "replay", "42", "--azure", CONNECTION])
    assert result.exit_code == 2
    assert "--topic" in result.output
