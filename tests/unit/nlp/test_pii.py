"""Personal data: found by kind, check digits verified, replaced by typed placeholders (en + ja)."""

from __future__ import annotations

import pytest

from helpdesk.events import EntityType
from helpdesk.text.pii import find_sensitive, redact


def kinds(text: str) -> list[EntityType]:
    return [s.type for s in find_sensitive(text)]


class TestEmail:
    def test_english(self) -> None:
        assert (
            redact(
                "mail taro.yamada+it@example.co.jp please",
                find_sensitive("mail taro.yamada+it@example.co.jp please"),
            )
            == "mail [EMAIL] please"
        )

    def test_japanese_without_spaces(self) -> None:
        text = "連絡先はhanako@example.comです"
        assert redact(text, find_sensitive(text)) == "連絡先は[EMAIL]です"


class TestPhone:
    @pytest.mark.parametrize(
        ("text", "e164"),
        [
            ("call me at +1 415 555 2671", "+14155552671"),
            ("my mobile is 090-1234-5678", "+819012345678"),
            ("電話番号は03-1234-5678です", "+81312345678"),
            ("携帯は09012345678", "+819012345678"),
            ("London office +44 20 7946 0958", "+442079460958"),
        ],
    )
    def test_found_with_international_form(self, text: str, e164: str) -> None:
        (span,) = find_sensitive(text)
        assert span.type is EntityType.PHONE
        assert span.value == e164
        assert "[PHONE]" in redact(text, [span])

    def test_short_numbers_are_not_phones(self) -> None:
        assert find_sensitive("room 5A, order 12345, 3 pm") == []


class TestCardNumber:
    def test_luhn_valid_card_is_redacted(self) -> None:
        text = "my card 4111 1111 1111 1111 was charged twice"
        assert redact(text, find_sensitive(text)) == "my card [CARD] was charged twice"

    def test_hyphenated_card_in_japanese(self) -> None:
        text = "カード番号は5500-0000-0000-0004です"
        assert redact(text, find_sensitive(text)) == "カード番号は[CARD]です"

    def test_luhn_invalid_number_is_not_a_card(self) -> None:
        assert EntityType.CARD_NUMBER not in kinds("reference 4111 1111 1111 1112")


class TestIban:
    def test_valid_iban_with_spaces_stops_before_the_next_word(self) -> None:
        text = "IBAN GB82 WEST 1234 5698 7654 32 please"
        (span,) = find_sensitive(text)
        assert span.type is EntityType.IBAN
        assert span.value == "GB82WEST12345698765432"
        assert redact(text, [span]) == "IBAN [IBAN] please"

    def test_compact_iban_in_japanese(self) -> None:
        text = "振込先はDE89370400440532013000です"
        assert redact(text, find_sensitive(text)) == "振込先は[IBAN]です"

    def test_wrong_check_digits_are_not_an_iban(self) -> None:
        assert EntityType.IBAN not in kinds("GB83 WEST 1234 5698 7654 32")


class TestMyNumber:
    def test_valid_my_number(self) -> None:
        text = "マイナンバーは6214 9832 0257です"
        (span,) = find_sensitive(text)
        assert span.type is EntityType.MY_NUMBER
        assert redact(text, [span]) == "マイナンバーは[MY_NUMBER]です"

    def test_compact_my_number_in_english(self) -> None:
        text = "my individual number is 621498320257"
        assert redact(text, find_sensitive(text)) == "my individual number is [MY_NUMBER]"

    def test_wrong_check_digit_is_not_a_my_number(self) -> None:
        assert EntityType.MY_NUMBER not in kinds("6214 9832 0258")


def test_several_kinds_in_one_message_are_all_redacted() -> None:
    text = "a@b.io, 090-1234-5678, 4111111111111111, 621498320257"
    redacted = redact(text, find_sensitive(text))
    assert redacted == "[EMAIL], [PHONE], [CARD], [MY_NUMBER]"


def test_text_without_personal_data_is_unchanged() -> None:
    text = "VPNにつながりません。how do I reset my password?"
    assert redact(text, find_sensitive(text)) == text
