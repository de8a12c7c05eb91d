"""The PII detector, kind by kind, in English and Japanese: what it finds in the forms people type
(separators, full-width characters, invisible characters), what it replaces, and what it leaves alone
(ticket numbers, amounts, dates, versions, error codes)."""

from __future__ import annotations

import pytest

from helpdesk.events import EntityType
from helpdesk.text.pii import PLACEHOLDERS, cut_redacted, find_sensitive, redact_text
from tests.support.pii.comparisons import counted_comparisons


def kinds(text: str) -> list[EntityType]:
    return [s.type for s in find_sensitive(text)]


class TestInvisibleAndWideCharacters:
    @pytest.mark.parametrize(
        "written",
        [
            "taro\u200b.yamada@example.com",
            "taro.yamada\u00ad@example.com",
            "taro.yamada@exam\u2060ple.com",
            "taro.\ufeffyamada@example.com",
            "taro.yamada＠example.com",
            "ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        ],
    )
    def test_an_email_with_format_characters_or_full_width_forms_is_replaced_whole(
        self, written: str
    ) -> None:
        assert redact_text(f"mail {written} please") == "mail [EMAIL] please"

    def test_the_replacement_covers_the_characters_as_typed(self) -> None:
        text = "カード番号は４１１１\u200b－１１１１－１１１１－１１１１です"
        (span,) = find_sensitive(text)
        assert text[span.start : span.end] == span.text == "４１１１\u200b－１１１１－１１１１－１１１１"
        assert span.value == "4111111111111111"
        assert redact_text(text) == "カード番号は[CARD]です"

    def test_invisible_characters_outside_personal_data_stay(self) -> None:
        assert redact_text("pass\u200bword reset") == "pass\u200bword reset"


class TestCards:
    @pytest.mark.parametrize(
        "written",
        [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111.1111.1111.1111",
            "4111/1111/1111/1111",
            "4111 - 1111 - 1111 - 1111",
            "4111111111111111",
            "４１１１　１１１１　１１１１　１１１１",
            "4111．1111．1111．1111",
            "4111／1111／1111／1111",
            "4111ー1111ー1111ー1111",
            "3782 822463 10005",
            "3056 930902 5904",
        ],
    )
    def test_separators_people_type(self, written: str) -> None:
        assert redact_text(f"my card {written} was charged") == "my card [CARD] was charged"

    def test_a_card_followed_by_its_expiry_date(self) -> None:
        assert redact_text("カード 5500 0000 0000 0004 12/27") == "カード [CARD] 12/27"

    @pytest.mark.parametrize(
        "text",
        [
            "reference 4111 1111 1111 1112",
            "order TKT-4111111111111111",
            "INC4111111111111111",
            "合計 4111111111111111円",
            "4111 1111 1111 1111 1111",
        ],
    )
    def test_not_a_card(self, text: str) -> None:
        assert EntityType.CARD_NUMBER not in kinds(text)


class TestMyNumber:
    @pytest.mark.parametrize(
        "written",
        ["6214 9832 0257", "6214-9832-0257", "6214.9832.0257", "6214/9832/0257", "６２１４９８３２０２５７"],
    )
    def test_found_with_a_valid_check_digit(self, written: str) -> None:
        assert redact_text(f"マイナンバーは{written}です") == "マイナンバーは[MY_NUMBER]です"

    def test_not_inside_a_longer_number_or_an_identifier(self) -> None:
        assert EntityType.MY_NUMBER not in kinds("6214-9832-0257-1234")
        assert EntityType.MY_NUMBER not in kinds("id a716-621498320257")
        assert EntityType.MY_NUMBER not in kinds("6214 9832 0258")


class TestIban:
    @pytest.mark.parametrize(
        "written",
        [
            "GB82 WEST 1234 5698 7654 32",
            "GB82-WEST-1234-5698-7654-32",
            "gb82 west 1234 5698 7654 32",
            "DE89370400440532013000",
            "ＤＥ８９　３７０４　００４４　０５３２　０１３０　００",
        ],
    )
    def test_found_in_any_grouping(self, written: str) -> None:
        assert redact_text(f"IBAN {written} please") == "IBAN [IBAN] please"

    def test_found_after_a_word_that_looks_like_its_start(self) -> None:
        text = "passport TK1234567 and IBAN DE89 3704 0044 0532 0130 00"
        assert kinds(text) == [EntityType.PASSPORT, EntityType.IBAN]


class TestPassport:
    @pytest.mark.parametrize(
        "text",
        [
            "my passport number is TK1234567",
            "パスポート番号はＴＫ１２３４５６７です",
            "旅券番号：MZ7654321",
            "TR1234567 is my passport number",
            "Passport No. C01X00T47",
            "passport 512345678",
        ],
    )
    def test_near_the_word(self, text: str) -> None:
        assert kinds(text) == [EntityType.PASSPORT]

    @pytest.mark.parametrize(
        "text",
        [
            "TK1234567",
            "KB5034441 fixed it",
            "パスポートの更新方法を教えて",
            "my passport photo is 2x2 inches",
        ],
    )
    def test_not_without_the_word_or_a_number(self, text: str) -> None:
        assert EntityType.PASSPORT not in kinds(text)


class TestBankAccount:
    @pytest.mark.parametrize(
        "text",
        [
            "口座番号は1234567です",
            "振込先は渋谷支店 普通 1234567",
            "支店番号123 口座番号７６５４３２１",
            "口座：123-4567890",
            "bank account no. 1234567",
            "my account number is 12345678",
            "sort code 12-34-56",
        ],
    )
    def test_near_a_banking_word(self, text: str) -> None:
        assert EntityType.BANK_ACCOUNT in kinds(text)
        assert not any(ch.isdigit() for ch in redact_text(text).split("[BANK_ACCOUNT]")[-1])

    @pytest.mark.parametrize(
        "text",
        [
            "account 1234567 is locked",
            "社員番号 1234567",
            "口座の残高は1234567円です",
            "口座振替の手続き",
            "口座開設は2024年4月1日から",
        ],
    )
    def test_not_an_account(self, text: str) -> None:
        assert EntityType.BANK_ACCOUNT not in kinds(text)


class TestIpAddress:
    @pytest.mark.parametrize(
        "written",
        ["203.0.113.45", "192.168.10.20", "１９２．１６８．１０．２０", "2001:db8::8a2e:370:7334", "FE80::1"],
    )
    def test_found(self, written: str) -> None:
        assert redact_text(f"my IP is {written}.") == "my IP is [IP]."

    def test_the_port_stays(self) -> None:
        assert redact_text("blocked from 198.51.100.7:8443") == "blocked from [IP]:8443"

    @pytest.mark.parametrize(
        "text",
        [
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "mask 255.255.255.0",
            "10.0.0.0/8 subnet",
            "version 4.8.1.0",
            ".NET Framework 4.8.1.0",
            "build 10.0.19045.3803",
            "Chrome 120.0.6099.109",
            "OID 1.3.6.1.4.1.311",
            "MAC 00:1A:2B:3C:4D:5E",
            "at 10:30:45",
        ],
    )
    def test_not_a_host_address(self, text: str) -> None:
        assert EntityType.IP_ADDRESS not in kinds(text)


class TestPostalCodeAndAddress:
    @pytest.mark.parametrize(
        ("text", "redacted"),
        [
            ("〒150-0002 東京都", "〒[POSTAL_CODE] 東京都"),
            ("〒１５００００２", "〒[POSTAL_CODE]"),
            ("郵便番号は150-0002です", "郵便番号は[POSTAL_CODE]です"),
            ("my zip code is 94043-1351.", "my zip code is [POSTAL_CODE]."),
            ("postcode SW1A 1AA", "postcode [POSTAL_CODE]"),
        ],
    )
    def test_postal_codes(self, text: str, redacted: str) -> None:
        assert redact_text(text) == redacted

    @pytest.mark.parametrize(
        ("text", "redacted"),
        [
            ("住所は東京都渋谷区神南1-2-3です", "住所は[ADDRESS]です"),
            ("東京都千代田区丸の内１丁目９番２号に送ってください", "[ADDRESS]に送ってください"),
            ("送付先：大阪市北区梅田2丁目4-9 メゾン梅田101号室", "送付先：[ADDRESS]"),
            ("横浜市中区山下町279番地", "[ADDRESS]"),
            ("send it to 12 Main Street, Apt 4 please", "send it to [ADDRESS] please"),
            ("I live at 1600 Pennsylvania Avenue now", "I live at [ADDRESS] now"),
            ("my flat is Apt 4B", "my flat is [ADDRESS]"),
        ],
    )
    def test_address_lines(self, text: str, redacted: str) -> None:
        assert redact_text(text) == redacted

    @pytest.mark.parametrize(
        "text",
        [
            "東京都内の3拠点",
            "渋谷区のオフィス",
            "第2会議室",
            "市役所の手続きは2-3日かかります",
            "東京都から2-3人来ます",
            "3階の会議室",
            "I have 2 Google Drive folders",
            "Windows 11 Pro",
            "Office 365 suite",
            "zip the 3 files",
        ],
    )
    def test_not_an_address(self, text: str) -> None:
        assert find_sensitive(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "INC0012345 REQ-1234567 #123456 ticket 12345678 SR-2024-000123",
        "¥1,234,567 1234567円 $12,345.67 3,000,000円 USD 1500.00",
        "2026-11-21 2026/11/21 2026.11.21 11/21 2026年11月21日 21.11.2026 15:30 10:30:45 10:00-12:00",
        "version 16.0.17126.20132, v1.2.3, Python 3.11.7, Windows 10 22H2 build 19045.3803",
        "0x80070005 error 404 HTTP 503 ERR_CONNECTION_RESET E1234 AADSTS50076 KB5034441 CVE-2024-21413",
        "port 8080, event ID 4625, 100 GB, 2-3日, room 5A, order 12345, 3 pm",
        "trace 550e8400-e29b-41d4-a716-446655440000 and 3f2a1b9c-1234-4567-8901-234567890abc",
        "VPNにつながりません。how do I reset my password?",
        "内線1234か9番を押してください。チケット番号はINC0012345です。",
    ],
)
def test_what_is_not_personal_data_stays(text: str) -> None:
    assert find_sensitive(text) == []
    assert redact_text(text) == text


def test_placeholders_are_reported_as_the_kind_they_stand_for() -> None:
    text = "mail [EMAIL], card [CARD], IP [IP], 住所[ADDRESS]"
    assert kinds(text) == [
        EntityType.EMAIL,
        EntityType.CARD_NUMBER,
        EntityType.IP_ADDRESS,
        EntityType.ADDRESS,
    ]
    assert redact_text(text) == text


def test_every_kind_in_one_japanese_message() -> None:
    text = (
        "山田です。メールはtaro\u200b@example.jp、電話は090.1234.5678、カードは4111/1111/1111/1111、"
        "マイナンバーは6214.9832.0257、口座番号は1234567、パスポート番号はTK1234567、"
        "住所は〒150-0002 東京都渋谷区渋谷2-21-1、IPは203.0.113.9です。"
    )
    assert redact_text(text) == (
        "山田です。メールは[EMAIL]、電話は[PHONE]、カードは[CARD]、マイナンバーは[MY_NUMBER]、口座番号は[BANK_ACCOUNT]、"
        "パスポート番号は[PASSPORT]、住所は〒[POSTAL_CODE] [ADDRESS]、IPは[IP]です。"
    )


class TestManyFindings:
    """A message may hold thousands of findings ("[IP][IP]...", "a@b.cc a@b.cc ..."): each is checked
    against the findings kept so far through its neighbours in text order only, so the comparisons
    follow the number of findings, not its square."""

    @pytest.mark.parametrize(("text", "count"), [("[IP]" * 1000, 1000), ("a@b.cc " * 570, 570)])
    def test_each_finding_is_compared_with_its_neighbours_only(
        self, monkeypatch: pytest.MonkeyPatch, text: str, count: int
    ) -> None:
        compared = counted_comparisons(monkeypatch)
        assert len(find_sensitive(text)) == count
        assert compared() <= 2 * count

    def test_overlapping_findings_still_give_way_to_the_earlier_finder(self) -> None:
        text = "[EMAIL] a@b.cc 4111 1111 1111 1111 " * 100
        assert kinds(text) == [EntityType.EMAIL, EntityType.EMAIL, EntityType.CARD_NUMBER] * 100
        assert redact_text(text) == "[EMAIL] [EMAIL] [CARD] " * 100


class TestLongDigitRuns:
    """A message may be one long run of short digit groups ("1/2 1/2 1/2 ..."): the check-digit finders
    look only at windows as long as a number of their kind, so the work follows the run's length."""

    def test_windows_are_tried_only_up_to_the_longest_number_of_the_kind(self) -> None:
        from helpdesk.text.pii.digit_runs import windows

        tried: list[int] = []

        def shape(sizes: list[int]) -> bool:
            tried.append(sum(sizes))
            return False

        groups = 1000
        assert list(windows(" ".join(["1/2"] * (groups // 2)), shape, lambda _: True, 19)) == []
        assert max(tried) <= 19
        assert len(tried) <= 19 * groups

    def test_a_card_and_a_my_number_inside_a_long_run_are_still_found(self) -> None:
        filler = " ".join(["1/2"] * 400)
        text = f"{filler} card 4111 1111 1111 1111 and my number 1234 5678 9018 {filler}"
        assert kinds(text) == [EntityType.CARD_NUMBER, EntityType.MY_NUMBER]


class TestCuttingRedactedText:
    @pytest.mark.parametrize("placeholder", sorted(PLACEHOLDERS.values()))
    def test_a_placeholder_across_the_cut_is_left_out_whole_at_every_split(self, placeholder: str) -> None:
        before = "ask " * 5
        text = before + placeholder + " now"
        for inside in range(1, len(placeholder)):
            assert cut_redacted(text, len(before) + inside) == before

    def test_a_placeholder_ending_at_the_cut_or_a_text_within_the_limit_is_kept(self) -> None:
        assert cut_redacted("call [PHONE] now", 12) == "call [PHONE]"
        assert cut_redacted("call [PHONE]", 12) == "call [PHONE]"
        assert cut_redacted("call [PHONE]", 100) == "call [PHONE]"

    def test_ordinary_text_and_a_bracket_that_is_no_placeholder_are_cut_where_asked(self) -> None:
        assert cut_redacted("see [note] here", 7) == "see [no"
        assert cut_redacted("[EMAIL] [EMAIL] plain words", 20) == "[EMAIL] [EMAIL] plai"
