"""The shared price table and prompt library: every service prices and finds prompts the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from helpdesk.events import Language
from helpdesk.llm.prices import ModelPrice, PriceTable
from helpdesk.llm.prompts import Prompt, PromptLibrary, PromptNotFound, fill, placeholders
from helpdesk.llm.settings import DEFAULT_PROMPTS_DIR

ROOT = Path(__file__).resolve().parents[3]


def test_cost_is_per_thousand_tokens_of_each_kind() -> None:
    table = PriceTable(models={"gpt-4o-mini": ModelPrice(prompt_per_1k=0.5, completion_per_1k=2.0)})
    assert table.cost("gpt-4o-mini", 1000, 500) == 1.5


def test_a_model_missing_from_the_price_table_costs_zero_and_is_counted() -> None:
    before = REGISTRY.get_sample_value("helpdesk_llm_unpriced_total", {"model": "mystery"}) or 0.0

    assert PriceTable().cost("mystery", 1000, 1000) == 0.0
    assert REGISTRY.get_sample_value("helpdesk_llm_unpriced_total", {"model": "mystery"}) == before + 1


def test_the_shipped_price_table_prices_the_default_model_and_the_judge() -> None:
    defaults = json.loads((ROOT / "flags" / "defaults.json").read_text())
    table = PriceTable.load(DEFAULT_PROMPTS_DIR / "prices.yaml")

    assert defaults["model"]["value"] in table.models
    assert "gpt-4o-mini" in table.models


def prompt(**overrides: object) -> Prompt:
    fields: dict[str, object] = {
        "id": "grounded",
        "version": 1,
        "language": "en",
        "system": "Rules v1.",
        "user": "${question}",
        **overrides,
    }
    return Prompt.model_validate(fields)


def test_a_version_can_be_pinned_and_the_newest_is_the_default() -> None:
    library = PromptLibrary([prompt(version=1), prompt(version=2)])

    assert library.resolve("grounded", Language.EN).ref == "grounded@2"
    assert library.resolve("grounded@1", Language.EN).ref == "grounded@1"
    assert library.resolve("grounded", Language.JA).language is Language.EN
    with pytest.raises(PromptNotFound):
        library.resolve("grounded@3", Language.EN)
    with pytest.raises(PromptNotFound):
        library.resolve("grounded@latest", Language.EN)
    with pytest.raises(PromptNotFound):
        library.resolve("judge", Language.EN)


def test_a_language_with_its_own_file_gets_it() -> None:
    library = PromptLibrary([prompt(), prompt(language="ja", system="規則")])

    assert library.resolve("grounded", Language.JA).system == "規則"


def test_two_files_for_the_same_prompt_version_and_language_are_refused() -> None:
    with pytest.raises(ValueError, match="two files"):
        PromptLibrary([prompt(), prompt()])


@pytest.mark.parametrize(
    "broken", [{"language": "other"}, {"version": 0}, {"id": "Has Spaces"}, {"surprise": "field"}]
)
def test_a_prompt_file_with_wrong_fields_does_not_load(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        prompt(**broken)


def test_loading_reads_prompt_files_only_and_by_kind_when_asked(tmp_path: Path) -> None:
    (tmp_path / "prices.yaml").write_text(yaml.safe_dump({"currency": "USD", "models": {}}))
    (tmp_path / "judge.v1.en.yaml").write_text(
        yaml.safe_dump({"id": "judge", "version": 1, "language": "en", "system": "s", "user": "u"})
    )
    (tmp_path / "grounded.v1.en.yaml").write_text(
        yaml.safe_dump(
            {"kind": "answer", "id": "grounded", "version": 1, "language": "en", "system": "s", "user": "u"}
        )
    )

    assert PromptLibrary.load(tmp_path, Prompt).refs == ["grounded@1", "judge@1"]
    assert PromptLibrary.load(tmp_path, Prompt, kind="answer").refs == ["grounded@1"]


def test_a_broken_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / "judge.v1.en.yaml").write_text(yaml.safe_dump({"id": "judge", "version": 1}))

    with pytest.raises(ValueError, match=r"judge\.v1\.en\.yaml"):
        PromptLibrary.load(tmp_path, Prompt)


def test_every_shipped_prompt_file_loads() -> None:
    library = PromptLibrary.load(DEFAULT_PROMPTS_DIR, Prompt)

    assert {"judge@1", "faq-draft@1", "grounded@1", "grounded-concise@1"} <= set(library.refs)
    for path in DEFAULT_PROMPTS_DIR.glob("*.v*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert path.name == f"{data['id']}.v{data['version']}.{data['language']}.yaml"


def test_templates_name_their_placeholders_and_fill_only_those_given() -> None:
    assert placeholders("${question} and $answer, $$ literal") == {"question", "answer"}
    assert fill("${question} (${missing})", question="Why?") == "Why? (${missing})"
