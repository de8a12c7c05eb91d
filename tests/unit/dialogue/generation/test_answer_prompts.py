"""The answer prompts in prompts/ and the rules every answer prompt must keep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openfeature.evaluation_context import EvaluationContext

from helpdesk.events import Language
from helpdesk.flags import Flag, load_defaults
from helpdesk.llm.settings import DEFAULT_PROMPTS_DIR
from helpdesk.memory_ports import memory_runtime
from services.dialogue.generation.answer_prompts import (
    AnswerPrompt,
    AnswerPrompts,
    FaqContext,
    load_answer_prompts,
)

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def library() -> AnswerPrompts:
    return load_answer_prompts(DEFAULT_PROMPTS_DIR)


def test_every_answer_prompt_exists_in_english_and_japanese(library: AnswerPrompts) -> None:
    assert {"grounded@1", "grounded-concise@1"} <= set(library.refs)
    for ref in library.refs:
        for language in (Language.EN, Language.JA):
            assert library.resolve(ref, language).language is language


def test_every_arm_of_the_prompt_variant_flag_names_a_prompt(library: AnswerPrompts) -> None:
    definition = load_defaults(ROOT / "flags" / "defaults.json")[Flag.PROMPT_VARIANT]
    assert definition.split, "the prompt variant is an A/B split"
    arms = [(definition.variants or {}).get(arm, arm) for arm in definition.split]
    assert len(arms) >= 2
    for arm in arms:
        library.resolve(arm, Language.EN)


def test_the_split_is_sticky_per_user_and_follows_the_weights(library: AnswerPrompts) -> None:
    defaults = load_defaults(ROOT / "flags" / "defaults.json")
    flags = memory_runtime("dialogue", flags=defaults).flags

    def arm(user: str) -> str:
        return flags.get_string_value(Flag.PROMPT_VARIANT, "grounded", EvaluationContext(targeting_key=user))

    users = [f"user-{n}" for n in range(2000)]
    first = {user: arm(user) for user in users}

    assert all(arm(user) == first[user] for user in users[:200])
    counts = {name: list(first.values()).count(name) for name in set(first.values())}
    split = defaults[Flag.PROMPT_VARIANT].split or {}
    total = sum(split.values())
    for name, weight in split.items():
        assert abs(counts.get(name, 0) / len(users) - weight / total) < 0.05


def yaml_prompt(**overrides: object) -> dict[str, object]:
    return {
        "kind": "answer",
        "id": "grounded",
        "version": 1,
        "language": "en",
        "system": "Rules. Marker ${canary}. Answer in ${language_name}.",
        "user": "<faq_context>${faq_context}</faq_context><question>${question}</question>",
        "faq_entry": '<faq id="${id}">${question} ${answer}</faq>',
        **overrides,
    }


@pytest.mark.parametrize(
    "broken",
    [
        {"system": "Rules without a canary. ${language_name}"},
        {"user": "${question} without the FAQ context"},
        {"user": "<faq_context>${faq_context}</faq_context>${question} ${canary}"},
        {"system": "Rules ${canary} ${language_name} ${surprise}"},
        {"language": "other"},
        {"version": 0},
    ],
)
def test_a_prompt_breaking_the_rules_does_not_load(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        AnswerPrompt.model_validate(yaml_prompt(**broken))


def test_other_kinds_of_prompt_files_beside_them_are_left_alone(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "judge.v1.en.yaml").write_text(yaml.safe_dump({"id": "judge", "system": "no canary"}))
    (tmp_path / "grounded.v1.en.yaml").write_text(yaml.safe_dump(yaml_prompt()))

    assert load_answer_prompts(tmp_path).refs == ["grounded@1"]


def test_rendering_puts_the_canary_in_the_system_message_only_and_escapes_the_data() -> None:
    prompt = AnswerPrompt.model_validate(yaml_prompt())
    system, user = prompt.messages(
        'Is "<script>" & co allowed?',
        Language.JA,
        [FaqContext('faq"1', "</faq>", "A & B")],
        "CANARY-123",
    )

    assert "CANARY-123" in system["content"]
    assert "CANARY-123" not in user["content"]
    assert "Answer in Japanese." in system["content"]
    assert '<question>Is "&lt;script&gt;" &amp; co allowed?</question>' in user["content"]
    assert '<faq id="faq&quot;1">&lt;/faq&gt; A &amp; B</faq>' in user["content"]


def test_the_prompt_files_are_valid_yaml_with_the_documented_fields() -> None:
    import yaml

    for path in sorted((ROOT / "prompts").glob("grounded*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["kind"] == "answer", path.name
        assert path.name == f"{data['id']}.v{data['version']}.{data['language']}.yaml"
        json.dumps(data)
