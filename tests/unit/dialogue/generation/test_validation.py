"""What a model output must be before a user sees it (pure checks, no HTTP)."""

from __future__ import annotations

import json
import random
import re
import re._parser as regex_parser
from typing import Any

import pytest
from pydantic import ValidationError

from services.dialogue.generation import validation
from services.dialogue.generation.validation import ModelAnswer, Rejection, check, parse, strings

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


FENCED_ANSWER = '{"answer": "Do this.", "citations": ["faq-1"]}'


@pytest.mark.parametrize(
    "content",
    [
        FENCED_ANSWER,
        f"```{FENCED_ANSWER}```",
        f"```json{FENCED_ANSWER}```",
        f"```\n{FENCED_ANSWER}\n```",
        f"```json\n{FENCED_ANSWER}\n```",
        f"  \n ```json \n\t{FENCED_ANSWER}  \n```\n\n ",
        f"\n\n{FENCED_ANSWER}\n\n",
        f"```json\n{FENCED_ANSWER}\n```\u3000\u00a0",
    ],
    ids=[
        "bare",
        "fenced",
        "json-fenced",
        "fenced-lines",
        "json-fenced-lines",
        "whitespace-around",
        "unfenced-whitespace",
        "unicode-whitespace",
    ],
)
def test_a_model_answer_is_read_with_or_without_a_fence(content: str) -> None:
    answer = parse(content)
    assert answer is not None
    assert answer.answer == "Do this."
    assert answer.citations == ["faq-1"]


@pytest.mark.parametrize(
    "content",
    [
        f"```json\n{FENCED_ANSWER}",
        f"{FENCED_ANSWER}\n```",
        f"```JSON\n{FENCED_ANSWER}\n```",
        f"Here you go: ```json\n{FENCED_ANSWER}\n```",
        f"```json\n{FENCED_ANSWER}\n``` and more",
        "```",
        "`````",
        "``````",
    ],
    ids=[
        "opening-only",
        "closing-only",
        "upper-case-tag",
        "text-before",
        "text-after",
        "one-fence",
        "overlapping-fences",
        "empty-fence",
    ],
)
def test_an_answer_with_a_fence_at_one_end_only_or_text_outside_it_is_not_read(content: str) -> None:
    assert parse(content) is None


# The fence as it was read before: its result is the reference for every input below.
_FENCE_BEFORE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _as_read_before(content: str) -> ModelAnswer | None:
    fenced = _FENCE_BEFORE.match(content)
    try:
        data = json.loads(fenced.group(1) if fenced else content.strip())
        return ModelAnswer.model_validate(data) if isinstance(data, dict) else None
    except (ValueError, ValidationError):
        return None


def test_generated_fences_and_whitespace_are_read_as_before() -> None:
    """Seeded: every mix of fences, tags, whitespace and stray backticks around an answer."""
    rng = random.Random(7)
    pieces = [
        "```",
        "`",
        "json",
        "JSON",
        " ",
        "\n",
        "\t",
        "\u3000",
        "x",
        '"',
        FENCED_ANSWER,
        '{"answer": "```"}',
    ]
    for _ in range(3000):
        content = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert parse(content) == _as_read_before(content), repr(content)


def _unbounded_repeats(parsed: Any) -> int:
    """Repeats without an upper bound (`*`, `+`, `{n,}`, lazy or not) in a parsed pattern. An anchored
    match costs the text's length times the ways its repeats can share the same characters: with one
    unbounded repeat it is linear, with two that can match the same run (`\\s*` beside `.*?`) each
    end of the one is tried against each end of the other: the fence as it was took time cubic in a
    whitespace run's length."""
    found = 0
    for op, av in parsed:
        if op in (regex_parser.MAX_REPEAT, regex_parser.MIN_REPEAT, regex_parser.POSSESSIVE_REPEAT):
            _, high, sub = av
            found += (high == regex_parser.MAXREPEAT) + _unbounded_repeats(sub)
        elif op is regex_parser.SUBPATTERN:
            found += _unbounded_repeats(av[3])
        elif op is regex_parser.BRANCH:
            found += sum(_unbounded_repeats(branch) for branch in av[1])
    return found


def test_the_fence_is_read_with_one_unbounded_repeat() -> None:
    assert _unbounded_repeats(regex_parser.parse(_FENCE_BEFORE.pattern)) == 5
    assert _unbounded_repeats(regex_parser.parse(validation._FENCE.pattern)) == 1


def test_an_output_of_long_whitespace_runs_is_read() -> None:
    """The shapes that made the old fence slow: long whitespace runs inside and around a fence
    (the reference above takes about 40 s of CPU on each of the last two, so the outcomes are written
    out)."""
    run = " \n\t" * 1_400
    answer = parse(f"```json{run}{FENCED_ANSWER}{run}```{run}")
    assert answer is not None
    assert answer.answer == "Do this."
    assert parse(f"```{run}x") is None
    assert parse(f"```{run}``") is None
