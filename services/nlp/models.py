"""The trained intent model on disk: built by setup (or at start-up), never committed.

A model file is named after a hash of everything that shapes it (the example files, the feature and
classifier code, the scikit-learn version), so a changed example or a new release trains a new model and
an old file is simply ignored. Writes go through a temporary file and a rename, so two replicas starting
together never read a half-written model.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

from helpdesk.logging import get_logger
from services.nlp.pipeline.intents import (
    MODEL_FORMAT,
    IntentClassifier,
    TrainingOptions,
    describe,
    load_directory,
)

_log = get_logger(__name__)
_PACKAGE = Path(__file__).resolve().parent
_CODE = (
    _PACKAGE / "pipeline" / "intents.py",
    _PACKAGE / "pipeline" / "training.py",
    _PACKAGE / "pipeline" / "tokenise.py",
    *sorted((_PACKAGE.parents[1] / "helpdesk" / "text").glob("*.py")),
)


def fingerprint(intents_dir: Path, options: TrainingOptions) -> str:
    digest = hashlib.sha256(f"format={MODEL_FORMAT};sklearn={version('scikit-learn')};{options}".encode())
    for path in [*sorted(p for p in intents_dir.iterdir() if p.is_file()), *_CODE]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(intents_dir: Path, model_dir: Path, options: TrainingOptions) -> Path:
    return model_dir / f"intents-{fingerprint(intents_dir, options)}.npz"


def train(intents_dir: Path, model_dir: Path, options: TrainingOptions) -> tuple[IntentClassifier, Path]:
    from services.nlp.pipeline import training  # scikit-learn: only when a model has to be built

    path = model_path(intents_dir, model_dir, options)
    classifier = training.train(load_directory(intents_dir), options=options)
    classifier.save(path)
    _log.info("intent_model_trained", path=str(path), **describe(classifier))
    return classifier, path


def load_or_train(
    intents_dir: Path, model_dir: Path, options: TrainingOptions, *, train_if_missing: bool
) -> IntentClassifier | None:
    """The current model: loaded when cached, trained when allowed, otherwise None (every message is then
    out of scope, and the dialogue service answers from retrieval alone)."""
    path = model_path(intents_dir, model_dir, options)
    if path.exists():
        try:
            return IntentClassifier.load(path)
        except ValueError as exc:
            _log.warning("intent_model_unreadable", path=str(path), error=type(exc).__name__)
    if not train_if_missing:
        _log.warning("intent_model_missing", path=str(path))
        return None
    return train(intents_dir, model_dir, options)[0]
