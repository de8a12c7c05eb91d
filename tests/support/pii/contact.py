"""How a person is reached: e-mail addresses, phone numbers (valid in libphonenumber's ranges) and
IP addresses."""

from __future__ import annotations

import re
import string

import phonenumbers

from tests.support.pii.planted import Planted, compact_pattern, parts_pattern
from tests.support.pii.writing import Writing, full_width


class ContactData(Writing):
    """E-mail addresses, phone numbers and IP addresses, written the many ways people do."""

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
            written = full_width(address).replace("＠", "@")
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
            compact_pattern(national, bounded=False),
        )

    def ip_address(self) -> Planted:
        if self.rng.random() < 0.7:
            octets = [str(self.rng.choice([*range(11, 127), *range(128, 224)]))]
            octets += [str(self.rng.randint(100, 254)) for _ in range(3)]
            address = ".".join(octets)
            parts: list[str] = octets
            written = address
            if self.rng.random() < 0.25:
                written = full_width(address).replace("．", self.rng.choice(["．", "."]))
            elif self.rng.random() < 0.3:
                written = f"{address}:{self.rng.randint(1024, 65000)}"
            pattern = parts_pattern(parts)
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
