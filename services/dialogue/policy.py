"""What to say to a turn: the answer policy (plain Python; no Dapr, no FastAPI).

In order: a reply to a pending clarification picks one of its choices (or rejects them all;
clarification.py); a request for a person escalates; small talk gets a template; everything else is
looked up in the knowledge base, and the probability that the first hit answers the question (the
answer model, knowledge/confidence.py) decides with two thresholds: answer with that item, ask which
item is meant (at most three choices, the likely one first; one likely choice is asked as "Did you
mean …?"), or hand the question to a person. The thresholds are chosen on a cross-validated curve of
direct answers against wrong answers (docs/benchmarks.md, "Answer policy"). A short follow-up ("and on
my phone?") is also looked up together with the previous question, and the better reading wins.

Nlp's intent and out-of-scope flag are evidence for that probability, and a confident intent can
trigger templates or a handoff; every decision also works from the text alone, since the intent may be
missing (`out_of_scope` with confidence 0) or wrong.

Once a conversation has been escalated there is no second `chat.escalated`: a new request for a
person, or a question the knowledge base cannot answer, is told that a colleague already has it (mode
`handoff`), while FAQ questions are still answered. (The gateway keeps the bot silent while an agent
holds the conversation; such turns reach dialogue before an agent picks it up or after it is closed.)

The knowledge base holds FAQ entries and passages of imported documents (manuals, guides), ranked
together by the calibrated probability that they answer the question, so the thresholds mean the same
for both. An answer from a passage is its best sentences with the document, section and page it comes
from (passage_answers.py); a clarification may offer passages, named by their document and section.

The decision carries the retrieval result, so a generator (the LLM path) can answer from the same
entries and passages the policy weighed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from helpdesk.events import (
    MAX_CLARIFIED_CHOICES,
    OUT_OF_SCOPE,
    AnswerMode,
    ChatAnalyzed,
    Choice,
    Citation,
    Clarified,
    EscalationReason,
    Language,
)
from helpdesk.knowledge.entries import Passage
from services.dialogue import replies
from services.dialogue.citations import choice_label, citation, escalation_summary
from services.dialogue.clarification import Rejected, ReplyReader, choices, passages_alike
from services.dialogue.knowledge.confidence import AnswerThresholds
from services.dialogue.knowledge.index import Hit, KnowledgeIndex, Retrieval
from services.dialogue.memory import ConversationMemory, PendingClarification
from services.dialogue.passage_answers import passage_answer
from services.dialogue.replies import Smalltalk
from services.dialogue.understanding import asks_for_a_person, is_follow_up, smalltalk


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    mode: AnswerMode
    cited_faq_ids: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    confidence: float | None = None
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True)
class Escalation:
    reason: EscalationReason
    message: str
    summary: str


class DecisionReason(StrEnum):
    """Why the policy decided as it did. The composer lets the model rewrite only some of them."""

    FAQ = "faq"
    """The first hit is likely enough to answer the question: answer with it."""
    CHOSEN = "chosen"
    """The user picked one of the choices offered."""
    CLARIFY = "clarify"
    """Not sure enough: offer the likely items as choices."""
    MODEL_CHOSEN = "model_chosen"
    """Not sure enough to answer alone, but the model (answer mode `faq_model_choice`) picked one of the
    choices as answering the question: answer with it, as written. No user picked it, so it is not a
    `Clarified` and nothing learns a wording from it."""
    SMALLTALK = "smalltalk"
    OUT_OF_SCOPE = "out_of_scope"
    LOW_CONFIDENCE = "low_confidence"
    """Nothing fits well enough: hand over to a person."""
    USER_ASKED = "user_asked"
    """The user asked for a person."""
    CHOICES_REJECTED = "choices_rejected"
    """None of the choices offered was it."""
    ALREADY_ESCALATED = "already_escalated"
    """A person already has this conversation."""


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Answer | Escalation
    reason: DecisionReason
    clarification: PendingClarification | None = None
    retrieval: Retrieval | None = None
    """The knowledge-base entries weighed for this turn (None for templates and handoff requests)."""
    kb_version: str | None = None
    smalltalk: Smalltalk | None = None
    """Which small talk, with reason `SMALLTALK`."""
    handoff_withheld: bool = False
    """The turn would have been handed to a person, but the `handoff_enabled` flag is off for this user."""
    clarified: Clarified | None = None
    """With reason `CHOSEN`: the clarification this turn resolved, and to which entry."""

    @property
    def label(self) -> str:
        """The reason as logs and `helpdesk_dialogue_decisions_total` show it: `faq`, `smalltalk:greeting`,
        `low_confidence:no_handoff`, ..."""
        if self.smalltalk is not None:
            return f"{self.reason.value}:{self.smalltalk.value}"
        if self.handoff_withheld:
            return f"{self.reason.value}:no_handoff"
        return self.reason.value


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """Overrides of the answer model's own thresholds (None: the model's, chosen with its fit)."""

    answer_confidence: float | None = None
    """At or above: answer with the first hit (the probability that it answers the question)."""
    clarify_confidence: float | None = None
    """At or above (and below the answer threshold): offer the likely items as choices."""
    choice_ratio: float | None = None
    """A second or third choice is offered when its probability is at least this share of the first's."""
    max_choices: int = 3
    """At most `MAX_CLARIFIED_CHOICES`: an answer's choices are bounded by the event contract."""
    trusted_intent: float = 0.6
    """Intent confidence from which nlp alone may trigger small talk, a handoff or out-of-scope."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_choices <= MAX_CLARIFIED_CHOICES:
            raise ValueError(f"max_choices must be between 1 and {MAX_CLARIFIED_CHOICES}")

    def thresholds(self, model: AnswerThresholds) -> AnswerThresholds:
        return AnswerThresholds(
            answer=model.answer if self.answer_confidence is None else self.answer_confidence,
            clarify=model.clarify if self.clarify_confidence is None else self.clarify_confidence,
            choice_ratio=model.choice_ratio if self.choice_ratio is None else self.choice_ratio,
        )


SMALLTALK_INTENTS = {s.value: s for s in Smalltalk}
HUMAN_AGENT_INTENT = "human_agent"
NOT_ABOUT_KNOWLEDGE = frozenset({OUT_OF_SCOPE, HUMAN_AGENT_INTENT, *SMALLTALK_INTENTS})
"""Intents that say nothing about which entry answers: not passed to retrieval."""


def reply_language(event: ChatAnalyzed, memory: ConversationMemory) -> Language:
    if event.language in (Language.EN, Language.JA):
        return event.language
    return memory.language if memory.language in (Language.EN, Language.JA) else Language.EN


class KnowledgeSource(Protocol):
    """Where the current index is: the knowledge library swaps in a new one for every knowledge-base
    version, so the policy reads it per turn rather than holding one."""

    @property
    def index(self) -> KnowledgeIndex: ...


@dataclass(frozen=True, slots=True)
class FixedKnowledge:
    """One index that never changes (tools and tests)."""

    index: KnowledgeIndex


class AnswerPolicy:
    def __init__(self, knowledge: KnowledgeSource, settings: PolicySettings | None = None) -> None:
        self._knowledge = knowledge
        self.settings = settings or PolicySettings()

    @property
    def kb_version(self) -> str:
        return self._knowledge.index.kb_version

    def decide(
        self, event: ChatAnalyzed, memory: ConversationMemory, *, handoff_enabled: bool = True
    ) -> Decision:
        index = self._knowledge.index
        turn = _Turn(event, memory, reply_language(event, memory), index, self.settings, handoff_enabled)
        return turn.decide()

    def chosen_by_model(self, decision: Decision, entry_id: str, language: Language) -> Decision | None:
        """The direct answer with one of the choices a clarification offered, exactly as the policy
        answers with that entry (its text as written, its citation, the probability the policy gave
        it), with reason `MODEL_CHOSEN` and no clarification pending. None when `entry_id` was not
        offered, or the knowledge base changed since the decision (the model read the older entries)."""
        outcome, retrieval = decision.outcome, decision.retrieval
        if (
            decision.reason is not DecisionReason.CLARIFY
            or retrieval is None
            or not isinstance(outcome, Answer)
        ):
            return None
        if entry_id not in {choice.faq_id for choice in outcome.choices}:
            return None
        index = self._knowledge.index
        if index.kb_version != decision.kb_version:
            return None
        hit = next((h for h in retrieval.hits if h.entry.id == entry_id), None)
        if hit is None:
            return None
        return direct_answer(index, retrieval, hit, language, DecisionReason.MODEL_CHOSEN, hit.probability)


def direct_answer(
    index: KnowledgeIndex,
    retrieval: Retrieval,
    hit: Hit,
    language: Language,
    reason: DecisionReason,
    confidence: float | None,
) -> Decision:
    """The answer with one entry as written (an FAQ answer, or a passage's best sentences), cited: the
    one way the policy answers from the knowledge base, whoever chose the entry."""
    entry = hit.entry
    if isinstance(entry, Passage):
        text = passage_answer(entry, retrieval.passage_terms, index.passages.idf, language)
    else:
        text = entry.text(language).answer
        if entry.version(language) is None:
            text = f"{text}\n\n{replies.ONLY_IN_OTHER_LANGUAGE[language]}"
    return Decision(
        Answer(
            text,
            AnswerMode.FAQ,
            cited_faq_ids=(entry.id,),
            confidence=confidence,
            citations=(citation(entry, language),),
        ),
        reason,
        retrieval=retrieval,
        kb_version=retrieval.kb_version,
    )


def search(
    index: KnowledgeIndex,
    event: ChatAnalyzed,
    language: Language,
    text: str,
    focus: Sequence[str] = (),
    limit: int = 5,
) -> Retrieval:
    """Retrieval for a turn: `text` (the message, or the message read with an earlier question) with
    nlp's reading of the message as evidence. An out-of-scope intent with confidence 0 is nlp without an
    intent model, which says nothing about the message."""
    intent = event.intent
    name = intent.name if intent.name not in NOT_ABOUT_KNOWLEDGE else None
    return index.search(
        text,
        language,
        intent=name,
        intent_confidence=intent.confidence,
        out_of_scope=event.out_of_scope and intent.confidence > 0,
        focus=focus,
        limit=limit,
    )


@dataclass
class _Turn:
    event: ChatAnalyzed
    memory: ConversationMemory
    language: Language
    index: KnowledgeIndex
    settings: PolicySettings
    handoff_enabled: bool

    @property
    def thresholds(self) -> AnswerThresholds:
        return self.settings.thresholds(self.index.model.thresholds)

    @property
    def text(self) -> str:
        return self.event.normalised_text or self.event.text

    def _intent(self, *names: str) -> bool:
        intent = self.event.intent
        return intent.name in names and intent.confidence >= self.settings.trusted_intent

    def decide(self) -> Decision:
        if asks_for_a_person(self.text) or self._intent(HUMAN_AGENT_INTENT):
            return self._escalate(EscalationReason.USER_ASKED, None, DecisionReason.USER_ASKED)
        pending = self.memory.clarification
        if pending is not None:
            resolved = self._resolve(pending)
            if resolved is not None:
                return resolved
        kind = smalltalk(self.text)
        if kind is None:
            kind = next((k for name, k in SMALLTALK_INTENTS.items() if self._intent(name)), None)
            retrieval = self._retrieve()
            if kind is not None and retrieval.confidence < self.thresholds.answer:
                return self._smalltalk(kind)
        else:
            return self._smalltalk(kind)
        return self._from_knowledge(retrieval)

    def _smalltalk(self, kind: Smalltalk) -> Decision:
        return Decision(
            Answer(replies.SMALLTALK[kind][self.language], AnswerMode.SMALLTALK),
            DecisionReason.SMALLTALK,
            kb_version=self.index.kb_version,
            smalltalk=kind,
        )

    def _resolve(self, pending: PendingClarification) -> Decision | None:
        reader = ReplyReader(pending, self.language, self._search_reply)
        chosen = reader.chosen(self.text)
        if chosen is Rejected.ALL:
            return self._escalate(EscalationReason.LOW_CONFIDENCE, None, DecisionReason.CHOICES_REJECTED)
        entry = self.index.get(chosen) if chosen is not None else None
        if entry is None:
            return None
        hit = Hit(entry=entry, score=1.0, coverage=1.0, similarity=1.0, language=self.language)
        terms: tuple[str, ...] = ()
        if isinstance(entry, Passage):
            terms = self.index.search(pending.question, self.language, limit=1).passage_terms
        retrieval = Retrieval(self.language, (), (hit,), 1.0, self.index.kb_version, passage_terms=terms)
        clarified = Clarified(question=pending.question, faq_id=entry.id, choices=pending.choices)
        return replace(self._answer(retrieval, hit, reason=DecisionReason.CHOSEN), clarified=clarified)

    def _search_reply(self, text: str, focus: Sequence[str], limit: int) -> Retrieval:
        return search(self.index, self.event, self.language, text, focus, limit)

    def _retrieve(self) -> Retrieval:
        alone = search(self.index, self.event, self.language, self.text)
        previous = self._previous_question()
        if previous is None or not (is_follow_up(self.text, self.language) or alone.top is None):
            return alone
        together = search(self.index, self.event, self.language, f"{previous} {self.text}", (self.text,))
        if is_follow_up(self.text, self.language) and together.confidence >= self.thresholds.clarify:
            return together
        return together if together.confidence >= alone.confidence else alone

    def _previous_question(self) -> str | None:
        for turn in reversed(self.memory.turns):
            if turn.mode in (AnswerMode.FAQ, AnswerMode.LLM, AnswerMode.CLARIFY):
                return turn.question
            if turn.mode is not AnswerMode.SMALLTALK:
                return None
        return None

    def _from_knowledge(self, retrieval: Retrieval) -> Decision:
        top, thresholds = retrieval.top, self.thresholds
        if top is not None and retrieval.confidence >= thresholds.answer and not passages_alike(retrieval):
            return self._answer(retrieval, top, reason=DecisionReason.FAQ)
        if top is not None and retrieval.confidence >= thresholds.clarify:
            offered = choices(
                retrieval,
                lambda hit: choice_label(hit.entry, self.language),
                ratio=thresholds.choice_ratio,
                most=self.settings.max_choices,
            )
            return self._clarify(retrieval, offered)
        out_of_scope = self.event.out_of_scope and self._intent(OUT_OF_SCOPE)
        if out_of_scope and not self._failed_before():
            return Decision(
                Answer(
                    replies.OUT_OF_SCOPE[self.language], AnswerMode.FALLBACK, confidence=retrieval.confidence
                ),
                DecisionReason.OUT_OF_SCOPE,
                retrieval=retrieval,
                kb_version=retrieval.kb_version,
            )
        return self._escalate(EscalationReason.LOW_CONFIDENCE, retrieval, DecisionReason.LOW_CONFIDENCE)

    def _failed_before(self) -> bool:
        last = self.memory.turns[-1] if self.memory.turns else None
        return last is not None and last.mode in (AnswerMode.FALLBACK, AnswerMode.CLARIFY)

    def _answer(self, retrieval: Retrieval, hit: Hit, *, reason: DecisionReason) -> Decision:
        return direct_answer(self.index, retrieval, hit, self.language, reason, retrieval.confidence)

    def _clarify(self, retrieval: Retrieval, hits: list[Hit]) -> Decision:
        choices = tuple(
            Choice(faq_id=h.entry.id, question=choice_label(h.entry, self.language)) for h in hits
        )
        text = replies.clarification(self.language, [c.question for c in choices])
        return Decision(
            Answer(text, AnswerMode.CLARIFY, choices=choices, confidence=retrieval.confidence),
            DecisionReason.CLARIFY,
            clarification=PendingClarification(
                choices=list(choices), question=self.event.redacted_text, asked_in=self.event.turn_id
            ),
            retrieval=retrieval,
            kb_version=retrieval.kb_version,
        )

    def _escalate(
        self, reason: EscalationReason, retrieval: Retrieval | None, why: DecisionReason
    ) -> Decision:
        confidence = retrieval.confidence if retrieval is not None else None
        if self.memory.escalated:
            message = replies.ALREADY_ESCALATED[self.language]
            return Decision(
                Answer(message, AnswerMode.HANDOFF, confidence=confidence),
                DecisionReason.ALREADY_ESCALATED,
                retrieval=retrieval,
                kb_version=self.index.kb_version,
            )
        if not self.handoff_enabled:
            return Decision(
                Answer(replies.NO_HANDOFF[self.language], AnswerMode.FALLBACK, confidence=confidence),
                why,
                retrieval=retrieval,
                kb_version=self.index.kb_version,
                handoff_withheld=True,
            )
        messages = {
            EscalationReason.USER_ASKED: replies.ESCALATED_USER_ASKED,
            EscalationReason.LOW_CONFIDENCE: (
                replies.ESCALATED_NOT_RESOLVED
                if why is DecisionReason.CHOICES_REJECTED
                else replies.ESCALATED_LOW_CONFIDENCE
            ),
        }
        message = messages.get(reason, replies.ESCALATED_LOW_CONFIDENCE)[self.language]
        return Decision(
            Escalation(
                reason=reason,
                message=message,
                summary=escalation_summary(self.event, self.memory, self.language, retrieval),
            ),
            why,
            retrieval=retrieval,
            kb_version=self.index.kb_version,
        )
