"""What the helpdesk does with each question of the paraphrase sets: right or wrong direct answers,
clarifications that offer a right entry or miss it, handoffs; by language and kind of question.

    .venv/bin/python -m bench.answer_eval --stack              # through the running stack (make run)

    .venv/bin/python -m bench.answer_eval --answer-thresholds 0.8,0.85,0.9,0.95   # in process, the curve

    OPENAI_API_KEY=... .venv/bin/python -m bench.answer_eval --model-choice --sets kb-heldout

With `--model-choice` (in process) every clarification the policy decides is first put to the model as
answer mode `faq_model_choice` does, and its pick is counted as the direct answer the service would
give. The endpoint is configured as the service reads it (`OPENAI_BASE_URL`, `AZURE_OPENAI_ENDPOINT`,
`HELPDESK_LLM__*`, `HELPDESK_GENERATION__*`); the key, which the service reads from the Dapr secret
store, comes from `OPENAI_API_KEY` or `AZURE_OPENAI_API_KEY` (or none, for a local server that needs
none). Token budgets are lifted for the run; the calls, tokens and estimated cost are printed with the
outcomes. Without a configured endpoint it refuses to run rather than measure the policy alone.

With `--stack` every question is sent to `POST /v1/chat` of the stack `.run/stack.json` describes (the
gateway, nlp, dialogue and the evaluator through their sidecars), each as the first turn of its own
conversation, one at a time, and the reply's mode, citations and choices are read. In process, the
same turn goes through nlp's `Analyzer` (the intent model as deployed) and dialogue's `AnswerPolicy`
over the index a replica builds (`deployed_index`), which is what `make eval` does. kb-heldout.jsonl and
kb-fresh.jsonl (written by another author) are measured here and never tuned on (bench/calibrate.py fits
on kb-eval and kb-tune only).

Outcomes: for a question with relevant entries, `right` (an answer citing one of them), `wrong` (an
answer citing another), `clarify_right` (choices that include one), `clarify_miss`, `handoff` (an
escalation, the out-of-scope reply, a handoff refused by the limit of open handoffs); for a question
the knowledge base cannot answer (`"relevant": []`), `answered` (always wrong), `clarified`, `handoff`.
The last line printed is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from bench.faq_bench import Query, read_queries
from bench.questions import analysed
from helpdesk.events import AnswerMode
from helpdesk.memory_ports import MemorySecrets, MemoryStateStore
from services.dialogue.public import (
    Answer,
    AnswerComposer,
    AnswerPolicy,
    AnswerSource,
    BudgetExhausted,
    ConversationMemory,
    Decision,
    DialogueSettings,
    FixedKnowledge,
    FlagValues,
    Generator,
    PolicySettings,
    deployed_index,
    reply_language,
    seed_knowledge,
)
from services.nlp.public import Analyzer, NlpSettings, load_intent_model

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
SETS = ("kb-fresh", "kb-heldout", "kb-eval", "kb-tune")
STACK_STATE = ROOT / ".run" / "stack.json"
ANSWERED = (AnswerMode.FAQ, AnswerMode.LLM)
HANDOFF_LIMIT = "handoff-limit"


@dataclass(frozen=True)
class Reply:
    """What came back for one question, as far as the outcome goes."""

    mode: str
    cited: tuple[str, ...] = ()
    offered: tuple[str, ...] = ()


@dataclass(frozen=True)
class Asked:
    query: Query
    kind: str
    """single, ambiguous or oos."""


def questions(name: str) -> list[Asked]:
    path = DATA / f"{name}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for query, row in zip(read_queries(path), rows, strict=True):
        kind = "oos" if not query.relevant else "ambiguous" if row.get("ambiguous") else "single"
        out.append(Asked(query, kind))
    return out


def outcome(asked: Asked, reply: Reply) -> str:
    relevant = asked.query.relevant
    if reply.mode in ANSWERED:
        if not relevant:
            return "answered"
        return "right" if set(reply.cited) & relevant else "wrong"
    if reply.mode == AnswerMode.CLARIFY:
        if not relevant:
            return "clarified"
        return "clarify_right" if set(reply.offered) & relevant else "clarify_miss"
    return "handoff"


# ---- where the questions go ---------------------------------------------------------------------


def deployed_policy(settings: PolicySettings) -> AnswerPolicy:
    """The answer policy over the default knowledge base indexed as a replica indexes it."""
    knowledge = seed_knowledge(ROOT / "knowledge")
    return AnswerPolicy(
        FixedKnowledge(deployed_index(knowledge.entries.values(), knowledge.kb_version)), settings
    )


def reply_of(decision: Decision) -> Reply:
    decided = decision.outcome
    if not isinstance(decided, Answer):
        return Reply("escalated")
    return Reply(decided.mode.value, decided.cited_faq_ids, tuple(c.faq_id for c in decided.choices))


def in_process(settings: PolicySettings) -> Callable[[Query], Awaitable[Reply]]:
    return asking(Analyzer(load_intent_model(NlpSettings())), deployed_policy(settings), "answer-eval")


def asking(analyzer: Analyzer, policy: AnswerPolicy, user: str) -> Callable[[Query], Awaitable[Reply]]:
    """Each question as a new conversation of `user`, decided by `policy` in process."""

    async def ask(query: Query) -> Reply:
        event = analysed(analyzer, query, user)
        memory = ConversationMemory(conversation_id=event.conversation_id, user_id=user)
        return reply_of(policy.decide(event, memory))

    return ask


@dataclass
class ModelSpend:
    """What the model choices cost over a run (the usage each composed turn records)."""

    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    picked: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "model_calls": self.calls,
            "cached": self.cached,
            "picked": self.picked,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_tokens_per_call": round(self.prompt_tokens / max(self.calls, 1), 1),
            "cost_usd": round(self.cost_usd, 6),
        }


async def model_choice(
    settings: PolicySettings, model: str, spend: ModelSpend
) -> tuple[Callable[[Query], Awaitable[Reply]], Generator]:
    """Each question decided in process and composed as answer mode `faq_model_choice` composes it,
    against the endpoint the environment configures."""
    dialogue = DialogueSettings()
    generation = dialogue.generation.model_copy(
        update={"conversation_token_budget": 0, "user_daily_token_budget": 0}
    )
    keys = {
        dialogue.llm.openai_api_key_secret: os.environ.get("OPENAI_API_KEY"),
        dialogue.llm.azure_api_key_secret: os.environ.get("AZURE_OPENAI_API_KEY"),
    }
    secrets = MemorySecrets({name: key for name, key in keys.items() if key})
    generator = await Generator.open(dialogue.llm, generation, MemoryStateStore(), secrets)
    if not generator.configured:
        raise typer.BadParameter(
            "no model endpoint configured (OPENAI_BASE_URL, OPENAI_API_KEY or AZURE_OPENAI_ENDPOINT)",
            param_hint="--model-choice",
        )
    analyzer = Analyzer(load_intent_model(NlpSettings()))
    policy = deployed_policy(settings)
    composer = AnswerComposer(generator, policy)
    flags = FlagValues(
        AnswerSource.FAQ_MODEL_CHOICE, "answer-eval", "grounded", model, BudgetExhausted.FAQ_ONLY
    )

    async def ask(query: Query) -> Reply:
        event = analysed(analyzer, query, "answer-eval")
        memory = ConversationMemory(conversation_id=event.conversation_id, user_id="answer-eval")
        decision = policy.decide(event, memory)
        composed = await composer.compose(event, decision, flags, reply_language(event, memory))
        usage = composed.usage
        if usage.cached or usage.prompt_tokens:
            spend.calls += 0 if usage.cached else 1
            spend.cached += 1 if usage.cached else 0
            spend.prompt_tokens += usage.prompt_tokens
            spend.completion_tokens += usage.completion_tokens
            spend.cost_usd += usage.cost_usd
        spend.picked += composed.decision.reason.value == "model_chosen"
        return reply_of(composed.decision)

    return ask, generator


class Stack:
    """The running stack's gateway, asked with the stack file's user API key."""

    def __init__(self, state_file: Path) -> None:
        import aiohttp

        state = json.loads(state_file.read_text())
        self.gateway = next(r["app"] for r in state["replicas"] if r["app_id"] == "gateway")
        self.headers = {"authorization": f"Bearer {state['api_key']}", "content-type": "application/json"}
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def ask(self, query: Query) -> Reply:
        body = {"message": query.text, "locale": query.language.value}
        async with self.session.post(f"{self.gateway}/v1/chat", json=body, headers=self.headers) as r:
            reply = await r.json(content_type=None)
            if r.status == 409 and HANDOFF_LIMIT in str(reply.get("type", "")):
                return Reply("handoff")
            if r.status == 202:
                reply = await self._polled(reply["links"]["self"])
            elif r.status != 200:
                raise RuntimeError(f"{r.status}: {reply}")
        return Reply(
            str(reply.get("mode") or reply.get("status")),
            tuple(reply.get("citations") or ()),
            tuple(c["faq_id"] for c in reply.get("choices") or ()),
        )

    async def _polled(self, link: str) -> dict[str, Any]:
        for _ in range(60):
            await asyncio.sleep(0.5)
            async with self.session.get(f"{self.gateway}{link}", headers=self.headers) as r:
                reply: dict[str, Any] = await r.json(content_type=None)
            if reply.get("status") != "pending":
                return reply
        raise RuntimeError(f"no answer for {link}")

    async def close(self) -> None:
        await self.session.close()


# ---- counting ---------------------------------------------------------------------------------------


def tally(results: Sequence[tuple[Asked, str]]) -> dict[str, Any]:
    """Outcome shares per language and overall: answerable questions (single + ambiguous) and
    out-of-scope ones apart, and wrong direct answers over all questions."""
    groups: dict[str, list[tuple[Asked, str]]] = defaultdict(list)
    for asked, result in results:
        groups["all"].append((asked, result))
        groups[asked.query.language.value].append((asked, result))
    return {name: shares(rows) for name, rows in groups.items()}


def shares(rows: Sequence[tuple[Asked, str]]) -> dict[str, Any]:
    answerable = Counter(result for asked, result in rows if asked.kind != "oos")
    single = Counter(result for asked, result in rows if asked.kind == "single")
    oos = Counter(result for asked, result in rows if asked.kind == "oos")
    n = max(sum(answerable.values()), 1)
    return {
        "questions": len(rows),
        "answerable": sum(answerable.values()),
        **{
            k: round(answerable[k] / n, 4)
            for k in ("right", "wrong", "clarify_right", "clarify_miss", "handoff")
        },
        "single_right": round(single["right"] / max(sum(single.values()), 1), 4),
        "wrong_of_all": round((answerable["wrong"] + oos["answered"]) / max(len(rows), 1), 4),
        "out_of_scope": {k: oos[k] for k in ("answered", "clarified", "handoff")},
    }


def show(name: str, counted: dict[str, Any]) -> None:
    print(
        f"{name}: answerable right / wrong / clarify, offers right / misses / handoff; wrong of all "
        "questions; out of scope answered / clarified / handed off"
    )
    for group in ("all", "en", "ja"):
        c = counted.get(group)
        if c is None:
            continue
        o = c["out_of_scope"]
        print(
            f"  {group:3s} ({c['answerable']} + {c['questions'] - c['answerable']}): {c['right']:.3f} / "
            f"{c['wrong']:.3f} / {c['clarify_right']:.3f} / {c['clarify_miss']:.3f} / {c['handoff']:.3f}; "
            f"{c['wrong_of_all']:.3f}; {o['answered']} / {o['clarified']} / {o['handoff']}"
        )


async def measure(ask: Callable[[Query], Awaitable[Reply]], sets: Sequence[str]) -> dict[str, Any]:
    measured: dict[str, Any] = {}
    for name in sets:
        results = []
        for asked in questions(name):
            results.append((asked, outcome(asked, await ask(asked.query))))
        measured[name] = tally(results)
        show(name, measured[name])
    return measured


async def run(
    stack: bool, sets: Sequence[str], thresholds: Sequence[float], choice_model: str | None = None
) -> dict[str, Any]:
    if choice_model is not None:
        spend = ModelSpend()
        ask, generator = await model_choice(PolicySettings(), choice_model, spend)
        try:
            measured = await measure(ask, sets)
        finally:
            await generator.close()
        print(f"model choice ({choice_model}): {spend.summary()}")
        return {"via": "in-process", "model_choice": choice_model, "spend": spend.summary(), "sets": measured}
    if stack:
        target = Stack(STACK_STATE)
        try:
            return {"via": "stack", "sets": await measure(target.ask, sets)}
        finally:
            await target.close()
    if not thresholds:
        return {"via": "in-process", "sets": await measure(in_process(PolicySettings()), sets)}
    curve = {}
    for threshold in thresholds:
        print(f"-- answer threshold {threshold}")
        curve[str(threshold)] = await measure(in_process(PolicySettings(answer_confidence=threshold)), sets)
    return {"via": "in-process", "curve": curve}


def main(
    stack: Annotated[bool, typer.Option(help="Through the running stack (.run/stack.json).")] = False,
    sets: Annotated[str, typer.Option(help="Comma-separated sets of bench/data.")] = ",".join(SETS),
    answer_thresholds: Annotated[
        str, typer.Option(help="In process: the outcomes at each of these answer thresholds.")
    ] = "",
    model_choice: Annotated[
        bool,
        typer.Option(
            help="In process: clarifications first go to the configured model, as answer mode "
            "faq_model_choice does (see the module's docstring)."
        ),
    ] = False,
    model: Annotated[str, typer.Option(help="With --model-choice: the model flag's value.")] = "gpt-4o-mini",
) -> None:
    """Outcomes of the paraphrase sets, by language; the last line is one JSON object."""
    thresholds = [float(t) for t in answer_thresholds.split(",") if t]
    if stack and thresholds:
        raise typer.BadParameter("the stack answers at its own thresholds", param_hint="--answer-thresholds")
    if model_choice and (stack or thresholds):
        raise typer.BadParameter(
            "in process at the service's thresholds only (for the stack, set its answer_mode flag)",
            param_hint="--model-choice",
        )
    chosen = [s for s in sets.split(",") if s]
    result = run(stack, chosen, thresholds, model if model_choice else None)
    print(json.dumps(asyncio.run(result), ensure_ascii=False))


if __name__ == "__main__":
    typer.run(main)
