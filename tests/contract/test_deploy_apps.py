"""The container apps of the Azure deployment (deploy/, azure.yaml) and of the local run (dapr.yaml,
docker-compose.yml, components/) agree: app-ids, the image port each service listens on, which apps take
external traffic, how each scales, how azd builds and passes the images, and the deployment guide names
every secret and flag key the services read. The components, topics and subscriptions are in
test_deploy_parity.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpdesk.flags import CONFIG_KEY_PREFIX
from helpdesk.topics import SUBSCRIPTIONS, AppId
from tests.support.deployfiles import (
    DEPLOY_DIR,
    ROOT,
    allowed_secrets,
    bicep,
    compose,
    dockerfile_stages,
    exec_form,
    flag_value,
    load_yaml,
    local_components,
    run_file,
)

APPS = [app.value for app in AppId]


def main() -> dict[str, Any]:
    return bicep(DEPLOY_DIR / "main.bicep")


def app_modules() -> dict[str, dict[str, Any]]:
    """app-id -> params of its container-app module in main.bicep."""
    found = {}
    for module in main()["modules"].values():
        if module["detail"]["path"] == "modules/container-app.bicep":
            params = module["config"]["params"]
            found[params["serviceName"]] = params
    return found


def backlog_rules(app: str) -> list[dict[str, Any]]:
    return [
        rule["custom"]
        for rule in app_modules()[app]["scaleRules"]
        if "custom" in rule and rule["custom"]["type"] == "azure-servicebus"
    ]


def image_port(app: str) -> int:
    final = dockerfile_stages(ROOT / "services" / app / "Dockerfile")[-1]
    return int(flag_value(exec_form(final.last("CMD") or "[]"), "--port") or 0)


def test_every_app_id_agrees_across_code_run_file_compose_components_azd_and_bicep() -> None:
    expected = set(APPS)
    assert {a["appID"] for a in run_file()["apps"]} == expected
    sidecars = {
        flag_value([str(a) for a in s["command"]], "--app-id")
        for name, s in compose()["services"].items()
        if name.endswith("-dapr")
    }
    assert sidecars == expected
    assert {scope for c in local_components().values() for scope in c.scopes} == expected
    assert set(app_modules()) == expected
    assert set(load_yaml(ROOT / "azure.yaml")["services"]) == expected


@pytest.mark.parametrize("app", APPS)
def test_each_container_app_runs_its_service_with_dapr_on_the_image_port(app: str) -> None:
    params = app_modules()[app]
    assert params["targetPort"] == "appPort"
    assert main()["variables"]["appPort"]["value"] == image_port(app)
    assert params["image"] == f"{app}Image"
    template = bicep(DEPLOY_DIR / "modules" / "container-app.bicep")
    dapr = template["resources"]["app"]["config"]["properties"]["configuration"]["dapr"]
    assert dapr == {
        "enabled": True,
        "appId": "serviceName",
        "appPort": "targetPort",
        "appProtocol": "http",
        "enableApiLogging": False,
        "logLevel": "warn",
    }


def test_only_the_gateway_and_the_operator_api_have_external_ingress() -> None:
    external = {app for app, params in app_modules().items() if params.get("external") is True}
    assert external == {AppId.GATEWAY.value, AppId.EVALUATOR.value}
    assert "allowedIpRanges" in app_modules()[AppId.EVALUATOR.value]


def test_the_gateway_scales_on_its_cpu() -> None:
    # its threshold, and why CPU rather than HTTP concurrency: test_sizing_defaults.py
    rules = app_modules()[AppId.GATEWAY.value]["scaleRules"]
    assert [rule["name"] for rule in rules] == ["cpu-utilisation"]
    assert rules[0]["custom"]["type"] == "cpu"


@pytest.mark.parametrize("app", [AppId.NLP, AppId.DIALOGUE, AppId.EVALUATOR])
def test_queue_workers_scale_on_their_own_subscription_backlog(app: AppId) -> None:
    rules = backlog_rules(app.value)
    assert rules, f"{app} has no backlog rule"
    assert app_modules()[app.value]["scalerIdentityId"] == "scalerId"
    for rule in rules:
        assert rule["identity"] == "scalerId"
        assert rule["metadata"]["subscriptionName"] == app.value
        assert rule["metadata"]["topicName"] in {t.value for t in SUBSCRIPTIONS[app]}
        assert rule["metadata"]["namespace"] == "sbNamespace"
    assert {r["metadata"]["topicName"] for r in rules} >= {SUBSCRIPTIONS[app][0].value}


def test_the_scaler_may_read_exactly_the_topics_the_rules_read() -> None:
    read = {r["metadata"]["topicName"] for app in APPS for r in backlog_rules(app)}
    assert set(main()["variables"]["scaledTopics"]["value"]) == read


def test_azd_builds_each_service_from_its_dockerfile_at_the_root() -> None:
    azure = load_yaml(ROOT / "azure.yaml")
    assert azure["infra"] == {"provider": "bicep", "path": "deploy", "module": "main"}
    for app, service in azure["services"].items():
        assert service["host"] == "containerapp"
        assert service["project"] == "."
        assert service["docker"]["context"] == "."
        assert service["docker"]["path"] == f"services/{app}/Dockerfile"


def test_azd_passes_each_deployed_image_back_to_the_template() -> None:
    parameters = json.loads((DEPLOY_DIR / "main.parameters.json").read_text())["parameters"]
    for app in APPS:
        assert parameters[f"{app}Image"]["value"] == f"${{SERVICE_{app.upper()}_IMAGE_NAME=}}"


# ---- secrets and flags -------------------------------------------------------------------------


def test_the_deployment_guide_names_every_secret_the_sidecars_may_read() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    secrets = {name for app in APPS for name in allowed_secrets(app)}
    assert secrets
    missing = sorted(name for name in secrets if f"`{name}`" not in guide)
    assert not missing, f"docs/deploy.md does not say how to set {missing}"


def test_the_deployment_guide_uses_the_flag_keys_the_services_read() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert f"{CONFIG_KEY_PREFIX}answer_mode" in guide
