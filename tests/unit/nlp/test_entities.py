"""Entities in English and Japanese: links, ticket ids, dates and times resolved against today."""

from __future__ import annotations

from datetime import date

import pytest

from helpdesk.events import EntityType
from services.nlp.pipeline.entities import find_spans, to_entities
from tests.support.pii.comparisons import counted_comparisons

TODAY = date(2026, 11, 20)  # a Friday


def found(text: str, kind: EntityType) -> list[tuple[str, str | None]]:
    return [(s.text, s.value) for s in find_spans(text, TODAY) if s.type is kind]


class TestDates:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("can I take leave tomorrow", "2026-11-21"),
            ("book the room on 11/30", "2026-11-30"),
            ("deadline is 2026-12-01", "2026-12-01"),
            ("on December 1st", "2026-12-01"),
            ("from 3 January 2027", "2027-01-03"),
            ("next Monday", "2026-11-23"),
            ("on Friday", "2026-11-20"),
        ],
    )
    def test_english(self, text: str, value: str) -> None:
        assert [v for _, v in found(text, EntityType.DATE)] == [value]

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("2026年12月1日に休みたい", "2026-12-01"),
            ("12月1日の会議室", "2026-12-01"),
            ("明日の15時に", "2026-11-21"),
            ("明後日から", "2026-11-22"),
            ("来週の月曜日", "2026-11-23"),
            ("水曜日までに", "2026-11-25"),
            ("12/24に休暇", "2026-12-24"),
        ],
    )
    def test_japanese(self, text: str, value: str) -> None:
        assert [v for _, v in found(text, EntityType.DATE)] == [value]

    def test_a_date_without_year_well_past_means_next_year(self) -> None:
        assert found("on 1/15", EntityType.DATE) == [("1/15", "2027-01-15")]

    def test_impossible_dates_are_ignored(self) -> None:
        assert found("2026-02-30", EntityType.DATE) == []


class TestTimes:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("tomorrow at 3pm", "15:00"),
            ("at 9:30 am", "09:30"),
            ("meeting at 15:00", "15:00"),
            ("around noon", "12:00"),
            ("明日の15時", "15:00"),
            ("午後3時半から", "15:30"),
            ("10時15分に", "10:15"),
            ("正午まで", "12:00"),
        ],
    )
    def test_english_and_japanese(self, text: str, value: str) -> None:
        assert [v for _, v in found(text, EntityType.TIME)] == [value]


class TestLinksAndTickets:
    def test_url_without_trailing_punctuation(self) -> None:
        assert found("see https://intranet.example.com/vpn?x=1.", EntityType.URL) == [
            ("https://intranet.example.com/vpn?x=1", "https://intranet.example.com/vpn?x=1")
        ]

    def test_url_inside_japanese_stops_at_the_japanese_text(self) -> None:
        assert [t for t, _ in found("手順はhttps://example.com/guideを見てください", EntityType.URL)] == [
            "https://example.com/guide"
        ]

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("status of INC0012345?", "INC0012345"),
            ("what about req-12345", "REQ-12345"),
            ("ticket #12345 is still open", "12345"),
            ("REQ-12345の状況は？", "REQ-12345"),
            ("チケットINC0098765について", "INC0098765"),
        ],
    )
    def test_ticket_ids(self, text: str, value: str) -> None:
        assert [v for _, v in found(text, EntityType.TICKET_ID)] == [value]


def test_sensitive_entities_carry_no_text_in_the_event() -> None:
    text = "mail me at taro@example.com about INC0012345 tomorrow"
    entities = to_entities(find_spans(text, TODAY))
    by_type = {e.type: e for e in entities}
    assert by_type[EntityType.EMAIL].text is None
    assert by_type[EntityType.EMAIL].value is None
    assert text[by_type[EntityType.EMAIL].start : by_type[EntityType.EMAIL].end] == "taro@example.com"
    assert by_type[EntityType.TICKET_ID].text == "INC0012345"
    assert by_type[EntityType.DATE].value == "2026-11-21"


def test_personal_data_wins_over_dates_and_tickets() -> None:
    spans = find_spans("card 4111-1111-1111-1111", TODAY)
    assert [s.type for s in spans] == [EntityType.CARD_NUMBER]


def test_thousands_of_entities_are_each_compared_with_their_neighbours_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message of 1,000 dates and 1,000 times ("明日1時明日1時..."): each entity is checked against the
    kept ones next to it in text order, not against all of them (quadratic before)."""
    compared = counted_comparisons(monkeypatch)
    spans = find_spans("明日1時" * 1000, TODAY)
    assert [s.type for s in spans] == [EntityType.DATE, EntityType.TIME] * 1000
    assert compared() <= 2 * len(spans)


def test_an_entity_inside_a_kept_one_is_left_out() -> None:
    spans = find_spans("see https://example.com/1/2 and 1/2 tomorrow", TODAY)
    assert [(s.type, s.text) for s in spans] == [
        (EntityType.URL, "https://example.com/1/2"),
        (EntityType.DATE, "1/2"),
        (EntityType.DATE, "tomorrow"),
    ]
