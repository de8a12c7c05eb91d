"""Scoring a golden set offline (`make eval`), with the same per-answer metrics the live evaluator uses.

A golden case names a question, its language and what a good answer is: the FAQ entry it should cite
(`expected_faq_id`) or the kind of turn it should be (`expected_mode`: faq, smalltalk, escalate,
fallback, clarify; one or several). The runner that produces the answers is `helpdesk_ops.evaluate`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from helpdesk.events import AnswerMode, ChatAnswered, ChatEscalated, Language
from services.evaluator.public import KnowledgeCopy, evaluate_answer

ESCALATE = "escalate"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True)
class GoldenCase:
    id: str
    question: str
    language: Language
    expected_faq_id: str | None = None
    expected_modes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> GoldenCase:
        modes = raw.get("expected_mode") or ()
        modes = (modes,) if isinstance(modes, str) else tuple(modes)
        faq = raw.get("expected_faq_id")
        if not faq and not modes:
            raise ValueError(f"golden case {raw.get('id')!r} expects neither an FAQ entry nor a mode")
        return cls(
            id=str(raw["id"]),
            question=str(raw["question"]),
            language=Language(raw.get("language", "en")),
            expected_faq_id=str(faq) if faq else None,
            expected_modes=modes or (AnswerMode.FAQ.value,),
        )


def load_golden(path: Path) -> list[GoldenCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            cases.append(GoldenCase.parse(json.loads(line)))
    return cases


@dataclass
class CaseResult:
    variant: str
    case_id: str
    language: str
    question: str
    expected: str
    mode: str
    cited: str
    correct: bool
    relevance: float | None
    groundedness: float | None
    citation_validity: float | None
    latency_ms: float
    answer: str


def score_case(
    case: GoldenCase,
    variant: str,
    outcome: ChatAnswered | ChatEscalated,
    latency_ms: float,
    knowledge: KnowledgeCopy,
) -> CaseResult:
    """Whether the answering code did what the case expects, and the live metrics of its answer."""
    expected = case.expected_faq_id or "|".join(case.expected_modes)
    if isinstance(outcome, ChatEscalated):
        mode, cited, answer = ESCALATE, [], outcome.message
        relevance = groundedness = validity = None
    else:
        record = evaluate_answer(outcome, knowledge)
        mode = ESCALATE if outcome.mode is AnswerMode.HANDOFF else outcome.mode.value
        cited, answer = list(outcome.cited_faq_ids), outcome.answer
        relevance, groundedness, validity = record.relevance, record.groundedness, record.citation_validity
    if case.expected_faq_id:
        correct = (
            bool(cited) and cited[0] == case.expected_faq_id and mode in (AnswerMode.FAQ, AnswerMode.LLM)
        )
    else:
        correct = mode in case.expected_modes
    return CaseResult(
        variant=variant,
        case_id=case.id,
        language=case.language.value,
        question=case.question,
        expected=expected,
        mode=mode,
        cited=" ".join(cited),
        correct=correct,
        relevance=relevance,
        groundedness=groundedness,
        citation_validity=validity,
        latency_ms=round(latency_ms, 3),
        answer=answer,
    )


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class VariantSummary:
    variant: str
    cases: int
    accuracy: float
    faq_accuracy: float | None
    mode_accuracy: float | None
    accuracy_by_language: dict[str, float] = field(default_factory=dict)
    relevance: float | None = None
    groundedness: float | None = None
    citation_validity: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Thresholds:
    accuracy: float = 0.8
    faq_accuracy: float = 0.8
    groundedness: float = 0.5


def summarise(
    results: Sequence[CaseResult], cases: Sequence[GoldenCase], thresholds: Thresholds
) -> list[VariantSummary]:
    by_case = {c.id: c for c in cases}
    summaries = []
    for variant in sorted({r.variant for r in results}):
        mine = [r for r in results if r.variant == variant]
        faq = [r for r in mine if by_case[r.case_id].expected_faq_id]
        modes = [r for r in mine if not by_case[r.case_id].expected_faq_id]
        summary = VariantSummary(
            variant=variant,
            cases=len(mine),
            accuracy=sum(r.correct for r in mine) / len(mine),
            faq_accuracy=sum(r.correct for r in faq) / len(faq) if faq else None,
            mode_accuracy=sum(r.correct for r in modes) / len(modes) if modes else None,
            accuracy_by_language={
                lang: sum(r.correct for r in mine if r.language == lang) / n
                for lang in sorted({r.language for r in mine})
                if (n := sum(1 for r in mine if r.language == lang))
            },
            relevance=_mean(r.relevance for r in mine),
            groundedness=_mean(r.groundedness for r in mine),
            citation_validity=_mean(r.citation_validity for r in mine),
            latency_p50_ms=_quantile([r.latency_ms for r in mine], 0.5),
            latency_p95_ms=_quantile([r.latency_ms for r in mine], 0.95),
        )
        if summary.accuracy < thresholds.accuracy:
            summary.failures.append(f"accuracy {summary.accuracy:.3f} < {thresholds.accuracy}")
        if summary.faq_accuracy is not None and summary.faq_accuracy < thresholds.faq_accuracy:
            summary.failures.append(f"FAQ accuracy {summary.faq_accuracy:.3f} < {thresholds.faq_accuracy}")
        if summary.groundedness is not None and summary.groundedness < thresholds.groundedness:
            summary.failures.append(f"groundedness {summary.groundedness:.3f} < {thresholds.groundedness}")
        summaries.append(summary)
    return summaries


def write_csv(path: Path, results: Sequence[CaseResult]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CaseResult.__dataclass_fields__))
        writer.writeheader()
        for result in results:
            writer.writerow(asdict(result))


def write_html(
    path: Path,
    dataset: str,
    results: Sequence[CaseResult],
    summaries: Sequence[VariantSummary],
    thresholds: Thresholds,
) -> None:
    html = _TEMPLATES.get_template("golden_set_report.html").render(
        dataset=dataset, results=results, summaries=summaries, thresholds=thresholds
    )
    path.write_text(html, encoding="utf-8")
