"""Offline evaluation: golden cases, scoring against expectations, thresholds, reports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from helpdesk.events import AnswerMode, Language
from helpdesk_ops.golden_set import (
    GoldenCase,
    Thresholds,
    load_golden,
    score_case,
    summarise,
    write_csv,
    write_html,
)
from tests.unit.evaluator.conftest import answered, escalated, knowledge

GOLDEN = Path(__file__).resolve().parents[3] / "bench" / "data" / "golden.jsonl"


def test_the_shipped_golden_set_is_bilingual_and_refers_to_known_entries() -> None:
    from services.evaluator.knowledge import load_directory

    cases = load_golden(GOLDEN)
    known = {e.id for e in load_directory(GOLDEN.parents[2] / "knowledge")}
    assert {c.language for c in cases} == {Language.EN, Language.JA}
    assert sum(1 for c in cases if c.expected_faq_id) >= 30
    assert {m for c in cases for m in c.expected_modes} >= {"faq", "smalltalk", "escalate"}
    missing = {c.expected_faq_id for c in cases if c.expected_faq_id} - known
    assert not missing, f"golden cases cite entries the knowledge base lacks: {missing}"


def test_a_case_is_right_when_the_expected_entry_is_cited_first() -> None:
    case = GoldenCase("pw", "How do I reset my password?", Language.EN, expected_faq_id="password-reset")
    right = score_case(case, "a", answered(), 3.0, knowledge())
    wrong = score_case(case, "a", answered(cited_faq_ids=["vpn-connect"]), 3.0, knowledge())
    assert right.correct
    assert right.relevance == 1.0
    assert not wrong.correct


def test_a_mode_case_accepts_any_listed_mode_and_escalations() -> None:
    case = GoldenCase("human", "I want a human", Language.EN, expected_modes=("escalate",))
    escalation = escalated(message="Connecting you to a person.")
    assert score_case(case, "a", escalation, 1.0, knowledge()).correct
    handoff = answered(mode=AnswerMode.HANDOFF, cited_faq_ids=[])
    assert score_case(case, "a", handoff, 1.0, knowledge()).correct
    assert not score_case(
        case, "a", answered(mode=AnswerMode.FALLBACK, cited_faq_ids=[]), 1.0, knowledge()
    ).correct


def test_thresholds_fail_a_weak_variant_and_reports_are_written(tmp_path: Path) -> None:
    cases = [
        GoldenCase("pw", "How do I reset my password?", Language.EN, expected_faq_id="password-reset"),
        GoldenCase("vpn", "How do I connect to the VPN?", Language.EN, expected_faq_id="vpn-connect"),
    ]
    results = [
        score_case(cases[0], "good", answered(), 2.0, knowledge()),
        score_case(
            cases[1],
            "good",
            answered(cited_faq_ids=["vpn-connect"], answer="Install the VPN client."),
            2.0,
            knowledge(),
        ),
        score_case(cases[0], "weak", answered(cited_faq_ids=[], mode=AnswerMode.FALLBACK), 2.0, knowledge()),
        score_case(
            cases[1],
            "weak",
            answered(cited_faq_ids=["vpn-connect"], answer="Install the VPN client."),
            2.0,
            knowledge(),
        ),
    ]
    good, weak = summarise(results, cases, Thresholds(accuracy=0.8, faq_accuracy=0.8, groundedness=0.5))
    assert good.failures == []
    assert weak.accuracy == 0.5
    assert weak.failures
    write_csv(tmp_path / "r.csv", results)
    write_html(tmp_path / "r.html", "golden", results, [good, weak], Thresholds())
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert [r["variant"] for r in rows] == ["good", "good", "weak", "weak"]
    assert "FAQ accuracy" in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("raw", [{"id": "x", "question": "q"}])
def test_a_case_without_expectation_is_refused(raw: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="expects neither"):
        GoldenCase.parse(raw)
