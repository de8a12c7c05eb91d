"""Grounded answers from the model, or a clear reason to give the FAQ answer instead.

The contract the dialogue policy relies on:

    generator = await Generator.open(settings.llm, settings.generation, runtime.state, runtime.secrets)
    sticky = EvaluationContext(targeting_key=event.channel.user_id)
    arm = runtime.flags.get_string_details(Flag.PROMPT_VARIANT, "grounded", sticky)
    model = runtime.flags.get_string_value(Flag.MODEL, "gpt-4o-mini", sticky)
    result = await generator.generate(GenerationRequest.for_turn(
        event,                                 # ChatAnalyzed: only its redacted_text is sent
        [FaqContext(id, question, answer) | PassageContext(id, title, text, section, page), ...],
                                               # the retrieved entries and passages, best first
        prompt=arm.value,                      # a prompt id ("grounded") or pinned ("grounded@1")
        model=model,
        kb_version=<knowledge-base version>,
    ))
    match result:
        case Generated(): answer with result.text, mode llm, cited result.cited_ids,
                          variant result.variant(arm.variant), usage result.usage;
                          when not result.answerable, offer a human.
        case Fallback():  answer from the FAQ (mode fallback), still recording result.usage (tokens
                          spent on a refused output are real) and result.variant(arm.variant).
                          reason BUDGET_EXHAUSTED: the budget_exhausted flag chooses between a
                          marked FAQ-only answer and refusing the turn.

`choose` asks the model which of the entries a clarification offers answers the question by itself
(a choice prompt, `GenerationSettings.choice_prompt`; the request's context is the offered entries):

    result = await generator.choose(GenerationRequest.for_turn(
        event, [the offered choices as FaqContext | PassageContext], prompt=settings.choice_prompt,
        model=model, kb_version=...))
    match result:
        case Picked(entry_id=str()): answer with that entry as written (the policy's answer for it).
        case Picked(entry_id=None) | Fallback(): ask the clarification; record usage and variant.

Both go through one path (`_run`): the endpoint, the context, the prompt, the injection rule, the
response cache (keyed by question, language, knowledge-base version, prompt `id@version`, model and the
ids given), the user's token budgets, the deadline, the breaker, the accounting (tokens, cost, budgets)
and the leak checks; only the prompts, the output check and what is cached differ (`_Kind`).

`generate` and `choose` never raise for an endpoint or content problem and return within the
configured deadline (`deadline_seconds`, retries included); they raise only on programming errors. A
redelivered turn asks again but hits the response cache. Nothing here logs user or model text.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Generic, TypeVar

from helpdesk.dapr.ports import KeyValueStore, SecretSource, SidecarUnavailable
from helpdesk.events import ChatAnalyzed, Language, Usage, Variant
from helpdesk.llm.call_metrics import LLM_CALLS
from helpdesk.llm.connection import connect
from helpdesk.llm.port import CallOutcome, ChatMessage, ChatModel, Completion, EndpointFailed
from helpdesk.llm.prices import PriceTable
from helpdesk.llm.prompts import PromptLibrary, PromptNotFound
from helpdesk.llm.settings import ModelSettings
from helpdesk.logging import get_logger
from services.dialogue.generation.answer_prompts import (
    AnswerPrompts,
    KnowledgeContext,
    KnowledgePrompt,
    load_answer_prompts,
)
from services.dialogue.generation.breaker import CircuitOpen, EndpointBreaker
from services.dialogue.generation.budgets import TokenBudgets, utc_today
from services.dialogue.generation.cache import CachedAnswer, CachedChoice, ResponseCache, cache_key
from services.dialogue.generation.choice_prompts import ChoicePrompts, load_choice_prompts
from services.dialogue.generation.choice_validation import ChoiceRejection, check_choice
from services.dialogue.generation.generation_metrics import LLM_ANSWERS, LLM_COST, LLM_LEAKS, LLM_TOKENS
from services.dialogue.generation.leaks import Leak
from services.dialogue.generation.settings import GenerationSettings, InjectionHandling
from services.dialogue.generation.validation import Rejection, check

_log = get_logger(__name__)


class FallbackReason(StrEnum):
    NOT_CONFIGURED = "not_configured"
    NO_CONTEXT = "no_context"
    INJECTION_SUSPECTED = "injection_suspected"
    PROMPT_MISSING = "prompt_missing"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BUDGET_UNAVAILABLE = "budget_unavailable"
    BREAKER_OPEN = "breaker_open"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    ENDPOINT_ERROR = "endpoint_error"
    CANARY_LEAK = Rejection.CANARY_LEAK.value
    PROMPT_LEAK = Rejection.PROMPT_LEAK.value
    INVALID_OUTPUT = Rejection.INVALID_OUTPUT.value
    UNCITED = Rejection.UNCITED.value
    UNKNOWN_CITATION = Rejection.UNKNOWN_CITATION.value
    NOT_OFFERED = ChoiceRejection.NOT_OFFERED.value
    """A choice: the model named an entry that was not offered."""


_ENDPOINT_REASONS = {
    CallOutcome.TIMEOUT: FallbackReason.TIMEOUT,
    CallOutcome.RATE_LIMITED: FallbackReason.RATE_LIMITED,
}


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    question: str
    """The PII-redacted text (`ChatAnalyzed.redacted_text`); never the raw message."""
    language: Language
    context: Sequence[KnowledgeContext]
    prompt: str
    """The prompt_variant flag's value: a prompt id, optionally pinned (`grounded@1`)."""
    model: str
    user_id: str
    conversation_id: str
    kb_version: str | None = None
    injection_suspected: bool = False

    @classmethod
    def for_turn(
        cls,
        event: ChatAnalyzed,
        context: Sequence[KnowledgeContext],
        *,
        prompt: str,
        model: str,
        kb_version: str | None,
    ) -> GenerationRequest:
        """The request for an analysed turn: its redacted text (never `text` or `normalised_text`), its
        language (English when undetected), its user and conversation."""
        return cls(
            question=event.redacted_text,
            language=event.language if event.language is not Language.OTHER else Language.EN,
            context=tuple(context),
            prompt=prompt,
            model=model,
            user_id=event.channel.user_id,
            conversation_id=str(event.conversation_id),
            kb_version=kb_version,
            injection_suspected=event.injection_suspected,
        )


@dataclass(frozen=True, slots=True)
class Generated:
    text: str
    cited_ids: tuple[str, ...]
    answerable: bool
    """False: the model said the FAQ does not answer this (and offered a human); offer a handoff."""
    prompt: str
    """`id@version` of the prompt used."""
    model: str
    usage: Usage

    def variant(self, arm: str) -> Variant:
        return Variant(prompt=self.prompt, model=self.model, name=arm)


@dataclass(frozen=True, slots=True)
class Fallback:
    reason: FallbackReason
    prompt: str = "none"
    model: str = "none"
    usage: Usage = field(default_factory=Usage)

    def variant(self, arm: str) -> Variant:
        return Variant(prompt=self.prompt, model=self.model, name=arm)


@dataclass(frozen=True, slots=True)
class Picked:
    """The model's pick among the offered entries."""

    entry_id: str | None
    """The one offered entry whose answer, as written, answers the question; None: none does, or the
    model cannot tell."""
    prompt: str
    model: str
    usage: Usage

    def variant(self, arm: str) -> Variant:
        return Variant(prompt=self.prompt, model=self.model, name=arm)


Result = Generated | Fallback
Choice = Picked | Fallback


class Task(StrEnum):
    """What the model is asked to do (the `task` label of `helpdesk_llm_answers_total`)."""

    ANSWER = "answer"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class _Output:
    """One completion and what its check needs."""

    text: str
    provided: frozenset[str]
    canary: str
    system_prompt: str
    data: tuple[str, ...]
    prompt: str
    model: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class _Refused:
    reason: FallbackReason
    leak: Leak | None = None


R = TypeVar("R", Generated, Picked)
C = TypeVar("C", CachedAnswer, CachedChoice)


class _Kind(ABC, Generic[R, C]):
    """What differs between writing an answer and picking an entry: the prompts, how an output is
    checked and read, and what is cached."""

    task: Task
    cached: type[C]

    @abstractmethod
    def prompt(self, name: str, language: Language) -> KnowledgePrompt:
        """Raises `PromptNotFound`."""

    @abstractmethod
    def recalled(self, cached: C, provided: Collection[str], prompt: str, model: str) -> R | None:
        """The cached result, or None when it does not fit what was provided this time."""

    @abstractmethod
    def read(self, output: _Output) -> R | _Refused: ...

    @abstractmethod
    def stored(self, result: R) -> C: ...

    @abstractmethod
    def result_label(self, result: R) -> str: ...


class _Answering(_Kind[Generated, CachedAnswer]):
    task = Task.ANSWER
    cached = CachedAnswer

    def __init__(self, prompts: AnswerPrompts) -> None:
        self.prompts = prompts

    def prompt(self, name: str, language: Language) -> KnowledgePrompt:
        return self.prompts.resolve(name, language)

    def recalled(
        self, cached: CachedAnswer, provided: Collection[str], prompt: str, model: str
    ) -> Generated | None:
        if not set(cached.cited_ids) <= set(provided):
            return None
        return Generated(
            cached.text,
            tuple(cached.cited_ids),
            cached.answerable,
            usage=Usage(cached=True),
            prompt=prompt,
            model=model,
        )

    def read(self, output: _Output) -> Generated | _Refused:
        checked = check(
            output.text,
            provided_ids=output.provided,
            canary=output.canary,
            system_prompt=output.system_prompt,
            data=output.data,
        )
        if checked.answer is None:
            assert checked.rejection is not None
            return _Refused(FallbackReason(checked.rejection.value), checked.leak)
        answer = checked.answer
        return Generated(
            answer.answer,
            tuple(answer.citations),
            answer.answerable,
            usage=output.usage,
            prompt=output.prompt,
            model=output.model,
        )

    def stored(self, result: Generated) -> CachedAnswer:
        return CachedAnswer(
            text=result.text,
            cited_ids=list(result.cited_ids),
            answerable=result.answerable,
            prompt=result.prompt,
            model=result.model,
        )

    def result_label(self, result: Generated) -> str:
        return "generated"


class _Choosing(_Kind[Picked, CachedChoice]):
    task = Task.CHOICE
    cached = CachedChoice

    def __init__(self, prompts: ChoicePrompts) -> None:
        self.prompts = prompts

    def prompt(self, name: str, language: Language) -> KnowledgePrompt:
        return self.prompts.resolve(name, language)

    def recalled(
        self, cached: CachedChoice, provided: Collection[str], prompt: str, model: str
    ) -> Picked | None:
        if cached.chosen is not None and cached.chosen not in provided:
            return None
        return Picked(cached.chosen, prompt=prompt, model=model, usage=Usage(cached=True))

    def read(self, output: _Output) -> Picked | _Refused:
        checked = check_choice(
            output.text,
            offered_ids=output.provided,
            canary=output.canary,
            system_prompt=output.system_prompt,
            data=output.data,
        )
        if checked.rejection is not None:
            return _Refused(FallbackReason(checked.rejection.value), checked.leak)
        return Picked(checked.chosen, prompt=output.prompt, model=output.model, usage=output.usage)

    def stored(self, result: Picked) -> CachedChoice:
        return CachedChoice(chosen=result.entry_id, prompt=result.prompt, model=result.model)

    def result_label(self, result: Picked) -> str:
        return "chosen" if result.entry_id is not None else "none"


class Generator:
    def __init__(
        self,
        model: ChatModel | None,
        prompts: AnswerPrompts,
        store: KeyValueStore,
        settings: GenerationSettings,
        prices: PriceTable | None = None,
        *,
        choice_prompts: ChoicePrompts | None = None,
        canary: str | None = None,
        today: Callable[[], date] = utc_today,
    ) -> None:
        self.model = model
        self.prompts = prompts
        self.choice_prompts = choice_prompts or PromptLibrary([])
        self.settings = settings
        self.prices = prices or PriceTable()
        self.canary = canary or f"HDK-CANARY-{secrets.token_hex(8)}"
        """Random per process: it appears only in the system prompt, so seeing it in an output proves a
        leak."""
        self.cache = ResponseCache(store, settings.cache_ttl_seconds)
        self.budgets = TokenBudgets(
            store,
            per_conversation=settings.conversation_token_budget,
            per_user_daily=settings.user_daily_token_budget,
            conversation_ttl_seconds=settings.conversation_budget_ttl_seconds,
            today=today,
        )
        self.breaker = EndpointBreaker(settings.breaker_failure_threshold, settings.breaker_reset_seconds)
        self._answering = _Answering(prompts)
        self._choosing = _Choosing(self.choice_prompts)

    @classmethod
    async def open(
        cls,
        llm: ModelSettings,
        settings: GenerationSettings,
        store: KeyValueStore,
        secrets: SecretSource,
    ) -> Generator:
        """Build from settings: the endpoint (None when offline), answer and choice prompts and price
        table."""
        return cls(
            await connect(llm, secrets),
            load_answer_prompts(llm.prompts_directory),
            store,
            settings,
            PriceTable.load(llm.price_table),
            choice_prompts=load_choice_prompts(llm.prompts_directory),
        )

    @property
    def configured(self) -> bool:
        return self.model is not None

    async def close(self) -> None:
        if self.model is not None:
            await self.model.close()

    async def generate(self, request: GenerationRequest) -> Result:
        """A grounded answer written by the model from `request.context`, or the fallback."""
        return await self._run(request, self._answering, self.settings.deadline_seconds)

    async def choose(self, request: GenerationRequest) -> Choice:
        """The offered entry (`request.context`, at most a clarification's choices) whose answer alone
        answers the question, None for none, or the fallback."""
        return await self._run(request, self._choosing, self.settings.choice_deadline_seconds)

    async def _run(
        self, request: GenerationRequest, kind: _Kind[R, C], deadline_seconds: float
    ) -> R | Fallback:
        started = time.monotonic()
        result = await self._result(request, kind, started + deadline_seconds)
        if isinstance(result, Fallback):
            outcome, reason = "fallback", result.reason.value
        else:
            outcome, reason = kind.result_label(result), "cached" if result.usage.cached else "model"
        LLM_ANSWERS.labels(kind.task.value, outcome, reason).inc()
        _log.info(
            "llm_generation",
            task=kind.task.value,
            result=outcome,
            reason=reason if isinstance(result, Fallback) else None,
            prompt=result.prompt,
            model=result.model,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cached=result.usage.cached,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return result

    async def _result(self, request: GenerationRequest, kind: _Kind[R, C], deadline: float) -> R | Fallback:
        if self.model is None:
            return Fallback(FallbackReason.NOT_CONFIGURED)
        if not request.context:
            return Fallback(FallbackReason.NO_CONTEXT)
        try:
            prompt = kind.prompt(request.prompt, request.language)
        except PromptNotFound:
            _log.warning("prompt_missing", prompt=request.prompt, language=request.language.value)
            return Fallback(FallbackReason.PROMPT_MISSING, model=request.model)
        ref, model = prompt.ref, request.model
        if request.injection_suspected and self.settings.on_injection_suspected is InjectionHandling.FAQ:
            return Fallback(FallbackReason.INJECTION_SUSPECTED, prompt=ref, model=model)

        provided = [entry.id for entry in request.context]
        key = cache_key(request.question, request.language, request.kb_version, ref, model, provided)
        before_call = await self._before_call(request, kind, key, provided, ref, deadline)
        if before_call is not None:
            return before_call

        messages = prompt.messages(request.question, request.language, request.context, self.canary)
        called = await self._call(self.model, messages, prompt, request.model, deadline)
        if isinstance(called, Fallback):
            return called
        usage = await self._account(request, prompt, called)
        output = _Output(
            text=called.text,
            provided=frozenset(provided),
            canary=self.canary,
            system_prompt=messages[0]["content"],
            data=tuple(text for item in request.context for text in item.data),
            prompt=ref,
            model=model,
            usage=usage,
        )
        return await self._checked(kind, output, key)

    async def _before_call(
        self,
        request: GenerationRequest,
        kind: _Kind[R, C],
        key: str,
        provided: Collection[str],
        ref: str,
        deadline: float,
    ) -> R | Fallback | None:
        """A cached result, or the fallback when the user's budget is spent or cannot be read in time;
        None: call the model."""
        model = request.model
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                cached = await self.cache.get(key, kind.cached)
                recalled = kind.recalled(cached, provided, ref, model) if cached is not None else None
                if recalled is not None:
                    return recalled
                budget = await self.budgets.check(request.user_id, request.conversation_id)
                if not budget.allowed:
                    _log.info("token_budget_exhausted", budget=budget.exhausted)
                    return Fallback(FallbackReason.BUDGET_EXHAUSTED, prompt=ref, model=model)
        except SidecarUnavailable:
            return Fallback(FallbackReason.BUDGET_UNAVAILABLE, prompt=ref, model=model)
        except TimeoutError:
            return Fallback(FallbackReason.TIMEOUT, prompt=ref, model=model)
        return None

    async def _call(
        self,
        chat: ChatModel,
        messages: list[ChatMessage],
        prompt: KnowledgePrompt,
        model: str,
        deadline: float,
    ) -> Completion | Fallback:
        """The model's completion through the breaker, or the fallback its failure gives."""
        try:
            async with self.breaker.guard():
                return await chat.complete(
                    messages,
                    model=model,
                    temperature=prompt.temperature,
                    max_tokens=prompt.max_tokens,
                    deadline=deadline,
                )
        except CircuitOpen:
            LLM_CALLS.labels("breaker_open").inc()
            return Fallback(FallbackReason.BREAKER_OPEN, prompt=prompt.ref, model=model)
        except EndpointFailed as exc:
            reason = _ENDPOINT_REASONS.get(exc.outcome, FallbackReason.ENDPOINT_ERROR)
            return Fallback(reason, prompt=prompt.ref, model=model)

    async def _checked(self, kind: _Kind[R, C], output: _Output, key: str) -> R | Fallback:
        """The result once the output passed its kind's checks (and is cached), or the fallback that
        refuses it."""
        read = kind.read(output)
        if isinstance(read, _Refused):
            if read.leak is not None:
                LLM_LEAKS.labels(read.leak.kind.value, read.leak.form).inc()
            _log.warning(
                "llm_output_rejected",
                task=kind.task.value,
                reason=read.reason.value,
                form=read.leak.form if read.leak else None,
                prompt=output.prompt,
            )
            return Fallback(read.reason, usage=output.usage, prompt=output.prompt, model=output.model)
        await self.cache.put(key, kind.stored(read))
        return read

    async def _account(
        self, request: GenerationRequest, prompt: KnowledgePrompt, completion: Completion
    ) -> Usage:
        """Tokens and estimated cost of a call: metrics, the budgets, and the usage the result records."""
        cost = self.prices.cost(request.model, completion.prompt_tokens, completion.completion_tokens)
        LLM_TOKENS.labels(request.model, prompt.ref, "prompt").inc(completion.prompt_tokens)
        LLM_TOKENS.labels(request.model, prompt.ref, "completion").inc(completion.completion_tokens)
        LLM_COST.labels(request.model, prompt.ref).inc(cost)
        await self.budgets.charge(
            request.user_id,
            request.conversation_id,
            completion.prompt_tokens + completion.completion_tokens,
        )
        return Usage(
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost_usd=cost,
        )
