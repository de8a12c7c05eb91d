"""Learning wordings from users' choices (issue 19), simulated in process: how much more often the
helpdesk answers directly, and how often wrongly, once the wordings users resolved in clarifications are
alternatives of the entries they picked.

    .venv/bin/python -m bench.learning_eval                       # the runs below, right choices
    .venv/bin/python -m bench.learning_eval --runs tune-again --pick wrong    # users who pick wrongly
    .venv/bin/python -m bench.learning_eval --runs tune-again --near-duplicate 0.6 --closer-margin 0.1

Simulated users ask every answerable question of a set as the first turn of a conversation of their
own (nlp's `Analyzer` and dialogue's `AnswerPolicy` over the index a replica builds, as
`bench.answer_eval` runs them). When the reply is a clarification that offers a right entry, the user
replies with its number; the `chat.answered` dialogue would publish for that reply goes to the
evaluator's `CandidateQueue` (in-memory state and knowledge store, the default knowledge base seeded as
the service seeds it), with `learn_wordings_automatically` and **one user per wording** (each question
is asked once, so the service's default of two distinct users cannot be reached; the simulation counts
every resolved question as if a second user had asked it the same way). Out-of-scope questions and
clarifications that miss the right entry teach nothing (the user says "none of these"). Then the index
is rebuilt over the knowledge base with the learned alternatives and the sets are asked again.

With `--pick wrong` the users are adversarial (or confused): each picks the first choice offered that
is *not* a right entry (none when every choice is right), so what the refusals let through and the wrong
direct answers that follow are measured. `--near-duplicate` and `--closer-margin` set the rule that
refuses a wording reading as another entry's (`WordingRules`; the service's defaults otherwise).

Runs, the answer thresholds and the calibrated model untouched:
- `tune`: users resolve kb-tune; kb-heldout (never tuned on, never learned from) is then measured:
  what learning does for questions worded differently from every learned one.
- `repeat`: users resolve kb-heldout once; the same kb-heldout questions are then asked again (the
  recurring questions of a service desk).
- `tune-again`: users resolve kb-tune once and kb-tune is asked again: the run the refusal's
  parameters may be chosen on (kb-heldout must not be).
- `fresh` and `fresh-repeat`: as `tune` and `repeat`, with kb-fresh (another author's wording) in
  kb-heldout's place.
kb-eval is measured after each as a check on what the learned wordings do to other questions.
The last line printed is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Annotated, Any

import typer

from bench.answer_eval import ROOT, Asked, asking, measure, questions
from bench.faq_bench import Query
from bench.questions import analysed
from helpdesk.events import AnswerMode, ChatAnswered, Language
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.memory_ports import MemoryBus, MemoryStateStore
from helpdesk.text import detect_language
from services.dialogue.public import (
    Answer,
    AnswerPolicy,
    ConversationMemory,
    FixedKnowledge,
    deployed_index,
    outcome_event,
    reply_language,
)
from services.evaluator.public import (
    CandidateQueue,
    CandidateStore,
    KnowledgeFollower,
    KnowledgeSources,
    SourceReader,
    WordingChoice,
    WordingCounts,
    WordingRules,
    load_directory,
    wording_refusal,
)
from services.nlp.public import Analyzer, NlpSettings, load_intent_model

KNOWLEDGE = ROOT / "knowledge"
USER = "learning-eval"
SIMULATED_RULES = WordingRules(min_users=1)
RUNS = {
    "tune": ("kb-tune", "kb-heldout"),
    "repeat": ("kb-heldout", "kb-heldout"),
    "tune-again": ("kb-tune", "kb-tune"),
    "fresh": ("kb-tune", "kb-fresh"),
    "fresh-repeat": ("kb-fresh", "kb-fresh"),
}
"""Each run: the set users resolve, the set asked afterwards (kb-eval is asked after every run too)."""


class Pick(StrEnum):
    RIGHT = "right"
    """The first right choice offered."""
    WRONG = "wrong"
    """The first choice offered that is not a right one."""


async def learning_queue(rules: WordingRules = SIMULATED_RULES) -> CandidateQueue:
    """The evaluator's candidate queue over a knowledge store seeded with the default files, applying
    every wording one user resolved."""
    state = MemoryStateStore()
    store = KnowledgeStore(MemoryStateStore())
    follower = KnowledgeFollower(store, load_directory(KNOWLEDGE))
    sources = KnowledgeSources(store, MemoryBus(), state, SourceReader(), follower)
    await sources.seed(KNOWLEDGE)
    await follower.refresh()
    return CandidateQueue(
        CandidateStore(state),
        sources,
        follower,
        duplicate_threshold=0.75,
        wordings=WordingCounts(state, rules),
        learn_wordings_automatically=True,
    )


def policy_over(queue: CandidateQueue) -> AnswerPolicy:
    """Dialogue's policy over the index a replica builds of the queue's current knowledge base."""
    entries = list(queue.library.copy)
    return AnswerPolicy(FixedKnowledge(deployed_index(entries, queue.library.kb_version or "seed")))


async def users_resolve(
    analyzer: Analyzer,
    policy: AnswerPolicy,
    queue: CandidateQueue,
    asked: Sequence[Asked],
    who: str,
    pick: Pick = Pick.RIGHT,
    rules: WordingRules = SIMULATED_RULES,
) -> Counter[str]:
    """Each answerable question asked by a user of its own, who picks a choice offered (`pick`); what
    happened to the wordings."""
    seen: Counter[str] = Counter()
    for number, item in enumerate(asked):
        if not item.query.relevant:
            continue
        user = f"{who}-{number}"
        event = analysed(analyzer, item.query, user)
        memory = ConversationMemory(conversation_id=event.conversation_id, user_id=user)
        decision = policy.decide(event, memory)
        offered = decision.outcome
        if not isinstance(offered, Answer) or offered.mode is not AnswerMode.CLARIFY:
            continue
        seen["clarified"] += 1
        relevant = item.query.relevant
        position = next(
            (i for i, c in enumerate(offered.choices) if (c.faq_id in relevant) is (pick is Pick.RIGHT)), None
        )
        if position is None:
            seen["clarification_missed" if pick is Pick.RIGHT else "no_wrong_choice"] += 1
            continue
        memory = memory.model_copy(
            update={"language": reply_language(event, memory), "clarification": decision.clarification}
        )
        reply = analysed(analyzer, Query(str(position + 1), relevant, item.query.language), user)
        reply = reply.model_copy(update={"conversation_id": event.conversation_id})
        answered = outcome_event(reply, policy.decide(reply, memory), 0.0, reply_language(reply, memory))
        if not isinstance(answered, ChatAnswered) or answered.clarified is None:
            seen["reply_not_read"] += 1
            continue
        seen["resolved"] += 1
        refused = wording_refusal(_choice(answered), queue.library.copy, rules)
        if refused is not None:
            seen[f"refused_{refused.value}"] += 1
        candidate = await queue.learn_wording(answered)
        if candidate is not None and candidate.published:
            seen["learned"] += 1
    return seen


def _choice(answered: ChatAnswered) -> WordingChoice:
    """The choice as the queue reads it (for counting refusals before it is learned)."""
    assert answered.clarified is not None
    wording = answered.clarified.question
    language = detect_language(wording)
    if language not in (Language.EN, Language.JA):
        language = answered.language
    faq_id = answered.clarified.faq_id
    return WordingChoice(faq_id, wording, language, answered.channel.user_id, answered.turn_id)


async def run(runs: Sequence[str], pick: Pick, rules: WordingRules) -> dict[str, Any]:
    analyzer = Analyzer(load_intent_model(NlpSettings()))
    result: dict[str, Any] = {
        "via": "in-process",
        "min_users_simulated": 1,
        "pick": pick.value,
        "near_duplicate": rules.near_duplicate,
        "closer_margin": rules.closer_margin,
    }
    print("== before learning")
    baseline = policy_over(await learning_queue(rules))
    asked_after = sorted({RUNS[name][1] for name in runs} | {"kb-eval"})
    result["before"] = await measure(asking(analyzer, baseline, USER), asked_after)
    for name in runs:
        learned_from, asked = RUNS[name]
        queue = await learning_queue(rules)
        seen = await users_resolve(analyzer, baseline, queue, questions(learned_from), name, pick, rules)
        print(f"== {name}: users resolved {learned_from} ({pick.value} choices): {dict(seen)}")
        learned = policy_over(queue)
        result[name] = {
            "learned_from": learned_from,
            "wordings": dict(seen),
            "sets": await measure(asking(analyzer, learned, USER), [asked, "kb-eval"]),
        }
    return result


def main(
    runs: Annotated[str, typer.Option(help=f"Comma-separated, of {', '.join(RUNS)}.")] = "tune,repeat",
    pick: Annotated[Pick, typer.Option(help="Which choice the simulated users pick.")] = Pick.RIGHT,
    near_duplicate: Annotated[
        float | None, typer.Option(help="WordingRules.near_duplicate (the service's default otherwise).")
    ] = None,
    closer_margin: Annotated[
        float | None, typer.Option(help="WordingRules.closer_margin (the service's default otherwise).")
    ] = None,
) -> None:
    """Learning wordings from simulated users' choices, in process; the last line is one JSON object."""
    chosen = [r for r in runs.split(",") if r]
    unknown = [r for r in chosen if r not in RUNS]
    if unknown:
        raise typer.BadParameter(f"unknown runs {unknown}", param_hint="--runs")
    rules = SIMULATED_RULES
    if near_duplicate is not None:
        rules = replace(rules, near_duplicate=near_duplicate)
    if closer_margin is not None:
        rules = replace(rules, closer_margin=closer_margin)
    print(json.dumps(asyncio.run(run(chosen, pick, rules)), ensure_ascii=False))


if __name__ == "__main__":
    typer.run(main)
