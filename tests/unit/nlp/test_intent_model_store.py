"""The model cache: trained once per set of examples and code, retrained when they change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.nlp import intent_model_store
from services.nlp.pipeline.intents import TrainingOptions
from services.nlp.settings import NlpSettings
from tests.support.intent_examples import EXAMPLES, intents_folder


@pytest.fixture
def intents_dir(tmp_path: Path) -> Path:
    return intents_folder(tmp_path)


def test_fingerprint_follows_the_examples_and_the_options(intents_dir: Path, tmp_path: Path) -> None:
    options = TrainingOptions()
    before = intent_model_store.fingerprint(intents_dir, options)
    assert intent_model_store.fingerprint(intents_dir, options) == before
    assert intent_model_store.fingerprint(intents_dir, TrainingOptions(target_oos_recall=0.5)) != before
    copy = tmp_path / "copy"
    shutil.copytree(intents_dir, copy)
    (copy / "helpdesk.yaml").write_text(EXAMPLES.replace("vpn error", "vpn broken"), encoding="utf-8")
    assert intent_model_store.fingerprint(copy, options) != before


def test_fingerprint_follows_the_generic_out_of_scope_set_when_it_is_used(
    intents_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generic = tmp_path / "generic-oos.yaml"
    generic.write_text("oos:\n  en: [who won the match]\n", encoding="utf-8")
    monkeypatch.setattr(intent_model_store, "GENERIC_OOS", generic)
    with_generic, without = TrainingOptions(), TrainingOptions(generic_oos=False)
    before = intent_model_store.fingerprint(intents_dir, with_generic)
    before_without = intent_model_store.fingerprint(intents_dir, without)
    generic.write_text("oos:\n  en: [who won the match, sing me a song]\n", encoding="utf-8")
    assert intent_model_store.fingerprint(intents_dir, with_generic) != before
    assert intent_model_store.fingerprint(intents_dir, without) == before_without


def test_load_or_train_trains_once_then_loads(intents_dir: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    options = TrainingOptions()
    first = intent_model_store.load_or_train(intents_dir, model_dir, options, train_if_missing=True)
    assert first is not None
    assert [p.name for p in model_dir.iterdir()] == [
        intent_model_store.model_path(intents_dir, model_dir, options).name
    ]
    again = intent_model_store.load_or_train(intents_dir, model_dir, options, train_if_missing=False)
    assert again is not None
    assert again.predict("VPNが切れる") == first.predict("VPNが切れる")


def test_missing_model_without_training_is_none(intents_dir: Path, tmp_path: Path) -> None:
    assert (
        intent_model_store.load_or_train(
            intents_dir, tmp_path / "empty", TrainingOptions(), train_if_missing=False
        )
        is None
    )


def test_unreadable_model_is_retrained(intents_dir: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    path = intent_model_store.model_path(intents_dir, model_dir, TrainingOptions())
    model_dir.mkdir()
    path.write_bytes(b"garbage")
    assert (
        intent_model_store.load_or_train(intents_dir, model_dir, TrainingOptions(), train_if_missing=True)
        is not None
    )
    assert path.stat().st_size > len(b"garbage")


def test_refresh_if_stale_is_idempotent(intents_dir: Path, tmp_path: Path) -> None:
    settings = NlpSettings(intents_dir=intents_dir, model_dir=tmp_path / "models", encoder_dir=None)
    first = intent_model_store.refresh(settings, if_stale=True)
    assert first.trained is True
    again = intent_model_store.refresh(settings, if_stale=True)
    assert again.path == first.path
    assert again.trained is False


def test_the_former_recall_target_setting_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment that still sets HELPDESK_TARGET_OOS_RECALL keeps starting; it is now an early stop."""
    monkeypatch.setenv("HELPDESK_TARGET_OOS_RECALL", "0.85")
    monkeypatch.setenv("HELPDESK_MAX_ACCURACY_LOSS", "0.01")
    options = NlpSettings().training
    assert options.target_oos_recall == 0.85
    assert options.max_accuracy_loss == 0.01
    assert options.generic_oos
