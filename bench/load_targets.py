"""What the load benchmark (`bench.load`) sends chats to: the stack `make run` started, or the same four
apps chained in this process; and the CPU time and resident memory of their processes."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

# ---- the running stack ----------------------------------------------------------------------------


class StackTarget:
    def __init__(self, state_file: Path) -> None:
        import aiohttp

        self.state = json.loads(state_file.read_text())
        self.gateways = [r["app"] for r in self.state["replicas"] if r["app_id"] == "gateway"]
        self.headers = {
            "authorization": f"Bearer {self.state['api_key']}",
            "content-type": "application/json",
        }
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=30)
        )
        self._next = 0

    async def send(self, text: str) -> tuple[int, str | None]:
        base = self.gateways[self._next % len(self.gateways)]
        self._next += 1
        async with self.session.post(f"{base}/v1/chat", json={"message": text}, headers=self.headers) as r:
            body = await r.json(content_type=None)
            return r.status, body.get("turn_id") if isinstance(body, dict) else None

    async def lost(self, turn_ids: list[str], stall: float = 30.0) -> int:
        """Turns answered 202 that never get an answer. A backlog after an overloaded measurement
        drains slowly, so this waits as long as turns keep being answered and gives up only when none
        has been for `stall` seconds: a slow turn is counted as an error (late), not as lost."""
        remaining = set(turn_ids)
        last_progress = time.monotonic()
        while remaining and time.monotonic() - last_progress < stall:
            before = len(remaining)
            for turn_id in list(remaining):
                try:
                    async with self.session.get(
                        f"{self.gateways[0]}/v1/messages/{turn_id}", headers=self.headers
                    ) as r:
                        body = await r.json(content_type=None)
                except (TimeoutError, OSError, ValueError):
                    continue  # an overloaded gateway: ask again on the next round
                if isinstance(body, dict) and body.get("status") in ("answered", "escalated", "handed_off"):
                    remaining.discard(turn_id)
            if len(remaining) < before:
                last_progress = time.monotonic()
            if remaining:
                await asyncio.sleep(0.5)
        return len(remaining)

    def processes(self) -> dict[str, int]:
        pids = {}
        for replica in self.state["replicas"]:
            for key, suffix in (("pid", ""), ("sidecar_pid", ".dapr")):
                if replica.get(key):
                    pids[replica["name"] + suffix] = replica[key]
        if self.state.get("redis_pid"):
            pids["redis"] = self.state["redis_pid"]
        pids["load-generator"] = os.getpid()
        return pids

    async def close(self) -> None:
        await self.session.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


# ---- the same handlers in one process ---------------------------------------------------------------


class InProcessTarget:
    """The four apps on in-memory ports, chained through the same subscription routes Dapr would call."""

    def __init__(self) -> None:
        self._stack: Any = None

    async def start(self) -> None:
        from bench.in_process_helpdesk import InProcessHelpdesk

        self._stack = InProcessHelpdesk()
        await self._stack.start()

    async def send(self, text: str) -> tuple[int, str | None]:
        return await self._stack.chat(text)

    async def lost(self, turn_ids: list[str]) -> int:
        return await self._stack.unanswered(turn_ids, 30.0)

    def processes(self) -> dict[str, int]:
        return {"inprocess": os.getpid()}

    async def close(self) -> None:
        await self._stack.stop()
