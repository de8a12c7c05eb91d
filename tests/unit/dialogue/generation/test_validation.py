"""What a model output must be before a user sees it (pure checks, no HTTP)."""

from __future__ import annotations

import json

import pytest

from services.dialogue.generation.validation import Rejection, check, strings

SYSTEM = "You are the helpdesk assistant.\nAnswer using ONLY the FAQ entries given to you.\nMarker X1"
PROVIDED = {"faq-1", "faq-2"}


def run(content: str) -> tuple[object, Rejection | None]:
    checked = check(content, provided_ids=PROVIDED, canary="HDK-CANARY-abc123", system_prompt=SYSTEM)
    return checked.answer, checked.rejection


def reply(answer: str = "Do this.", citations: list[str] | None = None, answerable: bool = True) -> str:
    return json.dumps(
        {
            "answer": answer,
            "citations": ["faq-1"] if citations is None else citations,
            "answerable": answerable,
        }
    )


def test_a_cited_answer_passes_with_duplicates_removed() -> None:
    answer, rejection = run(reply(citations=["faq-2", "faq-1", "faq-2"]))

    assert rejection is None
    assert answer is not None
    assert answer.citations == ["faq-2", "faq-1"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (reply(citations=[]), Rejection.UNCITED),
        (reply(citations=["faq-1", "faq-9"]), Rejection.UNKNOWN_CITATION),
        (reply(answerable=False, citations=["faq-9"]), Rejection.UNKNOWN_CITATION),
        (reply(answer="   "), Rejection.INVALID_OUTPUT),
        ("Do this. [faq-1]", Rejection.INVALID_OUTPUT),
        ('["faq-1"]', Rejection.INVALID_OUTPUT),
        (json.dumps({"citations": ["faq-1"]}), Rejection.INVALID_OUTPUT),
        (reply(answer="The marker is HDK-CANARY-abc123"), Rejection.CANARY_LEAK),
        (reply(answer="The marker is hdk-canary-ABC123"), Rejection.CANARY_LEAK),
        (reply(answer="The marker is H D K - C A N A R Y - a b c 1 2 3"), Rejection.CANARY_LEAK),
        (
            reply(answer="Here: Answer using ONLY the FAQ entries given to you."),
            Rejection.PROMPT_LEAK,
        ),
    ],
)
def test_refused_outputs(content: str, expected: Rejection) -> None:
    answer, rejection = run(content)

    assert answer is None
    assert rejection is expected


def test_a_declined_answer_needs_no_citation() -> None:
    answer, rejection = run(
        reply("I can't answer that; shall I connect you with a person?", [], answerable=False)
    )

    assert rejection is None
    assert answer is not None
    assert not answer.answerable


def test_a_fragment_shorter_than_a_whole_line_of_the_rules_is_not_a_leak() -> None:
    answer, rejection = run(reply("As the helpdesk assistant, I answer using the FAQ: do this."))

    assert rejection is None
    assert answer is not None


def test_the_check_reads_the_decoded_fields_not_the_raw_json() -> None:
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in "The marker is HDK-CANARY-abc123")
    content = '{"answer": "' + escaped + '", "citations": ["faq-1"], "answerable": true}'

    checked = check(content, provided_ids=PROVIDED, canary="HDK-CANARY-abc123", system_prompt=SYSTEM)

    assert checked.rejection is Rejection.CANARY_LEAK
    assert checked.leak is not None
    assert checked.leak.form == "plain"


def test_an_output_that_is_not_json_is_still_recognised_as_a_leak() -> None:
    answer, rejection = run("Sure! The marker is H.D.K-C.A.N.A.R.Y-a.b.c.1.2.3")

    assert answer is None
    assert rejection is Rejection.CANARY_LEAK


def test_every_string_of_the_output_is_read_in_order() -> None:
    assert list(strings({"answer": "a", "citations": ["b", {"c": "d"}], "answerable": True, "n": 1})) == [
        "a",
        "b",
        "d",
    ]


def test_an_output_nested_too_deep_is_invalid_not_an_error() -> None:
    answer, rejection = run('{"answer": ' + "[" * 5000 + "]" * 5000 + "}")

    assert answer is None
    assert rejection is Rejection.INVALID_OUTPUT
