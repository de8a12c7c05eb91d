"""Each sidecar's own edges, as configured: every port it opens is on loopback (the runner's daprd
command), no service invocation reaches the app, only the Dapr APIs the services use answer, and no
name resolver listens on the network. tests/security/test_sidecar_edges.py attacks the running stack;
this keeps the settings from drifting between runs of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpdesk.topics import AppId
from helpdesk_ops.devstack import LOOPBACK, Replica, Stack
from tests.support.deployfiles import COMPONENTS_DIR, flag_value, load_yaml

APPS = [app.value for app in AppId]

LISTEN_ADDRESS_FLAGS = [
    "--dapr-listen-addresses",  # the Dapr API, HTTP and gRPC
    "--dapr-internal-grpc-listen-address",  # sidecar to sidecar; hands calls to the app with the app token
    "--dapr-public-listen-address",  # health and metadata, when a public port is given
    "--metrics-listen-address",  # Prometheus
    "--app-channel-address",  # where the sidecar reaches the app
]
"""Every address daprd 1.18 listens on or connects to for its app; a flag left out means 0.0.0.0 for
the internal gRPC and metrics ports. Profiling (off) binds to the API's addresses."""

USED_APIS = {
    ("publish", "v1", "http"),
    ("state", "v1", "http"),
    ("secrets", "v1", "http"),
    ("metadata", "v1", "http"),
    ("configuration", "v1", "grpc"),
}
"""What helpdesk/dapr uses: publish, state and secrets over HTTP, the metadata read of /readyz, and the
configuration store's read and change stream over gRPC. Health is always allowed."""


def config(app: str) -> dict[str, Any]:
    spec: dict[str, Any] = load_yaml(COMPONENTS_DIR / "config" / f"{app}.yaml")["spec"]
    return spec


def sidecar_command(app: str, tmp_path: Path) -> list[str]:
    stack = Stack(run_dir=tmp_path, daprd="/opt/daprd", free_ports=True, echo=None)
    replica = Replica(app, 0, 18080, 13500, 15001, 19090)
    return stack._sidecar_command(stack.run_file.app(app), replica)


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("flag", LISTEN_ADDRESS_FLAGS)
def test_the_runner_keeps_every_sidecar_address_on_loopback(app: str, flag: str, tmp_path: Path) -> None:
    assert LOOPBACK == "127.0.0.1"
    assert flag_value(sidecar_command(app, tmp_path), flag) == LOOPBACK


@pytest.mark.parametrize("app", APPS)
def test_the_runner_does_not_enable_profiling(app: str, tmp_path: Path) -> None:
    assert "--enable-profiling" not in sidecar_command(app, tmp_path)


@pytest.mark.parametrize("app", APPS)
def test_no_service_invocation_reaches_the_app(app: str) -> None:
    acl = config(app)["accessControl"]
    assert acl["defaultAction"] == "deny"
    assert not acl.get("policies"), "the services talk by pub/sub only: no app may call another"


@pytest.mark.parametrize("app", APPS)
def test_only_the_apis_the_services_use_are_allowed(app: str) -> None:
    api = config(app)["api"]
    allowed = {(rule["name"], rule["version"], rule["protocol"]) for rule in api["allowed"]}
    assert allowed == USED_APIS
    # daprd applies no gRPC allow-list unless it has a gRPC rule.
    assert any(protocol == "grpc" for _, _, protocol in allowed)


@pytest.mark.parametrize("app", APPS)
def test_no_name_resolver_listens_on_the_network(app: str) -> None:
    resolution = config(app)["nameResolution"]
    assert resolution["component"] != "mdns"
    assert ".invalid:" in resolution["configuration"]["template"]
