"""Where the model comes in: the policy decides from the knowledge base, the composer may rewrite a
FAQ answer as a grounded LLM answer.

Plain Python over the Generator: it receives the flag values for this user and returns the decision to
publish with the variant and usage it cost. With `answer_mode` = faq (the default), the policy's answer
stands and only the user's A/B arm is recorded. With `llm`, answers and clarifications that have
retrieved entries are handed to the model with the top entries and passages as context; whatever goes
wrong (no endpoint, timeout, errors, open breaker, refused output, budget) gives the FAQ answer (or the
passage's extract) as `fallback`.

With `faq_model_choice`, answers stay the FAQ's, as written. Only where the policy asks which entry is
meant (a clarification with choices) the model is shown the question and the offered entries and names
the one whose answer alone answers it; that entry's answer is then given exactly as the policy gives it
(reason `model_chosen`, mode `faq`, its citation and probability), and no clarification is left
pending. When the model names none, names something not offered, or anything goes wrong (no endpoint,
timeout, errors, open breaker, refused output, budget spent or unreadable), the clarification stands
as decided: no note, no refusal, nothing lost.
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
    Picked,
)
from services.dialogue.knowledge.retrieval import KnowledgeHit
from services.dialogue.policy import Answer, AnswerPolicy, Decision, DecisionReason
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


def _shown(entry: KnowledgeHit, language: Language) -> KnowledgeContext:
    if isinstance(entry, Passage):
        return PassageContext(entry.id, entry.title, entry.text, entry.section, entry.page)
    text = entry.text(language)
    return FaqContext(id=entry.id, question=text.question, answer=text.answer)


def _context(decision: Decision, language: Language) -> list[KnowledgeContext]:
    """The first hits, FAQ entries and passages alike, as the model's data."""
    retrieval = decision.retrieval
    if retrieval is None:
        return []
    return [_shown(hit.entry, language) for hit in retrieval.hits[:CONTEXT_ENTRIES]]


def _offered(decision: Decision, language: Language) -> list[KnowledgeContext]:
    """The entries a clarification offers, in the order offered, as the model's data."""
    retrieval, outcome = decision.retrieval, decision.outcome
    if retrieval is None or not isinstance(outcome, Answer):
        return []
    entries = {hit.entry.id: hit.entry for hit in retrieval.hits}
    return [_shown(entries[c.faq_id], language) for c in outcome.choices if c.faq_id in entries]


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
    def __init__(self, generator: Generator | None, policy: AnswerPolicy | None = None) -> None:
        """`generator` None: no model stack at all (tools that run the policy alone); the service always
        has one, which falls back by itself when no endpoint is configured. `policy`: the one that
        decides the turns, which gives the answer with an entry the model picked (without it,
        `faq_model_choice` keeps every clarification)."""
        self._generator = generator
        self._policy = policy

    async def compose(
        self, event: ChatAnalyzed, decision: Decision, flags: FlagValues, language: Language
    ) -> Composed:
        if flags.answer_source is AnswerSource.FAQ_MODEL_CHOICE:
            return await self._model_choice(event, decision, flags, language)
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

    async def _model_choice(
        self, event: ChatAnalyzed, decision: Decision, flags: FlagValues, language: Language
    ) -> Composed:
        """A clarification the model settles by picking one of its choices, or the clarification."""
        generator, policy, outcome = self._generator, self._policy, decision.outcome
        if (
            generator is None
            or policy is None
            or decision.reason is not DecisionReason.CLARIFY
            or not isinstance(outcome, Answer)
            or not outcome.choices
        ):
            return Composed(decision, Variant(name=flags.arm), Usage())
        result = await generator.choose(
            GenerationRequest.for_turn(
                event,
                _offered(decision, language),
                prompt=generator.settings.choice_prompt,
                model=flags.model,
                kb_version=decision.kb_version,
            )
        )
        variant = result.variant(flags.arm)
        if isinstance(result, Picked) and result.entry_id is not None:
            chosen = policy.chosen_by_model(decision, result.entry_id, language)
            if chosen is not None:
                return Composed(chosen, variant, result.usage)
        return Composed(decision, variant, result.usage)

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
