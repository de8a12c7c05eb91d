"""Running `helpdeskctl` as an operator does, against a test stack: the stack's state file it reads, and
the command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpdesk_ops.devstack import Stack
from helpdesk_ops.local import write_state

COLUMNS = "250"
"""Wide enough that no table the commands print is wrapped or cut."""


def stack_state_file(stack: Stack, folder: Path) -> Path:
    """The state file `make run` writes, for `stack`: where `helpdeskctl` finds the sidecars and keys."""
    path = folder / "stack.json"
    write_state(stack, path)
    return path


def helpdeskctl(state: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"HELPDESK_STACK_STATE": str(state), "COLUMNS": COLUMNS}
    return subprocess.run(
        [sys.executable, "-m", "helpdesk_ops.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
