"""What to say to a turn: the answer policy (plain Python; no Dapr, no FastAPI)."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.events import AnswerMode, ChatAnalyzed, Choice, EscalationReason, Language
from services.dialogue.memory import ConversationMemory, PendingClarification


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    mode: AnswerMode
    cited_faq_ids: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Escalation:
    reason: EscalationReason
    message: str
    summary: str


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Answer | Escalation
    clarification: PendingClarification | None = None


_GREETING = {
    Language.EN: "Hello! How can I help you today?",
    Language.JA: "こんにちは。どのようなご用件でしょうか？",
}
_UNKNOWN = {
    Language.EN: "I don't know the answer to that yet. I can hand you over to a person if you like.",
    Language.JA: "申し訳ありませんが、その質問にはまだお答えできません。担当者におつなぎすることもできます。",
}


class AnswerPolicy:
    """A first, minimal policy: greet, otherwise say plainly that it does not know."""

    def decide(self, event: ChatAnalyzed, memory: ConversationMemory) -> Decision:
        language = event.language if event.language in (Language.EN, Language.JA) else Language.EN
        words = set(event.tokens)
        if words & {"hello", "hi", "hey", "こんにちは"} or "こんにちは" in event.normalised_text:
            return Decision(Answer(_GREETING[language], AnswerMode.SMALLTALK))
        return Decision(Answer(_UNKNOWN[language], AnswerMode.FALLBACK))
