"""Personal data in the many forms people type it, and a search for it in any form.

`PiiGenerator` is a seeded, property-style generator (hypothesis is not installed here): every call draws a
new value of one kind and writes it the way a user might, with separators (space, hyphen, dot, slash and
their full-width forms), full-width digits and letters, zero-width and soft-hyphen characters, and
keywords in English or Japanese where the kind needs one to be recognisable at all. Values are valid where
the kind has check digits (Luhn, mod-97, the My Number check digit, libphonenumber's ranges), because an
invalid one is not personal data.

`found_in` looks for every generated value in a blob of text (a redacted message, or everything Redis
holds) after undoing JSON escapes, NFKC, removing invisible characters and case folding, and lets
separators sit anywhere between the characters: a card number found without its spaces, or with dots
instead, still counts as found.

`writing.py` holds the ways of writing a value; `contact.py`, `numbers.py` and `addresses.py` the kinds;
`planted.py` the planted value and the search.
"""

from tests.support.pii.generator import PiiGenerator
from tests.support.pii.planted import Planted, found_in, searchable

__all__ = ["PiiGenerator", "Planted", "found_in", "searchable"]
