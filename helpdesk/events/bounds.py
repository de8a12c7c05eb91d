"""How large any field of an event may be: one bound for every text, list and map the contracts carry.

A consumer validates each delivery against its contract, so these bounds are what an event can cost it
(gateway delivery, the evaluator's records): a delivery past one is answered DROP and dead-lettered
(helpdesk.dapr.subscriptions), never half processed. Each bound is at least what its producer can
legitimately build, so no turn is refused for being large: the numbers below say which producer limit
each one covers, and where a producer had no limit of its own it now cuts or refuses at its side (the
nlp analysis, dialogue's citations, choices, summaries and model answers, the gateway's Teams
reference). tests/contract/test_event_bounds.py checks every bound, and the producers' tests check
their worst cases against them.
"""

from __future__ import annotations

MAX_MESSAGE_CHARS = 4000
"""A user's message (`ChatRequested.text`) as the gateway accepts and publishes it (cut to this after
redaction, never inside a placeholder: `helpdesk.text.pii.cut_redacted`), and every text made from it:
nlp's normalised and redacted forms (cut back to this the same way when normalisation or a placeholder
lengthened them), the question an answer or escalation repeats, a token or entity found in it; also an
agent's reply and a template message of dialogue's."""
MAX_COMMENT_CHARS = 1000
"""A feedback comment, as the gateway's feedback API accepts it."""

MAX_FAQ_ID_CHARS = 256
"""A knowledge item's id (an FAQ entry's or a passage's: at most 128 characters by the knowledge
base's id pattern) or a document's (at most 63): room to spare for either."""
MAX_USER_ID_CHARS = 256
"""A user's, an operator's or a gateway replica's id, and who changed the knowledge base."""
MAX_KB_VERSION_CHARS = 200
"""A knowledge version's name (`v<sequence>-<digest>` in the knowledge store)."""
MAX_LOCALE_CHARS = 35
"""A BCP 47 tag: the API accepts no longer, and the Teams channel drops a longer one."""
MAX_URL_CHARS = 2048
"""A passage's web address (the knowledge base keeps at most 2000 characters) or a Teams service URL."""
MAX_CONVERSATION_REF_CHARS = 4096
"""A Teams conversation reference (eight ids and names of the incoming activity, about 600 characters)
as compact JSON; the gateway refuses an activity whose reference would be longer."""
MAX_CONVERSATION_REF_KEYS = 16
"""Keys of that reference (the Teams channel writes eight)."""

MAX_INTENT_NAME_CHARS = 128
"""An intent's name: nlp refuses a longer label in its training examples and in a model it loads."""
MAX_INTENT_ALTERNATIVES = 10
"""An intent's runners-up: nlp names at most three, four when the message is out of scope."""
MAX_TOKENS = MAX_MESSAGE_CHARS
"""Tokens of the analysed text: each is at least one of its characters."""
MAX_ENTITIES = MAX_MESSAGE_CHARS
"""Entities of the analysed text: they do not overlap and each spans at least one character."""
MAX_TIMINGS = 16
"""Stages in `timings_ms`: nlp and dialogue write one each."""
MAX_TIMING_NAME_CHARS = 64
"""A stage's name in `timings_ms`."""

MAX_ANSWER_CHARS = 24_000
"""The text an answer shows. The longest dialogue builds is an FAQ answer (the knowledge base keeps at
most 20,000 characters; a model's answer is cut to the same) followed by the note that it exists only
in the other language and the note that the AI allowance is spent (each under 200 characters); a
clarification lists at most `MAX_CLARIFIED_CHOICES` labels of `MAX_CHOICE_CHARS` (about 10,300)."""
MAX_SUMMARY_CHARS = 24_000
"""An escalation's summary for the agent: the question and three earlier ones (`MAX_MESSAGE_CHARS`
each), the ids of the choices offered, the three closest items (ids, or passages' labels of
`MAX_CHOICE_CHARS`) and the intent, about 22,500 at most; dialogue cuts what a conversation kept from
before these bounds to this."""
MAX_CITED_ITEMS = 10
"""Items an answer cites (`cited_faq_ids`, `citations`): an answer from the knowledge base cites one,
the model at most the three items it was given of the retrieval's five hits."""
MAX_CLARIFIED_CHOICES = 10
"""Choices a clarification offers (`ChatAnswered.choices`, `Clarified.choices`): three by default;
dialogue's policy refuses a setting of more than this."""
MAX_CHOICE_CHARS = 1000
"""A choice's label: an FAQ entry's question (at most 1000 characters in the knowledge base) or a
passage's document, section and page, which dialogue cuts to this."""
MAX_TITLE_CHARS = 1000
"""A citation's title: an FAQ entry's question (at most 1000) or a document's title (at most 300)."""
MAX_SNIPPET_CHARS = 1000
"""A citation's snippet: dialogue sends the first 200 characters of an answer or 600 of a passage,
plus an ellipsis."""
MAX_SECTION_DEPTH = 10
"""Headings in a citation's section path: documents are read up to nine heading levels (Word; HTML and
Markdown six, PDF four), and dialogue keeps the outermost ten of a deeper path."""
MAX_HEADING_CHARS = 500
"""A heading in a citation's section path: dialogue cuts a longer one (importers keep headings whole)."""
MAX_VARIANT_CHARS = 256
"""A variant's prompt (`id@version`), model and A/B arm: dialogue answers a flag value longer than this
as if the flag were unset."""

MAX_CHANGED_IDS = 100
"""How many changed item ids a `kb.updated` names (schema 2): at most 100 ids of at most 128 characters
keep the event near 13 KB whatever the size of the change; a consumer that needs them all diffs the
manifests."""
MAX_CARRIED_ITEMS = 50_000
"""Entries and ids a schema 1 `kb.updated` carries inline (no producer sends schema 1 any more;
consumers accept it during an upgrade): as many rows as one FAQ sheet import may hold."""


def shortened(text: str, limit: int) -> str:
    """`text` as a producer sends it in a field bounded by `limit`: whole when it fits, else cut to
    `limit` characters, the last an ellipsis so a reader sees that it goes on."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
