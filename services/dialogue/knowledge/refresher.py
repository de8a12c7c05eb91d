"""Catching up with the knowledge store: a replica that missed a `kb.updated` adopts the current
version at its next look at `kb:current`, at most `interval_seconds` later."""

from __future__ import annotations

import asyncio

from helpdesk.background import Background
from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.knowledge.store import KnowledgeStoreDamaged
from helpdesk.logging import get_logger
from services.dialogue.knowledge.library import KnowledgeLibrary

_log = get_logger(__name__)


class KnowledgeRefresher:
    """Compares the library with the knowledge store every `interval_seconds` (0: never) until
    stopped; a failed look is logged and retried at the next one."""

    def __init__(self, library: KnowledgeLibrary, interval_seconds: float) -> None:
        self._library = library
        self._interval = interval_seconds
        self._background = Background(self._run)

    def start(self) -> None:
        if self._interval > 0:
            self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                if await self._library.refresh():
                    _log.info("knowledge_refreshed", kb_version=self._library.index.kb_version)
            except (SidecarUnavailable, KnowledgeStoreDamaged, ValueError) as exc:
                _log.warning("knowledge_refresh_failed", error_type=type(exc).__name__)
