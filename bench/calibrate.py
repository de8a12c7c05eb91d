"""Fit the retrieval confidence (services/dialogue/knowledge/confidence.py) on an evaluation set.

    .venv/bin/python -m bench.calibrate --faq knowledge --queries bench/data/kb-eval.jsonl

For every query the first hit's evidence (coverage, similarity, margin) is paired with whether that hit
is relevant (never, for queries the knowledge base cannot answer), and a logistic regression is fitted.
It prints the coefficients to copy into `Calibration`, and how the fitted and the current confidence
sort the queries at the policy's thresholds. Intents are not part of the fit (see confidence.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from sklearn.linear_model import LogisticRegression

from bench.faq_bench import read_queries
from helpdesk.knowledge.files import read_entries
from services.dialogue.public import Calibration, KnowledgeIndex, MatchEvidence


def _report(name: str, calibration: Calibration, evidence: list[MatchEvidence], labels: list[int]) -> None:
    scores = np.array([calibration.confidence(e) for e in evidence])
    truth = np.array(labels)
    brier = float(np.mean((scores - truth) ** 2))
    print(f"{name}: brier {brier:.4f}")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        chosen = scores >= threshold
        precision = float(truth[chosen].mean()) if chosen.any() else 0.0
        print(
            f"  confidence >= {threshold:.1f}: answers {int(chosen.sum())}/{len(truth)}, "
            f"right {precision:.3f}, right ones kept {int((chosen & (truth == 1)).sum())}/{int(truth.sum())}"
        )


def main(
    faq: Annotated[Path, typer.Option(help="FAQ entries: a .jsonl file or a folder like knowledge/.")],
    queries: Annotated[Path, typer.Option(help="Queries with their relevant entry ids (.jsonl).")],
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation strength.")] = 1.0,
) -> None:
    """Fit the retrieval confidence on an evaluation set; the last line is the fitted calibration."""
    index = KnowledgeIndex(read_entries(faq), "calibration")
    evidence: list[MatchEvidence] = []
    labels: list[int] = []
    for query in read_queries(queries):
        retrieval = index.search(query.text, query.language)
        top = retrieval.top
        found = retrieval.evidence or MatchEvidence(0.0, 0.0, 0.0)
        evidence.append(found)
        labels.append(int(top is not None and top.entry.id in query.relevant))
    model = LogisticRegression(C=c, max_iter=1000)
    model.fit(np.array([e.features() for e in evidence]), np.array(labels))
    coverage, similarity, margin = (round(float(c), 2) for c in model.coef_[0])
    fitted = Calibration(
        intercept=round(float(model.intercept_[0]), 2),
        coverage=coverage,
        similarity=similarity,
        margin=margin,
    )
    _report("current", Calibration(), evidence, labels)
    _report("fitted", fitted, evidence, labels)
    print(json.dumps({k: getattr(fitted, k) for k in ("intercept", "coverage", "similarity", "margin")}))


if __name__ == "__main__":
    typer.run(main)
