"""Fit the passages' confidence (services/dialogue/knowledge/passage_confidence.py) on tuning halves.

    .venv/bin/python -m bench.calibrate_passages --squad ../shared/data/jsquad/valid-v1.3.json \\
        --docs bench/data/manuals --queries bench/data/manuals-queries.jsonl

For every tuning query the first passage's evidence is paired with whether it is relevant:
- the IT-manual set's tuning half (`"half": "tune"`), its questions the manuals cannot answer included;
- JSQuAD's tuning articles (half A): every question against all paragraphs, and again against the
  paragraphs of every other article (its own article left out of the index), which makes it a question
  the documents cannot answer but whose words still meet other articles.
Each source weighs the same in the fit (JSQuAD has fifty times more questions, and other questions than
a helpdesk gets). A logistic regression is fitted; the script prints the coefficients to copy into
`PassageCalibration`, and how the fitted and the current confidence sort the held-out halves at the
policy's thresholds (never used in the fit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from sklearn.linear_model import LogisticRegression

from bench.doc_bench import DocQuery, Half, read_documents, read_queries, read_squad
from helpdesk.knowledge.entries import Passage
from services.dialogue.public import SEMANTIC_MODEL, KnowledgeIndex, PassageCalibration, PassageEvidence

NOTHING = PassageEvidence(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
THRESHOLDS = SEMANTIC_MODEL.thresholds
"""The answer policy's thresholds as deployed (the answer model with the sentence encoder): one scale
for entries and passages."""


@dataclass
class Sample:
    evidence: list[PassageEvidence] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def add(self, index: KnowledgeIndex, query: DocQuery) -> None:
        retrieval = index.search(query.text, query.language)
        top = retrieval.top
        evidence = retrieval.evidence if isinstance(retrieval.evidence, PassageEvidence) else NOTHING
        self.evidence.append(evidence)
        self.labels.append(int(top is not None and top.entry.id in query.relevant))


def manual_samples(docs: Path, queries: Path) -> dict[Half, Sample]:
    collection = read_documents(docs)
    index = KnowledgeIndex(collection.passages, "manuals")
    samples = {Half.TUNE: Sample(), Half.HELDOUT: Sample()}
    for query in read_queries(queries, collection.passages):
        samples[query.half].add(index, query)
    return samples


def squad_samples(path: Path) -> dict[Half, Sample]:
    """Questions against all paragraphs, and against all but their own article's."""
    collection = read_squad(path)
    index = KnowledgeIndex(collection.passages, "squad")
    samples = {Half.TUNE: Sample(), Half.HELDOUT: Sample()}
    article_of = {p.id: p.document_id for p in collection.passages}
    by_article: dict[str, list[DocQuery]] = {}
    for query in collection.queries:
        samples[query.half].add(index, query)
        by_article.setdefault(article_of[next(iter(query.relevant))], []).append(query)
    for article, questions in by_article.items():
        others: list[Passage] = [p for p in collection.passages if p.document_id != article]
        without = KnowledgeIndex(others, f"without-{article}")
        for query in questions:
            unanswerable = DocQuery(query.text, query.language, frozenset(), (), query.half)
            samples[query.half].add(without, unanswerable)
    return samples


def _report(name: str, calibration: PassageCalibration, sample: Sample) -> None:
    scores = np.array([calibration.confidence(e) for e in sample.evidence])
    truth = np.array(sample.labels)
    brier = float(np.mean((scores - truth) ** 2))
    answered = scores >= THRESHOLDS.answer
    clarified = (scores >= THRESHOLDS.clarify) & ~answered
    precision = float(truth[answered].mean()) if answered.any() else 0.0
    print(
        f"  {name}: brier {brier:.4f}; answered {int(answered.sum())}/{len(truth)} ({precision:.3f} right), "
        f"clarified {int(clarified.sum())}, escalated {int((~answered & ~clarified).sum())}; "
        f"right first passages {int(truth.sum())}, answered {int((answered & (truth == 1)).sum())}"
    )


def main(
    squad: Annotated[Path, typer.Option(help="JSQuAD (SQuAD-format) file; its half A tunes.")],
    docs: Annotated[Path, typer.Option(help="The IT-manual documents.")],
    queries: Annotated[Path, typer.Option(help="The IT-manual queries (with their halves).")],
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation strength.")] = 1.0,
) -> None:
    """Fit the passage confidence on the tuning halves; the last line is the fitted calibration."""
    sources = {"manuals": manual_samples(docs, queries), "jsquad": squad_samples(squad)}
    features: list[tuple[float, ...]] = []
    labels: list[int] = []
    weights: list[float] = []
    for sample in (s[Half.TUNE] for s in sources.values()):
        features.extend(e.features() for e in sample.evidence)
        labels.extend(sample.labels)
        weights.extend([1.0 / len(sample.labels)] * len(sample.labels))
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(np.array(features), np.array(labels), sample_weight=np.array(weights) * len(labels) / 2)
    coverage, heading, characters, margin, shortness = (round(float(v), 2) for v in model.coef_[0])
    fitted = PassageCalibration(
        intercept=round(float(model.intercept_[0]), 2),
        coverage=coverage,
        heading=heading,
        characters=characters,
        margin=margin,
        shortness=shortness,
    )
    for source, halves in sources.items():
        for half, sample in halves.items():
            print(f"{source}, {half.value} half:")
            _report("current", PassageCalibration(), sample)
            _report("fitted ", fitted, sample)
    names = ("intercept", "coverage", "heading", "characters", "margin", "shortness")
    print(json.dumps({name: getattr(fitted, name) for name in names}))


if __name__ == "__main__":
    typer.run(main)
