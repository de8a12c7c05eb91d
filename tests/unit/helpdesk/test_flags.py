"""Feature flags: definitions, sticky weighted splits, the OpenFeature provider and the store follower."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import Reason
from pydantic import ValidationError

from helpdesk.dapr.configstore_flags import ConfigStoreFollower, FlagTable
from helpdesk.flags import Flag, FlagDefinition, config_key, evaluate, load_defaults, parse_definition
from helpdesk.memory_ports import memory_runtime

DEFAULTS_FILE = Path(__file__).resolve().parents[3] / "flags" / "defaults.json"

AB = FlagDefinition(split={"a": 70, "b": 30, "never": 0})


# --- definitions ---------------------------------------------------------------------------------


def test_the_shipped_defaults_define_every_flag() -> None:
    defaults = load_defaults(DEFAULTS_FILE)

    assert set(defaults) == {flag.value for flag in Flag}
    assert defaults[Flag.ANSWER_MODE].value in ("faq", "llm")
    assert defaults[Flag.BUDGET_EXHAUSTED_BEHAVIOUR].value in ("faq_only", "reject")


@pytest.mark.parametrize(
    "data",
    [{}, {"split": {}}, {"split": {"a": -1, "b": 2}}, {"split": {"a": 0}}, {"value": 1, "unknown": 2}],
)
def test_invalid_definitions_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FlagDefinition.model_validate(data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"value": "llm"}', FlagDefinition(value="llm")),
        ("llm", FlagDefinition(value="llm")),
        ("true", FlagDefinition(value=True)),
        ("false", FlagDefinition(value=False)),
        ("3", FlagDefinition(value=3)),
        ('{"split": {"x": 1}}', FlagDefinition(split={"x": 1})),
        ('{"other": 1}', FlagDefinition(value={"other": 1})),
    ],
)
def test_stored_values_parse_as_definitions_or_bare_values(raw: str, expected: FlagDefinition) -> None:
    assert parse_definition(raw) == expected


# --- evaluation ---------------------------------------------------------------------------------


def test_a_static_flag_gives_everyone_its_value() -> None:
    result = evaluate("model", FlagDefinition(value="gpt-4o"), "user-1")

    assert (result.value, result.variant, result.reason) == ("gpt-4o", "static", "STATIC")


def test_a_split_is_sticky_per_user_and_independent_of_replica_or_order() -> None:
    first = [evaluate("prompt_variant", AB, f"user-{n}").variant for n in range(500)]
    again = [evaluate("prompt_variant", AB, f"user-{n}").variant for n in reversed(range(500))][::-1]

    assert first == again


def test_a_split_follows_its_weights_and_never_picks_a_zero_weight_arm() -> None:
    arms = [evaluate("prompt_variant", AB, f"user-{n}").variant for n in range(5000)]

    assert "never" not in arms
    assert abs(arms.count("a") / len(arms) - 0.7) < 0.03


def test_different_flags_split_the_same_users_independently() -> None:
    half = FlagDefinition(split={"x": 50, "y": 50})
    one = [evaluate("flag_one", half, f"user-{n}").variant for n in range(1000)]
    two = [evaluate("flag_two", half, f"user-{n}").variant for n in range(1000)]

    agreement = sum(a == b for a, b in zip(one, two, strict=True)) / 1000
    assert 0.4 < agreement < 0.6


def test_a_split_maps_arms_to_values_when_variants_are_given() -> None:
    definition = FlagDefinition(split={"small": 1}, variants={"small": "gpt-4o-mini"})

    assert evaluate("model", definition, "user-1").value == "gpt-4o-mini"


def test_without_a_targeting_key_the_first_arm_is_the_default() -> None:
    result = evaluate("prompt_variant", AB, None)

    assert (result.variant, result.reason) == ("a", "DEFAULT")


# --- the OpenFeature provider -------------------------------------------------------------------


def test_the_openfeature_client_reads_the_table_and_follows_changes_at_once() -> None:
    runtime = memory_runtime("flags-test-live", flags={"answer_mode": FlagDefinition(value="faq")})
    client = runtime.flags

    assert client.get_string_value(Flag.ANSWER_MODE, "faq") == "faq"
    changed = runtime.flag_table.apply({config_key("answer_mode"): '{"value": "llm"}'})
    assert changed == ["answer_mode"]
    assert client.get_string_value(Flag.ANSWER_MODE, "faq") == "llm"
    runtime.flag_table.apply({config_key("answer_mode"): ""})
    assert client.get_string_value(Flag.ANSWER_MODE, "llm") == "faq", (
        "a deleted key falls back to the default"
    )


def test_sticky_splits_through_openfeature_report_the_arm() -> None:
    runtime = memory_runtime("flags-test-split", flags={"prompt_variant": AB})

    details = runtime.flags.get_string_details(
        Flag.PROMPT_VARIANT, "fallback", EvaluationContext(targeting_key="user-42")
    )

    assert details.value == evaluate("prompt_variant", AB, "user-42").value
    assert details.variant == details.value
    assert details.reason == Reason.SPLIT


def test_unknown_flags_and_wrong_types_give_the_callers_default() -> None:
    runtime = memory_runtime("flags-test-errors", flags={"judge_enabled": FlagDefinition(value="yes")})

    assert runtime.flags.get_boolean_value(Flag.JUDGE, False) is False
    assert runtime.flags.get_string_value("no_such_flag", "dflt") == "dflt"
    assert runtime.flags.get_integer_value("judge_enabled", 7) == 7


def test_an_invalid_stored_definition_keeps_the_previous_one() -> None:
    table = FlagTable({"model": FlagDefinition(value="gpt-4o-mini")})
    table.apply({config_key("model"): '{"value": "gpt-4o"}'})

    changed = table.apply({config_key("model"): '{"split": {}}'})

    assert changed == []
    assert table.get("model") == FlagDefinition(value="gpt-4o")


# --- the configuration store follower -----------------------------------------------------------


@dataclass
class _Item:
    value: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class _Response:
    items: dict[str, _Item]


@dataclass
class _FakeStub:
    updates: asyncio.Queue[dict[str, str]] = field(default_factory=asyncio.Queue)
    requests: list[Any] = field(default_factory=list)

    def SubscribeConfiguration(self, request: Any) -> AsyncIterator[_Response]:
        self.requests.append(request)

        async def stream() -> AsyncIterator[_Response]:
            yield _Response({})
            while True:
                update = await self.updates.get()
                yield _Response({key: _Item(value) for key, value in update.items()})

        return stream()


@dataclass
class _FakeClient:
    """The sidecar's configuration API over one store. `refuses_missing` answers as Dapr's
    configuration.azure.appconfig does: a read naming a key the store does not hold fails as a whole,
    and a read naming no keys returns everything the store holds (every label, every key)."""

    stored: dict[str, str]
    fail: bool = False
    refuses_missing: bool = False
    labelled: dict[str, _Item] = field(default_factory=dict)
    _stub: _FakeStub = field(default_factory=_FakeStub)

    async def get_configuration(self, store: str, keys: list[str]) -> _Response:
        if self.fail:
            raise ConnectionError("configuration store down")
        if not keys:
            return _Response({k: _Item(v) for k, v in self.stored.items()} | self.labelled)
        if self.refuses_missing and any(k not in self.stored for k in keys):
            raise RuntimeError("failed to get configuration: 404 KeyValue not found")
        return _Response({k: _Item(v) for k, v in self.stored.items() if k in keys})


@dataclass
class _FakeSidecar:
    client: _FakeClient


async def _until(condition: Any, attempts: int = 500) -> None:
    """Wait for a background task to change the table (at most a few seconds)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the flag table did not change")


async def test_the_follower_reads_the_store_at_start_then_follows_its_change_stream() -> None:
    table = FlagTable(load_defaults(DEFAULTS_FILE))
    client = _FakeClient({config_key("answer_mode"): '{"value": "llm"}'})
    follower = ConfigStoreFollower(_FakeSidecar(client), table, refresh_seconds=60)  # type: ignore[arg-type]

    await follower.start()
    try:
        assert table.get("answer_mode") == FlagDefinition(value="llm")
        await client._stub.updates.put({config_key("answer_mode"): '{"value": "faq"}'})
        await _until(lambda: table.get("answer_mode") == FlagDefinition(value="faq"))
    finally:
        await follower.stop()


async def test_the_follower_rereads_periodically_in_case_the_stream_missed_a_change() -> None:
    table = FlagTable(load_defaults(DEFAULTS_FILE))
    client = _FakeClient({})
    follower = ConfigStoreFollower(_FakeSidecar(client), table, refresh_seconds=0.05)  # type: ignore[arg-type]

    await follower.start()
    try:
        client.stored[config_key("model")] = '{"value": "gpt-4o"}'
        await _until(lambda: table.get("model") == FlagDefinition(value="gpt-4o"))
    finally:
        await follower.stop()


async def test_a_store_that_does_not_answer_leaves_the_defaults_in_force() -> None:
    defaults = load_defaults(DEFAULTS_FILE)
    table = FlagTable(defaults)
    follower = ConfigStoreFollower(_FakeSidecar(_FakeClient({}, fail=True)), table, 60)  # type: ignore[arg-type]

    await follower.refresh()

    assert table.get("answer_mode") == defaults["answer_mode"]
    assert follower.keys == [config_key(name) for name in defaults]


SENTINEL = "helpdesk.sentinel"


async def test_a_store_that_refuses_missing_keys_still_yields_the_flags_it_holds() -> None:
    table = FlagTable(load_defaults(DEFAULTS_FILE))
    client = _FakeClient({config_key("answer_mode"): '{"value": "llm"}'}, refuses_missing=True)
    follower = ConfigStoreFollower(_FakeSidecar(client), table, refresh_seconds=60)  # type: ignore[arg-type]

    await follower.refresh()

    assert table.get("answer_mode") == FlagDefinition(value="llm")


async def test_a_flag_deleted_from_the_store_returns_to_its_default_on_the_next_read() -> None:
    defaults = load_defaults(DEFAULTS_FILE)
    table = FlagTable(defaults)
    client = _FakeClient({config_key("answer_mode"): '{"value": "llm"}'})
    follower = ConfigStoreFollower(_FakeSidecar(client), table, refresh_seconds=60)  # type: ignore[arg-type]
    await follower.refresh()
    assert table.get("answer_mode") == FlagDefinition(value="llm")

    del client.stored[config_key("answer_mode")]
    await follower.refresh()

    assert table.get("answer_mode") == defaults["answer_mode"]


async def test_with_a_sentinel_the_whole_store_is_read_and_only_unlabelled_flag_keys_count() -> None:
    defaults = load_defaults(DEFAULTS_FILE)
    table = FlagTable(defaults)
    client = _FakeClient(
        {config_key("answer_mode"): '{"value": "llm"}', SENTINEL: "7", "billing.plan": "gold"},
        refuses_missing=True,
        labelled={config_key("model"): _Item('{"value": "gpt-x"}', {"label": "staging"})},
    )
    follower = ConfigStoreFollower(
        _FakeSidecar(client),  # type: ignore[arg-type]
        table,
        refresh_seconds=60,
        sentinel_key=SENTINEL,
    )

    await follower.refresh()

    assert table.get("answer_mode") == FlagDefinition(value="llm")
    assert table.get("model") == defaults["model"]
    assert set(table.stored) == {"answer_mode"}


async def test_with_a_sentinel_the_follower_subscribes_with_no_keys_and_the_sentinel() -> None:
    defaults = load_defaults(DEFAULTS_FILE)
    table = FlagTable(defaults)
    client = _FakeClient({config_key("answer_mode"): '{"value": "llm"}', SENTINEL: "1"}, refuses_missing=True)
    follower = ConfigStoreFollower(
        _FakeSidecar(client),  # type: ignore[arg-type]
        table,
        refresh_seconds=60,
        sentinel_key=SENTINEL,
    )

    await follower.start()
    try:
        await _until(lambda: bool(client._stub.requests))
        request = client._stub.requests[0]
        assert list(request.keys) == []
        assert dict(request.metadata) == {"sentinelKey": SENTINEL}
        # The component sends the whole store when the sentinel changes: a flag no longer in it is gone.
        await client._stub.updates.put({SENTINEL: "2", config_key("model"): '{"value": "gpt-4o"}'})
        await _until(lambda: table.get("model") == FlagDefinition(value="gpt-4o"))
        assert table.get("answer_mode") == defaults["answer_mode"]
    finally:
        await follower.stop()


async def test_without_a_sentinel_the_follower_subscribes_to_the_flag_keys() -> None:
    table = FlagTable(load_defaults(DEFAULTS_FILE))
    client = _FakeClient({})
    follower = ConfigStoreFollower(_FakeSidecar(client), table, refresh_seconds=60)  # type: ignore[arg-type]

    await follower.start()
    try:
        await _until(lambda: bool(client._stub.requests))
        assert list(client._stub.requests[0].keys) == follower.keys
        assert dict(client._stub.requests[0].metadata) == {}
    finally:
        await follower.stop()


async def test_a_key_refused_on_a_per_key_read_keeps_the_flag_the_table_holds() -> None:
    table = FlagTable(load_defaults(DEFAULTS_FILE))
    client = _FakeClient(
        {config_key("answer_mode"): '{"value": "llm"}', config_key("model"): '{"value": "gpt-4o"}'},
        refuses_missing=True,
    )
    follower = ConfigStoreFollower(_FakeSidecar(client), table, refresh_seconds=60)  # type: ignore[arg-type]
    await follower.refresh()

    del client.stored[config_key("model")]
    client.stored[config_key("answer_mode")] = '{"value": "faq"}'
    await follower.refresh()

    assert table.get("answer_mode") == FlagDefinition(value="faq")
    assert table.get("model") == FlagDefinition(value="gpt-4o"), "a refused key is not proof of deletion"
