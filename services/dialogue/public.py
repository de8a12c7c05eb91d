"""What operator tooling (helpdesk_ops, bench) may use of the dialogue service, and nothing else of it
(an import-linter contract holds tooling to the services' `public` modules).

- The service as `helpdesk.serve` starts it, and its settings: `create_app`, `DialogueSettings`.
- One analysed turn answered as the service answers it (`make eval`, `make doc-bench`): `AnswerPolicy`
  (the `Answer` it decides) with its `PolicySettings` over a `KnowledgeIndex` (held by
  `FixedKnowledge`) of the knowledge base that `seed_knowledge` reads, a fresh `ConversationMemory`,
  `reply_language`, and `outcome_event`, the event the service would publish.
- Retrieval measured and tuned on other data (`make faq-bench`, `make doc-bench`, the ablation and the
  confidence fits): `KnowledgeIndex`, `RetrievalWeights`, `Calibration`, `MatchEvidence`,
  `PassageWeights`, `PassageCalibration`, `PassageEvidence`.
"""

from __future__ import annotations

from services.dialogue.app import create_app
from services.dialogue.knowledge.confidence import Calibration, MatchEvidence
from services.dialogue.knowledge.index import KnowledgeIndex, RetrievalWeights
from services.dialogue.knowledge.library import seed_knowledge
from services.dialogue.knowledge.passage_confidence import PassageCalibration, PassageEvidence
from services.dialogue.knowledge.passage_search import PassageWeights
from services.dialogue.memory import ConversationMemory
from services.dialogue.policy import Answer, AnswerPolicy, FixedKnowledge, PolicySettings, reply_language
from services.dialogue.responder import outcome_event
from services.dialogue.settings import DialogueSettings

__all__ = [
    "Answer",
    "AnswerPolicy",
    "Calibration",
    "ConversationMemory",
    "DialogueSettings",
    "FixedKnowledge",
    "KnowledgeIndex",
    "MatchEvidence",
    "PassageCalibration",
    "PassageEvidence",
    "PassageWeights",
    "PolicySettings",
    "RetrievalWeights",
    "create_app",
    "outcome_event",
    "reply_language",
    "seed_knowledge",
]
