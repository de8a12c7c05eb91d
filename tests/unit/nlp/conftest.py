"""One trained helpdesk intent model per test session (training takes a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.nlp import intent_model_store
from services.nlp.pipeline import Analyzer
from services.nlp.pipeline.intents import IntentClassifier
from services.nlp.settings import NlpSettings


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def nlp_settings(model_dir: Path) -> NlpSettings:
    """TF-IDF only: the static encoder is a machine-wide cache that unit tests must not depend on
    (test_encoder.py covers that path with a small encoder of its own)."""
    return NlpSettings(model_dir=model_dir, encoder_dir=None)


@pytest.fixture(scope="session")
def classifier(nlp_settings: NlpSettings) -> IntentClassifier:
    trained = intent_model_store.load_or_train(
        nlp_settings.intents_dir, nlp_settings.model_dir, nlp_settings.training, train_if_missing=True
    )
    assert trained is not None
    return trained


@pytest.fixture(scope="session")
def analyzer(classifier: IntentClassifier) -> Analyzer:
    from datetime import date

    return Analyzer(classifier, today=lambda: date(2026, 11, 20))
