"""Language understanding for English and Japanese, as plain Python (no Dapr, no FastAPI).

One message goes through: redaction of personal data (the gateway has redacted it already; this checks
again, for any producer that did not) → normalisation (NFKC, width folding, invisible characters,
whitespace) → language → entities (personal data as the placeholders standing for it, links, dates, times,
ticket ids) → tokens and intent → prompt-injection check. Every step after the first sees only redacted
text, and so does everything the analysis hands on.

Each text it hands on is held to `MAX_MESSAGE_CHARS`, the bound of the message itself: redaction can
lengthen a text ("a@b.co" becomes "[EMAIL]") and so can NFKC (one ligature "ﷺ" is 18 characters), and
the `chat.analyzed` contract keeps its texts within that bound. The whole text is redacted before it is
cut, so a cut never leaves part of a phone number or address unrecognised, and the cut never splits a
placeholder (`cut_redacted`: one across the bound is left out whole, never kept as "[EMA"); entities
past the cut are left out with the text they were in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from helpdesk.events import MAX_MESSAGE_CHARS, OUT_OF_SCOPE, Entity, Intent, Language
from helpdesk.text import detect_language, normalise
from helpdesk.text.injection import check_injection
from helpdesk.text.pii import cut_redacted, redact, redact_text
from services.nlp.pipeline.entities import find_spans, to_entities
from services.nlp.pipeline.intents import IntentClassifier
from services.nlp.pipeline.tokenise import tokens


@dataclass(frozen=True, slots=True)
class Analysis:
    text: str
    """The message as written, redacted."""
    language: Language
    normalised_text: str
    """Redacted and normalised; entity positions index it."""
    tokens: list[str]
    intent: Intent
    out_of_scope: bool
    entities: list[Entity] = field(default_factory=list)
    redacted_text: str = ""
    injection_suspected: bool = False


class Analyzer:
    """The whole analysis of one message. Without an intent model every message is out of scope, which
    the dialogue service handles as "answer from the knowledge base or offer a human"."""

    def __init__(
        self, classifier: IntentClassifier | None = None, today: Callable[[], date] = date.today
    ) -> None:
        self.classifier = classifier
        self._today = today

    def warm_up(self) -> None:
        """Load the lazily loaded parts (MeCab dictionary, NLTK tokenizer, phone metadata) before the first
        real message, so that message does not pay for loading them."""
        self.analyze("Hello, please call me at +1 415 555 2671 or 090-1234-5678 tomorrow at 3pm.", "en")
        self.analyze("こんにちは、明日の15時に03-1234-5678へ電話してください。", "ja")

    def analyze(self, text: str, locale_hint: str | None = None) -> Analysis:
        written = cut_redacted(redact_text(text), MAX_MESSAGE_CHARS)
        normalised = normalise(written)
        language = detect_language(normalised, locale_hint)
        spans = find_spans(normalised, self._today())
        redacted = cut_redacted(redact(normalised, spans), MAX_MESSAGE_CHARS)
        spans = [span for span in spans if span.end <= len(redacted)]
        if self.classifier is None:
            intent, out_of_scope = Intent(name=OUT_OF_SCOPE, confidence=0.0), True
        else:
            prediction = self.classifier.predict(redacted)
            intent, out_of_scope = prediction.intent, prediction.out_of_scope
        return Analysis(
            text=written,
            language=language,
            normalised_text=redacted,
            tokens=tokens(redacted, language),
            intent=intent,
            out_of_scope=out_of_scope,
            entities=to_entities(spans),
            redacted_text=redacted,
            injection_suspected=check_injection(redacted).suspected,
        )
