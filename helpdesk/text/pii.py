"""Personal data in what people type: finding it and replacing it with typed placeholders.

The gateway redacts every user message, agent reply and feedback comment before it stores or publishes
it, so no raw form of the words reaches Redis (state or pub/sub streams), a model, the logs or an
evaluation record. nlp runs the same detector again on what it receives (and recognises the placeholders,
so it can report which kinds were present), and the evaluator redacts what it stores from other sources.

Detection runs on a view of the text in which format characters (zero-width space and joiners, soft
hyphen, BOM, word joiner, variation selectors) are removed, every character is NFKC-folded (full-width
digits, letters, `＠`, `．`, `／`, `－`), digits of any script become ASCII, every dash and minus sign becomes
`-`, and `ー` or `・` next to a digit become `-` or `.`. Each character of the view remembers where it came
from, so a span found in the view replaces exactly the characters the user typed, invisible ones inside
it included. Digit groups may be separated by what people type: space, hyphen, dot or slash (and their
full-width forms), also with spaces around the mark.

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
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import phonenumbers
from stdnum import iban, luhn
from stdnum.jp import in_ as my_number

from helpdesk.events import EntityType
from helpdesk.text.normalise import is_invisible

PLACEHOLDERS: dict[EntityType, str] = {
    EntityType.EMAIL: "[EMAIL]",
    EntityType.PHONE: "[PHONE]",
    EntityType.CARD_NUMBER: "[CARD]",
    EntityType.IBAN: "[IBAN]",
    EntityType.MY_NUMBER: "[MY_NUMBER]",
    EntityType.PASSPORT: "[PASSPORT]",
    EntityType.BANK_ACCOUNT: "[BANK_ACCOUNT]",
    EntityType.IP_ADDRESS: "[IP]",
    EntityType.POSTAL_CODE: "[POSTAL_CODE]",
    EntityType.ADDRESS: "[ADDRESS]",
}
SENSITIVE = frozenset(PLACEHOLDERS)
_PLACEHOLDER_TYPES = {placeholder: kind for kind, placeholder in PLACEHOLDERS.items()}


@dataclass(frozen=True, slots=True)
class Span:
    """A found entity; `start`/`end` index the text given to the finder, `value` is the canonical form
    (ISO date, digits, E.164 number, ...)."""

    type: EntityType
    start: int
    end: int
    text: str
    value: str | None = None

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


# ---- the detection view ------------------------------------------------------------------------------

_SLASHES = {"\u2044": "/", "\u2215": "/"}
_MINUS = {"\u2212": "-", "\u2043": "-", "\u02d7": "-"}
_NEXT_TO_DIGIT = re.compile(r"(?<=[0-9])[ー・·]|[ー・·](?=[0-9])")


@lru_cache(maxsize=4096)
def _view_of(char: str) -> str:
    """What one non-ASCII character is in the detection view ("" for an invisible one)."""
    if is_invisible(char):
        return ""
    if char in _SLASHES:
        return _SLASHES[char]
    if char in _MINUS:
        return _MINUS[char]
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.decimal(char))
    if category == "Pd":
        return "-"
    folded = unicodedata.normalize("NFKC", char)
    return "".join("-" if unicodedata.category(c) == "Pd" else c for c in folded)


@dataclass(frozen=True, slots=True)
class _View:
    """The text as detection sees it; `origin[i]` is the index in the source of view character i."""

    text: str
    origin: tuple[int, ...] | None

    @classmethod
    def of(cls, source: str) -> _View:
        if source.isascii():
            return cls(source, None)
        chars: list[str] = []
        origin: list[int] = []
        after_ascii = False
        for index, char in enumerate(source):
            if char.isascii():
                chars.append(char)
                origin.append(index)
                after_ascii = True
                continue
            if after_ascii and unicodedata.category(char) in ("Mn", "Me"):
                continue  # a combining mark put on an ASCII letter or digit
            mapped = _view_of(char)
            chars.extend(mapped)
            origin.extend([index] * len(mapped))
            if mapped:
                after_ascii = mapped[-1].isascii()
        text = _NEXT_TO_DIGIT.sub(lambda m: "-" if m.group() == "ー" else ".", "".join(chars))
        return cls(text, tuple(origin))

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


# ---- shared pieces -----------------------------------------------------------------------------------

_SEP = r"(?:[ \t]{0,2}[-./][ \t]{0,2}|[ \t]{1,2})"
_DIGIT_RUN = re.compile(rf"(?<![0-9])(?>[0-9]+(?:{_SEP}[0-9]+)*)")
_SEP_MARK = re.compile(r"[-./]")
_LETTER = re.compile(r"[A-Za-z]")
# A number followed by a unit or counter is a quantity ("2-3日", "1234567円", "100 GB"), not an identifier.
# Japanese counters attach to the number; units in Latin letters may follow a space.
_UNIT = (
    r"(?:円|万|億|千|ドル|ユーロ|日|時|分|秒|人|名|回|件|個|台|枚|本|年|月|週|歳|位|%|ヶ月|か月"
    r"|[ \t]?(?i:yen|jpy|usd|eur|gb|mb|kb|tb|ms|px|days?|hours?|minutes?|times|pcs)(?![A-Za-z]))"
)
_COUNTER = rf"(?!{_UNIT})"
_UNIT_AFTER = re.compile(_UNIT)
_KEYWORD_BEFORE = 30
_KEYWORD_AFTER = 20


def _before(text: str, start: int, width: int = _KEYWORD_BEFORE) -> str:
    return text[max(0, start - width) : start].rsplit("\n", 1)[-1]


def _after(text: str, end: int, width: int = _KEYWORD_AFTER) -> str:
    return text[end : end + width].split("\n", 1)[0]


@dataclass(frozen=True, slots=True)
class _Run:
    """Digit groups joined by separators, as found in the view."""

    groups: tuple[tuple[int, int], ...]
    joins: tuple[str, ...]
    """The mark between group i and i+1: "-", ".", "/" or " " for whitespace only."""
    letter_before: bool
    letter_after: bool


def _runs(text: str) -> Iterator[_Run]:
    for m in _DIGIT_RUN.finditer(text):
        groups = tuple((g.start(), g.end()) for g in re.finditer(r"[0-9]+", m.group()))
        groups = tuple((m.start() + s, m.start() + e) for s, e in groups)
        joins = tuple(
            (mark.group() if (mark := _SEP_MARK.search(text[a_end:b_start])) else " ")
            for (_, a_end), (b_start, _) in pairwise(groups)
        )
        before = text[max(0, m.start() - 2) : m.start()]
        yield _Run(groups, joins, _attached(before[::-1]), _attached(text[m.end() :]))


def _attached(beside: str) -> bool:
    """Whether the characters beside a digit run (nearest first) make it part of an identifier: a letter
    right there, or after a hyphen or slash ("INC0012345678", "550e8400-...-446655440000")."""
    return bool(_LETTER.match(beside[:1]) or (beside[:1] in ("-", "/") and _LETTER.match(beside[1:2])))


def _continues(join: str, inner: str | None, neighbour_size: int) -> bool:
    """Whether a neighbouring group joined by `join` belongs to the same number as a window whose groups
    are joined by `inner` (None for a one-group window)."""
    if inner is None:
        return join != " "
    return join == inner and (join != " " or neighbour_size == 4)


def _windows(
    text: str, shape: Callable[[list[int]], bool], valid: Callable[[str], bool]
) -> Iterator[tuple[int, int, str]]:
    """(start, end, digits) of the numbers of the given group shape that pass `valid`, found inside digit
    runs: "4111 1111 1111 1111 12/27" holds a card followed by an expiry date, while a fifth group of four
    joined the same way makes it a longer number that is none of the kinds looked for."""
    for run in _runs(text):
        count = len(run.groups)
        i = 0
        while i < count:
            for j in range(count - 1, i - 1, -1):
                sizes = [end - start for start, end in run.groups[i : j + 1]]
                if not shape(sizes):
                    continue
                if (i == 0 and run.letter_before) or (j == count - 1 and run.letter_after):
                    continue
                if _UNIT_AFTER.match(text, run.groups[j][1]):
                    continue
                inner = run.joins[i] if j > i else None
                if i > 0 and _continues(run.joins[i - 1], inner, _size(run, i - 1)):
                    continue
                if j < count - 1 and _continues(run.joins[j], inner, _size(run, j + 1)):
                    continue
                start, end = run.groups[i][0], run.groups[j][1]
                digits = "".join(text[s:e] for s, e in run.groups[i : j + 1])
                if valid(digits):
                    yield start, end, digits
                    i = j
                    break
            i += 1


def _size(run: _Run, index: int) -> int:
    start, end = run.groups[index]
    return end - start


# ---- finders (on the view) -----------------------------------------------------------------------------

_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]{{2}}[0-9]{{2}}(?:{_SEP}?[A-Za-z0-9]){{11,30}}(?![A-Za-z0-9])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_DIGITS = re.compile(r"[0-9]")
_PHONE_REGIONS = ("JP", "US", "GB")
_MIN_PHONE_DIGITS = 7

_PASSPORT_WORD = re.compile(r"passport|旅券|パスポート", re.IGNORECASE)
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])(?<![0-9][-./])[A-Za-z0-9]{6,9}(?![A-Za-z0-9])(?![-./][0-9])")
_BANK_WORD = re.compile(
    r"口座|預金|普通|当座|支店|店番|振込先|bank\s*account|account\s*(?:number|no\b|#)|acct|a/c|sort\s*code"
    r"|routing\s*(?:number|no\b)",
    re.IGNORECASE,
)
_BANK_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z])(?<![0-9][-./])[0-9]{{2,8}}(?:[-./][0-9]{{2,8}}){{0,2}}(?![0-9A-Za-z])(?![-./][0-9]){_COUNTER}"
)
_POSTAL_WORD = re.compile(
    r"郵便番号|住所|postal\s*code|post\s*code|zip\s*code|zipcode|\bZIP\b", re.IGNORECASE
)
_POSTAL_MARK = re.compile(r"〒[ \t]?([0-9]{3}-?[0-9]{4})(?![0-9])")
_POSTAL_CODE = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9]-)(?:[0-9]{3}-[0-9]{4}|[0-9]{7}|[0-9]{5}(?:-[0-9]{4})?"
    r"|[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[ \t]?[0-9][A-Za-z]{2})(?![0-9A-Za-z])(?!-[0-9])"
)
_IPV4 = re.compile(r"(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z]|\.[0-9])")
_IPV6 = re.compile(r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,}(?![0-9A-Za-z:])")
_VERSION_WORD = re.compile(
    r"(?:\b(?:version|ver|v|build|release|firmware|fw|framework|update|patch)|バージョン|ビルド)\W{0,3}$",
    re.IGNORECASE,
)

_PREFECTURES = "|".join(
    ["北海道", "東京都", "大阪府", "京都府"]
    + [
        f"{name}県"
        for name in [
            *("青森", "岩手", "宮城", "秋田", "山形", "福島", "茨城", "栃木", "群馬", "埼玉", "千葉"),
            *("神奈川", "新潟", "富山", "石川", "福井", "山梨", "長野", "岐阜", "静岡", "愛知", "三重"),
            *("滋賀", "兵庫", "奈良", "和歌山", "鳥取", "島根", "岡山", "広島", "山口", "徳島", "香川"),
            *("愛媛", "高知", "福岡", "佐賀", "長崎", "熊本", "大分", "宮崎", "鹿児島", "沖縄"),
        ]
    ]
)
_KANJI = "\u4e00-\u9fff々〆ヶ"
_KATAKANA = "\u30a1-\u30fa\u30fc"
_HOUSE = (
    r"(?:[0-9一二三四五六七八九十]+丁目(?:[0-9]+(?:番地?|-)(?:[0-9]+号?)?|[0-9]+番地?)?"
    r"|[0-9]+番地?(?:[0-9]+号?|-[0-9]+)?"
    r"|[0-9]+(?:-[0-9]+){1,3})"
    rf"(?![0-9]){_COUNTER}"
)
# A building after the house number: with its room number ("メゾン梅田101号室"), or a katakana name run on.
_BUILDING = (
    rf"(?:[ \t]?[{_KATAKANA}{_KANJI}・]{{0,20}}?[ \t]?[0-9]{{1,5}}(?:号室|階|F)(?![A-Za-z])"
    rf"|[{_KATAKANA}・]+)?"
)
_JA_ADDRESS = re.compile(
    rf"(?:(?:{_PREFECTURES})[^\s0-9、。,.!?！？「」()（）]{{1,20}}?"
    rf"|[{_KANJI}{_KATAKANA}]{{1,6}}?[市区町村郡][{_KANJI}{_KATAKANA}ケがの]{{0,12}}?)"
    rf"{_HOUSE}{_BUILDING}"
)
_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Parkway|Pkwy|Place|Pl|Square|Sq|Terrace|Court|Ct"
    "|Crescent|Highway|Hwy|Way|Drive|Dr"
)
_NOT_STREET_NAMES = (
    "Google|Microsoft|Shared|Team|Teams|Hard|Flash|USB|Network|Mapped|External|Cloud|Optical|Disk|Apple"
    "|Amazon|Dropbox|Office|Windows|Azure|Outlook|OneDrive|SharePoint|Express|Fast|Quick|Pro|Home"
)
_UNIT = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm)\.?[ \t]*#?[0-9]{1,5}[A-Za-z]?(?![0-9A-Za-z])"
_EN_STREET = re.compile(
    rf"(?<![0-9A-Za-z])[0-9]{{1,5}}[A-Za-z]?(?:[ \t]+(?!(?:{_NOT_STREET_NAMES})\b)[A-Z][A-Za-z'-]*){{1,3}}"
    rf"[ \t]+(?:{_STREET_TYPES})\b\.?(?:,?[ \t]*{_UNIT})?"
)
_EN_UNIT = re.compile(r"(?<![0-9A-Za-z])(?:Apt|Apartment|Flat)\.?[ \t]*#?[0-9]{1,5}[A-Za-z]?(?![0-9A-Za-z])")


def _placeholders(text: str) -> Iterator[Span]:
    """Placeholders already in the text (the gateway redacted it): reported as what they stand for."""
    for m in _PLACEHOLDER.finditer(text):
        yield Span(_PLACEHOLDER_TYPES[m.group()], m.start(), m.end(), m.group())


def _emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(EntityType.EMAIL, m.start(), m.end(), m.group(), m.group().lower())


def _card_shape(sizes: list[int]) -> bool:
    if not 13 <= sum(sizes) <= 19:
        return False
    if len(sizes) == 1 or sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return len(sizes) >= 3 and all(size == 4 for size in sizes[:-1]) and sizes[-1] <= 4


def _is_card(digits: str) -> bool:
    return digits[0] in "23456" and luhn.is_valid(digits)


def _cards(text: str) -> Iterator[Span]:
    for start, end, digits in _windows(text, _card_shape, _is_card):
        yield Span(EntityType.CARD_NUMBER, start, end, text[start:end], digits)


def _my_numbers(text: str) -> Iterator[Span]:
    for start, end, digits in _windows(text, lambda s: s in ([12], [4, 4, 4]), my_number.is_valid):
        yield Span(EntityType.MY_NUMBER, start, end, text[start:end], digits)


def _ibans(text: str) -> Iterator[Span]:
    """The pattern is greedy ("GB82 WEST ... 32 please" runs into the next word), so the longest prefix
    that passes the mod-97 check and ends at a word boundary is the IBAN. Every place an IBAN could start
    is tried, since a failed candidate ("TK1234567 and ...") may have run over a real one."""
    taken = 0
    for start in _IBAN_START.finditer(text):
        m = _IBAN.match(text, start.start())
        if m is None or start.start() < taken:
            continue
        positions = [m.start() + i for i, ch in enumerate(m.group()) if _ASCII_ALNUM.match(ch)]
        compact = "".join(text[i] for i in positions).upper()
        for length in range(len(compact), 14, -1):
            end = positions[length - 1] + 1
            if (end == len(text) or not _ASCII_ALNUM.match(text[end])) and iban.is_valid(compact[:length]):
                yield Span(EntityType.IBAN, m.start(), end, text[m.start() : end], compact[:length])
                taken = end
                break


def _near(text: str, start: int, end: int, word: re.Pattern[str], after: bool = True) -> bool:
    return bool(word.search(_before(text, start)) or (after and word.search(_after(text, end))))


def _passports(text: str) -> Iterator[Span]:
    if not _PASSPORT_WORD.search(text):
        return
    for m in _PASSPORT.finditer(text):
        token = m.group()
        if not _DIGITS.search(token):
            continue
        # Seven digits or fewer are a passport number only after the word ("passport no. 1234567"), so
        # that "account no. 1234567, passport ..." stays an account; longer ones and those with letters
        # ("TK1234567 is my passport number") may come before it.
        after = len(token) >= 8 or not token.isdigit()
        if _near(text, m.start(), m.end(), _PASSPORT_WORD, after=after):
            yield Span(EntityType.PASSPORT, m.start(), m.end(), token, token.upper())


def _bank_accounts(text: str) -> Iterator[Span]:
    if not _BANK_WORD.search(text):
        return
    for m in _BANK_NUMBER.finditer(text):
        digits = "".join(_DIGITS.findall(m.group()))
        if 6 <= len(digits) <= 14 and _near(text, m.start(), m.end(), _BANK_WORD, after=False):
            yield Span(EntityType.BANK_ACCOUNT, m.start(), m.end(), m.group(), digits)


def _postal_codes(text: str) -> Iterator[Span]:
    for m in _POSTAL_MARK.finditer(text):
        yield Span(EntityType.POSTAL_CODE, m.start(1), m.end(1), m.group(1), m.group(1))
    if not _POSTAL_WORD.search(text):
        return
    for m in _POSTAL_CODE.finditer(text):
        if _POSTAL_WORD.search(_before(text, m.start(), 20)):
            yield Span(EntityType.POSTAL_CODE, m.start(), m.end(), m.group(), m.group().upper())


def _is_netmask(address: ipaddress.IPv4Address) -> bool:
    value = int(address)
    inverse = ~value & 0xFFFFFFFF
    return value >= 0x80000000 and inverse & (inverse + 1) == 0


_PREFIX_LENGTH = re.compile(r"/([0-9]{1,2})(?![0-9])")


def _is_network(address: ipaddress.IPv4Address, text: str, end: int) -> bool:
    """A network written with its prefix ("10.0.0.0/8") names a range, not a host."""
    prefix = _PREFIX_LENGTH.match(text, end)
    if prefix is None:
        return False
    try:
        ipaddress.IPv4Network(f"{address}/{prefix.group(1)}", strict=True)
    except ValueError:
        return False
    return True


def _ips(text: str) -> Iterator[Span]:
    if ":" in text:
        for m in _IPV6.finditer(text):
            candidate = m.group().rstrip(".")
            try:
                v6 = ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            if not (v6.is_loopback or v6.is_unspecified):
                end = m.start() + len(candidate)
                yield Span(EntityType.IP_ADDRESS, m.start(), end, candidate, v6.compressed)
    for m in _IPV4.finditer(text):
        try:
            v4 = ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        if v4.is_loopback or v4.is_unspecified or _is_netmask(v4) or _is_network(v4, text, m.end()):
            continue
        if _VERSION_WORD.search(_before(text, m.start(), 16)):
            continue
        yield Span(EntityType.IP_ADDRESS, m.start(), m.end(), m.group(), str(v4))


_DATE_LIKE = re.compile(
    r"(?<![0-9])(?:[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?)(?![0-9])"
)
_PART_OF_NUMBER_BEFORE = re.compile(r"(?:[0-9][-./]|#)$")
_PART_OF_NUMBER_AFTER = re.compile(r"[-./][0-9]")


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether a number the phone matcher found is one on its own, not the end of a date, a ticket
    ("SR-2024-000123", "#95225972"), a version ("version 1.5.8079.28387") or a quantity ("5-27日")."""
    before = text[max(0, start - 2) : start]
    if _attached(before[::-1]) or _attached(text[end:]) or _PART_OF_NUMBER_BEFORE.search(before):
        return False
    if _PART_OF_NUMBER_AFTER.match(text, end) or _UNIT_AFTER.match(text, end):
        return False
    return not _VERSION_WORD.search(_before(text, start, 16))


def _phones(text: str) -> Iterator[Span]:
    """International numbers ("+81 3-1234-5678") and national ones in Japanese, US and UK formats."""
    if len(_DIGITS.findall(text)) < _MIN_PHONE_DIGITS:
        return
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            if not _stands_alone(text, match.start, match.end) or _DATE_LIKE.search(match.raw_string):
                continue
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            yield Span(EntityType.PHONE, match.start, match.end, match.raw_string, e164)


def _addresses(text: str) -> Iterator[Span]:
    if not _DIGITS.search(text):
        return
    for pattern in (_JA_ADDRESS, _EN_STREET, _EN_UNIT):
        for m in pattern.finditer(text):
            yield Span(EntityType.ADDRESS, m.start(), m.end(), m.group())


# Earlier finders win overlaps: a Luhn-valid card number is not also reported as a phone number, and the
# keyword-bound kinds come before phones so that "口座 0312345678" is an account.
_FINDERS = (
    _placeholders,
    _emails,
    _ibans,
    _cards,
    _my_numbers,
    _passports,
    _bank_accounts,
    _postal_codes,
    _ips,
    _phones,
    _addresses,
)


def find_sensitive(text: str) -> list[Span]:
    """Spans of personal data in `text` (indices into `text` as given), non-overlapping, in text order."""
    view = _View.of(text)
    found: list[Span] = []
    remaining = view.text
    for finder in _FINDERS:
        for span in finder(remaining):
            if not any(span.overlaps(kept) for kept in found):
                found.append(span)
                # Later finders see blanks where personal data was found: less to scan (the phone
                # matcher is the costly one) and nothing to find twice.
                remaining = remaining[: span.start] + " " * (span.end - span.start) + remaining[span.end :]
    spans = []
    for span in sorted(found, key=lambda s: s.start):
        start, end = view.source_span(span.start, span.end)
        spans.append(Span(span.type, start, end, text[start:end], span.value))
    return spans


def redact(text: str, spans: list[Span]) -> str:
    """The text with every sensitive span replaced by its typed placeholder (`[EMAIL]`, `[CARD]`, ...)."""
    out: list[str] = []
    cursor = 0
    for span in sorted((s for s in spans if s.type in SENSITIVE), key=lambda s: s.start):
        if span.start < cursor:
            continue
        out.append(text[cursor : span.start])
        out.append(PLACEHOLDERS[span.type])
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def redact_text(text: str) -> str:
    """`text` with its personal data replaced, in one call."""
    return redact(text, find_sensitive(text))
