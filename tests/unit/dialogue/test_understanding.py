"""Reading small talk, requests for a person, replies to a clarification and follow-ups."""

from __future__ import annotations

import re
import re._parser as regex_parser
from typing import Any

import pytest

from helpdesk.events import Language
from services.dialogue.replies import Smalltalk
from services.dialogue.understanding import (
    agrees,
    asks_for_a_person,
    chosen_position,
    is_follow_up,
    rejects_choices,
    smalltalk,
)

CHOICES_EN = [
    "How do I reset my password?",
    "How do I change my password before it expires?",
    "My account is locked. How do I unlock it?",
]
CHOICES_JA = [
    "パスワードをリセットするにはどうすればいいですか？",
    "有効期限が切れる前にパスワードを変更する方法は？",
    "アカウントがロックされました。解除するには？",
]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", Smalltalk.GREETING),
        ("Hello there!", Smalltalk.GREETING),
        ("good morning team", Smalltalk.GREETING),
        ("こんにちは", Smalltalk.GREETING),
        ("おはようございます", Smalltalk.GREETING),
        ("thanks!", Smalltalk.THANKS),
        ("Thank you so much", Smalltalk.THANKS),
        ("ありがとうございます！", Smalltalk.THANKS),
        ("助かりました", Smalltalk.THANKS),
        ("bye", Smalltalk.GOODBYE),
        ("ok thanks, bye!", Smalltalk.GOODBYE),
        ("失礼します", Smalltalk.GOODBYE),
        ("hi, my vpn is broken", None),
        ("this is broken", None),
        ("ありがとう、でもVPNがまだつながらない", None),
    ],
)
def test_small_talk_is_recognised_only_when_the_message_is_nothing_else(
    text: str, kind: Smalltalk | None
) -> None:
    assert smalltalk(text) is kind


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("talk to a human", True),
        ("I want to speak with a real person", True),
        ("can you connect me to the service desk", True),
        ("human please", True),
        ("担当者と話したい", True),
        ("オペレーターにつないでください", True),
        ("人と話したい", True),
        ("I need a person", True),
        ("i need a person please", True),
        ("need someone!", True),
        ("I want a human", True),
        ("I need a person to approve my expense claim", False),
        ("I need someone's signature on this form", False),
        ("I need to share my calendar with someone", False),
        ("10人で使える会議室", False),
        ("人事に相談したい", False),
    ],
)
def test_a_request_for_a_person_is_recognised(text: str, asks: bool) -> None:
    assert asks_for_a_person(text) is asks


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("put me to " * 400, False),
        ("put me to " * 400 + "someone", True),
        ("transfer me to the vpn team, " * 100 + "or anyone at the service desk", True),
        ("connect me to " + "the " * 900 + "helpdesk", True),
        ("connect me to the wiki, where a colleague's tip helped", False),
    ],
)
def test_a_request_for_a_person_in_a_long_message(text: str, asks: bool) -> None:
    assert asks_for_a_person(text) is asks


def _unbounded_wildcards(parsed: Any) -> int:
    """`.*` and `.+` in a parsed pattern: after a phrase a message can repeat, each one scans to the
    end of the message from every repeat, which makes a search quadratic in the message's length."""
    found = 0
    for op, av in parsed:
        if op in (regex_parser.MAX_REPEAT, regex_parser.MIN_REPEAT, regex_parser.POSSESSIVE_REPEAT):
            _, high, sub = av
            if high == regex_parser.MAXREPEAT and list(sub) == [(regex_parser.ANY, None)]:
                found += 1
            found += _unbounded_wildcards(sub)
        elif op is regex_parser.SUBPATTERN:
            found += _unbounded_wildcards(av[3])
        elif op is regex_parser.BRANCH:
            found += sum(_unbounded_wildcards(branch) for branch in av[1])
        elif op in (regex_parser.ASSERT, regex_parser.ASSERT_NOT):
            found += _unbounded_wildcards(av[1])
        elif op is regex_parser.ATOMIC_GROUP:
            found += _unbounded_wildcards(av)
    return found


def test_no_rule_scans_to_the_end_of_the_message_after_a_phrase() -> None:
    from services.dialogue import understanding

    patterns = [value for value in vars(understanding).values() if isinstance(value, re.Pattern)]
    assert len(patterns) > 10
    assert _unbounded_wildcards(regex_parser.parse(r"a.*b|(c.+?)")) == 2
    assert {p.pattern: _unbounded_wildcards(regex_parser.parse(p.pattern)) for p in patterns} == {
        p.pattern: 0 for p in patterns
    }


@pytest.mark.parametrize(
    ("reply", "position"),
    [
        ("2", 1),
        ("the second one", 1),
        ("second", 1),
        ("the first", 0),
        ("the last one", 2),
        ("#3", 2),
        ("2.", 1),
        ("3. please", 2),
        ("no. 2", 1),
        ("No.3", 2),
        ("nr 2", 1),
        ("number 3", 2),
        ("2.5", None),
        ("version 1.2", None),
        ("change it before it expires", 1),
        ("the one about the locked account", 2),
        ("4", None),
        ("I have 2 monitors and the vpn has been broken since yesterday", None),
    ],
)
def test_english_replies_pick_a_choice(reply: str, position: int | None) -> None:
    assert chosen_position(reply, CHOICES_EN, Language.EN) == position


@pytest.mark.parametrize(
    ("reply", "position"),
    [
        ("2番", 1),
        ("２番", 1),
        ("二番目", 1),
        ("2つ目", 1),
        ("最初の", 0),
        ("最初のやつ", 0),
        ("三番目でお願いします", 2),
        ("二", 1),
        ("三です", 2),
        ("一でお願いします", 0),
        ("最後", 2),
        ("ロックされた方", 2),
    ],
)
def test_japanese_replies_pick_a_choice(reply: str, position: int | None) -> None:
    assert chosen_position(reply, CHOICES_JA, Language.JA) == position


@pytest.mark.parametrize(
    ("reply", "agreed"),
    [
        ("yes", True),
        ("Yes!", True),
        ("yep, that's it", True),
        ("yes please", True),
        ("exactly", True),
        ("はい", True),
        ("はい。", True),
        ("そうです", True),
        ("はい、お願いします", True),
        ("yes, thanks", True),
        ("yes pls", True),
        ("please", True),
        ("ya", True),
        ("yes it is", True),
        ("that one", True),
        ("sure thing", True),
        ("お願いします", True),
        ("それでお願いします", True),
        ("うん、それ", True),
        ("that is not it", False),
        ("no thanks", False),
        ("yes and also my vpn is broken", False),
        ("お願いがあります", False),
        ("yesterday", False),
        ("yes but on my phone", False),
        ("no", False),
        ("いいえ", False),
        ("はい、でもスマホの場合は？", False),
    ],
)
def test_yes_answers_did_you_mean(reply: str, agreed: bool) -> None:
    assert agrees(reply) is agreed


@pytest.mark.parametrize(
    ("reply", "rejects"),
    [
        ("none of these", True),
        ("no", True),
        ("not these ones, sorry", True),
        ("どれでもない", True),
        ("どれも違います", True),
        ("no, I need the vpn thing", False),
        ("2", False),
        ("no. 2", False),
        ("No.3", False),
        ("no 1 please", False),
    ],
)
def test_a_reply_can_reject_every_choice(reply: str, rejects: bool) -> None:
    assert rejects_choices(reply) is rejects


@pytest.mark.parametrize(
    ("text", "language", "follows"),
    [
        ("and on my phone?", Language.EN, True),
        ("what about my iPad?", Language.EN, True),
        ("スマホは？", Language.JA, True),
        ("じゃあ経費は？", Language.JA, True),
        ("How do I reset my password?", Language.EN, False),
        ("パスワードを忘れました", Language.JA, False),
    ],
)
def test_follow_ups_are_recognised(text: str, language: Language, follows: bool) -> None:
    assert is_follow_up(text, language) is follows
