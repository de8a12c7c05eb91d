"""Finders for how a person is reached: e-mail addresses, phone numbers and IP addresses."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import phonenumbers

from helpdesk.events import EntityType
from helpdesk.text.pii.digit_runs import DIGITS, QUANTITY_AFTER, attached, before
from helpdesk.text.pii.spans import Span

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_REGIONS = ("JP", "US", "GB")
_MIN_PHONE_DIGITS = 7
_IPV4 = re.compile(r"(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z]|\.[0-9])")
_IPV6 = re.compile(r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,}(?![0-9A-Za-z:])")
_VERSION_WORD = re.compile(
    r"(?:\b(?:version|ver|v|build|release|firmware|fw|framework|update|patch)|バージョン|ビルド)\W{0,3}$",
    re.IGNORECASE,
)
_PREFIX_LENGTH = re.compile(r"/([0-9]{1,2})(?![0-9])")
_DATE_LIKE = re.compile(
    r"(?<![0-9])(?:[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?)(?![0-9])"
)
_PART_OF_NUMBER_BEFORE = re.compile(r"(?:[0-9][-./]|#)$")
_PART_OF_NUMBER_AFTER = re.compile(r"[-./][0-9]")


def emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(EntityType.EMAIL, m.start(), m.end(), m.group(), m.group().lower())


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether a number the phone matcher found is one on its own, not the end of a date, a ticket
    ("SR-2024-000123", "#95225972"), a version ("version 1.5.8079.28387") or a quantity ("5-27日")."""
    preceding = text[max(0, start - 2) : start]
    if attached(preceding[::-1]) or attached(text[end:]) or _PART_OF_NUMBER_BEFORE.search(preceding):
        return False
    if _PART_OF_NUMBER_AFTER.match(text, end) or QUANTITY_AFTER.match(text, end):
        return False
    return not _VERSION_WORD.search(before(text, start, 16))


def phones(text: str) -> Iterator[Span]:
    """International numbers ("+81 3-1234-5678") and national ones in Japanese, US and UK formats."""
    if len(DIGITS.findall(text)) < _MIN_PHONE_DIGITS:
        return
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            if not _stands_alone(text, match.start, match.end) or _DATE_LIKE.search(match.raw_string):
                continue
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            yield Span(EntityType.PHONE, match.start, match.end, match.raw_string, e164)


def _is_netmask(address: ipaddress.IPv4Address) -> bool:
    value = int(address)
    inverse = ~value & 0xFFFFFFFF
    return value >= 0x80000000 and inverse & (inverse + 1) == 0


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


def ip_addresses(text: str) -> Iterator[Span]:
    """Host addresses; loopback, unspecified, netmasks, networks and version numbers are not."""
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
        if _VERSION_WORD.search(before(text, m.start(), 16)):
            continue
        yield Span(EntityType.IP_ADDRESS, m.start(), m.end(), m.group(), str(v4))
