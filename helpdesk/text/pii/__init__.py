"""Personal data in what people type: finding it and replacing it with typed placeholders.

The gateway redacts every user message, agent reply and feedback comment before it stores or publishes
it, so no raw form of the words reaches Redis (state or pub/sub streams), a model, the logs or an
evaluation record. nlp runs the same detector again on what it receives (and recognises the placeholders,
so it can report which kinds were present), and the evaluator redacts what it stores from other sources.

Detection runs on a view of the text that folds what people type (full-width forms, invisible
characters, any script's digits and dashes) and remembers where each character came from (`view.py`),
so a replacement covers exactly the characters the user typed.

Detected, and how precisely:
- e-mail addresses (ASCII local part and domain), also written with `＠` or full-width letters;
- phone numbers: libphonenumber (`phonenumbers`) for international numbers and national Japanese, US and
  UK ones, any common separators;
- payment cards: 13 to 19 digits starting 2 to 6 (Visa, Mastercard, JCB, Amex, Diners, Discover,
  UnionPay), written in one block or grouped 4-4-4-4(-3), 4-6-5 or 4-6-4, Luhn-valid;
- Japanese My Number: 12 digits, one block or 4-4-4, with a valid check digit;
- IBAN: any country python-stdnum knows, with its mod-97 and national checks, in any grouping;
- passports: a Japanese passport number (two letters, seven digits) or another country's (6 to 9 letters
  and digits, at least one digit) within a few words of "passport", "旅券" or "パスポート";
- bank accounts: 6 to 14 digits (a Japanese 7-digit account, branch-account, a UK sort code, a US routing
  number) within a few words of 口座, 普通, 当座, 預金, 支店, 振込先, "bank account", "account number",
  "acct", "a/c", "sort code" or "routing number";
- IP addresses: IPv4 and IPv6 validated with `ipaddress`, except loopback, unspecified, netmasks and
  numbers written right after "version"/"build"/"バージョン";
- postal codes: after 〒 always; 123-4567, 12345(-6789) or a UK postcode within a few words of 郵便番号,
  住所, "postal code", "postcode" or "zip code";
- postal address lines: Japanese (prefecture, or a municipality ending in 市区町村郡, then the house number
  as 1-2-3, 1丁目2番3号 or 12番地, plus the building and room number right after it) and English
  ("12 Main Street", "1600 Pennsylvania Avenue, Apt 4", and "Apt 4"/"Flat 2B" on their own).

Not detected, by design (precision over recall): names; dates of birth; card numbers starting 1, 7, 8 or
9 or grouped unusually (8-8); numbers run straight into ASCII letters ("INC0012345678901234"); passport
and bank numbers without a keyword nearby; a branch code on its own; e-mail addresses with non-ASCII
characters or spelled out ("taro at example dot com"); Japanese addresses without a house number, with
the house number in kanji only past 丁目 (二番三号), or in prose between prefecture and number; English
street lines on "Drive" after a product name ("2 Google Drive"), lower-case street lines, and unit numbers
("Suite 200", "Unit 4") not attached to a street line; US ZIP codes and UK postcodes without a keyword.
Ticket ids, amounts, dates, times, versions and error codes stay, because their shapes and check digits
do not match (see tests/unit/helpdesk/test_pii_detection.py).

The finders are grouped by what they look for: `contact.py` (e-mail, phone, IP address),
`check_digits.py` (payment cards, My Number, IBAN), `keyword_numbers.py` (passports and bank accounts,
named by a word nearby), `addresses.py` (postal codes and address lines); `redaction.py` runs them in
order of precedence, replaces what they find, and cuts a redacted text to a length bound without
splitting a placeholder (`cut_redacted`).
"""

from helpdesk.text.pii.redaction import cut_redacted, find_sensitive, redact, redact_text
from helpdesk.text.pii.spans import PLACEHOLDERS, SENSITIVE, KeptSpans, Span

__all__ = [
    "PLACEHOLDERS",
    "SENSITIVE",
    "KeptSpans",
    "Span",
    "cut_redacted",
    "find_sensitive",
    "redact",
    "redact_text",
]
