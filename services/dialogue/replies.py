"""Everything the bot says in its own words (not from the knowledge base), in English and Japanese."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from helpdesk.events import Language


class Smalltalk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"


SMALLTALK: dict[Smalltalk, dict[Language, str]] = {
    Smalltalk.GREETING: {
        Language.EN: "Hello! I'm the IT and HR helpdesk assistant. How can I help you today?",
        Language.JA: "こんにちは。IT・人事ヘルプデスクです。どのようなご用件でしょうか？",
    },
    Smalltalk.THANKS: {
        Language.EN: "You're welcome! Is there anything else I can help with?",
        Language.JA: "どういたしまして。ほかにお手伝いできることはありますか？",
    },
    Smalltalk.GOODBYE: {
        Language.EN: "Goodbye, and have a good day!",
        Language.JA: "ご利用ありがとうございました。失礼いたします。",
    },
}

CLARIFY_INTRO = {
    Language.EN: "I found a few answers that could fit. Which one do you mean?",
    Language.JA: "該当しそうな回答がいくつかあります。どれについて知りたいですか？",
}
CLARIFY_OUTRO = {
    Language.EN: 'Reply with the number (for example "2"), or ask again in other words.',
    Language.JA: "番号（例:「2番」）でお答えいただくか、言い換えてもう一度ご質問ください。",
}

DID_YOU_MEAN = {
    Language.EN: 'Did you mean: "{question}"? Reply "yes", or ask again in other words.',
    Language.JA: (
        "「{question}」についてのご質問でしょうか？"
        "「はい」とお答えいただくか、言い換えてもう一度ご質問ください。"
    ),
}

ESCALATED_LOW_CONFIDENCE = {
    Language.EN: (
        "I couldn't find a reliable answer to that, so I'm passing your question to a colleague at the "
        "service desk. They will reply here as soon as they can."
    ),
    Language.JA: (
        "確実な回答が見つからなかったため、ご質問をサービスデスクの担当者に引き継ぎます。"
        "担当者からこちらに返信しますので、少々お待ちください。"
    ),
}
ESCALATED_USER_ASKED = {
    Language.EN: "Of course. I'm passing you to a colleague at the service desk; they will reply here.",
    Language.JA: (
        "承知しました。サービスデスクの担当者におつなぎします。こちらに返信がありますので少々お待ちください。"
    ),
}
ESCALATED_NOT_RESOLVED = {
    Language.EN: (
        "Sorry that none of those fit. I'm passing your question to a colleague at the service desk; "
        "they will reply here."
    ),
    Language.JA: (
        "お役に立てず申し訳ありません。ご質問をサービスデスクの担当者に引き継ぎます。"
        "担当者からこちらに返信があります。"
    ),
}
ALREADY_ESCALATED = {
    Language.EN: (
        "Your question is already with a colleague at the service desk, who will reply here. "
        "Meanwhile I can still answer other questions from the FAQ."
    ),
    Language.JA: (
        "ご質問はすでにサービスデスクの担当者に引き継いでおり、担当者からこちらに返信があります。"
        "その間も、FAQにあるご質問にはお答えできます。"
    ),
}
NO_HANDOFF = {
    Language.EN: (
        "I'm sorry, I don't have an answer to that. Please contact the service desk directly, "
        "or try asking in other words."
    ),
    Language.JA: (
        "申し訳ありませんが、そのご質問にはお答えできません。サービスデスクに直接お問い合わせいただくか、"
        "言い換えてもう一度ご質問ください。"
    ),
}
OUT_OF_SCOPE = {
    Language.EN: (
        "I can help with IT and HR questions, such as passwords, VPN, e-mail, printers, leave, expenses "
        "or payroll. That question is outside what I know. If it is about work, ask me to pass it to a "
        "colleague."
    ),
    Language.JA: (
        "IT・人事に関するご質問（パスワード、VPN、メール、プリンター、休暇、経費、給与など）にお答えしています。"
        "そのご質問は対応範囲外です。業務に関することでしたら「担当者につないで」とお伝えください。"
    ),
}
ONLY_IN_OTHER_LANGUAGE = {
    Language.EN: "(This answer is only available in Japanese.)",
    Language.JA: "（この回答は英語のみです。）",
}


def clarification(language: Language, questions: Sequence[str]) -> str:
    """The choices as a numbered list; one choice as "Did you mean …?"."""
    if len(questions) == 1:
        return DID_YOU_MEAN[language].format(question=questions[0])
    lines = [CLARIFY_INTRO[language]]
    lines += [f"{number}. {question}" for number, question in enumerate(questions, start=1)]
    lines.append(CLARIFY_OUTRO[language])
    return "\n".join(lines)
