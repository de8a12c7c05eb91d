"""Where a person lives: postal codes (Japanese and British) and address lines (Japanese and English)."""

from __future__ import annotations

import re

from tests.support.pii.planted import FLEXIBLE, Planted, compact_pattern
from tests.support.pii.writing import Writing


class Addresses(Writing):
    """Postal codes and address lines."""

    def postal_code(self) -> Planted:
        if self.rng.random() < 0.8:
            code = self._digits(3, "123456789") + self._digits(4)
            written = self._widen(
                self.rng.choice([f"{code[:3]}-{code[3:]}", code, f"{code[:3]}－{code[3:]}"])
            )
            templates = ["〒{} 東京都内です。", "郵便番号は{}です。", "住所：〒{}", "my postal code is {}."]
            return self._in("postal_code", written, templates, compact_pattern(code, bounded=True))
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
                re.escape(town) + rf"{FLEXIBLE}{a}(?:丁目|{FLEXIBLE}){b}(?:番地?|{FLEXIBLE}){c}(?![0-9])"
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
