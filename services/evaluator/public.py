"""What operator tooling (helpdesk_ops, bench) may use of the evaluator, and nothing else of it
(an import-linter contract holds tooling to the services' `public` modules).

- The service as `helpdesk.serve` starts it, and its settings: `create_app`, `EvaluatorSettings`
  (the evaluator throughput benchmark), and the parts it composed at start (`EvaluatorParts`, on
  `app.state.parts`): the benchmark drives `parts.handlers` without HTTP and reads `parts.ledger`.
- The per-answer metrics the live evaluator records, on a copy of the knowledge base (`make eval`
  scores a golden set with them): `evaluate_answer`, `KnowledgeCopy`, `load_directory`.
- The day keys the summaries are kept under: `days_back`.
- The wording-learning loop as the service runs it (`bench.learning_eval` simulates users' choices
  through it): `CandidateQueue` with its `CandidateStore`, `WordingCounts` and `WordingRules`, over a
  `KnowledgeFollower` and the `KnowledgeSources` that write the knowledge store (`SourceReader`), and
  `wording_refusal`.
"""

from __future__ import annotations

from services.evaluator.app import create_app
from services.evaluator.candidates.candidate_queue import CandidateQueue
from services.evaluator.candidates.candidate_store import CandidateStore
from services.evaluator.candidates.wordings import WordingChoice, WordingCounts, WordingRules
from services.evaluator.candidates.wordings import refusal as wording_refusal
from services.evaluator.composition import EvaluatorParts
from services.evaluator.knowledge import KnowledgeCopy, KnowledgeFollower, load_directory
from services.evaluator.knowledge_sources import KnowledgeSources
from services.evaluator.scores.turn_scores import evaluate_answer
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.source_reader import SourceReader
from services.evaluator.summary import days_back

__all__ = [
    "CandidateQueue",
    "CandidateStore",
    "EvaluatorParts",
    "EvaluatorSettings",
    "KnowledgeCopy",
    "KnowledgeFollower",
    "KnowledgeSources",
    "SourceReader",
    "WordingChoice",
    "WordingCounts",
    "WordingRules",
    "create_app",
    "days_back",
    "evaluate_answer",
    "load_directory",
    "wording_refusal",
]
