"""The local stack's plan: the apps of `dapr.yaml` (the single source of truth for app-ids, ports,
commands and Dapr configuration), replica counts, and free ports for a second stack beside the first."""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port nobody listens on now, below the kernel's ephemeral range (where outgoing connections
    take their local ports, and could take this one before its server binds it), and not handed out
    before by this process (a stack plans all its ports before any process binds them)."""
    low, _ = _ephemeral_range()
    candidates = random.Random()
    while True:
        port = candidates.randrange(max(1024, low - 12000), low)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


@dataclass(frozen=True)
class AppSpec:
    """One app of `dapr.yaml`."""

    app_id: str
    app_port: int
    dapr_http_port: int
    dapr_grpc_port: int
    metrics_port: int
    config_file: Path
    command: list[str]
    env: dict[str, str]
    health_check: tuple[str, int, int] | None = None
    """(path, probe interval s, failure threshold): the sidecar pauses delivery while the app is down."""


@dataclass(frozen=True)
class RunFile:
    resources_path: Path
    log_level: str
    env: dict[str, str]
    apps: list[AppSpec]

    def app(self, app_id: str) -> AppSpec:
        return next(a for a in self.apps if a.app_id == app_id)


def load_run_file(path: Path = ROOT / "dapr.yaml") -> RunFile:
    data = yaml.safe_load(path.read_text())
    base = path.parent
    common = data.get("common", {})
    apps = [
        AppSpec(
            app_id=a["appID"],
            app_port=int(a["appPort"]),
            dapr_http_port=int(a["daprHTTPPort"]),
            dapr_grpc_port=int(a["daprGRPCPort"]),
            metrics_port=int(a["metricsPort"]),
            config_file=(base / a["configFilePath"]).resolve(),
            command=[str(c) for c in a["command"]],
            env={k: str(v) for k, v in (a.get("env") or {}).items()},
            health_check=(
                str(a.get("appHealthCheckPath", "/healthz")),
                int(a.get("appHealthProbeInterval", 5)),
                int(a.get("appHealthThreshold", 3)),
            )
            if a.get("enableAppHealthCheck")
            else None,
        )
        for a in data["apps"]
    ]
    return RunFile(
        resources_path=(base / common.get("resourcesPath", "./components")).resolve(),
        log_level=str(common.get("logLevel", "warn")),
        env={k: str(v) for k, v in (common.get("env") or {}).items()},
        apps=apps,
    )


def parse_replicas(text: str | None) -> dict[str, int]:
    """`"nlp=2 dialogue=3"` (spaces or commas) -> {"nlp": 2, "dialogue": 3}."""
    counts: dict[str, int] = {}
    for part in (text or "").replace(",", " ").split():
        name, _, value = part.partition("=")
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"replica count must look like name=N (N >= 1), not {part!r}")
        counts[name.strip()] = int(value)
    return counts
