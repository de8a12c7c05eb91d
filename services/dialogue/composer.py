"""Where the model comes in: the policy decides from the knowledge base, the composer may rewrite a
FAQ answer as a grounded LLM answer.

Plain Python over the Generator: it receives the flag values for this user and returns the decision to
publish with the variant and usage it cost. With `answer_mode` = faq (the default), the policy's answer
stands and only the user's A/B arm is recorded. With `llm`, answers and clarifications that have
retrieved entries are handed to the model with the top entries and passages as context; whatever goes
wrong (no endpoint, timeout, errors, open breaker, refused output, budget) gives the FAQ answer (or the
passage's extract) as `fallback`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from helpdesk.events import AnswerMode, ChatAnalyzed, Language, Refusal, Usage, Variant
from helpdesk.knowledge.entries import Passage
from services.dialogue.citations import citation
from services.dialogue.generation.answer_prompts import FaqContext, KnowledgeContext, PassageContext
from services.dialogue.generation.generator import (
    Fallback,
    FallbackReason,
    Generated,
    GenerationRequest,
    Generator,
)
from services.dialogue.policy import Answer, Decision, DecisionReason
from services.dialogue.turn_flags import AnswerSource, BudgetExhausted, FlagValues

CONTEXT_ENTRIES = 3
LLM_REASONS = frozenset({DecisionReason.FAQ, DecisionReason.CHOSEN, DecisionReason.CLARIFY})
"""Decisions the model may rewrite: answers and clarifications backed by retrieved entries."""

BUDGET_NOTE = {
    Language.EN: "(You have used today's allowance of AI-written answers, so this is the FAQ answer.)",
    Language.JA: "（本日のAI回答の上限に達したため、FAQの回答を表示しています。）",
}
BUDGET_REFUSAL = {
    Language.EN: "You have used today's allowance of AI-written answers. Please try again tomorrow, "
    "or ask for a person.",
    Language.JA: "本日のAI回答の上限に達しました。明日もう一度お試しいただくか、担当者をご依頼ください。",
}


@dataclass(frozen=True, slots=True)
class Composed:
    decision: Decision
    variant: Variant
    usage: Usage
    refusal: Refusal | None = None


def _context(decision: Decision, language: Language) -> list[KnowledgeContext]:
    """The first hits, FAQ entries and passages alike, as the model's data."""
    retrieval = decision.retrieval
    if retrieval is None:
        return []
    context: list[KnowledgeContext] = []
    for hit in retrieval.hits[:CONTEXT_ENTRIES]:
        entry = hit.entry
        if isinstance(entry, Passage):
            context.append(PassageContext(entry.id, entry.title, entry.text, entry.section, entry.page))
        else:
            text = entry.text(language)
            context.append(FaqContext(id=entry.id, question=text.question, answer=text.answer))
    return context


def _fallback(decision: Decision, result: Fallback, flags: FlagValues, language: Language) -> Composed:
    variant = result.variant(flags.arm)
    answer = decision.outcome
    assert isinstance(answer, Answer)
    if result.reason is FallbackReason.BUDGET_EXHAUSTED:
        if flags.budget_exhausted is BudgetExhausted.REJECT:
            refused = Answer(text=BUDGET_REFUSAL[language], mode=AnswerMode.FALLBACK)
            return Composed(
                replace(decision, outcome=refused, clarification=None, clarified=None),
                variant,
                result.usage,
                Refusal.BUDGET,
            )
        answer = replace(answer, text=f"{answer.text}\n\n{BUDGET_NOTE[language]}")
    mode = AnswerMode.FALLBACK if answer.mode is AnswerMode.FAQ else answer.mode
    return Composed(replace(decision, outcome=replace(answer, mode=mode)), variant, result.usage)


class AnswerComposer:
    def __init__(self, generator: Generator | None) -> None:
        """`generator` None: no model stack at all (tools that run the policy alone); the service always
        has one, which falls back by itself when no endpoint is configured."""
        self._generator = generator

    async def compose(
        self, event: ChatAnalyzed, decision: Decision, flags: FlagValues, language: Language
    ) -> Composed:
        answered = isinstance(decision.outcome, Answer)
        if (
            flags.answer_source is not AnswerSource.LLM
            or self._generator is None
            or not answered
            or decision.reason not in LLM_REASONS
        ):
            return Composed(decision, Variant(name=flags.arm), Usage())
        context = _context(decision, language)
        result = await self._generator.generate(
            GenerationRequest.for_turn(
                event, context, prompt=flags.prompt, model=flags.model, kb_version=decision.kb_version
            )
        )
        if isinstance(result, Fallback):
            return _fallback(decision, result, flags, language)
        return self._generated(decision, result, flags, language)

    def _generated(
        self, decision: Decision, result: Generated, flags: FlagValues, language: Language
    ) -> Composed:
        retrieval = decision.retrieval
        entries = {hit.entry.id: hit.entry for hit in (retrieval.hits if retrieval else ())}
        cited = tuple(i for i in result.cited_ids if i in entries)
        answer = Answer(
            text=result.text,
            mode=AnswerMode.LLM,
            cited_faq_ids=cited,
            citations=tuple(citation(entries[i], language) for i in cited),
            confidence=retrieval.confidence if retrieval else None,
        )
        # A model answer settles the question: any clarification the policy was about to ask is dropped.
        return Composed(
            replace(decision, outcome=answer, clarification=None), result.variant(flags.arm), result.usage
        )
