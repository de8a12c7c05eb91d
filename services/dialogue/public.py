"""What operator tooling (helpdesk_ops, bench) may use of the dialogue service, and nothing else of it
(an import-linter contract holds tooling to the services' `public` modules).

- The service as `helpdesk.serve` starts it, and its settings: `create_app`, `DialogueSettings`.
- One analysed turn answered as the service answers it (`make eval`, `make doc-bench`, the answer
  model's fit, which searches as a turn does: `turn_search`): `AnswerPolicy`
  (the `Decision` and `Answer` it decides) with its `PolicySettings` over a `KnowledgeIndex` (held by
  `FixedKnowledge`) of the knowledge base that `seed_knowledge` reads, a fresh `ConversationMemory`,
  `reply_language`, and `outcome_event`, the event the service would publish.
- The model's pick among a clarification's choices (answer mode `faq_model_choice`, measured by
  `bench/answer_eval.py --model-choice` against a configured endpoint): `AnswerComposer` over a
  `Generator` opened from `DialogueSettings`, with the `FlagValues` (`AnswerSource`, `BudgetExhausted`)
  a turn is composed under.
- Retrieval measured and tuned on other data (`make faq-bench`, `make doc-bench`, the ablation and the
  confidence fits): `KnowledgeIndex`, `RetrievalWeights` (`LEXICAL_WEIGHTS`, `SEMANTIC_WEIGHTS`),
  `Signal`, `AnswerModel` (`LEXICAL_MODEL`, `SEMANTIC_MODEL`), `AnswerThresholds`, `MatchEvidence`,
  `PassageWeights`, `PassageCalibration`, `PassageEvidence`; the sentence encoder as the service loads
  it (`load_sentence_encoder`, `SemanticSpace`), and an index as a replica builds it (`deployed_index`).
"""

from __future__ import annotations

from services.dialogue.app import create_app
from services.dialogue.composer import AnswerComposer
from services.dialogue.generation import Generator
from services.dialogue.knowledge.confidence import (
    LEXICAL_MODEL,
    SEMANTIC_MODEL,
    AnswerModel,
    AnswerThresholds,
    MatchEvidence,
)
from services.dialogue.knowledge.index import (
    LEXICAL_WEIGHTS,
    SEMANTIC_WEIGHTS,
    KnowledgeIndex,
    RetrievalWeights,
    Signal,
)
from services.dialogue.knowledge.library import deployed_index, seed_knowledge
from services.dialogue.knowledge.passage_confidence import PassageCalibration, PassageEvidence
from services.dialogue.knowledge.passage_search import PassageWeights
from services.dialogue.knowledge.semantic import SemanticSpace, load_sentence_encoder
from services.dialogue.memory import ConversationMemory
from services.dialogue.policy import (
    Answer,
    AnswerPolicy,
    Decision,
    FixedKnowledge,
    PolicySettings,
    reply_language,
)
from services.dialogue.policy import search as turn_search
from services.dialogue.responder import outcome_event
from services.dialogue.settings import DialogueSettings
from services.dialogue.turn_flags import AnswerSource, BudgetExhausted, FlagValues

__all__ = [
    "LEXICAL_MODEL",
    "LEXICAL_WEIGHTS",
    "SEMANTIC_MODEL",
    "SEMANTIC_WEIGHTS",
    "Answer",
    "AnswerComposer",
    "AnswerModel",
    "AnswerPolicy",
    "AnswerSource",
    "AnswerThresholds",
    "BudgetExhausted",
    "ConversationMemory",
    "Decision",
    "DialogueSettings",
    "FixedKnowledge",
    "FlagValues",
    "Generator",
    "KnowledgeIndex",
    "MatchEvidence",
    "PassageCalibration",
    "PassageEvidence",
    "PassageWeights",
    "PolicySettings",
    "RetrievalWeights",
    "SemanticSpace",
    "Signal",
    "create_app",
    "deployed_index",
    "load_sentence_encoder",
    "outcome_event",
    "reply_language",
    "seed_knowledge",
    "turn_search",
]
