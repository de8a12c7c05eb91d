"""Reading a Teams activity: who sent it, which conversation and turn it is, how to answer it later, and
the question without the bot's @mention."""

from __future__ import annotations

import hashlib
from uuid import UUID, uuid5

from microsoft_agents.activity import Activity
from pydantic import ValidationError

from helpdesk.events import MAX_LOCALE_CHARS, Channel, ChannelRef
from services.gateway.gateway_errors import InvalidActivity

TEAMS_NAMESPACE = UUID("5b0c1f3e-2a7d-5c59-9d55-0d6f1c1e7a21")
"""Namespace of the conversation and turn ids derived from Teams ids (uuid5)."""


def user_id_of(activity: Activity) -> str:
    """The helpdesk's user id for the sender: their Entra object id (their Teams id when absent)."""
    sender = activity.from_property
    raw = (sender.aad_object_id or sender.id) if sender is not None else None
    if not raw:
        raise InvalidActivity("The activity names no sender.")
    if len(raw) > 200:
        raw = hashlib.sha256(raw.encode()).hexdigest()
    return f"teams:{raw}"


def tenant_of(activity: Activity) -> str | None:
    if activity.conversation is not None and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    data = activity.channel_data
    if isinstance(data, dict):
        tenant = data.get("tenant")
        if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
            return str(tenant["id"])
    return None


def turn_ids(activity: Activity, user_id: str) -> tuple[UUID, UUID]:
    """The conversation (per Teams conversation and user) and the turn (per activity id), as uuid5s:
    the same activity always maps to the same turn."""
    conversation_key = activity.conversation.id if activity.conversation is not None else ""
    conversation = uuid5(TEAMS_NAMESPACE, f"{tenant_of(activity) or ''}|{conversation_key}|{user_id}")
    return conversation, uuid5(TEAMS_NAMESPACE, f"{conversation}:{activity.id}")


def locale_of(activity: Activity) -> str | None:
    """The activity's locale, when it is one: a value longer than a BCP 47 tag may be is left out, as
    if the client had sent none (a turn is answered in the language of its text then)."""
    locale = activity.locale
    return locale if locale and len(locale) <= MAX_LOCALE_CHARS else None


def channel_ref(activity: Activity, service_url: str, channel_id: str = "msteams") -> ChannelRef:
    """How to answer this activity later, from any replica: the validated service URL and the
    conversation reference (ids only; no names). Ids or a service URL longer than an event keeps make
    the activity invalid, before any turn exists, since a reply could not be addressed without them."""
    bot, sender, conversation = activity.recipient, activity.from_property, activity.conversation
    if bot is None or sender is None or conversation is None:
        raise InvalidActivity("The activity has no sender, recipient or conversation.")
    user_id = user_id_of(activity)
    locale = locale_of(activity)
    reference = {
        "conversation_id": conversation.id,
        "bot_id": bot.id,
        "user_id": sender.id,
        "user_aad_id": sender.aad_object_id,
        "tenant_id": tenant_of(activity),
        "activity_id": activity.id,
        "locale": locale,
        "channel_id": channel_id,
    }
    try:
        return ChannelRef(
            channel=Channel.TEAMS,
            user_id=user_id,
            service_url=service_url,
            conversation_ref=reference,
            locale=locale,
        )
    except ValidationError:
        raise InvalidActivity("The activity's ids or service URL are longer than a reply can use.") from None


def question_of(activity: Activity) -> str:
    """The message text without the @mention of the bot (present in group chats and channels)."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient is not None else None
    for entity in activity.entities or []:
        mentioned = getattr(entity, "mentioned", None)
        mention_text = getattr(entity, "text", None)
        if entity.type == "mention" and mentioned is not None and mentioned.id == bot_id and mention_text:
            text = text.replace(mention_text, " ")
    return text.strip()
