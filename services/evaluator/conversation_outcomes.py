"""Conversation outcomes: resolution rate, handoff rate and re-asked questions, per conversation.

A conversation counts once, in the variant of its first turn. It is *handed off* when any turn
escalates, and *unresolved* when it is handed off, gets a thumbs-down, or the user asks the same thing
again (a re-asked question: its terms are close to an earlier question's in the same conversation).
Each change is a delta that the caller folds into the ledger with the turn's own fact.
"""

from __future__ import annotations

from uuid import UUID

from helpdesk.events import EscalationReason, Rating
from services.evaluator.knowledge import similarity
from services.evaluator.records import RememberedQuestion, SessionRecord

REASK_SIMILARITY = 0.6
KEEP_QUESTIONS = 10
KEEP_DELTAS = 100


def _remember(session: SessionRecord, key: str, delta: dict[str, float]) -> SessionRecord:
    deltas = dict(session.deltas)
    deltas[key] = delta
    if len(deltas) > KEEP_DELTAS:
        for old in list(deltas)[: len(deltas) - KEEP_DELTAS]:
            del deltas[old]
    return session.model_copy(update={"deltas": deltas})


def observe_turn(
    session: SessionRecord | None,
    conversation_id: UUID,
    turn_id: UUID,
    question_terms: list[str],
    *,
    escalated: bool,
    variant: str,
    substantive: bool = True,
    open_question: str | None = None,
    answered: bool = False,
    escalation_reason: EscalationReason | None = None,
) -> tuple[SessionRecord, dict[str, float], bool]:
    """The session after this turn, the turn's contribution to the totals, and whether it was re-asked.

    Only `substantive` turns (not small talk, not a bare request for a person) count as questions that
    can be re-asked. `open_question` is the redacted question when the bot could not answer it: an
    agent's later reply in this conversation most likely answers that one."""
    key = f"turn:{turn_id}"
    if session is not None and key in session.deltas:
        delta = session.deltas[key]
        return session, delta, bool(delta.get("reasked_turns"))
    delta = {}
    if session is None:
        session = SessionRecord(conversation_id=conversation_id, variant=variant)
        delta["conversations"] = 1
    terms = frozenset(question_terms) if substantive else frozenset()
    reasked = bool(terms) and any(
        similarity(terms, frozenset(q.terms)) >= REASK_SIMILARITY for q in session.questions
    )
    if reasked:
        delta["reasked_turns"] = 1
    if escalated and not session.handed_off:
        delta["handoff_conversations"] = 1
    if (escalated or reasked) and not session.unresolved:
        delta["unresolved_conversations"] = 1
    questions = session.questions
    if terms:
        questions = [*questions, RememberedQuestion(terms=sorted(terms))][-KEEP_QUESTIONS:]
    updated = session.model_copy(
        update={
            "questions": questions,
            "handed_off": session.handed_off or escalated,
            "unresolved": session.unresolved or escalated or reasked,
            "open_question": open_question or (None if answered else session.open_question),
            "escalation_reason": escalation_reason or session.escalation_reason,
        }
    )
    return _remember(updated, key, delta), delta, reasked


def handoff_question(session: SessionRecord | None, asked: str | None) -> str | None:
    """The question an agent's reply answers: the escalated one, unless the user only asked for a
    person, in which case the last question the bot could not answer (None when there is none)."""
    if session is None or session.escalation_reason is not EscalationReason.USER_ASKED:
        return asked
    return session.open_question


def observe_rating(
    session: SessionRecord | None, conversation_id: UUID, turn_id: UUID, rating: Rating, variant: str
) -> tuple[SessionRecord, dict[str, float]]:
    key = f"rating:{turn_id}"
    if session is not None and key in session.deltas:
        return session, session.deltas[key]
    if session is None:
        session = SessionRecord(conversation_id=conversation_id, variant=variant)
    delta: dict[str, float] = {}
    if rating is Rating.DOWN and not session.unresolved:
        delta["unresolved_conversations"] = 1
        session = session.model_copy(update={"unresolved": True})
    return _remember(session, key, delta), delta
