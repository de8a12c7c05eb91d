"""Entities in a chat message: contact data, links, dates and times (English and Japanese), ticket ids.

Dates and times are resolved against the day the message arrived, so "tomorrow at 3pm" and "明日の15時"
both become an ISO date plus "15:00" that the dialogue service can use without parsing language again.
The patterns cover what people write to a helpdesk (relative days, weekdays, numeric and written dates,
12- and 24-hour times); a general date parser such as dateparser is too slow for the per-message budget
(docs/architecture.md, "Design decisions") and resolves far more than a helpdesk needs.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, timedelta

from helpdesk.events import Entity, EntityType
from helpdesk.text.pii import SENSITIVE, KeptSpans, Span, find_sensitive

# ASCII only: Japanese text usually runs straight on after a link ("https://example.com/guideを見て").
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}"
_TICKET = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:INC|REQ|RITM|CHG|PRB|TASK|SR|TKT)-?\d{4,10}|#\d{3,8})(?![A-Za-z0-9])",
    re.IGNORECASE,
)

_WEEKDAYS_EN = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_WEEKDAYS_EN.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})
_MONTHS_EN = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS_EN.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_WEEKDAYS_JA = {"月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5, "日": 6}
_RELATIVE_EN = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1, "day after tomorrow": 2}
_RELATIVE_JA = {
    "今日": 0,
    "本日": 0,
    "今夜": 0,
    "明日": 1,
    "あした": 1,
    "あす": 1,
    "明後日": 2,
    "あさって": 2,
}
_RELATIVE_JA.update({"昨日": -1, "きのう": -1, "一昨日": -2, "おととい": -2})

_MONTH_NAMES = "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAYS_EN, key=len, reverse=True))

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<![\d/.:])(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?(?![\d/])")
_JA_DATE = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日")
_EN_MONTH_DAY = re.compile(
    rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.IGNORECASE
)
_EN_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_NAMES})\.?(?:,?\s+(\d{{4}}))?\b", re.IGNORECASE
)
_EN_RELATIVE = re.compile(r"\b(day after tomorrow|today|tonight|tomorrow|yesterday)\b", re.IGNORECASE)
_EN_WEEKDAY = re.compile(rf"\b(?:(next|this|on)\s+)?({_WEEKDAY_NAMES})\b", re.IGNORECASE)
_JA_RELATIVE = re.compile("|".join(sorted(_RELATIVE_JA, key=len, reverse=True)))
_JA_WEEKDAY = re.compile(r"(来週|今週|再来週)?(?:の)?([月火水木金土日])曜(?:日)?")

_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?:\s*([ap])\.?m\.?)?(?![\d:])", re.IGNORECASE)
_EN_HOUR = re.compile(r"(?<![\d:])(1[0-2]|0?[1-9])\s*([ap])\.?m\b\.?", re.IGNORECASE)
_EN_NAMED_TIME = re.compile(r"\b(noon|midday|midnight)\b", re.IGNORECASE)
_JA_TIME = re.compile(r"(午前|午後)?(\d{1,2})時(?:(\d{1,2})分|(半))?")
_JA_NAMED_TIME = re.compile(r"正午|深夜0時")


def _resolved(today: date, year: int | None, month: int, day: int) -> str | None:
    """ISO date; a date without a year is the next one on or after today (people book ahead)."""
    try:
        if year is not None:
            return date(year if year >= 100 else 2000 + year, month, day).isoformat()
        candidate = date(today.year, month, day)
        if candidate < today - timedelta(days=7):
            candidate = date(today.year + 1, month, day)
        return candidate.isoformat()
    except ValueError:
        return None


def _weekday(today: date, weekday: int, modifier: str) -> str:
    """ "Friday" is the next Friday on or after today; "next Friday" and "来週の金曜日" are the Friday of
    next week (weeks start on Monday), "再来週" the week after."""
    weeks_ahead = {"next": 1, "来週": 1, "再来週": 2}.get(modifier, 0)
    ahead = 7 * weeks_ahead - today.weekday() + weekday if weeks_ahead else (weekday - today.weekday()) % 7
    return (today + timedelta(days=ahead)).isoformat()


def _dates(text: str, today: date) -> Iterator[Span]:
    for m in _ISO_DATE.finditer(text):
        if value := _resolved(today, int(m[1]), int(m[2]), int(m[3])):
            yield Span(EntityType.DATE, m.start(), m.end(), m.group(), value)
    for m in _JA_DATE.finditer(text):
        if value := _resolved(today, int(m[1]) if m[1] else None, int(m[2]), int(m[3])):
            yield Span(EntityType.DATE, m.start(), m.end(), m.group(), value)
    for m in _EN_MONTH_DAY.finditer(text):
        month = _MONTHS_EN[m[1].lower()]
        if value := _resolved(today, int(m[3]) if m[3] else None, month, int(m[2])):
            yield Span(EntityType.DATE, m.start(), m.end(), m.group(), value)
    for m in _EN_DAY_MONTH.finditer(text):
        month = _MONTHS_EN[m[2].lower()]
        if value := _resolved(today, int(m[3]) if m[3] else None, month, int(m[1])):
            yield Span(EntityType.DATE, m.start(), m.end(), m.group(), value)
    for m in _NUMERIC_DATE.finditer(text):
        # month/day, the order used in both Japan and the US ("11/30", "12/1")
        if value := _resolved(today, int(m[3]) if m[3] else None, int(m[1]), int(m[2])):
            yield Span(EntityType.DATE, m.start(), m.end(), m.group(), value)
    for m in _EN_RELATIVE.finditer(text):
        offset = _RELATIVE_EN[m[1].lower()]
        yield Span(
            EntityType.DATE, m.start(), m.end(), m.group(), (today + timedelta(days=offset)).isoformat()
        )
    for m in _EN_WEEKDAY.finditer(text):
        value = _weekday(today, _WEEKDAYS_EN[m[2].lower()], (m[1] or "").lower())
        yield Span(EntityType.DATE, m.start(), m.end(), m.group(), value)
    for m in _JA_RELATIVE.finditer(text):
        offset = _RELATIVE_JA[m.group()]
        yield Span(
            EntityType.DATE, m.start(), m.end(), m.group(), (today + timedelta(days=offset)).isoformat()
        )
    for m in _JA_WEEKDAY.finditer(text):
        value = _weekday(today, _WEEKDAYS_JA[m[2]], m[1] or "")
        yield Span(EntityType.DATE, m.start(), m.end(), m.group(), value)


def _clock(hour: int, minute: int, meridiem: str | None) -> str | None:
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.lower() in {"p", "午後"} else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return f"{hour:02d}:{minute:02d}"


def _times(text: str) -> Iterator[Span]:
    for m in _CLOCK.finditer(text):
        if value := _clock(int(m[1]), int(m[2]), m[3]):
            yield Span(EntityType.TIME, m.start(), m.end(), m.group(), value)
    for m in _EN_HOUR.finditer(text):
        if value := _clock(int(m[1]), 0, m[2]):
            yield Span(EntityType.TIME, m.start(), m.end(), m.group(), value)
    for m in _EN_NAMED_TIME.finditer(text):
        value = "00:00" if m[1].lower() == "midnight" else "12:00"
        yield Span(EntityType.TIME, m.start(), m.end(), m.group(), value)
    for m in _JA_TIME.finditer(text):
        minute = 30 if m[4] else int(m[3] or 0)
        if value := _clock(int(m[2]), minute, m[1]):
            yield Span(EntityType.TIME, m.start(), m.end(), m.group(), value)
    for m in _JA_NAMED_TIME.finditer(text):
        yield Span(
            EntityType.TIME, m.start(), m.end(), m.group(), "12:00" if m.group() == "正午" else "00:00"
        )


def _urls(text: str) -> Iterator[Span]:
    for m in _URL.finditer(text):
        url = m.group().rstrip(_URL_TRAILING)
        yield Span(EntityType.URL, m.start(), m.start() + len(url), url, url)


def _tickets(text: str) -> Iterator[Span]:
    for m in _TICKET.finditer(text):
        yield Span(EntityType.TICKET_ID, m.start(), m.end(), m.group(), m.group().upper().lstrip("#"))


def find_spans(text: str, today: date) -> list[Span]:
    """Every entity in the normalised text, non-overlapping: personal data first (it must be redacted
    whatever else it looks like), then links and ticket ids, then dates and times; a longer match wins
    over a shorter one that starts inside it ("December 1st" over "1st")."""
    kept = KeptSpans(find_sensitive(text))
    for group in (_urls(text), _tickets(text), _dates(text, today), _times(text)):
        for span in sorted(group, key=lambda s: (s.start, s.start - s.end)):
            kept.add(span)
    return list(kept)


def to_entities(spans: list[Span]) -> list[Entity]:
    """Event form: sensitive kinds keep only their type and position, never the text or its value."""
    return [
        Entity(type=s.type, start=s.start, end=s.end)
        if s.type in SENSITIVE
        else Entity(type=s.type, start=s.start, end=s.end, text=s.text, value=s.value)
        for s in spans
    ]
