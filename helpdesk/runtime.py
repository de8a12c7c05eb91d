"""What a service process needs from the outside world, behind ports: the event bus, its state, secrets,
flags and a readiness probe. `open_dapr_runtime` wires them to the sidecar; `helpdesk.memory_ports` wires
them to memory for unit tests and the in-process benchmark baseline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from openfeature import api as openfeature
from openfeature.client import OpenFeatureClient

from helpdesk.dapr.bus import DaprEventBus
from helpdesk.dapr.configstore_flags import ConfigStoreFlagProvider, ConfigStoreFollower, FlagTable
from helpdesk.dapr.ports import EventPublisher, KeyValueStore, SecretSource
from helpdesk.dapr.secrets import DaprSecrets
from helpdesk.dapr.sidecar import Readiness, Sidecar
from helpdesk.dapr.state import DaprStateStore
from helpdesk.flags import FlagDefinition, load_defaults
from helpdesk.settings import ServiceSettings
from helpdesk.topics import Component

DEFAULT_FLAGS_PATH = Path(__file__).resolve().parent.parent / "flags" / "defaults.json"
KNOWLEDGE_STORE_TIMEOUT_SECONDS = 15.0
"""Above the sidecar's own timeout for the knowledge store (components/resiliency.yaml, 10 s): its calls
read and write items in bulk."""


@dataclass
class Runtime:
    bus: EventPublisher
    state: KeyValueStore
    knowledge: KeyValueStore
    """The published knowledge base (`Component.KNOWLEDGESTORE`), for the apps scoped to it: keys shared
    by its writer (the evaluator) and its reader (dialogue)."""
    secrets: SecretSource
    flags: OpenFeatureClient
    flag_table: FlagTable
    readiness: Callable[[], Awaitable[Readiness]]
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for close in reversed(self._closers):
            await close()


def flag_defaults(settings: ServiceSettings) -> dict[str, FlagDefinition]:
    path = Path(settings.flags_defaults_path) if settings.flags_defaults_path else DEFAULT_FLAGS_PATH
    return load_defaults(path) if path.exists() else {}


def flags_client(service: str, table: FlagTable) -> OpenFeatureClient:
    """An OpenFeature client bound to this table (a named provider, so tests may run several apps)."""
    openfeature.set_provider(ConfigStoreFlagProvider(service, table), domain=service)
    return openfeature.get_client(domain=service)


async def open_dapr_runtime(settings: ServiceSettings, service: str, components: list[Component]) -> Runtime:
    sidecar = Sidecar(settings, [c.value for c in components])
    await sidecar.open()
    table = FlagTable(flag_defaults(settings))
    runtime = Runtime(
        bus=DaprEventBus(sidecar, service, settings.publish_timeout_seconds),
        state=DaprStateStore(sidecar, timeout_seconds=settings.state_timeout_seconds),
        knowledge=DaprStateStore(
            sidecar, Component.KNOWLEDGESTORE, timeout_seconds=KNOWLEDGE_STORE_TIMEOUT_SECONDS
        ),
        secrets=DaprSecrets(sidecar),
        flags=flags_client(service, table),
        flag_table=table,
        readiness=sidecar.readiness,
    )
    runtime._closers.append(sidecar.close)
    if Component.CONFIGSTORE in components:
        follower = ConfigStoreFollower(
            sidecar, table, settings.flags_refresh_seconds, sentinel_key=settings.flags_sentinel_key
        )
        await follower.start()
        runtime._closers.append(follower.stop)
    return runtime


RuntimeOf = Callable[[], Runtime]
"""How handlers reach the runtime, which exists only once the app has started."""
