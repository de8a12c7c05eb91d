from __future__ import annotations

from pathlib import Path

from pydantic import Field

from helpdesk.settings import ServiceSettings
from services.nlp.pipeline.intents import TrainingOptions

_ROOT = Path(__file__).resolve().parents[2]


class NlpSettings(ServiceSettings):
    intents_dir: Path = Field(
        default=_ROOT / "services" / "nlp" / "intents",
        description="Example files the intent model is trained from.",
    )
    model_dir: Path = Field(
        default=_ROOT / ".run" / "models",
        description="Cache of trained intent models (outside git); a model's file name holds the hash of "
        "its examples and code, so a stale model is never loaded.",
    )
    encoder_dir: Path | None = Field(
        default=Path.home() / ".cache" / "helpdesk" / "encoders",
        description="Cache of the static sentence encoder distilled by `helpdeskctl nlu train` "
        "(None: TF-IDF only).",
    )
    train_at_startup: bool = Field(
        default=True,
        description="Train the intent model at start-up when no current one is cached.",
    )
    target_oos_recall: float = Field(
        default=0.85,
        gt=0,
        le=1,
        description="Share of out-of-scope examples the threshold must reject in cross-validation. The "
        'helpdesk prefers "I don\'t know, here is a human" to a wrong intent, so this is higher than the '
        "0.7 used for CLINC150.",
    )

    @property
    def training(self) -> TrainingOptions:
        return TrainingOptions(target_oos_recall=self.target_oos_recall)
