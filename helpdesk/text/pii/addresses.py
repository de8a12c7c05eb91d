"""Finders for where a person lives: postal codes (after 〒, or near a word such as 郵便番号 or "zip
code") and address lines, Japanese (prefecture or municipality, then a house number, then the building)
and English ("12 Main Street", "Apt 4")."""

from __future__ import annotations

import re
from collections.abc import Iterator

from helpdesk.events import EntityType
from helpdesk.text.pii.digit_runs import DIGITS, NOT_A_QUANTITY, before
from helpdesk.text.pii.spans import Span

_POSTAL_WORD = re.compile(
    r"郵便番号|住所|postal\s*code|post\s*code|zip\s*code|zipcode|\bZIP\b", re.IGNORECASE
)
_POSTAL_MARK = re.compile(r"〒[ \t]?([0-9]{3}-?[0-9]{4})(?![0-9])")
_POSTAL_CODE = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9]-)(?:[0-9]{3}-[0-9]{4}|[0-9]{7}|[0-9]{5}(?:-[0-9]{4})?"
    r"|[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[ \t]?[0-9][A-Za-z]{2})(?![0-9A-Za-z])(?!-[0-9])"
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
    rf"(?![0-9]){NOT_A_QUANTITY}"
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
_DWELLING_UNIT = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm)\.?[ \t]*#?[0-9]{1,5}[A-Za-z]?(?![0-9A-Za-z])"
_EN_STREET = re.compile(
    rf"(?<![0-9A-Za-z])[0-9]{{1,5}}[A-Za-z]?(?:[ \t]+(?!(?:{_NOT_STREET_NAMES})\b)[A-Z][A-Za-z'-]*){{1,3}}"
    rf"[ \t]+(?:{_STREET_TYPES})\b\.?(?:,?[ \t]*{_DWELLING_UNIT})?"
)
_EN_UNIT = re.compile(r"(?<![0-9A-Za-z])(?:Apt|Apartment|Flat)\.?[ \t]*#?[0-9]{1,5}[A-Za-z]?(?![0-9A-Za-z])")


def postal_codes(text: str) -> Iterator[Span]:
    for m in _POSTAL_MARK.finditer(text):
        yield Span(EntityType.POSTAL_CODE, m.start(1), m.end(1), m.group(1), m.group(1))
    if not _POSTAL_WORD.search(text):
        return
    for m in _POSTAL_CODE.finditer(text):
        if _POSTAL_WORD.search(before(text, m.start(), 20)):
            yield Span(EntityType.POSTAL_CODE, m.start(), m.end(), m.group(), m.group().upper())


def address_lines(text: str) -> Iterator[Span]:
    if not DIGITS.search(text):
        return
    for pattern in (_JA_ADDRESS, _EN_STREET, _EN_UNIT):
        for m in pattern.finditer(text):
            yield Span(EntityType.ADDRESS, m.start(), m.end(), m.group())
