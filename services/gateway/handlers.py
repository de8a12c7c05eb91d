"""The gateway's subscriptions: thin adapters from deliveries to `FrontDesk`."""

from __future__ import annotations

from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatAnswered, ChatEscalated, HandoffReplied
from helpdesk.topics import Component, Topic
from services.gateway.desk import FrontDesk


def register(subscriptions: Subscriptions, desk: FrontDesk) -> None:
    @subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered)
    async def store_answer(event: ChatAnswered, _: Delivery) -> None:
        await desk.complete(event)
        await desk.push(event)

    @subscriptions.on(Topic.CHAT_ESCALATED, ChatEscalated)
    async def store_escalation(event: ChatEscalated, _: Delivery) -> None:
        await desk.complete(event)
        await desk.open_handoff(event)
        await desk.push(event)

    @subscriptions.on(Topic.HANDOFF_REPLIED, HandoffReplied)
    async def deliver_agent_reply(event: HandoffReplied, _: Delivery) -> None:
        await desk.deliver_agent_reply(event)

    @subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered, pubsub=Component.BROADCAST)
    async def wake_on_answer(event: ChatAnswered, _: Delivery) -> None:
        await desk.wake(event)

    @subscriptions.on(Topic.CHAT_ESCALATED, ChatEscalated, pubsub=Component.BROADCAST)
    async def wake_on_escalation(event: ChatEscalated, _: Delivery) -> None:
        await desk.wake(event)
