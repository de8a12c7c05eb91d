"""What operator commands need to reach a running local stack: its addresses and tokens.

`helpdeskctl up` writes `.run/stack.json` (git-ignored, mode 0600) so that the other commands can talk
to the sidecars and to Redis without being told.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from helpdesk.dapr.bus import DaprEventBus
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.events import Contract
from helpdesk.settings import ServiceSettings
from helpdesk_ops.devstack import Stack
from helpdesk_ops.run_file import ROOT

STATE_FILE = Path(os.environ.get("HELPDESK_STACK_STATE") or ROOT / ".run" / "stack.json")
"""Where `up` records the running stack; HELPDESK_STACK_STATE points the commands at another one."""
BUILD_SCRIPT = ROOT / "scripts" / "build-daprd.sh"


def pinned_dapr_version() -> str:
    """The daprd version, from the one place it is pinned (scripts/build-daprd.sh)."""
    match = re.search(r'DAPR_VERSION="\$\{DAPR_VERSION:-([0-9.]+)\}"', BUILD_SCRIPT.read_text())
    if match is None:
        raise RuntimeError("no DAPR_VERSION in scripts/build-daprd.sh")
    return match.group(1)


def write_state(stack: Stack, path: Path = STATE_FILE) -> None:
    data = stack.describe() | {
        "dapr_api_token": stack.dapr_api_token,
        "api_key": stack.api_key,
        "operator_key": stack.operator_key,
        "redis_pid": stack.redis.proc.pid if stack.redis.proc else None,
        "replicas": [
            {
                "name": r.name,
                "app_id": r.app_id,
                "app": r.url,
                "dapr_http": r.dapr_http_port,
                "dapr_grpc": r.dapr_grpc_port,
                "pid": r.app.pid if r.app else None,
                "sidecar_pid": r.sidecar.pid if r.sidecar else None,
            }
            for r in stack.replicas
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)


@dataclass(frozen=True)
class LocalStack:
    data: dict[str, Any]

    @classmethod
    def load(cls, path: Path = STATE_FILE) -> LocalStack:
        if not path.exists():
            raise FileNotFoundError(
                "no running local stack found (.run/stack.json): start one with `make run`"
            )
        return cls(json.loads(path.read_text()))

    @property
    def redis_url(self) -> str:
        return f"redis://{self.data['redis']}"

    def replicas(self, app_id: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.data["replicas"] if app_id is None or r["app_id"] == app_id]

    def sidecar(self, app_id: str) -> httpx.Client:
        replica = self.replicas(app_id)[0]
        return httpx.Client(
            base_url=f"http://127.0.0.1:{replica['dapr_http']}",
            headers={"dapr-api-token": self.data["dapr_api_token"]},
            timeout=10.0,
        )

    async def publish(self, app_id: str, event: Contract) -> None:
        """Publish through a service's sidecar with the services' own event bus, so the event travels
        exactly as that service's would (the durable copy, and for live topics the copy on `broadcast`
        that wakes every replica)."""
        replica = self.replicas(app_id)[0]
        settings = ServiceSettings(
            DAPR_HTTP_PORT=replica["dapr_http"], DAPR_API_TOKEN=self.data["dapr_api_token"]
        )
        sidecar = Sidecar(settings, [])
        try:
            await DaprEventBus(sidecar, "helpdeskctl").publish(event)
        finally:
            await sidecar.close()
