"""The model cache: trained once per set of examples and code, retrained when they change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from services.nlp import cli, models
from services.nlp.pipeline.intents import TrainingOptions
from services.nlp.settings import NlpSettings

EXAMPLES = """
vpn:
  en: [vpn is down, cannot connect to vpn, vpn error]
  ja: [VPNにつながらない, VPNが遅い, VPNのエラー]
printer:
  en: [printer is jammed, cannot print, printer offline]
  ja: [印刷できない, プリンターが動かない, 紙詰まり]
oos:
  en: [weather today, tell me a joke, football scores]
  ja: [明日の天気, 冗談を言って, 野球の結果]
"""


@pytest.fixture
def intents_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "intents"
    directory.mkdir()
    (directory / "helpdesk.yaml").write_text(EXAMPLES, encoding="utf-8")
    return directory


def test_fingerprint_follows_the_examples_and_the_options(intents_dir: Path, tmp_path: Path) -> None:
    options = TrainingOptions()
    before = models.fingerprint(intents_dir, options)
    assert models.fingerprint(intents_dir, options) == before
    assert models.fingerprint(intents_dir, TrainingOptions(target_oos_recall=0.5)) != before
    copy = tmp_path / "copy"
    shutil.copytree(intents_dir, copy)
    (copy / "helpdesk.yaml").write_text(EXAMPLES.replace("vpn error", "vpn broken"), encoding="utf-8")
    assert models.fingerprint(copy, options) != before


def test_load_or_train_trains_once_then_loads(intents_dir: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    options = TrainingOptions()
    first = models.load_or_train(intents_dir, model_dir, options, train_if_missing=True)
    assert first is not None
    assert [p.name for p in model_dir.iterdir()] == [models.model_path(intents_dir, model_dir, options).name]
    again = models.load_or_train(intents_dir, model_dir, options, train_if_missing=False)
    assert again is not None
    assert again.predict("VPNが切れる") == first.predict("VPNが切れる")


def test_missing_model_without_training_is_none(intents_dir: Path, tmp_path: Path) -> None:
    assert (
        models.load_or_train(intents_dir, tmp_path / "empty", TrainingOptions(), train_if_missing=False)
        is None
    )


def test_unreadable_model_is_retrained(intents_dir: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    path = models.model_path(intents_dir, model_dir, TrainingOptions())
    model_dir.mkdir()
    path.write_bytes(b"garbage")
    assert models.load_or_train(intents_dir, model_dir, TrainingOptions(), train_if_missing=True) is not None
    assert path.stat().st_size > len(b"garbage")


def test_train_if_stale_is_idempotent(
    intents_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = NlpSettings(intents_dir=intents_dir, model_dir=tmp_path / "models", encoder_dir=None)
    path = cli.train(if_stale=True, settings=settings)
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["trained"] is True
    assert cli.train(if_stale=True, settings=settings) == path
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["trained"] is False
