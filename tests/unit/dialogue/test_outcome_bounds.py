"""What dialogue publishes stays within the event contract's bounds at its worst: the longest FAQ answer
with both notes, the longest clarification, citations and choices of passages with absurd headings, the
longest escalation summary, a model's answer of any length and flag values of any length. A turn is
never lost because its outcome is too large (the contract's own tests are tests/contract)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from annotated_types import MaxLen
from pydantic import BaseModel

from helpdesk.events import (
    MAX_ANSWER_CHARS,
    MAX_CHOICE_CHARS,
    MAX_CLARIFIED_CHOICES,
    MAX_HEADING_CHARS,
    MAX_INTENT_NAME_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_DEPTH,
    MAX_SUMMARY_CHARS,
    AnswerMode,
    ChatAnswered,
    ChatEscalated,
    Choice,
    EscalationReason,
    Language,
)
from helpdesk.flags import FlagDefinition
from helpdesk.knowledge.entries import FaqEntry, FaqText, Passage
from helpdesk.memory_ports import memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from services.dialogue import replies
from services.dialogue.citations import choice_label, citation, escalation_summary
from services.dialogue.composer import BUDGET_NOTE
from services.dialogue.generation.validation import MAX_MODEL_ANSWER_CHARS
from services.dialogue.knowledge.index import Hit, KnowledgeIndex, Retrieval
from services.dialogue.memory import ConversationMemory, PendingClarification, RememberedTurn
from services.dialogue.policy import (
    AnswerPolicy,
    Decision,
    DecisionReason,
    Escalation,
    FixedKnowledge,
    PolicySettings,
)
from services.dialogue.responder import outcome_event
from services.dialogue.turn_flags import MODEL_DEFAULT, PROMPT_DEFAULT, TurnFlags
from tests.support.openai_server import OpenAITestServer, ReceivedRequest
from tests.unit.dialogue.conftest import analyzed
from tests.unit.dialogue.test_llm_answers import llm_dialogue


def most(model: type[BaseModel], field: str) -> int:
    """The longest value the knowledge base's model accepts for `field`."""
    return next(m.max_length for m in model.model_fields[field].metadata if isinstance(m, MaxLen))


LONGEST_ID = "x" * 128
"""The knowledge base's id pattern allows 128 characters."""


def longest_passage(number: int = 0) -> Passage:
    """A passage no importer makes but the model accepts: headings deeper and longer than any document
    has, the longest title and link."""
    return Passage(
        id=f"{number}" + "p" * 127,
        document_id="d" * 63,
        title="T" * most(Passage, "title"),
        section=tuple(f"{level}" + "H" * 2000 for level in range(30)),
        page=10_000,
        text="Step one. " * 400,
        link="https://example.com/" + "l" * (most(Passage, "link") - len("https://example.com/")),
    )


def test_the_longest_faq_answer_with_both_notes_fits_the_answer() -> None:
    """An entry with the longest answer only in Japanese, picked in English: the answer carries the note
    that it exists only in Japanese, and a spent AI allowance would add its note as well."""
    entry = FaqEntry(
        id=LONGEST_ID,
        ja=FaqText(question="質" * most(FaqText, "question"), answer="答" * most(FaqText, "answer")),
    )
    policy = AnswerPolicy(FixedKnowledge(KnowledgeIndex([entry], "kb-longest")))
    pending = PendingClarification(
        choices=[Choice(faq_id=entry.id, question=choice_label(entry, Language.EN))],
        question="q" * MAX_MESSAGE_CHARS,
        asked_in=uuid.uuid4(),
    )
    memory = ConversationMemory(conversation_id=uuid.uuid4(), user_id="user-1", clarification=pending)
    event = analyzed("yes", conversation_id=memory.conversation_id, language=Language.EN)
    decision = policy.decide(event, memory)
    assert decision.reason is DecisionReason.CHOSEN
    answered = outcome_event(event, decision, 0.0, Language.EN)
    assert isinstance(answered, ChatAnswered)
    assert replies.ONLY_IN_OTHER_LANGUAGE[Language.EN] in answered.answer
    with_budget_note = len(answered.answer) + 2 + max(len(note) for note in BUDGET_NOTE.values())
    assert with_budget_note <= MAX_ANSWER_CHARS


def test_citations_and_choices_of_any_passage_fit_the_answer() -> None:
    passages = [longest_passage(number) for number in range(MAX_CLARIFIED_CHOICES)]
    cited = citation(passages[0], Language.EN)
    assert len(cited.section) == MAX_SECTION_DEPTH
    assert all(len(heading) == MAX_HEADING_CHARS for heading in cited.section)
    assert cited.section[0].startswith("0HHH")
    assert cited.section[0].endswith("…")
    labels = [choice_label(passage, Language.EN) for passage in passages]
    assert all(len(label) == MAX_CHOICE_CHARS for label in labels)
    for language in (Language.EN, Language.JA):
        text = replies.clarification(language, labels)
        answered = ChatAnswered(
            turn_id=uuid.uuid4(),
            conversation_id=uuid.uuid4(),
            channel={"channel": "api", "user_id": "user-1"},
            language=language,
            question="q" * MAX_MESSAGE_CHARS,
            answer=text,
            mode=AnswerMode.CLARIFY,
            choices=[Choice(faq_id=p.id, question=label) for p, label in zip(passages, labels, strict=True)],
            cited_faq_ids=[passages[0].id],
            citations=[cited],
        )
        assert len(answered.choices) == MAX_CLARIFIED_CHOICES


def test_a_policy_never_offers_more_choices_than_an_answer_holds() -> None:
    PolicySettings(max_choices=MAX_CLARIFIED_CHOICES)
    with pytest.raises(ValueError, match="max_choices"):
        PolicySettings(max_choices=MAX_CLARIFIED_CHOICES + 1)


def _hit(entry: FaqEntry | Passage) -> Hit:
    return Hit(entry=entry, score=1.0, coverage=1.0, similarity=1.0, language=Language.EN, probability=0.4)


def _longest_escalation(earlier_question: str) -> ChatEscalated:
    event = analyzed(
        "q" * MAX_MESSAGE_CHARS,
        language=Language.EN,
        intent="i" * MAX_INTENT_NAME_CHARS,
        confidence=0.5,
    )
    memory = ConversationMemory(
        conversation_id=event.conversation_id,
        user_id="user-1",
        turns=[
            RememberedTurn(turn_id=uuid.uuid4(), question=earlier_question, answer="a", mode=AnswerMode.FAQ)
            for _ in range(5)
        ],
        clarification=PendingClarification(
            choices=[Choice(faq_id=f"{n}" + "c" * 127, question="c") for n in range(MAX_CLARIFIED_CHOICES)],
            question="q",
            asked_in=uuid.uuid4(),
        ),
    )
    hits = tuple(_hit(longest_passage(n)) for n in range(3))
    retrieval = Retrieval(Language.EN, (), hits, 0.4, "kb")
    summary = escalation_summary(event, memory, Language.EN, retrieval)
    escalation = Escalation(
        EscalationReason.LOW_CONFIDENCE, replies.ESCALATED_LOW_CONFIDENCE[Language.EN], summary
    )
    outcome = outcome_event(event, Decision(escalation, DecisionReason.LOW_CONFIDENCE), 0.0, Language.EN)
    assert isinstance(outcome, ChatEscalated)
    return outcome


def test_the_longest_escalation_summary_fits_whole() -> None:
    escalated = _longest_escalation("e" * MAX_MESSAGE_CHARS)
    assert len(escalated.summary) <= MAX_SUMMARY_CHARS
    assert escalated.summary.endswith(f"Intent: {'i' * MAX_INTENT_NAME_CHARS} (0.50)")


def test_a_summary_of_questions_kept_before_the_bounds_is_shortened() -> None:
    escalated = _longest_escalation("e" * 3 * MAX_MESSAGE_CHARS)
    assert len(escalated.summary) == MAX_SUMMARY_CHARS
    assert escalated.summary.endswith("…")


def _answers_with(size: int) -> Callable[[ReceivedRequest], str]:
    def script(request: ReceivedRequest) -> str:
        words = ("Restart the VPN client and sign in again. " * (size // 40 + 1))[:size]
        return json.dumps({"answer": words, "citations": request.faq_ids[:1], "answerable": True})

    return script


@pytest.mark.parametrize(
    ("size", "mode"),
    [(MAX_MODEL_ANSWER_CHARS, AnswerMode.LLM), (MAX_ANSWER_CHARS + 1, AnswerMode.FALLBACK)],
)
def test_a_model_answer_of_any_length_is_published(
    openai_server: OpenAITestServer, size: int, mode: AnswerMode
) -> None:
    """Up to the bound of a model's answer it is given; past it the output counts as broken and the
    FAQ answer is given instead. Either way the turn is answered."""
    for dialogue in llm_dialogue(openai_server):
        openai_server.script = _answers_with(size)
        answered = dialogue.ask("How do I reset my password?")
        assert isinstance(answered, ChatAnswered)
        assert answered.mode is mode
        assert len(answered.answer) <= MAX_ANSWER_CHARS
        assert answered.cited_faq_ids


def test_flag_values_too_long_for_the_variant_count_as_unset() -> None:
    long = "m" * 300
    flags = flag_defaults(ServiceSettings()) | {
        "answer_mode": FlagDefinition(value="llm"),
        "model": FlagDefinition(value=long),
        "prompt_variant": FlagDefinition(variants={long: long}, split={long: 1}),
    }
    values = TurnFlags(memory_runtime("dialogue", flags=flags).flags).answering("user-1")
    assert (values.model, values.prompt, values.arm) == (MODEL_DEFAULT, PROMPT_DEFAULT, "default")
