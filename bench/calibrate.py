"""Fit the answer model (services/dialogue/knowledge/confidence.py) and choose its thresholds.

    .venv/bin/python -m bench.calibrate                 # with the multilingual sentence encoder
    .venv/bin/python -m bench.calibrate --no-semantic   # lexical only (the encoder off or not installed)

Every question of the tuning sets (bench/data/kb-eval.jsonl and kb-tune.jsonl; never kb-heldout.jsonl)
goes through nlp's analysis with the intent model as deployed and dialogue's retrieval as the policy
runs it, so the signals are the current code's. The first hit's evidence is paired with whether it is
a relevant entry (never, for a question the knowledge base cannot answer), and a logistic regression is
fitted. The softmax sharpness `tau` is chosen from a small grid by the out-of-fold log loss.

The curve is cross-validated (5-fold, repeated `--repeats` times, stratified by kind of question and
label): for each answer threshold, what the policy would do with each held-out fold's questions (right
and wrong direct answers, clarifications that offer a right entry or miss it, handoffs; out-of-scope
questions answered, clarified, handed off), with the clarify threshold and choice ratio chosen below.
The thresholds follow stated rules on that curve:
- answer: the lowest threshold whose wrong direct answers (an answer citing no relevant entry, out-of-
  scope questions included) are at most `--max-wrong` of all questions;
- clarify and choice ratio, at that answer threshold, from a grid: among the pairs whose clarifications
  offer a right entry at least `--keep` as often as the most any pair does, the highest clarify
  threshold (the most out-of-scope questions handed straight to a person), then the highest ratio
  (the fewest choices).
It prints the curve and the choices, then the coefficients to copy into `confidence.py`; the last line
is one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bench.faq_bench import Query, read_queries
from bench.questions import analysed
from helpdesk.knowledge.files import read_entries
from services.dialogue.public import (
    LEXICAL_MODEL,
    SEMANTIC_MODEL,
    AnswerModel,
    AnswerThresholds,
    KnowledgeIndex,
    MatchEvidence,
    SemanticSpace,
    load_sentence_encoder,
    turn_search,
)
from services.nlp.public import Analyzer, NlpSettings, load_intent_model

ROOT = Path(__file__).resolve().parent.parent
TUNING_SETS = (ROOT / "bench" / "data" / "kb-eval.jsonl", ROOT / "bench" / "data" / "kb-tune.jsonl")
TAUS = (0.1, 0.2, 0.4, 0.8)
CURVE = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.95)
ANSWER_GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))
CLARIFY_GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
RATIO_GRID = (0.05, 0.1, 0.2, 0.3, 0.5)
CHOICES = 3


@dataclass(frozen=True)
class Observed:
    """One tuning question: its kind, and the first `CHOICES` hits' evidence and relevance."""

    query: Query
    kind: str
    """single, ambiguous (several entries fit) or oos (none does)."""
    evidence: tuple[MatchEvidence, ...]
    relevant: tuple[bool, ...]


@dataclass(frozen=True)
class Question:
    query: Query
    kind: str
    event: Any
    """nlp's `ChatAnalyzed` for it."""


def questions(analyzer: Analyzer, sets: Sequence[Path]) -> list[Question]:
    out = []
    for path in sets:
        for query, ambiguous in read_queries_with_kind(path):
            kind = "oos" if not query.relevant else "ambiguous" if ambiguous else "single"
            out.append(Question(query, kind, analysed(analyzer, query, "calibration")))
    return out


def observe(index: KnowledgeIndex, asked: Sequence[Question]) -> list[Observed]:
    """Each question searched as the policy searches a first turn."""
    observed = []
    for question in asked:
        event, query = question.event, question.query
        retrieval = turn_search(index, event, query.language, event.normalised_text or event.text)
        hits = [h for h in retrieval.hits[:CHOICES] if isinstance(h.evidence, MatchEvidence)]
        nothing = MatchEvidence(0.0, 0.0, 0.0, out_of_scope=event.out_of_scope)
        evidence = tuple(h.evidence for h in hits if isinstance(h.evidence, MatchEvidence)) or (nothing,)
        relevant = tuple(h.entry.id in query.relevant for h in hits) or (False,)
        observed.append(Observed(query, question.kind, evidence, relevant))
    return observed


def read_queries_with_kind(path: Path) -> list[tuple[Query, bool]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(zip(read_queries(path), (bool(r.get("ambiguous")) for r in rows), strict=True))


def features(observed: Sequence[Observed], rank: int) -> NDArray[np.float64]:
    """The `rank`-th hit's features per question (zeros where it has fewer hits)."""
    zero = MatchEvidence(0.0, 0.0, 0.0)
    return np.array([(o.evidence[rank] if rank < len(o.evidence) else zero).features() for o in observed])


def out_of_fold(observed: Sequence[Observed], c: float, repeats: int) -> NDArray[np.float64]:
    """Per question, the out-of-fold probability of each of its first `CHOICES` hits (averaged over the
    repeats); -1 where it has fewer hits."""
    first = features(observed, 0)
    labels = np.array([o.relevant[0] for o in observed], dtype=int)
    strata = np.array([f"{o.kind}{int(o.relevant[0])}" for o in observed])
    probabilities = np.zeros((len(observed), CHOICES))
    for seed in range(repeats):
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(first, strata):
            model = LogisticRegression(C=c, max_iter=2000).fit(first[train], labels[train])
            for rank in range(CHOICES):
                chosen = features([observed[i] for i in test], rank)
                probabilities[test, rank] += model.predict_proba(chosen)[:, 1] / repeats
    present = np.array([[rank < len(o.evidence) for rank in range(CHOICES)] for o in observed])
    return np.where(present, probabilities, -1.0)


def outcomes(observed: Sequence[Observed], p: NDArray[np.float64], t: AnswerThresholds) -> dict[str, Any]:
    """What the policy does with each question at thresholds `t`, counted by kind."""
    counts: dict[str, dict[str, int]] = {k: {} for k in ("single", "ambiguous", "oos")}
    choices = 0
    for o, row in zip(observed, p, strict=True):
        if row[0] >= t.answer:
            outcome = "right" if o.relevant[0] else "wrong"
        elif row[0] >= t.clarify:
            offered = [
                r for r in range(CHOICES) if r == 0 or (row[r] >= 0 and row[r] >= t.choice_ratio * row[0])
            ]
            choices += len(offered)
            outcome = (
                "clarify_right"
                if any(o.relevant[r] for r in offered if r < len(o.relevant))
                else "clarify_miss"
            )
        else:
            outcome = "handoff"
        counts[o.kind][outcome] = counts[o.kind].get(outcome, 0) + 1
    return summary(counts, choices)


def summary(counts: dict[str, dict[str, int]], choices: int) -> dict[str, Any]:
    answerable = {k: counts["single"].get(k, 0) + counts["ambiguous"].get(k, 0) for k in OUTCOMES}
    n_answerable = max(sum(answerable.values()), 1)
    oos = counts["oos"]
    total = n_answerable + sum(oos.values())
    clarified = answerable["clarify_right"] + answerable["clarify_miss"] + oos.get("clarify_miss", 0)
    return {
        "right": answerable["right"] / n_answerable,
        "wrong_answerable": answerable["wrong"] / n_answerable,
        "wrong": (answerable["wrong"] + oos.get("wrong", 0)) / total,
        "clarify_right": answerable["clarify_right"] / n_answerable,
        "clarify_miss": answerable["clarify_miss"] / n_answerable,
        "handoff": answerable["handoff"] / n_answerable,
        "oos": {
            "answered": oos.get("wrong", 0),
            "clarified": oos.get("clarify_miss", 0),
            "handed_off": oos.get("handoff", 0),
        },
        "mean_choices": choices / clarified if clarified else 0.0,
    }


OUTCOMES = ("right", "wrong", "clarify_right", "clarify_miss", "handoff")


def answer_threshold(observed: Sequence[Observed], p: NDArray[np.float64], max_wrong: float) -> float:
    """The lowest answer threshold whose wrong direct answers are at most `max_wrong` of all questions."""
    for threshold in ANSWER_GRID:
        if outcomes(observed, p, AnswerThresholds(threshold, 0.0, 1.0))["wrong"] <= max_wrong:
            return threshold
    return 1.0


def clarify_and_ratio(
    observed: Sequence[Observed], p: NDArray[np.float64], answer: float, keep: float
) -> AnswerThresholds:
    """Among the pairs whose clarifications offer a right entry at least `keep` as often as the best
    pair's, the highest clarify threshold, then the highest ratio."""
    offered = {
        (c, r): outcomes(observed, p, AnswerThresholds(answer, c, r))["clarify_right"]
        for c in CLARIFY_GRID
        for r in RATIO_GRID
    }
    best = max(offered.values())
    clarify, ratio = max(pair for pair, share in offered.items() if share >= keep * best)
    return AnswerThresholds(answer, clarify, ratio)


def log_loss(observed: Sequence[Observed], p: NDArray[np.float64]) -> float:
    y = np.array([o.relevant[0] for o in observed], dtype=float)
    q = np.clip(p[:, 0], 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def fitted(
    observed: Sequence[Observed], c: float, base: AnswerModel, thresholds: AnswerThresholds
) -> AnswerModel:
    labels = np.array([o.relevant[0] for o in observed], dtype=int)
    model = LogisticRegression(C=c, max_iter=2000).fit(features(observed, 0), labels)
    weights = [round(float(w), 2) for w in model.coef_[0]]
    names = ("log_odds", "coverage", "similarity", "out_of_scope", "intent", "semantic_agrees")
    return replace(
        base,
        intercept=round(float(model.intercept_[0]), 2),
        **dict(zip(names, weights, strict=True)),
        thresholds=thresholds,
    )


def print_curve(name: str, observed: Sequence[Observed], p: NDArray[np.float64], t: AnswerThresholds) -> None:
    print(
        f"{name} ({len(observed)} questions) by answer threshold: answerable questions right / wrong / "
        "clarified offering a right entry / clarified missing it / handed off; wrong of all questions; "
        "out-of-scope questions answered / clarified / handed off; mean choices"
    )
    for threshold in sorted({*CURVE, t.answer}):
        o = outcomes(observed, p, replace(t, answer=threshold))
        mark = "  <- chosen" if threshold == t.answer else ""
        print(
            f"  {threshold:.2f}: {o['right']:.3f} / {o['wrong_answerable']:.3f} / {o['clarify_right']:.3f} / "
            f"{o['clarify_miss']:.3f} / {o['handoff']:.3f}; wrong {o['wrong']:.3f}; "
            f"{o['oos']['answered']} / {o['oos']['clarified']} / {o['oos']['handed_off']}; "
            f"{o['mean_choices']:.2f}{mark}"
        )


def main(
    faq: Annotated[Path, typer.Option(help="The knowledge base (a folder like knowledge/).")] = ROOT
    / "knowledge",
    semantic: Annotated[bool, typer.Option(help="With the multilingual sentence encoder.")] = True,
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation strength.")] = 1.0,
    repeats: Annotated[int, typer.Option(help="Repeats of the 5-fold cross-validation.")] = 5,
    max_wrong: Annotated[
        float, typer.Option(help="Most wrong direct answers, share of all questions.")
    ] = 0.015,
    keep: Annotated[float, typer.Option(help="Share of the best clarification hit rate to keep.")] = 0.95,
) -> None:
    """Fit the answer model on the tuning sets and choose its thresholds on the cross-validated curve."""
    encoder = load_sentence_encoder() if semantic else None
    if semantic and encoder is None:
        raise typer.BadParameter("the sentence encoder is not installed", param_hint="--semantic")
    space = SemanticSpace(encoder) if encoder is not None else None
    base = SEMANTIC_MODEL if encoder is not None else LEXICAL_MODEL
    entries = read_entries(faq)
    asked = questions(Analyzer(load_intent_model(NlpSettings())), TUNING_SETS)
    runs = []
    for tau in TAUS:
        index = KnowledgeIndex(entries, "calibration", semantic=space, model=replace(base, tau=tau))
        observed = observe(index, asked)
        p = out_of_fold(observed, c, repeats)
        runs.append((log_loss(observed, p), tau, observed, p))
        print(f"tau {tau}: out-of-fold log loss {runs[-1][0]:.4f}")
    _, tau, observed, p = min(runs, key=lambda run: run[0])
    answer = answer_threshold(observed, p, max_wrong)
    thresholds = clarify_and_ratio(observed, p, answer, keep)
    t = thresholds
    print(f"chosen: tau {tau}, answer {t.answer}, clarify {t.clarify}, choice ratio {t.choice_ratio}")
    print_curve("kb-eval + kb-tune, cross-validated", observed, p, thresholds)
    for path in TUNING_SETS:
        mine = [i for i, o in enumerate(observed) if o.query in set(read_queries(path))]
        print_curve(f"{path.name}, cross-validated", [observed[i] for i in mine], p[mine], thresholds)
    model = fitted(observed, c, replace(base, tau=tau), thresholds)
    print(model)
    print(json.dumps({"model": {k: v for k, v in vars_of(model).items()}, "questions": len(observed)}))


def vars_of(model: AnswerModel) -> dict[str, Any]:
    fields = (
        "intercept",
        "log_odds",
        "coverage",
        "similarity",
        "out_of_scope",
        "intent",
        "semantic_agrees",
        "tau",
    )
    out: dict[str, Any] = {f: getattr(model, f) for f in fields}
    t = model.thresholds
    out["thresholds"] = {"answer": t.answer, "clarify": t.clarify, "choice_ratio": t.choice_ratio}
    return out


if __name__ == "__main__":
    typer.run(main)
