"""docker-compose.yml agrees with the code, the local run file, the components and the daprd build.

There is no Docker engine on the build machines, so the compose file is checked for structure: every
app-id has a service and a sidecar wired to it, with the same app port as its image, the same Dapr
configuration and components as `make run`, and the daprd version that `make run` builds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from helpdesk.topics import AppId, Component
from tests.support.deployfiles import (
    ROOT,
    compose,
    dapr_version,
    dockerfile_stages,
    exec_form,
    flag_value,
    local_components,
    run_file,
)

APPS = [app.value for app in AppId]
SIDECAR = "{}-dapr"
PUBLISHED = {AppId.GATEWAY.value, AppId.EVALUATOR.value}
"""Only the public API and the operators' API are reachable from the host."""


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def sidecar_command(app: str) -> list[str]:
    command = services()[SIDECAR.format(app)]["command"]
    assert isinstance(command, list), "write the daprd command as a list, one argument per item"
    return [str(a) for a in command]


def image_port(app: str) -> int:
    final = dockerfile_stages(ROOT / "services" / app / "Dockerfile")[-1]
    port = flag_value(exec_form(final.last("CMD") or "[]"), "--port")
    assert port is not None
    return int(port)


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """target -> (source, mode) of the service's bind mounts."""
    found = {}
    for volume in service.get("volumes") or []:
        parts = volume.split(":")
        found[parts[1]] = (parts[0], parts[2] if len(parts) > 2 else "rw")
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def test_exactly_redis_the_apps_and_their_sidecars() -> None:
    expected = {"redis"} | set(APPS) | {SIDECAR.format(app) for app in APPS}
    assert set(services()) == expected


def test_the_run_file_and_compose_know_the_same_apps() -> None:
    assert {app["appID"] for app in run_file()["apps"]} == set(APPS)


@pytest.mark.parametrize("app", APPS)
def test_each_app_is_built_from_its_own_dockerfile_at_the_repository_root(app: str) -> None:
    build = services()[app]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == f"services/{app}/Dockerfile"
    assert (ROOT / build["dockerfile"]).is_file()


@pytest.mark.parametrize("app", APPS)
def test_each_sidecar_shares_its_apps_network_namespace(app: str) -> None:
    sidecar = services()[SIDECAR.format(app)]
    assert sidecar["network_mode"] == f"service:{app}"
    assert "ports" not in sidecar
    assert app in sidecar["depends_on"]


@pytest.mark.parametrize("app", APPS)
def test_each_sidecar_runs_the_official_daprd_of_the_local_build(app: str) -> None:
    sidecar = services()[SIDECAR.format(app)]
    assert sidecar["image"] == f"daprio/daprd:{dapr_version()}"
    assert sidecar_command(app)[0] == "./daprd"


@pytest.mark.parametrize("app", APPS)
def test_each_sidecar_serves_its_app_id_on_the_port_its_image_listens_on(app: str) -> None:
    command = sidecar_command(app)
    assert flag_value(command, "--app-id") == app
    assert flag_value(command, "--app-protocol") == "http"
    assert int(flag_value(command, "--app-port") or 0) == image_port(app)
    assert flag_value(command, "--app-channel-address") == "127.0.0.1"


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize(
    "flag",
    [
        "--dapr-listen-addresses",
        "--dapr-internal-grpc-listen-address",
        "--dapr-public-listen-address",
        "--metrics-listen-address",
    ],
)
def test_every_port_of_each_sidecar_stays_on_the_loopback_it_shares_with_its_app(app: str, flag: str) -> None:
    """A listen address left out is every interface, reachable from the whole compose network: the
    internal gRPC port would hand anyone's call to the app with the app token."""
    assert flag_value(sidecar_command(app), flag) == "127.0.0.1"


@pytest.mark.parametrize("app", APPS)
def test_each_sidecar_opens_no_profiling_port(app: str) -> None:
    assert "--enable-profiling" not in sidecar_command(app)


@pytest.mark.parametrize("app", APPS)
def test_each_sidecar_loads_the_components_and_configuration_that_make_run_loads(app: str) -> None:
    sidecar = services()[SIDECAR.format(app)]
    command = sidecar_command(app)
    resources = flag_value(command, "--resources-path")
    assert resources is not None
    assert mounts(sidecar)[resources] == ("./components", "ro")

    spec = next(a for a in run_file()["apps"] if a["appID"] == app)
    local_config = Path(spec["configFilePath"])
    config = flag_value(command, "--config")
    assert config is not None
    assert Path(config).relative_to(resources) == local_config.relative_to("components")
    assert (ROOT / local_config).is_file()


@pytest.mark.parametrize("app", APPS)
def test_each_sidecar_has_every_variable_its_components_refer_to(app: str) -> None:
    sidecar = services()[SIDECAR.format(app)]
    env = environment(sidecar)
    needed = {ref for c in local_components().values() if app in c.scopes for ref in c.env_refs}
    assert needed <= set(env), f"{app}: sidecar lacks {sorted(needed - set(env))}"
    assert env["HELPDESK_REDIS_ADDRESS"] == "redis:6379"


@pytest.mark.parametrize("app", APPS)
def test_the_secrets_file_is_mounted_only_where_the_secret_store_is_scoped(app: str) -> None:
    sidecar = services()[SIDECAR.format(app)]
    store = local_components()[Component.SECRETSTORE.value]
    env = environment(sidecar)
    mounted = {target: source for target, (source, _) in mounts(sidecar).items()}
    if app in store.scopes:
        target = env["HELPDESK_SECRETS_FILE"]
        assert mounted[target].startswith("./.secrets/")
        assert mounts(sidecar)[target][1] == "ro"
    else:
        assert "HELPDESK_SECRETS_FILE" not in env
        assert not any(source.startswith("./.secrets/") for source in mounted.values())


def test_the_secrets_directory_is_ignored_by_git() -> None:
    assert ".secrets/" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("app", APPS)
def test_app_and_sidecar_share_the_dapr_tokens(app: str) -> None:
    app_service = services()[app]
    sidecar = services()[SIDECAR.format(app)]
    assert app_service["env_file"] == sidecar["env_file"]
    assert all(str(path).startswith(".secrets/") for path in sidecar["env_file"])
    for service in (app_service, sidecar):
        tokens = {"DAPR_API_TOKEN", "APP_API_TOKEN"} & set(environment(service))
        assert not tokens, "the tokens belong in the git-ignored env file"


def test_only_the_gateway_and_the_operator_api_are_published_on_the_host_loopback() -> None:
    published = {name for name, service in services().items() if service.get("ports")}
    assert published == PUBLISHED
    for name in published:
        for port in services()[name]["ports"]:
            host, _, container = str(port).rpartition(":")
            assert host.startswith("127.0.0.1:"), f"{name} publishes {port} beyond the host's loopback"
            assert int(container) == image_port(name)


def test_redis_keeps_an_append_only_file_and_emits_keyspace_events() -> None:
    command = " ".join(services()["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--notify-keyspace-events KEA" in command


@pytest.mark.parametrize("name", sorted({"redis", *APPS, *(SIDECAR.format(a) for a in APPS)}))
def test_every_image_tag_is_pinned(name: str) -> None:
    image = services()[name]["image"]
    _, _, tag = image.rpartition(":")
    assert re.match(r"^\d+\.\d+\.\d+", tag) or tag == "local", f"{name}: {image} is not pinned"
