"""An OpenFeature provider whose flag definitions live in the Dapr configuration store.

Every service reads flags through the OpenFeature API with this provider. It loads the definitions at
start, follows the store's change stream so a flip reaches every replica within moments, and re-reads
everything periodically in case the stream was interrupted. Until the store answers (or for a flag it
does not hold) the defaults from `flags/defaults.json` apply, so a missing store degrades to defaults,
never to errors.

The two configuration components answer differently, and the follower reads each the way it supports:

- `configuration.redis` (local) answers a read naming several keys with the ones it holds and follows
  each named key's changes. The follower names the flag keys.
- `configuration.azure.appconfig` (Azure, an alpha component) fails a read naming several keys as soon
  as one of them is missing, and follows changes only through a sentinel key: it polls that one key and
  sends the whole store when the sentinel's value changes. With a sentinel key configured
  (`flags_sentinel_key`) the follower reads the whole store (a read naming no keys) and subscribes with
  no keys and the sentinel in the request metadata.

A read that names keys and fails is retried one key at a time, so that a store which refuses missing keys
still yields the flags it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from dapr.proto.runtime.v1 import configuration_pb2
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata
from pydantic import ValidationError

from helpdesk.background import Background
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.flags import CONFIG_KEY_PREFIX, FlagDefinition, config_key, evaluate, parse_definition
from helpdesk.logging import get_logger
from helpdesk.telemetry import FLAG_EVALUATIONS
from helpdesk.topics import Component

_log = get_logger(__name__)


class FlagTable:
    """The current definitions, defaults overlaid by what the store holds."""

    def __init__(self, defaults: dict[str, FlagDefinition]) -> None:
        self.defaults = dict(defaults)
        self.stored: dict[str, FlagDefinition] = {}

    def apply(self, items: dict[str, str]) -> list[str]:
        changed = []
        for key, raw in items.items():
            name = key.removeprefix(CONFIG_KEY_PREFIX)
            if not raw:
                if self.stored.pop(name, None) is not None:
                    changed.append(name)
                continue
            try:
                definition = parse_definition(raw)
            except (ValidationError, ValueError):
                _log.warning("flag_definition_invalid", flag=name)
                continue
            if self.stored.get(name) != definition:
                self.stored[name] = definition
                changed.append(name)
        return changed

    def replace(self, items: dict[str, str]) -> list[str]:
        """Take `items` as everything the store holds: a flag it no longer holds returns to its default."""
        names = {key.removeprefix(CONFIG_KEY_PREFIX) for key, raw in items.items() if raw}
        gone = [name for name in self.stored if name not in names]
        for name in gone:
            del self.stored[name]
        return gone + self.apply(items)

    def get(self, name: str) -> FlagDefinition | None:
        return self.stored.get(name) or self.defaults.get(name)


class ConfigStoreFlagProvider(AbstractProvider):
    def __init__(self, service: str, table: FlagTable) -> None:
        super().__init__()
        self._service = service
        self.table = table

    def get_metadata(self) -> Metadata:
        return Metadata(name="dapr-configstore")

    def _resolve(
        self,
        flag_key: str,
        default_value: Any,
        context: EvaluationContext | None,
        kind: type | tuple[type, ...],
    ) -> FlagResolutionDetails[Any]:
        definition = self.table.get(flag_key)
        if definition is None:
            return FlagResolutionDetails(
                value=default_value, reason=Reason.ERROR, error_code=ErrorCode.FLAG_NOT_FOUND
            )
        result = evaluate(flag_key, definition, context.targeting_key if context else None)
        if not isinstance(result.value, kind) or (kind is int and isinstance(result.value, bool)):
            return FlagResolutionDetails(
                value=default_value, reason=Reason.ERROR, error_code=ErrorCode.TYPE_MISMATCH
            )
        FLAG_EVALUATIONS.labels(self._service, flag_key, result.variant).inc()
        reason = Reason.SPLIT if result.reason == "SPLIT" else Reason.STATIC
        return FlagResolutionDetails(value=result.value, variant=result.variant, reason=reason)

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, bool)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, str)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, int)

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, (int, float))

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._resolve(flag_key, default_value, evaluation_context, (list, dict))


class ConfigStoreFollower:
    """Keeps a `FlagTable` in step with the configuration store: change stream plus periodic re-read."""

    def __init__(
        self,
        sidecar: Sidecar,
        table: FlagTable,
        refresh_seconds: float,
        sentinel_key: str | None = None,
    ) -> None:
        self._sidecar = sidecar
        self._table = table
        self._refresh = refresh_seconds
        self._sentinel = sentinel_key or None
        self._tasks = [Background(self._poll), Background(self._follow)]
        self.keys = [config_key(name) for name in table.defaults]

    @property
    def reads_whole_store(self) -> bool:
        return self._sentinel is not None

    async def start(self) -> None:
        await self.refresh()
        for task in self._tasks:
            task.start()

    async def refresh(self) -> None:
        read = await self._read()
        if read is None:
            return
        items, complete = read
        changed = self._table.replace(items) if complete else self._table.apply(items)
        if changed:
            _log.info("flags_changed", flags=changed, via="read")

    async def _read(self) -> tuple[dict[str, str], bool] | None:
        """The flag items the store holds, and whether that is all of them (a key not among them is not
        held); None when the store could not be read at all."""
        store = Component.CONFIGSTORE.value
        client = self._sidecar.client
        if self.reads_whole_store:
            try:
                response = await client.get_configuration(store, [])
            except Exception as exc:
                _log.warning("flags_refresh_failed", error_type=type(exc).__name__)
                return None
            return _flag_items(response.items), True
        try:
            response = await client.get_configuration(store, self.keys)
        except Exception as exc:
            _log.debug("flags_read_retried_per_key", error_type=type(exc).__name__)
        else:
            return _flag_items(response.items), True
        found: dict[str, str] = {}
        refused = 0
        for key in self.keys:
            try:
                single = await client.get_configuration(store, [key])
            except Exception:
                # Missing or unreadable: the table keeps what it holds for this key.
                refused += 1
                continue
            found.update(_flag_items(single.items))
        if refused == len(self.keys):
            _log.warning("flags_refresh_failed", error_type="every key refused")
            return None
        return found, refused == 0

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            await self.refresh()

    def _subscription(self) -> configuration_pb2.SubscribeConfigurationRequest:
        if self.reads_whole_store:
            return configuration_pb2.SubscribeConfigurationRequest(
                store_name=Component.CONFIGSTORE.value,
                keys=[],
                metadata={"sentinelKey": self._sentinel or ""},
            )
        return configuration_pb2.SubscribeConfigurationRequest(
            store_name=Component.CONFIGSTORE.value, keys=self.keys
        )

    async def _follow(self) -> None:
        # The SDK's aio subscribe_configuration iterates a stream synchronously in a thread
        # (python-sdk#819), so the generated async stub is used directly.
        request = self._subscription()
        delay = 1.0
        while True:
            try:
                stream = self._sidecar.client._stub.SubscribeConfiguration(request)
                async for response in stream:
                    delay = 1.0
                    if response.items:
                        items = _flag_items(response.items)
                        # A sentinel-driven update carries the whole store; a per-key one only its key.
                        apply = self._table.replace if self.reads_whole_store else self._table.apply
                        changed = apply(items)
                        if changed:
                            _log.info("flags_changed", flags=changed, via="stream")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.debug("flags_stream_interrupted", error_type=type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        for task in self._tasks:
            await task.stop()


def _flag_items(items: Mapping[str, Any]) -> dict[str, str]:
    """The flag keys among a store's items, without labelled variants (flags are set without a label)."""
    return {
        key: item.value
        for key, item in items.items()
        if key.startswith(CONFIG_KEY_PREFIX) and not dict(getattr(item, "metadata", None) or {}).get("label")
    }
