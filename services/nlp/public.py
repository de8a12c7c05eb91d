"""What operator tooling (helpdesk_ops, bench) may use of the nlp service, and nothing else of it
(an import-linter contract holds tooling to the services' `public` modules).

- The service as `helpdesk.serve` starts it, and its settings: `create_app`, `NlpSettings`.
- One turn analysed as the deployed service analyses it (`make eval`): `Analyzer` with the model of
  `load_intent_model`, and `analyzed_event`, the `chat.analyzed` the service would publish.
- The intent model cache kept current (setup): `refresh_intent_model`, `RefreshedModel`.
- The service's intent pipeline trained and measured on other data (`make nlu-bench`): `load_splits`,
  `Example`, `TrainingOptions`, `train_intent_model`, `IntentClassifier`.
"""

from __future__ import annotations

from services.nlp.app import create_app
from services.nlp.intent_model_store import RefreshedModel
from services.nlp.intent_model_store import load_for as load_intent_model
from services.nlp.intent_model_store import refresh as refresh_intent_model
from services.nlp.intent_model_store import train_on as train_intent_model
from services.nlp.pipeline import Analyzer
from services.nlp.pipeline.intents import Example, IntentClassifier, TrainingOptions, load_splits
from services.nlp.settings import NlpSettings
from services.nlp.turn_analysis import analyzed_event

__all__ = [
    "Analyzer",
    "Example",
    "IntentClassifier",
    "NlpSettings",
    "RefreshedModel",
    "TrainingOptions",
    "analyzed_event",
    "create_app",
    "load_intent_model",
    "load_splits",
    "refresh_intent_model",
    "train_intent_model",
]
