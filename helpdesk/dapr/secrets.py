"""Credentials come only from the Dapr secret store (a git-ignored file locally, Key Vault on Azure)."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.topics import Component


class DaprSecrets:
    def __init__(self, sidecar: Sidecar, store: Component = Component.SECRETSTORE) -> None:
        self._sidecar = sidecar
        self._store = store.value

    async def get_secret(self, name: str) -> str | None:
        """The secret's value, or None when the store does not hold it (or this app may not read it)."""
        try:
            async with self._sidecar.http.get(
                f"/v1.0/secrets/{self._store}/{quote(name, safe='')}"
            ) as response:
                text = await response.text()
                if response.status in (204, 403, 404) or (
                    response.status == 500 and "not found" in text.lower()
                ):
                    return None
                if response.status != 200:
                    raise SidecarUnavailable(f"secret store answered {response.status} for {name}")
                value = (await response.json(content_type=None)).get(name)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SidecarUnavailable(f"secret store: {name}") from exc
        return str(value) if value is not None else None
