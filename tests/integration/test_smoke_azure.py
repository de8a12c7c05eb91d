"""scripts/smoke-azure.sh against the real local stack, with only Azure's control plane stood in for.

The stand-in `az` (tests/support/fake_az.py) answers with the Azure CLI's own JSON, and answers from the
local helpdesk: a replica is ready when the local service's /readyz answers (its sidecar has loaded the
components), its console log is the local replica's log, App Configuration is the local configuration
store. The gateway and evaluator URLs are the local services', and the chat goes through the real
gateway, so the script's checks meet real answers, a real flag read and real readiness.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from helpdesk.topics import AppId
from helpdesk_ops.devstack import Stack
from tests.support.deployfiles import ROOT

pytestmark = pytest.mark.integration

SMOKE = ROOT / "scripts" / "smoke-azure.sh"
FAKE = ROOT / "tests" / "support" / "fake_az.py"
ENDPOINT = "https://appcs-test.azconfig.io"
SENTINEL = "helpdesk.sentinel"


def app_name(app: AppId) -> str:
    return f"ca-{app.value}-test"


def azure_state(stack: Stack, **apps: dict[str, Any]) -> dict[str, Any]:
    """The control plane's view of a deployment whose four apps are the local stack's replicas."""
    return {
        "resource_group": "rg-test",
        "appconfig_endpoint": ENDPOINT,
        "redis": stack.redis_address,
        "apps": {
            app_name(app): {
                "service": app.value,
                "image": f"crtest.azurecr.io/helpdesk/{app.value}-test:azd-deploy-1",
                "urls": [replica.url for replica in stack.of(app.value)],
                "logs": [str(replica.app.log_path) for replica in stack.of(app.value) if replica.app],
                **apps.get(app.value, {}),
            }
            for app in AppId
        },
    }


async def smoke(
    tmp_path: Path, stack: Stack, state: dict[str, Any], wait: int, api_key: str | None = None
) -> tuple[int, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, extra in (("az", ""), ("azd", " --azd")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}"{extra} "$@"\n')
        shim.chmod(0o755)
    state_file = tmp_path / "az-state.json"
    state_file.write_text(json.dumps(state))
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "FAKE_AZ_STATE": str(state_file),
        "AZURE_RESOURCE_GROUP": "rg-test",
        "AZURE_APP_CONFIGURATION_ENDPOINT": ENDPOINT,
        "HELPDESK_FLAGS_SENTINEL_KEY": SENTINEL,
        "SERVICE_GATEWAY_URI": stack.gateway_url(),
        "SERVICE_EVALUATOR_URI": stack.of("evaluator")[0].url,
        "HELPDESK_API_KEY": stack.api_key if api_key is None else api_key,
        "HELPDESK_SMOKE_WAIT_SECONDS": str(wait),
        "HELPDESK_SMOKE_POLL_SECONDS": "1",
        **{f"SERVICE_{app.value.upper()}_NAME": app_name(app) for app in AppId},
    }
    # Asynchronously: the stack copies the services' output to their log files on this event loop.
    process = await asyncio.create_subprocess_exec(
        str(SMOKE), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def flags_held(stack: Stack) -> dict[str, str]:
    """The flag definitions in the local configuration store, without Dapr's version suffix."""
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}", decode_responses=True)
    try:
        return {
            key: (await client.get(key) or "").rsplit("||", 1)[0]
            async for key in client.scan_iter("helpdesk.flags.*")
        }
    finally:
        await client.aclose()


async def test_the_smoke_check_passes_on_a_working_helpdesk(tmp_path: Path, stack: Stack) -> None:
    before = await flags_held(stack)

    status, output = await smoke(tmp_path, stack, azure_state(stack), wait=90)

    assert status == 0, output
    for app in AppId:
        assert f"ok    {app.value}: revision" in output, output
        assert f"ok    {app.value}: took up a change of flag" in output, output
    assert "ok    gateway: " in output
    assert "/readyz ready" in output
    assert "ok    chat: answered" in output
    assert await flags_held(stack) == before, "the store gets back what it held"


async def test_the_smoke_check_names_what_is_not_working(tmp_path: Path, stack: Stack) -> None:
    state = azure_state(
        stack,
        gateway={"health": "Unhealthy", "running": "Degraded"},
        nlp={"image": "docker.io/traefik/whoami:v1.11.0"},
        dialogue={"urls": ["http://127.0.0.1:9"]},
    )

    status, output = await smoke(tmp_path, stack, state, wait=3)

    assert status >= 3, output
    assert "FAIL  gateway: revision ca-gateway-test--azd-1 is Unhealthy (Degraded)" in output
    assert "FAIL  nlp: still runs the placeholder image" in output
    assert "FAIL  dialogue: revision" in output
    assert "container dialogue not ready" in output
    assert "ok    evaluator: revision" in output


async def test_without_an_api_key_the_chat_check_says_what_to_set(tmp_path: Path, stack: Stack) -> None:
    status, output = await smoke(tmp_path, stack, azure_state(stack), wait=60, api_key="")

    assert status == 1, output
    assert "FAIL  chat: no HELPDESK_API_KEY" in output
