"""Language understanding for English and Japanese, as plain Python (no Dapr, no FastAPI)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from helpdesk.events import OUT_OF_SCOPE, Entity, Intent, Language


@dataclass(frozen=True, slots=True)
class Analysis:
    language: Language
    normalised_text: str
    tokens: list[str]
    intent: Intent
    out_of_scope: bool
    entities: list[Entity] = field(default_factory=list)
    redacted_text: str = ""
    injection_suspected: bool = False


_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_WORD = re.compile(r"\w+", re.UNICODE)


class Analyzer:
    """A first, minimal analysis: NFKC normalisation, script-based language, word tokens."""

    def analyze(self, text: str, locale_hint: str | None = None) -> Analysis:
        normalised = " ".join(unicodedata.normalize("NFKC", text).split())
        language = Language.JA if _JAPANESE.search(normalised) else Language.EN
        tokens = [t.lower() for t in _WORD.findall(normalised)]
        return Analysis(
            language=language,
            normalised_text=normalised,
            tokens=tokens,
            intent=Intent(name=OUT_OF_SCOPE, confidence=0.0),
            out_of_scope=True,
            redacted_text=normalised,
        )
