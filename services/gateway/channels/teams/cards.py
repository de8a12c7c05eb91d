"""What the helpdesk's replies look like in Teams, in English and Japanese.

A bot answer is an Adaptive Card: the answer, its sources (the cited FAQ entries, and the documents
of cited passages with their section path and page; a link where the source has a web address), the
clarification choices as buttons that send the chosen question back as the user's message (`imBack`),
and thumbs up/down buttons whose `Action.Submit` comes back as a message activity carrying a `value`
that `feedback_from` reads. The answer sits in a TextBlock, whose markdown subset shows no images and
runs no script, so model output cannot smuggle either in. The activity carrying the card has a
`summary` (the start of the answer as plain text), which Teams shows in notifications and the activity
feed, where a card alone would read "sent a card". Escalation notices, agent messages and the notices
for messages the helpdesk refused (too fast, too long) are plain markdown text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from microsoft_agents.activity import Activity, ActivityTypes, Attachment, ChannelAccount, ConversationAccount

from helpdesk.events import AnswerMode, Citation, Language, Rating
from helpdesk.knowledge.entries import KnowledgeKind
from services.gateway.turns import Reply

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
FEEDBACK_ACTION = "helpdesk.feedback"
RATED_MODES = frozenset({AnswerMode.FAQ, AnswerMode.LLM, AnswerMode.FALLBACK})


class Notice(StrEnum):
    """Why a message got a short notice instead of an answer."""

    RATE_LIMITED = "rate_limited"
    TOO_LONG = "too_long"


LABELS: dict[Language, dict[str, str]] = {
    Language.EN: {
        "sources": "Sources",
        "page": "p. {page}",
        "choices": "Did you mean:",
        "up": "👍 Helpful",
        "down": "👎 Not helpful",
        "agent": "Support agent",
        "rate_limited": "You are sending messages faster than I can answer. Please wait a minute, then "
        "send your question again.",
        "too_long": "Your message is too long for me to answer (at most {limit} characters). Please "
        "shorten it and send it again.",
    },
    Language.JA: {
        "sources": "出典",
        "page": "{page} ページ",
        "choices": "次のどれについてのご質問ですか:",
        "up": "👍 役に立った",
        "down": "👎 役に立たなかった",
        "agent": "サポート担当",
        "rate_limited": "メッセージの送信が速すぎるため、お答えできませんでした。1 分ほど待ってから、もう一度"
        "質問を送ってください。",
        "too_long": "メッセージが長すぎるため、お答えできません（{limit} 文字まで）。短くしてもう一度送って"
        "ください。",
    },
}

_MARKDOWN_LINK_TEXT = re.compile(r"([\[\]\\*_`])")
_MARKDOWN_MARKS = re.compile(r"[*_`#>]+|\[([^\]]*)\]\([^)]*\)")
SUMMARY_CHARS = 120
"""Notifications show about a line; the summary is cut at a word near this length."""


def language_of(language: Language | str | None) -> Language:
    """The label language: Japanese for Japanese answers or `ja*` locales, English otherwise."""
    value = str(language or "").lower()
    return Language.JA if value == "ja" or value.startswith("ja-") else Language.EN


def _escape(text: str) -> str:
    return _MARKDOWN_LINK_TEXT.sub(r"\\\1", text)


def _safe_url(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) and ")" not in url else None


def _where_in_document(source: Citation, labels: dict[str, str]) -> str:
    """A passage's section path and page ("Troubleshooting › Error 809, p. 4"), escaped; nothing for an
    FAQ entry."""
    if source.kind is not KnowledgeKind.PASSAGE:
        return ""
    parts = [" › ".join(_escape(heading) for heading in source.section)] if source.section else []
    if source.page is not None:
        parts.append(labels["page"].format(page=source.page))
    return ", ".join(parts)


def _source_blocks(reply: Reply, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The answer's sources: a heading and one line per source (linked where it has a web address),
    or the cited ids when the reply has no details."""
    blocks: list[dict[str, Any]] = []
    if reply.sources:
        blocks.append(
            {
                "type": "TextBlock",
                "text": labels["sources"],
                "weight": "Bolder",
                "size": "Small",
                "spacing": "Medium",
                "isSubtle": True,
            }
        )
        lines = []
        for number, source in enumerate(reply.sources, start=1):
            title = _escape(source.title)
            url = _safe_url(source.url)
            line = f"{number}. [{title}]({url})" if url else f"{number}. {title}"
            where = _where_in_document(source, labels)
            lines.append(f"{line} — {where}" if where else line)
        blocks.append({"type": "TextBlock", "text": "\n".join(lines), "wrap": True, "size": "Small"})
    elif reply.citations:
        blocks.append(
            {
                "type": "TextBlock",
                "text": f"{labels['sources']}: {', '.join(reply.citations)}",
                "wrap": True,
                "size": "Small",
                "isSubtle": True,
            }
        )
    return blocks


def answer_card(turn_id: UUID, reply: Reply) -> dict[str, Any]:
    labels = LABELS[language_of(reply.language)]
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": reply.text, "wrap": True}]
    body.extend(_source_blocks(reply, labels))
    actions: list[dict[str, Any]] = []
    if reply.choices:
        body.append({"type": "TextBlock", "text": labels["choices"], "wrap": True, "spacing": "Medium"})
        actions.extend(
            {
                "type": "Action.Submit",
                "title": choice.question[:80],
                "data": {"msteams": {"type": "imBack", "value": choice.question}},
            }
            for choice in reply.choices
        )
    if reply.mode in RATED_MODES:
        actions.extend(
            {
                "type": "Action.Submit",
                "title": labels[rating.value],
                "data": {"action": FEEDBACK_ACTION, "turn_id": str(turn_id), "rating": rating.value},
            }
            for rating in (Rating.UP, Rating.DOWN)
        )
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "lang": language_of(reply.language).value,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


@dataclass(frozen=True, slots=True)
class Addressee:
    """The part of the conversation reference a reply needs."""

    conversation_id: str
    bot_id: str
    user_id: str
    reply_to_id: str | None
    tenant_id: str | None
    locale: str | None

    @classmethod
    def from_ref(cls, ref: dict[str, Any]) -> Addressee:
        return cls(
            conversation_id=str(ref["conversation_id"]),
            bot_id=str(ref["bot_id"]),
            user_id=str(ref["user_id"]),
            reply_to_id=ref.get("activity_id"),
            tenant_id=ref.get("tenant_id"),
            locale=ref.get("locale"),
        )


def _activity(to: Addressee, activity_type: str, **fields: Any) -> dict[str, Any]:
    if to.reply_to_id:
        fields["reply_to_id"] = to.reply_to_id
    if to.locale:
        fields["locale"] = to.locale
    activity = Activity(
        type=activity_type,
        from_property=ChannelAccount(id=to.bot_id),
        recipient=ChannelAccount(id=to.user_id),
        conversation=ConversationAccount(id=to.conversation_id, tenant_id=to.tenant_id),
        **fields,
    )
    dumped: dict[str, Any] = activity.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def summary_of(text: str) -> str:
    """The answer as one plain line for notifications: markdown marks dropped (a link keeps its text),
    whitespace folded, cut at a word boundary."""
    plain = " ".join(_MARKDOWN_MARKS.sub(lambda m: m.group(1) or "", text).split())
    if len(plain) <= SUMMARY_CHARS:
        return plain
    cut = plain[:SUMMARY_CHARS].rsplit(" ", 1)[0] if " " in plain[:SUMMARY_CHARS] else plain[:SUMMARY_CHARS]
    return cut.rstrip(" ,.;:、。") + "…"


def reply_activity(to: Addressee, turn_id: UUID, reply: Reply) -> dict[str, Any]:
    """The bot's answer: an Adaptive Card with a summary, or plain text for an escalation notice."""
    if reply.escalated:
        return _activity(to, ActivityTypes.message, text=reply.text, text_format="markdown")
    return _activity(
        to,
        ActivityTypes.message,
        summary=summary_of(reply.text),
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=answer_card(turn_id, reply))],
    )


def refusal_activity(to: Addressee, notice: Notice, *, limit: int) -> dict[str, Any]:
    """The short notice for a message the helpdesk refused."""
    text = LABELS[language_of(to.locale)][notice.value].format(limit=f"{limit:,}")
    return _activity(to, ActivityTypes.message, text=text, text_format="plain")


def agent_activity(to: Addressee, text: str) -> dict[str, Any]:
    label = LABELS[language_of(to.locale)]["agent"]
    return _activity(to, ActivityTypes.message, text=f"**{label}:** {text}", text_format="markdown")


def typing_activity(to: Addressee) -> dict[str, Any]:
    return _activity(to, ActivityTypes.typing)


@dataclass(frozen=True, slots=True)
class FeedbackSubmit:
    turn_id: UUID
    rating: Rating


def feedback_from(value: Any) -> FeedbackSubmit | None:
    """The thumbs button's data, when this submit is one; None for anything else."""
    if not isinstance(value, dict) or value.get("action") != FEEDBACK_ACTION:
        return None
    try:
        return FeedbackSubmit(
            turn_id=UUID(str(value.get("turn_id"))), rating=Rating(str(value.get("rating")))
        )
    except ValueError:
        return None
