"""What replies look like in Teams, in English and Japanese."""

from __future__ import annotations

import uuid

from helpdesk.events import AnswerMode, Choice, Citation, Language, Rating
from helpdesk.knowledge.entries import KnowledgeKind
from services.gateway.channels.teams.cards import (
    ADAPTIVE_CARD,
    Addressee,
    Notice,
    agent_activity,
    feedback_from,
    refusal_activity,
    reply_activity,
    summary_of,
)
from services.gateway.turns import Reply

TO = Addressee(
    conversation_id="a:conv",
    bot_id="28:bot",
    user_id="29:user",
    reply_to_id="1700000000001",
    tenant_id="tenant",
    locale="en-US",
)


def card_of(activity: dict[str, object]) -> dict[str, object]:
    [attachment] = activity["attachments"]  # type: ignore[misc]
    assert attachment["contentType"] == ADAPTIVE_CARD
    content: dict[str, object] = attachment["content"]
    return content


def texts(card: dict[str, object]) -> list[str]:
    return [b["text"] for b in card["body"]]  # type: ignore[attr-defined]


def test_an_english_answer_is_a_card_with_linked_sources_and_thumbs() -> None:
    turn_id = uuid.uuid4()
    reply = Reply(
        text="Restart the VPN client.",
        mode=AnswerMode.LLM,
        language=Language.EN,
        citations=["kb-vpn"],
        sources=[Citation(faq_id="kb-vpn", title="VPN [drops]", url="https://help.example.com/kb/vpn")],
    )
    activity = reply_activity(TO, turn_id, reply)
    assert activity["replyToId"] == TO.reply_to_id
    assert activity["conversation"]["id"] == "a:conv"  # type: ignore[index]
    card = card_of(activity)
    assert texts(card) == [
        "Restart the VPN client.",
        "Sources",
        "1. [VPN \\[drops\\]](https://help.example.com/kb/vpn)",
    ]
    up, down = card["actions"]  # type: ignore[misc]
    assert (up["title"], down["title"]) == ("👍 Helpful", "👎 Not helpful")
    assert feedback_from(up["data"]) is not None
    assert feedback_from(down["data"]).rating is Rating.DOWN  # type: ignore[union-attr]
    assert feedback_from(down["data"]).turn_id == turn_id  # type: ignore[union-attr]


def test_a_japanese_answer_has_japanese_labels() -> None:
    reply = Reply(
        text="VPNクライアントを再起動してください。",
        mode=AnswerMode.FAQ,
        language=Language.JA,
        citations=["kb-vpn"],
        sources=[Citation(faq_id="kb-vpn", title="VPNが切れる")],
    )
    card = card_of(reply_activity(TO, uuid.uuid4(), reply))
    assert card["lang"] == "ja"
    assert texts(card)[1:] == ["出典", "1. VPNが切れる"]
    assert [a["title"] for a in card["actions"]] == ["👍 役に立った", "👎 役に立たなかった"]  # type: ignore[attr-defined]


def test_clarification_choices_are_buttons_that_send_the_question_back() -> None:
    reply = Reply(
        text="Which one do you mean?",
        mode=AnswerMode.CLARIFY,
        language=Language.EN,
        choices=[
            Choice(faq_id="kb-1", question="Reset my password"),
            Choice(faq_id="kb-2", question="Unlock"),
        ],
    )
    card = card_of(reply_activity(TO, uuid.uuid4(), reply))
    actions = card["actions"]
    assert [a["data"] for a in actions] == [  # type: ignore[attr-defined]
        {"msteams": {"type": "imBack", "value": "Reset my password"}},
        {"msteams": {"type": "imBack", "value": "Unlock"}},
    ]


def test_links_other_than_http_are_not_rendered() -> None:
    reply = Reply(
        text="See the guide.",
        mode=AnswerMode.FAQ,
        language=Language.EN,
        sources=[Citation(faq_id="kb-x", title="Guide", url="javascript:alert(1)")],
    )
    assert texts(card_of(reply_activity(TO, uuid.uuid4(), reply)))[-1] == "1. Guide"


def test_small_talk_is_not_rated() -> None:
    reply = Reply(text="Hello!", mode=AnswerMode.SMALLTALK, language=Language.EN)
    assert "actions" not in card_of(reply_activity(TO, uuid.uuid4(), reply))


def test_an_escalation_notice_and_agent_messages_are_plain_text() -> None:
    notice = Reply(
        text="担当者に引き継ぎます。", mode=AnswerMode.HANDOFF, language=Language.JA, escalated=True
    )
    activity = reply_activity(TO, uuid.uuid4(), notice)
    assert activity["text"] == "担当者に引き継ぎます。"
    assert "attachments" not in activity
    assert agent_activity(TO, "Hi, Sam here.")["text"] == "**Support agent:** Hi, Sam here."
    ja_to = Addressee("a:conv", "28:bot", "29:user", None, "tenant", "ja-JP")
    assert agent_activity(ja_to, "こんにちは")["text"] == "**サポート担当:** こんにちは"


def test_only_well_formed_thumbs_count_as_feedback() -> None:
    assert feedback_from({"action": "helpdesk.feedback", "turn_id": "nope", "rating": "up"}) is None
    assert (
        feedback_from({"action": "helpdesk.feedback", "turn_id": str(uuid.uuid4()), "rating": "meh"}) is None
    )
    assert feedback_from({"msteams": {"type": "imBack"}}) is None
    assert feedback_from("up") is None


def test_an_answer_card_carries_a_summary_for_notifications() -> None:
    reply = Reply(
        text="Restart the **VPN client** from the [portal](https://portal.example.com).",
        mode=AnswerMode.FAQ,
        language=Language.EN,
    )
    activity = reply_activity(TO, uuid.uuid4(), reply)
    assert activity["summary"] == "Restart the VPN client from the portal."
    escalation = reply_activity(
        TO,
        uuid.uuid4(),
        Reply(text="A person will take over.", mode=AnswerMode.HANDOFF, language=Language.EN, escalated=True),
    )
    assert "summary" not in escalation
    assert escalation["text"] == "A person will take over."


def test_a_long_answer_is_summarised_at_a_word_boundary() -> None:
    long = "Open the self-service portal, choose Reset, and follow the steps. " * 5
    summary = summary_of(long)
    assert len(summary) <= 121
    assert summary.endswith("…")
    assert long.startswith(summary.removesuffix("…"))
    japanese = summary_of(
        "サインイン画面で「パスワードをお忘れの場合」を選ぶと、再設定用のリンクがメールで届きます。" * 4
    )
    assert len(japanese) <= 121
    assert japanese.endswith("…")


def test_the_notices_for_refused_messages_are_short_and_in_the_users_language() -> None:
    too_long = refusal_activity(TO, Notice.TOO_LONG, limit=4000)
    assert too_long["text"] == (
        "Your message is too long for me to answer (at most 4,000 characters). "
        "Please shorten it and send it again."
    )
    assert too_long["replyToId"] == TO.reply_to_id
    japanese = Addressee("a:conv", "28:bot", "29:user", "1", "tenant", "ja-JP")
    assert "速すぎる" in refusal_activity(japanese, Notice.RATE_LIMITED, limit=4000)["text"]
    assert "4,000 文字まで" in refusal_activity(japanese, Notice.TOO_LONG, limit=4000)["text"]


def test_a_passage_source_names_its_document_section_and_page() -> None:
    reply = Reply(
        text="Switch the client to SSL mode.",
        mode=AnswerMode.FAQ,
        language=Language.EN,
        citations=["vpn-guide-1~a", "kintai-2~b"],
        sources=[
            Citation(
                faq_id="vpn-guide-1~a",
                kind=KnowledgeKind.PASSAGE,
                title="GlobalConnect VPN client guide",
                section=["Troubleshooting", "Error *809*"],
                page=4,
                url="https://intranet.example.com/guides/vpn-client",
            ),
            Citation(faq_id="kintai-2~b", kind=KnowledgeKind.PASSAGE, title="勤怠 [manual]", url="kintai.md"),
        ],
    )
    card = card_of(reply_activity(TO, uuid.uuid4(), reply))
    assert texts(card)[2] == (
        "1. [GlobalConnect VPN client guide](https://intranet.example.com/guides/vpn-client)"
        " — Troubleshooting › Error \\*809\\*, p. 4\n"
        "2. 勤怠 \\[manual\\]"
    )


def test_a_japanese_answer_names_the_page_in_japanese() -> None:
    reply = Reply(
        text="打刻修正申請画面から申請します。",
        mode=AnswerMode.FAQ,
        language=Language.JA,
        citations=["kintai-2~b"],
        sources=[
            Citation(
                faq_id="kintai-2~b",
                kind=KnowledgeKind.PASSAGE,
                title="勤怠マニュアル",
                section=["打刻"],
                page=2,
            )
        ],
    )
    assert texts(card_of(reply_activity(TO, uuid.uuid4(), reply)))[1:] == [
        "出典",
        "1. 勤怠マニュアル — 打刻, 2 ページ",
    ]
