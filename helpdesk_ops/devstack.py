"""Run the whole helpdesk on 127.0.0.1 without Docker: Redis, one daprd per service replica, the services.

`dapr.yaml` is the single source of truth for app-ids, ports, commands and Dapr configuration; this
module adds what the Dapr CLI would (tokens, a Redis of its own with AOF, log prefixes), replicas with
their own sidecars, and a clean stop: every process runs in its own process group and dies with the
runner (PR_SET_PDEATHSIG), so an interrupted run leaves nothing behind. The integration tests start
the stack through this same code on free ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from helpdesk_ops.local_redis import RedisServer, wait_for_redis
from helpdesk_ops.processes import Proc, die_with_parent
from helpdesk_ops.run_file import ROOT, AppSpec, RunFile, free_port, load_run_file
from helpdesk_ops.stack_console import line_prefix

DEFAULT_REDIS_PORT = 6380
LOOPBACK = "127.0.0.1"


@dataclass
class Replica:
    app_id: str
    index: int
    app_port: int
    dapr_http_port: int
    dapr_grpc_port: int
    metrics_port: int
    app: Proc | None = None
    sidecar: Proc | None = None

    @property
    def name(self) -> str:
        return f"{self.app_id}-{self.index}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"


class Stack:
    """The local stack. `await start()`, use `replicas`, `await stop()`."""

    def __init__(
        self,
        *,
        run_file: RunFile | None = None,
        replicas: dict[str, int] | None = None,
        run_dir: Path = ROOT / ".run",
        daprd: str | None = None,
        free_ports: bool = False,
        redis_port: int | None = None,
        external_redis: str | None = None,
        extra_env: dict[str, dict[str, str]] | None = None,
        echo: TextIO | None = sys.stdout,
        color: bool = False,
        secrets_extra: dict[str, str] | None = None,
    ) -> None:
        self.run_file = run_file or load_run_file()
        self.counts = {a.app_id: 1 for a in self.run_file.apps} | (replicas or {})
        unknown = set(self.counts) - {a.app_id for a in self.run_file.apps}
        if unknown:
            raise ValueError(f"unknown app-id(s): {', '.join(sorted(unknown))}")
        self.run_dir = run_dir
        self.log_dir = run_dir / "logs"
        self.daprd = daprd or os.environ.get("DAPRD") or ""
        self.free_ports = free_ports
        self.echo = echo
        self.color = color
        self.extra_env = extra_env or {}
        self.secrets_extra = secrets_extra or {}
        self.dapr_api_token = secrets.token_urlsafe(32)
        self.app_api_token = secrets.token_urlsafe(32)
        self.api_key = "hd_" + secrets.token_urlsafe(24)
        self.operator_key = "hdop_" + secrets.token_urlsafe(24)
        self.external_redis = external_redis
        port = redis_port or (free_port() if free_ports else DEFAULT_REDIS_PORT)
        self.redis = RedisServer(port=port, data_dir=run_dir / "redis")
        self.replicas: list[Replica] = []
        self._procs: list[Proc] = []
        self.secrets_file = run_dir / "secrets.json"

    # ---- addresses -------------------------------------------------------------------------------

    @property
    def redis_address(self) -> str:
        return self.external_redis or self.redis.address

    def of(self, app_id: str) -> list[Replica]:
        return [r for r in self.replicas if r.app_id == app_id]

    def gateway_url(self, index: int = 0) -> str:
        return self.of("gateway")[index].url

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self, timeout: float = 120.0) -> None:
        if not self.daprd or not os.path.exists(self.daprd):  # noqa: ASYNC240 - once, at start
            raise FileNotFoundError("daprd not found: run `make setup` or set DAPRD=/path/to/daprd")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_secrets()
        if self.external_redis is None:
            await self._start_redis()
        await self._seed()
        self._plan()
        for replica in self.replicas:
            self._start_replica(replica)
        await self._wait_ready(timeout)

    def _plan(self) -> None:
        self.replicas = []
        for spec in self.run_file.apps:
            for index in range(self.counts[spec.app_id]):
                fixed = not self.free_ports and index == 0
                self.replicas.append(
                    Replica(
                        app_id=spec.app_id,
                        index=index,
                        app_port=spec.app_port if fixed else free_port(),
                        dapr_http_port=spec.dapr_http_port if fixed else free_port(),
                        dapr_grpc_port=spec.dapr_grpc_port if fixed else free_port(),
                        metrics_port=spec.metrics_port if fixed else free_port(),
                    )
                )

    def _write_secrets(self) -> None:
        from helpdesk_ops.seed import local_secrets

        self.run_dir.mkdir(parents=True, exist_ok=True)
        payload = local_secrets(self.api_key, self.operator_key) | self.secrets_extra
        self.secrets_file.write_text(json.dumps(payload, indent=2))
        self.secrets_file.chmod(0o600)

    async def _start_redis(self) -> None:
        self.redis.data_dir.mkdir(parents=True, exist_ok=True)
        self.redis.proc = self._spawn("redis", self.redis.command(), env=dict(os.environ))
        await wait_for_redis(self.redis_address, 30.0)

    async def restart_redis(self) -> None:
        """For fault tests: start the same Redis again on the same port and data directory."""
        await self._start_redis()

    async def _seed(self) -> None:
        from helpdesk_ops.seed import seed_flags

        await seed_flags(f"redis://{self.redis_address}")

    def _app_env(self, spec: AppSpec, replica: Replica) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.run_file.env)
        env.update(spec.env)
        env.update(
            {
                "HELPDESK_REDIS_ADDRESS": self.redis_address,
                "HELPDESK_SECRETS_FILE": str(self.secrets_file),
                "DAPR_HTTP_PORT": str(replica.dapr_http_port),
                "DAPR_GRPC_PORT": str(replica.dapr_grpc_port),
                "DAPR_API_TOKEN": self.dapr_api_token,
                "APP_API_TOKEN": self.app_api_token,
                "HELPDESK_REPLICA": replica.name,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env.get(spec.app_id, {}))
        return env

    def _command(self, spec: AppSpec, replica: Replica) -> list[str]:
        command = list(spec.command)
        if "--port" in command:
            command[command.index("--port") + 1] = str(replica.app_port)
        if command and not os.path.isabs(command[0]) and "/" in command[0]:
            command[0] = str(ROOT / command[0])
        return command

    def _sidecar_command(self, spec: AppSpec, replica: Replica) -> list[str]:
        """daprd with every port it opens on loopback: a listen-address flag left out means all
        interfaces (the internal gRPC port, which hands calls to the app with the app token, and the
        metrics port did so by default)."""
        return [
            self.daprd,
            "--app-id",
            spec.app_id,
            "--app-port",
            str(replica.app_port),
            "--app-protocol",
            "http",
            "--app-channel-address",
            LOOPBACK,
            "--dapr-http-port",
            str(replica.dapr_http_port),
            "--dapr-grpc-port",
            str(replica.dapr_grpc_port),
            "--dapr-listen-addresses",
            LOOPBACK,
            "--dapr-internal-grpc-port",
            str(free_port()),
            "--dapr-internal-grpc-listen-address",
            LOOPBACK,
            "--dapr-public-listen-address",
            LOOPBACK,
            "--metrics-port",
            str(replica.metrics_port),
            "--metrics-listen-address",
            LOOPBACK,
            "--resources-path",
            str(self.run_file.resources_path),
            "--config",
            str(spec.config_file),
            "--log-level",
            self.run_file.log_level,
            "--dapr-graceful-shutdown-seconds",
            "10",
        ]

    def _start_replica(self, replica: Replica) -> None:
        spec = self.run_file.app(replica.app_id)
        env = self._app_env(spec, replica)
        replica.app = self._spawn(replica.name, self._command(spec, replica), env=env)
        replica.sidecar = self._spawn(f"{replica.name}.dapr", self._sidecar_command(spec, replica), env=env)

    def start_app(self, replica: Replica) -> None:
        """Start (again) only the service process of a replica, e.g. after killing it in a fault test."""
        spec = self.run_file.app(replica.app_id)
        replica.app = self._spawn(
            replica.name, self._command(spec, replica), env=self._app_env(spec, replica)
        )

    def start_sidecar(self, replica: Replica) -> None:
        spec = self.run_file.app(replica.app_id)
        replica.sidecar = self._spawn(
            f"{replica.name}.dapr", self._sidecar_command(spec, replica), env=self._app_env(spec, replica)
        )

    async def add_replica(self, app_id: str, timeout: float = 60.0) -> Replica:
        spec = self.run_file.app(app_id)
        index = len(self.of(app_id))
        replica = Replica(app_id, index, free_port(), free_port(), free_port(), free_port())
        self.replicas.append(replica)
        self._start_replica(replica)
        await self.wait_replica(replica, timeout)
        del spec
        return replica

    async def _wait_ready(self, timeout: float) -> None:
        await asyncio.gather(*(self.wait_replica(r, timeout) for r in self.replicas))

    async def wait_replica(self, replica: Replica, timeout: float = 60.0) -> None:
        """Until the app says ready (its sidecar answers and has loaded its components) and the sidecar
        is healthy (it has read the app's subscriptions)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                for proc in (replica.app, replica.sidecar):
                    if proc is not None and not proc.alive():
                        raise RuntimeError(
                            f"{proc.name} exited with {proc.popen.returncode}; see {proc.log_path}"
                        )
                try:
                    app = await client.get(f"{replica.url}/readyz")
                    side = await client.get(f"http://127.0.0.1:{replica.dapr_http_port}/v1.0/healthz")
                    if app.status_code == 200 and side.status_code == 204:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{replica.name} not ready after {timeout}s; see {self.log_dir}")
                await asyncio.sleep(0.2)

    # ---- processes -------------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> Proc:
        log_path = self.log_dir / f"{name}.log"
        popen = subprocess.Popen(  # noqa: S603 - commands come from dapr.yaml and this module
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        proc = Proc(name, popen, log_path)
        proc.pumps.append(asyncio.get_running_loop().create_task(self._pump(proc)))
        self._procs.append(proc)
        return proc

    async def _pump(self, proc: Proc) -> None:
        """Copy a process's output to its log file and, prefixed, to the console."""
        assert proc.popen.stdout is not None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), proc.popen.stdout)
        prefix = line_prefix(proc.name, self.color)
        with proc.log_path.open("ab") as log:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    continue
                if not line:
                    break
                log.write(line)
                log.flush()
                if self.echo is not None:
                    self.echo.write(prefix + line.decode("utf-8", "replace"))
                    self.echo.flush()

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)

    async def wait_exit(self, proc: Proc, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while proc.alive():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _stop_all(self, procs: Iterable[Proc], grace: float) -> None:
        procs = [p for p in procs if p.alive()]
        for proc in procs:
            self.kill(proc, signal.SIGTERM)
        for proc in procs:
            if not await self.wait_exit(proc, grace):
                self.kill(proc, signal.SIGKILL)
                await self.wait_exit(proc, 5.0)

    async def stop(self) -> None:
        """Apps first (they drain), then their sidecars, then Redis (which flushes its AOF)."""
        apps = [r.app for r in self.replicas if r.app is not None]
        sidecars = [r.sidecar for r in self.replicas if r.sidecar is not None]
        await self._stop_all(apps, 15.0)
        await self._stop_all(sidecars, 15.0)
        others = [p for p in self._procs if p not in apps and p not in sidecars]
        await self._stop_all(others, 10.0)
        for proc in self._procs:
            self.kill(proc, signal.SIGKILL)  # anything its process group may still hold
            for pump in proc.pumps:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(pump, 2.0)

    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.alive()]

    def describe(self) -> dict[str, Any]:
        return {
            "redis": self.redis_address,
            "replicas": [
                {"name": r.name, "app": r.url, "dapr_http": r.dapr_http_port, "dapr_grpc": r.dapr_grpc_port}
                for r in self.replicas
            ],
            "logs": str(self.log_dir),
        }
