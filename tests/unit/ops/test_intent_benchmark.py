"""`make nlu-bench`: metrics as in Larson et al. (2019), and the command on any CSV of the right shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.events import OUT_OF_SCOPE
from helpdesk_ops import nlu
from helpdesk_ops.intent_benchmark import accuracy_without_rejection, score
from services.nlp.pipeline.intents import Calibration, Example, HeldOut, label_of
from services.nlp.pipeline.training import KFOLD_OPTIMISM, FittedModel

KEYS = {
    "in_scope_accuracy",
    "in_scope_accuracy_no_rejection",
    "oos_recall",
    "oos_precision",
    "macro_f1",
    "train_seconds",
    "p50_ms",
    "p99_ms",
}


def test_scores_count_rejected_in_scope_messages_as_wrong() -> None:
    gold = ["vpn", "vpn", "email", OUT_OF_SCOPE, OUT_OF_SCOPE]
    predicted = ["vpn", OUT_OF_SCOPE, "vpn", OUT_OF_SCOPE, "email"]
    scores = score(gold, predicted)
    assert scores.in_scope_accuracy == pytest.approx(1 / 3)
    assert scores.oos_recall == pytest.approx(1 / 2)
    assert scores.oos_precision == pytest.approx(1 / 2)
    assert 0 < scores.macro_f1 < 1


def test_scores_without_out_of_scope_data() -> None:
    scores = score(["vpn", "email"], ["vpn", "email"])
    assert scores.in_scope_accuracy == 1.0
    assert scores.oos_recall is None
    assert scores.oos_precision is None
    assert scores.macro_f1 == 1.0


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


TRAIN = [
    *[
        (f"{w} my password", "password_reset")
        for w in ("reset", "change", "forgot", "renew", "update", "new")
    ],
    *[
        (f"パスワードを{w}", "password_reset")
        for w in ("忘れた", "変えたい", "リセット", "再設定", "更新", "変更")
    ],
    *[(f"vpn {w}", "vpn") for w in ("down", "slow", "error", "not connecting", "drops", "setup")],
    *[(f"VPNが{w}", "vpn") for w in ("遅い", "切れる", "つながらない", "エラー", "使えない", "落ちる")],
    *[(w, "oos") for w in ("weather", "football", "recipe", "joke", "天気", "野球", "料理", "映画")],
]
TEST = [
    ("I forgot my password", "password_reset"),
    ("パスワードを忘れました", "password_reset"),
    ("the vpn is down", "vpn"),
    ("VPNにつながらない", "vpn"),
    ("tell me a joke", "oos"),
    ("明日の天気", "oos"),
]


def test_nlu_bench_on_csv_prints_one_json_object_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write_csv(tmp_path / "train.csv", TRAIN)
    test = write_csv(tmp_path / "test.csv", TEST)
    nlu.main(["bench", "--train", str(train), "--test", str(test), "--no-encoder"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result.keys() >= KEYS
    assert result["test_examples"] == len(TEST)
    assert result["heldout"] == "k-fold"
    assert 0 <= result["in_scope_accuracy"] <= 1
    assert result["p50_ms"] <= result["p99_ms"]


def test_nlu_bench_without_out_of_scope_in_either_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write_csv(tmp_path / "train.csv", [r for r in TRAIN if r[1] != "oos"])
    test = write_csv(tmp_path / "test.csv", [r for r in TEST if r[1] != "oos"])
    nlu.main(["bench", "--train", str(train), "--test", str(test), "--no-encoder"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["oos_recall"] is None
    assert result.keys() >= KEYS


def test_nlu_bench_calibrates_with_the_generic_set_within_the_accuracy_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write_csv(tmp_path / "train.csv", TRAIN)
    test = write_csv(tmp_path / "test.csv", TEST)
    nlu.main(
        ["bench", "--train", str(train), "--test", str(test), "--no-encoder", "--max-accuracy-loss", "0.03"]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["generic_oos_examples"] > 100
    assert result["train_examples"] == len(TRAIN) + result["generic_oos_examples"]
    assert result["max_accuracy_loss"] == pytest.approx(0.03 / KFOLD_OPTIMISM, abs=1e-4)
    assert (
        result["heldout_reference_accuracy"] - result["heldout_accuracy"]
        <= result["max_accuracy_loss"] + 1e-4
    )
    assert result["heldout_generic_oos_recall"] is not None


def test_nlu_bench_in_scope_only_trains_on_the_intent_examples_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deployment with nothing but its intent examples: the file's oos rows are left out, and the
    accuracy without any rejection is reported beside the accuracy at the operating point."""
    train = write_csv(tmp_path / "train.csv", TRAIN)
    test = write_csv(tmp_path / "test.csv", TEST)
    args = ["--in-scope-only", "--no-generic-oos"]
    nlu.main(["bench", "--train", str(train), "--test", str(test), "--no-encoder", *args])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["train_examples"] == sum(label != "oos" for _, label in TRAIN)
    assert result["generic_oos_examples"] == 0
    assert result["heldout"] == "k-fold"
    assert result["in_scope_accuracy_no_rejection"] == 1.0
    assert result["in_scope_accuracy"] <= result["in_scope_accuracy_no_rejection"]


def test_accuracy_without_rejection_takes_the_best_intent_even_when_everything_is_rejected() -> None:
    examples = [Example(text, label_of(label)) for text, label in TRAIN]
    fitted = FittedModel(examples, c=1.0)
    rejects_all = fitted.classifier(Calibration(1.0, 2.0, 0.0, HeldOut.NONE, 0.0, None))
    test = [Example(text, label_of(label)) for text, label in TEST]
    assert all(p.out_of_scope for p in rejects_all.predict_many([e.text for e in test]))
    assert accuracy_without_rejection(rejects_all, test) == 1.0
    assert accuracy_without_rejection(rejects_all, [e for e in test if e.label == OUT_OF_SCOPE]) is None
