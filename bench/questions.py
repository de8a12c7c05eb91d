"""A benchmark question as the helpdesk reads it: the `chat.requested` the gateway would publish for it,
analysed by nlp's own Analyzer, so that answer_eval and calibrate put the same turn to the answer policy
as the running service."""

from __future__ import annotations

import uuid

from bench.faq_bench import Query
from helpdesk.events import Channel, ChannelRef, ChatAnalyzed, ChatRequested
from services.nlp.public import Analyzer, analyzed_event


def analysed(analyzer: Analyzer, query: Query, user_id: str) -> ChatAnalyzed:
    """The question's `chat.analyzed`, asked by `user_id` in a conversation of its own."""
    request = ChatRequested(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.API, user_id=user_id, locale=query.language.value),
        text=query.text,
        locale_hint=query.language.value,
    )
    return analyzed_event(request, analyzer)
