"""Credentials come only from the Dapr secret store (a git-ignored file locally, Key Vault on Azure)."""

from __future__ import annotations

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
            response = await self._sidecar.http.get(f"/v1.0/secrets/{self._store}/{name}")
        except Exception as exc:
            raise SidecarUnavailable(f"secret store: {name}") from exc
        if response.status_code in (204, 403, 404) or (
            response.status_code == 500 and "not found" in response.text.lower()
        ):
            return None
        if response.status_code != 200:
            raise SidecarUnavailable(f"secret store answered {response.status_code} for {name}")
        value = response.json().get(name)
        return str(value) if value is not None else None
