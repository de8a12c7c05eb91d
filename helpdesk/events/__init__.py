"""Event contracts between the services (pydantic v2).

Every event is about one chat turn and carries what any consumer needs to act on it without asking
another service: `turn_id` (the idempotency key, assigned once by the gateway), `conversation_id`,
`occurred_at` and the channel reference needed to answer. Consumers ignore fields they do not know, so
a producer can add optional fields without a coordinated release; removing or retyping a field needs a
new `schema_version`.

The base every contract shares is in `contract`, the knowledge event in `knowledge`, the bound of
every text, list and map an event carries in `bounds`; all are re-exported here, so every contract is
imported from `helpdesk.events`.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, Field

from helpdesk.events.bounds import MAX_ANSWER_CHARS as MAX_ANSWER_CHARS
from helpdesk.events.bounds import MAX_CARRIED_ITEMS as MAX_CARRIED_ITEMS
from helpdesk.events.bounds import MAX_CHANGED_IDS as MAX_CHANGED_IDS
from helpdesk.events.bounds import MAX_CHOICE_CHARS as MAX_CHOICE_CHARS
from helpdesk.events.bounds import MAX_CITED_ITEMS as MAX_CITED_ITEMS
from helpdesk.events.bounds import MAX_CLARIFIED_CHOICES as MAX_CLARIFIED_CHOICES
from helpdesk.events.bounds import MAX_COMMENT_CHARS as MAX_COMMENT_CHARS
from helpdesk.events.bounds import MAX_CONVERSATION_REF_CHARS as MAX_CONVERSATION_REF_CHARS
from helpdesk.events.bounds import MAX_CONVERSATION_REF_KEYS as MAX_CONVERSATION_REF_KEYS
from helpdesk.events.bounds import MAX_ENTITIES as MAX_ENTITIES
from helpdesk.events.bounds import MAX_FAQ_ID_CHARS as MAX_FAQ_ID_CHARS
from helpdesk.events.bounds import MAX_HEADING_CHARS as MAX_HEADING_CHARS
from helpdesk.events.bounds import MAX_INTENT_ALTERNATIVES as MAX_INTENT_ALTERNATIVES
from helpdesk.events.bounds import MAX_INTENT_NAME_CHARS as MAX_INTENT_NAME_CHARS
from helpdesk.events.bounds import MAX_KB_VERSION_CHARS as MAX_KB_VERSION_CHARS
from helpdesk.events.bounds import MAX_LOCALE_CHARS as MAX_LOCALE_CHARS
from helpdesk.events.bounds import MAX_MESSAGE_CHARS as MAX_MESSAGE_CHARS
from helpdesk.events.bounds import MAX_SECTION_DEPTH as MAX_SECTION_DEPTH
from helpdesk.events.bounds import MAX_SNIPPET_CHARS as MAX_SNIPPET_CHARS
from helpdesk.events.bounds import MAX_SUMMARY_CHARS as MAX_SUMMARY_CHARS
from helpdesk.events.bounds import MAX_TIMING_NAME_CHARS as MAX_TIMING_NAME_CHARS
from helpdesk.events.bounds import MAX_TIMINGS as MAX_TIMINGS
from helpdesk.events.bounds import MAX_TITLE_CHARS as MAX_TITLE_CHARS
from helpdesk.events.bounds import MAX_TOKENS as MAX_TOKENS
from helpdesk.events.bounds import MAX_URL_CHARS as MAX_URL_CHARS
from helpdesk.events.bounds import MAX_USER_ID_CHARS as MAX_USER_ID_CHARS
from helpdesk.events.bounds import MAX_VARIANT_CHARS as MAX_VARIANT_CHARS
from helpdesk.events.bounds import shortened as shortened
from helpdesk.events.contract import SCHEMA_VERSION as SCHEMA_VERSION
from helpdesk.events.contract import Contract as Contract
from helpdesk.events.contract import utcnow as utcnow
from helpdesk.events.knowledge import KbUpdated as KbUpdated
from helpdesk.events.knowledge import KnowledgeCounts as KnowledgeCounts
from helpdesk.knowledge.entries import KnowledgeKind
from helpdesk.text.language import Language as Language
from helpdesk.topics import Topic

ItemId = Annotated[str, Field(max_length=MAX_FAQ_ID_CHARS)]
"""A knowledge item's id as events cite it."""
Timings = Annotated[
    dict[Annotated[str, Field(max_length=MAX_TIMING_NAME_CHARS)], float], Field(max_length=MAX_TIMINGS)
]
"""Milliseconds per stage of the turn (`nlp`, `dialogue`)."""


def _compact_reference(reference: dict[str, Any] | None) -> dict[str, Any] | None:
    """A conversation reference is a handful of ids: its JSON stays within `MAX_CONVERSATION_REF_CHARS`
    whatever its values are."""
    if reference is not None:
        size = len(json.dumps(reference, ensure_ascii=False, separators=(",", ":"), default=str))
        if size > MAX_CONVERSATION_REF_CHARS:
            raise ValueError(
                f"a conversation reference holds at most {MAX_CONVERSATION_REF_CHARS} characters"
            )
    return reference


class Channel(StrEnum):
    API = "api"
    WEB = "web"
    TEAMS = "teams"


class ChannelRef(Contract):
    """Where the turn came from and how to answer it.

    For Teams this holds the validated `service_url` and the conversation reference of the incoming
    activity, so that whichever gateway replica handles the answer can send the proactive reply.
    """

    channel: Channel
    user_id: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)
    service_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    conversation_ref: Annotated[
        dict[str, Any] | None,
        Field(max_length=MAX_CONVERSATION_REF_KEYS),
        AfterValidator(_compact_reference),
    ] = None
    locale: str | None = Field(default=None, max_length=MAX_LOCALE_CHARS)
    waiting_on: str | None = Field(default=None, max_length=MAX_USER_ID_CHARS)
    """The gateway replica whose HTTP request waits for this turn's answer (its `address`), if one does.

    The live copy of the answer is addressed to it (the CloudEvent's `subject`), and the other replicas'
    sidecars skip that copy by their routing rule, so a gateway replica pays for the answers it waits for,
    not for every answer of the deployment."""


class TurnEvent(Contract):
    topic: ClassVar[Topic]

    schema_version: Literal[1] = 1
    turn_id: UUID
    conversation_id: UUID
    occurred_at: datetime = Field(default_factory=utcnow)
    """When this event was produced (each hop's own time; `received_at` is when the turn arrived)."""
    channel: ChannelRef


class ChatRequested(TurnEvent):
    topic: ClassVar[Topic] = Topic.CHAT_REQUESTED

    text: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)]
    """What the user wrote, redacted: the gateway replaces personal data with typed placeholders
    (`helpdesk.text.pii`) before it stores or publishes anything, so the raw words never reach Redis,
    pub/sub streams included."""
    locale_hint: str | None = Field(default=None, max_length=MAX_LOCALE_CHARS)
    received_at: datetime = Field(default_factory=utcnow)
    """When the gateway accepted the turn; end-to-end latency is measured from here."""


class IntentScore(Contract):
    name: str = Field(max_length=MAX_INTENT_NAME_CHARS)
    confidence: float = Field(ge=0.0, le=1.0)


class Intent(Contract):
    name: str = Field(max_length=MAX_INTENT_NAME_CHARS)
    confidence: float = Field(ge=0.0, le=1.0)
    alternatives: list[IntentScore] = Field(default_factory=list, max_length=MAX_INTENT_ALTERNATIVES)


OUT_OF_SCOPE = "out_of_scope"


class EntityType(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    DATE = "date"
    TIME = "time"
    TICKET_ID = "ticket_id"
    CARD_NUMBER = "card_number"
    IBAN = "iban"
    MY_NUMBER = "my_number"
    PASSPORT = "passport"
    BANK_ACCOUNT = "bank_account"
    IP_ADDRESS = "ip_address"
    POSTAL_CODE = "postal_code"
    ADDRESS = "address"


class Entity(Contract):
    """A span found in the normalised text. Sensitive kinds carry no `text`: only their placeholder."""

    type: EntityType
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    value: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)


class ChatAnalyzed(ChatRequested):
    topic: ClassVar[Topic] = Topic.CHAT_ANALYZED

    language: Language
    normalised_text: str = Field(max_length=MAX_MESSAGE_CHARS)
    """The redacted text, normalised (NFKC, invisible characters removed, whitespace folded); equal to
    `redacted_text`, kept for consumers of schema version 1. `text` too is redacted: nlp checks again
    what the gateway redacted, and no field of this event carries the raw message."""
    tokens: list[Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)]] = Field(max_length=MAX_TOKENS)
    intent: Intent
    out_of_scope: bool
    entities: list[Entity] = Field(default_factory=list, max_length=MAX_ENTITIES)
    redacted_text: str = Field(max_length=MAX_MESSAGE_CHARS)
    """The form of the user's words that reaches an LLM, logs and stored records."""
    injection_suspected: bool = False
    timings_ms: Timings = Field(default_factory=dict)


class AnswerMode(StrEnum):
    FAQ = "faq"
    LLM = "llm"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"
    CLARIFY = "clarify"
    HANDOFF = "handoff"


class Variant(Contract):
    prompt: str = Field(default="none", max_length=MAX_VARIANT_CHARS)
    """`prompt id@version`, or "none" when no prompt was involved (FAQ and template answers)."""
    model: str = Field(default="none", max_length=MAX_VARIANT_CHARS)
    name: str = Field(default="default", max_length=MAX_VARIANT_CHARS)
    """The A/B arm this user was assigned to."""


class Usage(Contract):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0.0)
    cached: bool = False


class Choice(Contract):
    """One option of a clarification question."""

    faq_id: ItemId
    question: str = Field(max_length=MAX_CHOICE_CHARS)


class Citation(Contract):
    """A cited item (an FAQ entry or a passage of a document) as channels show it: enough to render a
    link or card without the knowledge base. The fields after `url` came with passages (issue 18);
    they are optional, so a consumer that does not know them reads every citation as before."""

    faq_id: ItemId
    """The cited item's id: an FAQ entry's, or a passage's (`<document id>~<digest>`)."""
    title: str = Field(max_length=MAX_TITLE_CHARS)
    """An entry's question in the answer's language; a passage's document title."""
    snippet: str | None = Field(default=None, max_length=MAX_SNIPPET_CHARS)
    """The start of the entry's answer or of the passage's text, for a tooltip or card (also lets the
    evaluator score groundedness without a copy of the knowledge base)."""
    url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    """Where the reader can open the source (http or https only)."""
    kind: KnowledgeKind = KnowledgeKind.FAQ
    section: list[Annotated[str, Field(max_length=MAX_HEADING_CHARS)]] = Field(
        default_factory=list, max_length=MAX_SECTION_DEPTH
    )
    """A passage's section path, outermost heading first."""
    page: int | None = None
    """The page a passage starts on (paged formats such as PDF)."""
    document_id: str | None = Field(default=None, max_length=MAX_FAQ_ID_CHARS)
    """The document a passage belongs to."""


class Clarified(Contract):
    """The clarification a reply resolved: the question that was asked (redacted, as `question` is),
    the entry the user picked and the choices offered. The evaluator learns the question's wording as
    an alternative of that entry once enough users picked it."""

    question: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    faq_id: str = Field(min_length=1, max_length=MAX_FAQ_ID_CHARS)
    choices: list[Choice] = Field(default_factory=list, max_length=MAX_CLARIFIED_CHOICES)


class Refusal(StrEnum):
    """Why dialogue refused a turn instead of answering it (`ChatAnswered.refusal`)."""

    BUDGET = "budget"
    """The user's token budget is spent and the budget_exhausted flag says reject: an HTTP caller gets
    429."""


class ChatAnswered(TurnEvent):
    topic: ClassVar[Topic] = Topic.CHAT_ANSWERED

    language: Language
    question: str = Field(max_length=MAX_MESSAGE_CHARS)
    """The redacted question."""
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    mode: AnswerMode
    cited_faq_ids: list[ItemId] = Field(default_factory=list, max_length=MAX_CITED_ITEMS)
    citations: list[Citation] = Field(default_factory=list, max_length=MAX_CITED_ITEMS)
    """Details of `cited_faq_ids`, same order; may be empty when a producer has none to give."""
    choices: list[Choice] = Field(default_factory=list, max_length=MAX_CLARIFIED_CHOICES)
    intent: str | None = Field(default=None, max_length=MAX_INTENT_NAME_CHARS)
    confidence: float | None = None
    kb_version: str | None = Field(default=None, max_length=MAX_KB_VERSION_CHARS)
    variant: Variant = Field(default_factory=Variant)
    usage: Usage = Field(default_factory=Usage)
    refusal: Refusal | None = None
    """Set when the turn is refused rather than answered; channels show `answer`."""
    received_at: datetime | None = None
    timings_ms: Timings = Field(default_factory=dict)
    clarified: Clarified | None = None
    """Set when this turn picked one entry of a clarification (a label, number, ordinal, words, or yes
    to a single "Did you mean"); never for "none of these" or a handoff. Optional: consumers that do not
    know it read the answer as before."""


class EscalationReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    USER_ASKED = "user_asked"
    POLICY = "policy"


class ChatEscalated(TurnEvent):
    topic: ClassVar[Topic] = Topic.CHAT_ESCALATED

    language: Language
    reason: EscalationReason
    question: str = Field(max_length=MAX_MESSAGE_CHARS)
    """The redacted question."""
    summary: str = Field(max_length=MAX_SUMMARY_CHARS)
    message: str = Field(max_length=MAX_MESSAGE_CHARS)
    """What the user is told (in their language) while an agent takes over."""
    variant: Variant = Field(default_factory=Variant)
    """The A/B arm the user was in, so that handoff rates compare per arm."""
    received_at: datetime | None = None
    timings_ms: Timings = Field(default_factory=dict)


class HandoffReplied(TurnEvent):
    topic: ClassVar[Topic] = Topic.HANDOFF_REPLIED

    operator_id: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    """The agent's reply, redacted by the gateway like a user's message (the user sees it so too)."""
    question: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    """The redacted question the agent answered, so the evaluator can draft a FAQ candidate."""
    language: Language | None = None


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


class FeedbackSubmitted(TurnEvent):
    topic: ClassVar[Topic] = Topic.FEEDBACK_SUBMITTED

    rating: Rating
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)
    """Redacted by the gateway."""


Event = (
    ChatRequested
    | ChatAnalyzed
    | ChatAnswered
    | ChatEscalated
    | HandoffReplied
    | FeedbackSubmitted
    | KbUpdated
)

EVENT_TYPES: dict[Topic, type[Contract]] = {
    Topic.CHAT_REQUESTED: ChatRequested,
    Topic.CHAT_ANALYZED: ChatAnalyzed,
    Topic.CHAT_ANSWERED: ChatAnswered,
    Topic.CHAT_ESCALATED: ChatEscalated,
    Topic.HANDOFF_REPLIED: HandoffReplied,
    Topic.FEEDBACK_SUBMITTED: FeedbackSubmitted,
    Topic.KB_UPDATED: KbUpdated,
}
