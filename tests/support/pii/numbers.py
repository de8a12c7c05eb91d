"""Numbers that are personal data: those with check digits (cards by Luhn, My Number, IBAN by mod 97),
valid so that they are personal data at all, and those named by a keyword nearby (passports, bank
accounts)."""

from __future__ import annotations

import string

from stdnum import iban, luhn
from stdnum.jp import in_ as my_number

from tests.support.pii.planted import Planted, compact_pattern
from tests.support.pii.writing import SEPARATORS, Writing


class CheckDigitNumbers(Writing):
    """Card numbers, My Numbers and IBANs with valid check digits."""

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
        written = self._grouped(number, sizes, [*SEPARATORS, ""])
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
            compact_pattern(number, bounded=False),
        )

    def my_number(self) -> Planted:
        body = self._digits(11, "123456789")
        number = body + my_number.calc_check_digit(body)
        written = self._sprinkle(self._widen(self._grouped(number, [4, 4, 4], [*SEPARATORS, ""])))
        return self._in(
            "my_number",
            written,
            ["マイナンバーは{}です。", "my individual number is {} ok.", "個人番号：{} を登録しました。"],
            compact_pattern(number, bounded=False),
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
            compact_pattern(number, bounded=False),
        )


class KeywordNumbers(Writing):
    """Passport numbers and bank accounts, each in a sentence that names it."""

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
            compact_pattern(number, bounded=len(number) < 10),
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
        return self._in("bank_account", written, templates, compact_pattern(core, bounded=True))
