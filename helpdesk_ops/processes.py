"""A process of the local stack: its own process group, dying with the runner (PR_SET_PDEATHSIG), its
output copied to a log file, so an interrupted run leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


def die_with_parent() -> None:
    """Child side of Popen: its own process group, and SIGTERM when the runner dies (Linux)."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None
