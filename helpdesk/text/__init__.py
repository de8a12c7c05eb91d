"""Language-aware text handling shared by nlp (classification), dialogue (retrieval) and the evaluator
(overlap metrics), so that all three see English and Japanese the same way.

- `normalise`: Unicode NFKC (full-width ASCII to half-width, half-width katakana to full-width),
  whitespace collapsed.
- `detect_language`: by script, then by English function words; reliable on one-line chat messages.
- `words`: surface tokens (English: NLTK's word tokenizer, which needs no downloaded data; Japanese:
  MeCab morphemes through fugashi with the UniDic dictionary shipped in `unidic-lite`).
- `terms`: index terms: stop words dropped, English Snowball-stemmed, Japanese reduced to lemmas.

Heavy analysers load lazily, once per process; a service that never calls them never pays for them.
"""

from helpdesk.text.language import detect_language
from helpdesk.text.normalise import normalise
from helpdesk.text.tokens import terms, words

__all__ = ["detect_language", "normalise", "terms", "words"]
