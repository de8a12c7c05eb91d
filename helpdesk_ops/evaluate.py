"""Offline evaluation: `make eval DATASET=<golden.jsonl> [VARIANTS=a,b]`.

Runs every golden case through the same answering code as the live stack, in-process: nlp's
`Analyzer`, dialogue's `AnswerPolicy` and the outcome event dialogue would publish. It scores each
answer with the evaluator's per-answer metrics, writes a CSV and an HTML report, and exits non-zero
when a variant falls below the thresholds, so it can gate CI. Only operator tooling may import the
services together like this; the services themselves never import each other.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Annotated

import typer

from helpdesk.events import Channel, ChannelRef, ChatAnswered, ChatEscalated, ChatRequested, Variant
from helpdesk_ops.golden_set import (
    CaseResult,
    GoldenCase,
    Thresholds,
    load_golden,
    score_case,
    summarise,
    write_csv,
    write_html,
)
from services.dialogue.public import (
    AnswerPolicy,
    ConversationMemory,
    DialogueSettings,
    FixedKnowledge,
    PolicySettings,
    deployed_index,
    outcome_event,
    reply_language,
    seed_knowledge,
)
from services.evaluator.public import KnowledgeCopy, load_directory
from services.nlp.public import Analyzer, NlpSettings, analyzed_event, load_intent_model

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_SET = ROOT / "bench" / "data" / "golden.jsonl"
KNOWLEDGE = ROOT / "knowledge"
REPORTS = ROOT / "test-artifacts" / "eval"


def answer(
    analyzer: Analyzer, policy: AnswerPolicy, case: GoldenCase, variant: str
) -> tuple[ChatAnswered | ChatEscalated, float]:
    """One turn through nlp and dialogue's code, as a fresh conversation; and how long it took (ms)."""
    started = time.perf_counter()
    hint = case.language.value
    request = ChatRequested(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.API, user_id="golden-set", locale=hint),
        text=case.question,
        locale_hint=hint,
    )
    event = analyzed_event(request, analyzer)
    memory = ConversationMemory(conversation_id=event.conversation_id, user_id=event.channel.user_id)
    decided = time.perf_counter()
    decision = policy.decide(event, memory)
    elapsed = (time.perf_counter() - decided) * 1000
    outcome = outcome_event(
        event, decision, elapsed, reply_language(event, memory), variant=Variant(name=variant)
    )
    return outcome, (time.perf_counter() - started) * 1000


def analyzer_as_deployed() -> Analyzer:
    """nlp's analyser with the same intent model the service loads (trained and cached when missing)."""
    settings = NlpSettings()
    return Analyzer(load_intent_model(settings))


def run(dataset: Path, variants: list[str], knowledge_dir: Path) -> tuple[list[GoldenCase], list[CaseResult]]:
    cases = load_golden(dataset)
    knowledge = KnowledgeCopy(load_directory(knowledge_dir))
    seeded = seed_knowledge(knowledge_dir)
    dialogue = DialogueSettings()
    index = deployed_index(
        seeded.entries.values(), seeded.kb_version, semantic_retrieval=dialogue.semantic_retrieval
    )
    analyzer = analyzer_as_deployed()
    thresholds = PolicySettings(
        answer_confidence=dialogue.answer_confidence, clarify_confidence=dialogue.clarify_confidence
    )
    results = []
    for variant in variants:
        policy = AnswerPolicy(FixedKnowledge(index), thresholds)
        for case in cases:
            outcome, latency_ms = answer(analyzer, policy, case, variant)
            results.append(score_case(case, variant, outcome, latency_ms, knowledge))
    return cases, results


app = typer.Typer(add_completion=False)


@app.command()
def evaluate(
    dataset: Annotated[Path, typer.Option(help="Golden cases (.jsonl).")] = GOLDEN_SET,
    variants: Annotated[str, typer.Option(help="Comma-separated variant names (default: default).")] = "",
    knowledge: Annotated[Path, typer.Option(help="The knowledge base the answers come from.")] = KNOWLEDGE,
    out: Annotated[Path, typer.Option(help="Where results.csv and report.html go.")] = REPORTS,
    min_accuracy: float = Thresholds.accuracy,
    min_faq_accuracy: float = Thresholds.faq_accuracy,
    min_groundedness: float = Thresholds.groundedness,
) -> None:
    """Offline evaluation of a golden set; exits 1 when a variant falls below a threshold, 2 without data."""
    if not dataset.exists():
        typer.echo(f"dataset not found: {dataset}", err=True)
        raise typer.Exit(2)
    names = [v.strip() for v in variants.split(",") if v.strip()] or ["default"]
    thresholds = Thresholds(min_accuracy, min_faq_accuracy, min_groundedness)
    cases, results = run(dataset, names, knowledge)
    summaries = summarise(results, cases, thresholds)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "results.csv", out / "report.html"
    write_csv(csv_path, results)
    write_html(html_path, dataset.name, results, summaries, thresholds)
    for summary in summaries:
        faq = "–" if summary.faq_accuracy is None else f"{summary.faq_accuracy:.3f}"
        verdict = "FAIL: " + "; ".join(summary.failures) if summary.failures else "pass"
        print(
            f"{summary.variant}: {summary.cases} cases, accuracy {summary.accuracy:.3f}, FAQ {faq}, "
            f"by language {summary.accuracy_by_language}, p95 {summary.latency_p95_ms} ms: {verdict}"
        )
    print(f"reports: {csv_path} {html_path}")
    raise typer.Exit(1 if any(s.failures for s in summaries) else 0)


def main(argv: list[str]) -> int:
    """The command on `argv`: its exit status, 0 when every variant passes."""
    status = app(args=argv, prog_name="python -m helpdesk_ops.evaluate", standalone_mode=False)
    return int(status or 0)


if __name__ == "__main__":
    app(prog_name="python -m helpdesk_ops.evaluate")
