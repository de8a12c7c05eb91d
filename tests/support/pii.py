"""Personal data in the many forms people type it, and a search for it in any form.

`PiiGenerator` is a seeded, property-style generator (hypothesis is not installed here): every call draws a
new value of one kind and writes it the way a user might, with separators (space, hyphen, dot, slash and
their full-width forms), full-width digits and letters, zero-width and soft-hyphen characters, and
keywords in English or Japanese where the kind needs one to be recognisable at all. Values are valid where
the kind has check digits (Luhn, mod-97, the My Number check digit, libphonenumber's ranges), because an
invalid one is not personal data.

`PlantedSearch` looks for every generated value in a blob of text (a redacted message, or everything Redis
holds) after undoing JSON escapes, NFKC, removing invisible characters and case folding, and lets
separators sit anywhere between the characters: a card number found without its spaces, or with dots
instead, still counts as found.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.jp import in_ as my_number

INVISIBLE = ["\u200b", "\u00ad", "\u200c", "\u200d", "\u2060", "\ufeff"]
_SEPARATORS = [" ", "-", ".", "/", "－", "．", "／", "　", " - ", "\u200b"]
_FLEXIBLE = r"[\s\-./・ー()\[\]:]*"
_FLEXIBLE_SEPARATOR = r"[\s\-./・ー]"


@dataclass(frozen=True)
class Planted:
    """One generated value: how it was written, and the pattern that finds it in any form."""

    kind: str
    written: str
    sentence: str
    pattern: re.Pattern[str]
    fragments: tuple[str, ...] = ()
    """Distinctive pieces that must not survive on their own either (the local part of an e-mail)."""


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def _compact_pattern(core: str, *, bounded: bool) -> re.Pattern[str]:
    """Characters of `core` with any separators between them; short values must stand alone (not
    inside a longer number, where they could occur by chance)."""
    body = _FLEXIBLE.join(re.escape(c) for c in core.casefold())
    if bounded:
        body = (
            rf"(?<![0-9a-z])(?<![0-9]{_FLEXIBLE_SEPARATOR}){body}(?![0-9a-z])(?!{_FLEXIBLE_SEPARATOR}[0-9])"
        )
    return re.compile(body)


def _parts_pattern(parts: Iterable[str]) -> re.Pattern[str]:
    """Parts in order with at least one separator between them (an IP address is not found in a longer
    number that happens to hold its digits)."""
    body = r"[\s\-./・ー:]+".join(re.escape(p.casefold()) for p in parts)
    return re.compile(rf"(?<![0-9a-z.]){body}(?![0-9a-z]|\.[0-9])")


class PiiGenerator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # ---- formatting ------------------------------------------------------------------------------

    def _digits(self, n: int, first: str = string.digits) -> str:
        return self.rng.choice(first) + "".join(self.rng.choice(string.digits) for _ in range(n - 1))

    def _sprinkle(self, text: str, chance: float = 0.35) -> str:
        """Invisible characters at one or two random places inside the value."""
        if self.rng.random() > chance or len(text) < 3:
            return text
        chars = list(text)
        for _ in range(self.rng.randint(1, 2)):
            chars.insert(self.rng.randint(1, len(chars) - 1), self.rng.choice(INVISIBLE))
        return "".join(chars)

    def _widen(self, text: str, chance: float = 0.25) -> str:
        return _full_width(text) if self.rng.random() < chance else text

    def _grouped(self, digits: str, sizes: list[int], separators: list[str]) -> str:
        groups, at = [], 0
        for size in sizes:
            groups.append(digits[at : at + size])
            at += size
        return self.rng.choice(separators).join(groups)

    def _in(
        self, kind: str, written: str, templates: list[str], pattern: re.Pattern[str], *fragments: str
    ) -> Planted:
        sentence = self.rng.choice(templates).format(written)
        return Planted(kind, written, sentence, pattern, tuple(fragments))

    # ---- kinds -----------------------------------------------------------------------------------

    def email(self) -> Planted:
        local = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(6)) + self._digits(3)
        if self.rng.random() < 0.4:
            local += "." + "".join(self.rng.choice(string.ascii_lowercase) for _ in range(4))
        domain = self.rng.choice(["example.com", "example.co.jp", "mail.example.org", "corp.example.net"])
        address = f"{local}@{domain}"
        style = self.rng.randrange(5)
        if style == 0:
            written = address.replace("@", "＠")
        elif style == 1:
            written = _full_width(address).replace("＠", "@")
        elif style == 2:
            written = address.replace("@", "\u200b@")
        elif style == 3:
            cut = self.rng.randint(1, len(local) - 1)
            written = address[:cut] + self.rng.choice(["\u00ad", "\u200b"]) + address[cut:]
        else:
            written = address.upper() if self.rng.random() < 0.3 else address
        written = self._sprinkle(written, 0.3)
        return self._in(
            "email",
            written,
            ["my e-mail is {} thanks.", "連絡先は{}です。", "please write to {} today.", "メール：{} まで。"],
            re.compile(re.escape(address)),
            local,
        )

    def phone(self) -> Planted:
        while True:
            region, number, sizes = self.rng.choice(
                [
                    (
                        "JP",
                        "0" + self.rng.choice(["90", "80", "70"]) + self._digits(8, "123456789"),
                        [3, 4, 4],
                    ),
                    ("JP", "03" + self._digits(8, "3456789"), [2, 4, 4]),
                    ("JP", "06" + self._digits(8, "3456789"), [2, 4, 4]),
                    (
                        "US",
                        self.rng.choice(["212", "415", "646", "617", "312"]) + self._digits(7, "23456789"),
                        [3, 3, 4],
                    ),
                    ("GB", "020" + "7946" + self._digits(4), [3, 4, 4]),
                ]
            )
            parsed = phonenumbers.parse(number, region)
            if phonenumbers.is_valid_number(parsed):
                break
        national = str(parsed.national_number)
        separators = ["-", " ", ".", "/", "－", "ー", "", "　"]
        if self.rng.random() < 0.35:
            code = str(parsed.country_code)
            sizes = [3, 3, 4] if region == "US" else [len(national) - 8, 4, 4]
            written = f"+{code} " + self._grouped(national, sizes, [" ", "-", "."])
        elif region == "US" and self.rng.random() < 0.4:
            written = f"({number[:3]}) {number[3:6]}-{number[6:]}"
        else:
            written = self._grouped(number, sizes, separators)
        written = self._sprinkle(self._widen(written))
        return self._in(
            "phone",
            written,
            [
                "call me on {} please.",
                "電話番号は{}です。",
                "my mobile: {} (evenings).",
                "携帯 {} までお願いします。",
            ],
            _compact_pattern(national, bounded=False),
        )

    def card(self) -> Planted:
        brand = self.rng.randrange(5)
        if brand == 0:
            body, sizes = "4" + self._digits(14), [4, 4, 4, 4]
        elif brand == 1:
            body, sizes = "5" + self.rng.choice("12345") + self._digits(13), [4, 4, 4, 4]
        elif brand == 2:
            body, sizes = "35" + self.rng.choice(["28", "41", "66", "89"]) + self._digits(11), [4, 4, 4, 4]
        elif brand == 3:
            body, sizes = self.rng.choice(["34", "37"]) + self._digits(12), [4, 6, 5]
        else:
            body, sizes = "36" + self._digits(11), [4, 6, 4]
        number = body + luhn.calc_check_digit(body)
        written = self._grouped(number, sizes, [*_SEPARATORS, ""])
        written = self._sprinkle(self._widen(written))
        return self._in(
            "card",
            written,
            [
                "my card {} was charged twice.",
                "カード番号は{}です。",
                "card no. {} expired?",
                "クレジットカード：{} の請求について",
            ],
            _compact_pattern(number, bounded=False),
        )

    def my_number(self) -> Planted:
        body = self._digits(11, "123456789")
        number = body + my_number.calc_check_digit(body)
        written = self._sprinkle(self._widen(self._grouped(number, [4, 4, 4], [*_SEPARATORS, ""])))
        return self._in(
            "my_number",
            written,
            ["マイナンバーは{}です。", "my individual number is {} ok.", "個人番号：{} を登録しました。"],
            _compact_pattern(number, bounded=False),
        )

    def iban(self) -> Planted:
        letters = string.ascii_uppercase
        country, bban = self.rng.choice(
            [
                ("DE", self._digits(18)),
                ("GB", "".join(self.rng.choice(letters) for _ in range(4)) + self._digits(14)),
                ("NL", "".join(self.rng.choice(letters) for _ in range(4)) + self._digits(10)),
                ("AT", self._digits(16)),
                ("CH", self._digits(17)),
            ]
        )
        number = country + iban.calc_check_digits(country + "00" + bban) + bban
        assert iban.is_valid(number)
        separator = self.rng.choice([" ", "-", "", ".", "　", " "])
        written = separator.join(number[i : i + 4] for i in range(0, len(number), 4))
        if self.rng.random() < 0.25:
            written = written.lower()
        written = self._sprinkle(self._widen(written, 0.2))
        return self._in(
            "iban",
            written,
            ["IBAN {} for the refund.", "振込先IBANは{}です。", "pay to {} please."],
            _compact_pattern(number, bounded=False),
        )

    def passport(self) -> Planted:
        if self.rng.random() < 0.6:
            number = self.rng.choice(["TK", "TZ", "MZ", "TR", "MU", "TH", "RE"]) + self._digits(7)
        else:
            number = self.rng.choice(
                [
                    self._digits(9, "123456789"),
                    "C"
                    + "".join(self.rng.choice("0123456789CFGHJKLMNPRTVWXYZ") for _ in range(7))
                    + self._digits(1),
                    "E" + self._digits(8),
                ]
            )
        written = self._sprinkle(self._widen(number, 0.2), 0.25)
        return self._in(
            "passport",
            written,
            [
                "my passport number is {} and it expires soon.",
                "パスポート番号は{}です。",
                "旅券番号：{}",
                "Passport No. {} (Japan).",
                "{} is my passport number.",
            ],
            _compact_pattern(number, bounded=len(number) < 10),
        )

    def bank_account(self) -> Planted:
        account = self._digits(7, "123456789")
        branch = self._digits(3, "123456789")
        templates = [
            "口座番号は{}です。",
            "振込先は渋谷支店 普通 {} です。",
            "支店番号" + branch + " 口座番号{}",
            "bank account no. {} please.",
            "my account number is {} (Mizuho).",
        ]
        written, core = account, account
        if self.rng.random() < 0.3:
            written, core = f"{branch}-{account}", branch + account
            templates = ["口座：{}", "bank account {} at Mizuho."]
        written = self._sprinkle(self._widen(written), 0.25)
        return self._in("bank_account", written, templates, _compact_pattern(core, bounded=True))

    def ip_address(self) -> Planted:
        if self.rng.random() < 0.7:
            octets = [str(self.rng.choice([*range(11, 127), *range(128, 224)]))]
            octets += [str(self.rng.randint(100, 254)) for _ in range(3)]
            address = ".".join(octets)
            parts: list[str] = octets
            written = address
            if self.rng.random() < 0.25:
                written = _full_width(address).replace("．", self.rng.choice(["．", "."]))
            elif self.rng.random() < 0.3:
                written = f"{address}:{self.rng.randint(1024, 65000)}"
            pattern = _parts_pattern(parts)
        else:
            groups = ["2001", "db8", *(format(self.rng.randint(0x1000, 0xFFFF), "x") for _ in range(4))]
            address = (
                ":".join(groups[:2])
                + ":"
                + ":".join(groups[2:])
                + "::"
                + format(self.rng.randint(1, 0xFFF), "x")
            )
            written = address.upper() if self.rng.random() < 0.3 else address
            pattern = re.compile(re.escape(address))
        written = self._sprinkle(written, 0.2)
        return self._in(
            "ip_address",
            written,
            ["my IP is {} behind the VPN.", "接続元IPアドレスは{}です。", "blocked from {} again."],
            pattern,
        )

    def postal_code(self) -> Planted:
        if self.rng.random() < 0.8:
            code = self._digits(3, "123456789") + self._digits(4)
            written = self._widen(
                self.rng.choice([f"{code[:3]}-{code[3:]}", code, f"{code[:3]}－{code[3:]}"])
            )
            templates = ["〒{} 東京都内です。", "郵便番号は{}です。", "住所：〒{}", "my postal code is {}."]
            return self._in("postal_code", written, templates, _compact_pattern(code, bounded=True))
        outward = self.rng.choice(["SW1A", "EC1A", "W1A", "M1", "B33", "CR2"])
        inward = self._digits(1) + "".join(self.rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
        code = f"{outward} {inward}"
        return self._in(
            "postal_code",
            code,
            ["my postcode is {}."],
            re.compile(re.escape(outward.casefold()) + r"\s*" + re.escape(inward.casefold())),
        )

    def address(self) -> Planted:
        if self.rng.random() < 0.6:
            prefecture, city, town = self.rng.choice(
                [
                    ("東京都", "渋谷区", "神南"),
                    ("東京都", "千代田区", "丸の内"),
                    ("東京都", "新宿区", "西新宿"),
                    ("大阪府", "大阪市北区", "梅田"),
                    ("神奈川県", "横浜市中区", "山下町"),
                    ("愛知県", "名古屋市中区", "栄"),
                    ("福岡県", "福岡市中央区", "天神"),
                ]
            )
            a, b, c = self.rng.randint(1, 9), self.rng.randint(1, 40), self.rng.randint(1, 30)
            house = self.rng.choice(
                [f"{a}-{b}-{c}", f"{a}丁目{b}番{c}号", f"{a}丁目{b}-{c}", f"{a}－{b}－{c}"]
            )
            written = (prefecture if self.rng.random() < 0.7 else "") + city + town + self._widen(house, 0.3)
            pattern = re.compile(
                re.escape(town) + rf"{_FLEXIBLE}{a}(?:丁目|{_FLEXIBLE}){b}(?:番地?|{_FLEXIBLE}){c}(?![0-9])"
            )
            templates = ["住所は{}です。", "{}に届けてください。", "送付先：{}"]
            return self._in("address", written, templates, pattern)
        number = str(self.rng.randint(12, 4999))
        name = self.rng.choice(["Maple", "Oak", "Cedar", "Willow", "Baker", "Elm", "Harbor", "Chestnut"])
        suffix = self.rng.choice(["Street", "Avenue", "Road", "Lane", "Boulevard", "St", "Ave"])
        written = f"{number} {name} {suffix}"
        if self.rng.random() < 0.5:
            written += f", Apt {self.rng.randint(2, 99)}"
        pattern = re.compile(rf"(?<![0-9]){number}\s*{name.casefold()}\s*{suffix.casefold()}")
        return self._in("address", written, ["send it to {} please.", "I live at {} now."], pattern)

    KINDS: tuple[str, ...] = (
        "email",
        "phone",
        "card",
        "my_number",
        "iban",
        "passport",
        "bank_account",
        "ip_address",
        "postal_code",
        "address",
    )

    def one(self, kind: str | None = None) -> Planted:
        make: Callable[[], Planted] = getattr(self, kind or self.rng.choice(self.KINDS))
        return make()

    def message(self, count: int, kinds: Iterable[str] | None = None) -> tuple[str, list[Planted]]:
        """A message of `count` sentences, each carrying one value (of the given kinds in turn)."""
        chosen = list(kinds) if kinds is not None else [self.rng.choice(self.KINDS) for _ in range(count)]
        planted = [self.one(kind) for kind in chosen]
        return " ".join(p.sentence for p in planted), planted


_ESCAPE = re.compile(r"\\+u([0-9a-fA-F]{4})(?:\\+u([0-9a-fA-F]{4}))?")


def _unescape(match: re.Match[str]) -> str:
    high = int(match.group(1), 16)
    if match.group(2) is not None:
        low = int(match.group(2), 16)
        if 0xD800 <= high < 0xDC00 and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return chr(high) + chr(low)
    return chr(high)


def searchable(blob: str) -> str:
    """`blob` as the search sees it: JSON escapes undone, NFKC, invisible characters removed, case folded."""
    text = _ESCAPE.sub(_unescape, blob)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return text.casefold()


def found_in(blob: str, planted: Iterable[Planted]) -> list[tuple[Planted, str]]:
    """Every planted value (or distinctive fragment) present in `blob`, with what matched."""
    text = searchable(blob)
    hits: list[tuple[Planted, str]] = []
    for item in planted:
        match = item.pattern.search(text)
        if match:
            hits.append((item, match.group()))
            continue
        for fragment in item.fragments:
            if fragment.casefold() in text:
                hits.append((item, fragment))
                break
    return hits
