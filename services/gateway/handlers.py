"""The gateway's subscriptions: thin adapters from deliveries to the answer and handoff desks."""

from __future__ import annotations

from helpdesk.dapr.subscriptions import Delivery, Subscriptions, addressed_to
from helpdesk.events import ChatAnswered, ChatEscalated, HandoffReplied
from helpdesk.topics import Component, Topic
from services.gateway.desk.answers import AnswerDesk
from services.gateway.desk.handoff_desk import HandoffDesk


def register(subscriptions: Subscriptions, answers: AnswerDesk, handoffs: HandoffDesk, address: str) -> None:
    """`address`: this replica's; the sidecar passes on only the live answers addressed to it (the turns
    whose requests wait here) or to nobody."""
    live = addressed_to(address)

    @subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered)
    async def store_answer(event: ChatAnswered, _: Delivery) -> None:
        await answers.complete(event)
        await answers.push(event)

    @subscriptions.on(Topic.CHAT_ESCALATED, ChatEscalated)
    async def store_escalation(event: ChatEscalated, _: Delivery) -> None:
        await answers.complete(event)
        await handoffs.open(event)
        await answers.push(event)

    @subscriptions.on(Topic.HANDOFF_REPLIED, HandoffReplied)
    async def deliver_agent_reply(event: HandoffReplied, _: Delivery) -> None:
        await handoffs.deliver_agent_reply(event)

    @subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered, pubsub=Component.BROADCAST, match=live)
    async def wake_on_answer(event: ChatAnswered, _: Delivery) -> None:
        await answers.wake(event)

    @subscriptions.on(Topic.CHAT_ESCALATED, ChatEscalated, pubsub=Component.BROADCAST, match=live)
    async def wake_on_escalation(event: ChatEscalated, _: Delivery) -> None:
        await answers.wake(event)
