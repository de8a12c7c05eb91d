"""The Azure template scales as the kept measurement says, not as someone guessed: deploy/main.bicep's
scaling defaults, replica sizes, the gateway's CPU rule and the messages a sidecar may hold are what
`bench.sizing` derives from bench/data/sizing-measured.json. After a new measurement the file is
replaced (`python -m bench.sizing ... --record-to`), and these checks fail until the template carries
what `python -m bench.sizing --recorded bench/data/sizing-measured.json` prints.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bench.sizing import (
    APPS,
    CPU_UTILISATION_PARAMETER,
    MESSAGE_COUNT_PARAMETERS,
    RECORDED,
    Plan,
    Recorded,
    max_active_messages,
    read_recorded,
    template_defaults,
)
from services.evaluator.settings import EvaluatorSettings
from tests.support.deployfiles import DEPLOY_DIR, ROOT, bicep, bicep_text, render

REDERIVE = f".venv/bin/python -m bench.sizing --recorded {RECORDED.relative_to(ROOT)}"


def kept() -> Recorded:
    return read_recorded(RECORDED)


def derived() -> dict[str, int]:
    measurement = kept()
    plan = Plan(measurement.sizes, measurement.utilisation, measurement.target_lag, True, 0.0, 0.0)
    return template_defaults(measurement.measured, plan)


def main() -> dict[str, Any]:
    return bicep(DEPLOY_DIR / "main.bicep")


def app_modules() -> dict[str, dict[str, Any]]:
    """app-id -> params of its container-app module in main.bicep."""
    return {
        module["config"]["params"]["serviceName"]: module["config"]["params"]
        for module in main()["modules"].values()
        if module["detail"]["path"] == "modules/container-app.bicep"
    }


def component_params() -> dict[str, Any]:
    """What main.bicep passes to the Dapr components module."""
    (module,) = [
        m for m in main()["modules"].values() if m["detail"]["path"] == "modules/dapr-components.bicep"
    ]
    return dict(module["config"]["params"])


def pubsub_metadata() -> dict[str, Any]:
    tree = bicep(DEPLOY_DIR / "modules" / "dapr-components.bicep")
    (pubsub,) = [r for r in tree["resources"].values() if r["config"]["name"] == "pubsub"]
    return {item["name"]: item["value"] for item in pubsub["config"]["properties"]["metadata"]}


def min_value(parameter: str) -> int | None:
    for decorator in main()["parameters"][parameter]["decorators"]:
        if decorator["type"] == "min_value":
            return int(decorator["argument"])
    return None


def differences(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each scaling parameter whose default is not what the kept measurement derives."""
    declared = template["parameters"]
    return {
        name: {"template": declared.get(name, {}).get("default"), "derived": value}
        for name, value in derived().items()
        if declared.get(name, {}).get("default") != value
    }


def test_every_scaling_default_is_what_the_kept_measurement_derives() -> None:
    differ = differences(main())
    assert not differ, f"deploy/main.bicep differs from what `{REDERIVE}` derives: {differ}"


@pytest.mark.parametrize(
    ("parameter", "change"),
    [("dialogueMessagesPerReplica", -35), ("gatewayCpuUtilization", 15), ("evaluatorMessagesPerReplica", 21)],
)
def test_a_default_changed_by_hand_is_told_apart(parameter: str, change: int) -> None:
    text = (DEPLOY_DIR / "main.bicep").read_text()
    line = f"param {parameter} int = {derived()[parameter]}"
    assert line in text

    changed = f"param {parameter} int = {derived()[parameter] + change}"
    differ = differences(bicep_text(text.replace(line, changed)))

    assert list(differ) == [parameter], differ


def test_each_replica_has_the_size_the_sizing_assumed() -> None:
    sizes = kept().sizes
    for app in APPS:
        params = app_modules()[app]
        assert float(params["cpu"]) == sizes[app], f"{app}: cpu {params['cpu']}, sized at {sizes[app]}"
        # the sizing's cost counts the Consumption pairs: 2 GiB per vCPU
        assert params["memory"] == f"{2 * sizes[app]:g}Gi", app


def test_each_backlog_rule_takes_its_apps_derived_message_count() -> None:
    for app, parameter in MESSAGE_COUNT_PARAMETERS.items():
        rules = [r["custom"] for r in app_modules()[app]["scaleRules"] if "custom" in r]
        counts = {render(r["metadata"]["messageCount"]) for r in rules if r["type"] == "azure-servicebus"}
        assert counts == {f"string({parameter})"}, app


def test_the_gateway_scales_on_its_cpu_at_the_target_utilisation() -> None:
    rules = app_modules()["gateway"]["scaleRules"]

    assert len(rules) == 1, "a second rule would scale the gateway whenever its own condition is met"
    assert rules[0]["custom"]["type"] == "cpu"
    metadata = {key: render(value) for key, value in rules[0]["custom"]["metadata"].items()}
    assert metadata == {"type": "Utilization", "value": f"string({CPU_UTILISATION_PARAMETER})"}
    assert derived()[CPU_UTILISATION_PARAMETER] == round(kept().utilisation * 100)


def test_a_gateway_scaled_on_cpu_keeps_at_least_one_replica() -> None:
    # a CPU rule cannot scale to zero, nor start a replica from none
    assert (min_value("gatewayMinReplicas") or 0) >= 1
    assert main()["parameters"]["gatewayMinReplicas"]["default"] >= 1


def test_a_replicas_own_held_messages_never_ask_for_another_replica() -> None:
    # KEDA counts a subscription's active messages, and the messages a sidecar holds locked (up to
    # maxActiveMessages per subscription) are among them: held <= messageCount for every backlog rule
    held = pubsub_metadata()
    assert render(held["maxActiveMessages"]) == "string(pubsubMaxActiveMessages)"
    passed = render(component_params()["pubsubMaxActiveMessages"])
    assert passed.startswith("min("), passed
    assert set(re.findall(r"\w+", passed.removeprefix("min("))) == set(MESSAGE_COUNT_PARAMETERS.values())

    defaults = {name: main()["parameters"][name]["default"] for name in MESSAGE_COUNT_PARAMETERS.values()}
    assert min(defaults.values()) == max_active_messages(derived())


def test_a_sidecar_may_hold_at_least_what_it_hands_out_at_once() -> None:
    # Dapr's servicebus component: maxActiveMessages "should be at least as big as" maxConcurrentHandlers;
    # each messageCount parameter's floor keeps it so under any override
    handlers = int(pubsub_metadata()["maxConcurrentHandlers"])
    for parameter in MESSAGE_COUNT_PARAMETERS.values():
        assert (min_value(parameter) or 0) >= handlers, parameter
    tree = bicep(DEPLOY_DIR / "modules" / "dapr-components.bicep")
    floors = [
        d["argument"]
        for d in tree["parameters"]["pubsubMaxActiveMessages"]["decorators"]
        if d["type"] == "min_value"
    ]
    assert floors == [handlers]


def test_the_evaluators_batches_fit_what_its_sidecar_may_hold() -> None:
    # The servicebus component cuts a bulk subscription's maxMessagesCount to maxActiveMessages and
    # warns on every subscribe; the floor of maxActiveMessages holds under any override of the counts
    tree = bicep(DEPLOY_DIR / "modules" / "dapr-components.bicep")
    (floor,) = [
        int(d["argument"])
        for d in tree["parameters"]["pubsubMaxActiveMessages"]["decorators"]
        if d["type"] == "min_value"
    ]
    assert EvaluatorSettings().bulk_max_messages <= floor
