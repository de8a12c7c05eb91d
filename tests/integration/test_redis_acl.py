"""The state store's Redis access policy, run for real.

deploy/modules/redis.bicep gives the apps' identity an access policy on Redis; Dapr's state.redis runs
`INFO replication` when it initialises, and with `ignoreErrors: false` a refused command makes every
sidecar with the state store exit. Here a Redis 7 user holds exactly the command set of the policy the
Bicep assigns (parsed from it), and the project's daprd loads the Azure `statestore` component against
it and serves the state calls the services make. The companion runs the built-in Data Contributor
policy, which the Bicep assigned before: daprd refuses to start.

What differs from Azure, and why: the user signs in with a password instead of an Entra ID token (no
Entra ID here; `useEntraID` only changes how the password is obtained), and the TLS certificate comes
from a throw-away CA that daprd is told to trust. The rest of the component's metadata is the Bicep's.
Only the state store is run: on Azure, pub/sub and configuration do not use Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from helpdesk.dapr.sidecar import Sidecar
from helpdesk.dapr.state import DaprStateStore
from helpdesk.settings import ServiceSettings
from helpdesk_ops.devstack import free_port
from tests.support import tls
from tests.support.deployfiles import DEPLOY_DIR, bicep, render
from tests.support.stack import daprd_path

pytestmark = pytest.mark.integration

CACHE_BUILT_IN_POLICIES = {
    "Data Owner": "+@all allkeys",
    "Data Contributor": "+@all -@dangerous +cluster|info +cluster|nodes +cluster|slots allkeys",
    "Data Reader": "+@read +@connection +cluster|info +cluster|nodes +cluster|slots allkeys",
}
"""Azure Cache for Redis' built-in access policies (`az redis access-policy list`)."""

MANAGED_POLICIES = {"default": "+@all ~*"}
"""Azure Managed Redis access policies by name: `default` is every command and key
(learn.microsoft.com/azure/redis/configure-access-permissions)."""

STARTUP_SECONDS = 90.0
LOOPBACK = "127.0.0.1"


def policies_in_bicep() -> dict[str, str]:
    """The command set each offering's assignment gives the apps, read from redis.bicep."""
    tree = bicep(DEPLOY_DIR / "modules" / "redis.bicep")
    variables = {name: spec["value"] for name, spec in tree.get("variables", {}).items()}

    def assigned(symbol: str) -> str:
        config = tree["resources"][symbol]["config"]
        return render(config.get("config", config)["properties"]["accessPolicyName"])

    cache = assigned("cacheAccess")
    if cache in CACHE_BUILT_IN_POLICIES:
        cache_permissions = CACHE_BUILT_IN_POLICIES[cache]
    else:
        policy_symbol = cache.removesuffix(".name")
        policy = tree["resources"][policy_symbol]["config"]
        permissions = render(policy.get("config", policy)["properties"]["permissions"])
        cache_permissions = variables.get(permissions, permissions)
    managed = variables.get(assigned("managedAccess"), assigned("managedAccess"))
    assert managed in MANAGED_POLICIES, f"no documented command set for the access policy {managed!r}"
    return {"cache": cache_permissions, "managed": MANAGED_POLICIES[managed]}


def azure_statestore(address: str, username: str, password: str) -> dict[str, Any]:
    """The Azure `statestore` component of dapr-components.bicep as a self-hosted component file,
    pointed at `address` and signing in with a password where Azure uses the managed identity."""
    tree = bicep(DEPLOY_DIR / "modules" / "dapr-components.bicep")
    [properties] = [
        r["config"]["properties"]
        for r in tree["resources"].values()
        if r["type"] == "Microsoft.App/managedEnvironments/daprComponents"
        and r["config"]["name"] == "statestore"
    ]
    parameters = tree["parameters"]
    metadata = []
    for item in properties["metadata"]:
        name, value = item["name"], render(item["value"])
        if name in ("useEntraID", "azureClientId"):
            continue
        if name == "redisHost":
            value = address
        elif value in parameters:
            value = str(parameters[value]["default"])
        metadata.append({"name": name, "value": value})
    metadata += [{"name": "redisUsername", "value": username}, {"name": "redisPassword", "value": password}]
    return {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "statestore"},
        "spec": {
            "type": properties["componentType"],
            "version": properties["version"],
            "ignoreErrors": properties["ignoreErrors"],
            "initTimeout": properties["initTimeout"],
            "metadata": metadata,
        },
    }


class TlsRedis:
    """A redis-server on a loopback TLS port only, its default user behind a password."""

    def __init__(self, directory: Path, certificates: tls.TestCertificates) -> None:
        self.port = free_port()
        self.admin_password = uuid.uuid4().hex
        self.certificates = certificates
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--bind",
                LOOPBACK,
                "--tls-cert-file",
                certificates.cert_file,
                "--tls-key-file",
                certificates.key_file,
                "--tls-ca-cert-file",
                certificates.ca_file,
                "--tls-auth-clients",
                "no",
                "--requirepass",
                self.admin_password,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def admin(self) -> redis.Redis:
        return redis.Redis(
            host=LOOPBACK,
            port=self.port,
            password=self.admin_password,
            ssl=True,
            ssl_ca_certs=self.certificates.ca_file,
            socket_timeout=5,
        )

    async def wait(self) -> None:
        for _ in range(200):
            with contextlib.suppress(redis.RedisError, OSError):
                if self.admin().ping():
                    return
            await asyncio.sleep(0.1)
        raise TimeoutError("redis-server did not answer over TLS")

    def add_user(self, name: str, password: str, azure_policy: str) -> None:
        """A user holding exactly an Azure access policy's command set (Azure's strings are Redis ACL
        rules; `allkeys` is Redis' `~*`)."""
        self.admin().execute_command(
            "ACL", "SETUSER", name, "reset", "on", f">{password}", *azure_policy.split()
        )

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tls.TestCertificates:
    return tls.make_certificates(tmp_path_factory.mktemp("redis-tls"))


@pytest.fixture(scope="module")
async def tls_redis(
    tmp_path_factory: pytest.TempPathFactory, certificates: tls.TestCertificates
) -> AsyncIterator[TlsRedis]:
    server = TlsRedis(tmp_path_factory.mktemp("redis-data"), certificates)
    try:
        await server.wait()
        yield server
    finally:
        server.stop()


class Daprd:
    """The project's daprd with only the given resources, no app, every port on loopback."""

    def __init__(self, resources: Path, certificates: tls.TestCertificates, log: Path) -> None:
        self.http_port = free_port()
        self.log = log
        command = [
            daprd_path(),
            "--app-id",
            "gateway",
            "--dapr-http-port",
            str(self.http_port),
            "--dapr-grpc-port",
            str(free_port()),
            "--dapr-listen-addresses",
            LOOPBACK,
            "--dapr-internal-grpc-port",
            str(free_port()),
            "--dapr-internal-grpc-listen-address",
            LOOPBACK,
            "--metrics-port",
            str(free_port()),
            "--metrics-listen-address",
            LOOPBACK,
            "--resources-path",
            str(resources),
            "--log-level",
            "info",
        ]
        # Go reads the trusted roots from SSL_CERT_FILE: the throw-away CA stands in for Azure's.
        env = os.environ | {"SSL_CERT_FILE": certificates.ca_file}
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def healthy(self) -> bool:
        """True once every component has loaded; False as soon as the process has exited."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                if self.process.poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/v1.0/healthz")).status_code == 204:
                        return True
                await asyncio.sleep(0.2)
        raise TimeoutError(
            f"daprd neither started nor exited in {STARTUP_SECONDS}s:\n{self.output()[-3000:]}"
        )

    async def exited(self, timeout: float = STARTUP_SECONDS) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(self.process.wait, timeout)
        return self.process.poll()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def daprd_against(
    tmp_path: Path, tls_redis: TlsRedis, certificates: tls.TestCertificates, azure_policy: str
) -> Iterator[Daprd]:
    user, password = f"app-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    tls_redis.add_user(user, password, azure_policy)
    resources = tmp_path / "components"
    resources.mkdir()
    (resources / "statestore.yaml").write_text(
        yaml.safe_dump(azure_statestore(tls_redis.address, user, password), sort_keys=False)
    )
    sidecar = Daprd(resources, certificates, tmp_path / "daprd.log")
    try:
        yield sidecar
    finally:
        sidecar.stop()


async def use_the_state_store(url: str) -> None:
    """The state calls the services make, through the kernel's own adapter."""
    port = int(url.rsplit(":", 1)[1])
    sidecar = Sidecar(ServiceSettings(dapr_http_port=port), ["statestore"])
    store = DaprStateStore(sidecar)
    key = f"acl-{uuid.uuid4().hex}"
    try:
        assert await store.create(key, b'{"turn": 1}', ttl_seconds=60)
        assert not await store.create(key, b'{"turn": 2}'), "first-write refuses a second create"
        stored = await store.get(key)
        assert stored is not None
        assert json.loads(stored.value) == {"turn": 1}
        await store.save(key, b'{"turn": 3}', etag=stored.etag)
        assert (await store.get_many([key, f"{key}-absent"])).keys() == {key}
        latest = await store.get(key)
        assert latest is not None
        await store.delete(key, etag=latest.etag)
        assert await store.get(key) is None
        readiness = await sidecar.readiness()
        assert readiness.ready, readiness.detail
    finally:
        await sidecar.close()


@pytest.mark.parametrize("offering", ["managed", "cache"])
async def test_daprd_loads_the_azure_state_store_with_the_policy_the_bicep_assigns(
    offering: str, tmp_path: Path, tls_redis: TlsRedis, certificates: tls.TestCertificates
) -> None:
    policy = policies_in_bicep()[offering]
    with daprd_against(tmp_path, tls_redis, certificates, policy) as sidecar:
        assert await sidecar.healthy(), f"daprd exited with policy {policy!r}:\n{sidecar.output()[-3000:]}"
        await use_the_state_store(sidecar.url)


async def test_with_the_data_contributor_policy_daprd_cannot_start(
    tmp_path: Path, tls_redis: TlsRedis, certificates: tls.TestCertificates
) -> None:
    with daprd_against(
        tmp_path, tls_redis, certificates, CACHE_BUILT_IN_POLICIES["Data Contributor"]
    ) as sidecar:
        assert not await sidecar.healthy(), "daprd started although INFO is refused"
        assert await sidecar.exited() not in (None, 0)
        output = sidecar.output()
        assert "NOPERM" in output, output[-3000:]
        assert "info" in output.lower()
