"""`make run`'s runner: it starts everything, and Ctrl-C leaves no daprd, redis-server or service behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.stack import daprd_path

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_ctrl_c_stops_every_process_it_started(tmp_path: Path) -> None:
    """Also: the operator's `--secrets` file joins this run's generated keys in the local secret store."""
    run_dir = tmp_path / "run"
    operator_secrets = tmp_path / "mine.json"
    operator_secrets.write_text(json.dumps({"example-extra-secret": "s3cret"}))
    env = os.environ | {"DAPRD": daprd_path(), "HELPDESK_SECRETS": str(operator_secrets)}
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpdesk_ops.cli",
            "up",
            "--quiet",
            "--free-ports",
            "--run-dir",
            str(run_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert runner.stdout is not None
        deadline = time.monotonic() + 180
        for line in runner.stdout:
            if "The helpdesk is running" in line or time.monotonic() > deadline:
                break
        state = json.loads((run_dir / "stack.json").read_text())
        pids = [state["redis_pid"]] + [p for r in state["replicas"] for p in (r["pid"], r["sidecar_pid"])]
        assert len(pids) == 9
        assert all(alive(pid) for pid in pids)
        stored = json.loads((run_dir / "secrets.json").read_text())
        assert stored["example-extra-secret"] == "s3cret"
        assert len(stored) > 1  # this run's API keys are there too
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=90) == 0
        time.sleep(1)
        assert [pid for pid in pids if alive(pid)] == []
        assert not (run_dir / "stack.json").exists()
    finally:
        if runner.poll() is None:
            runner.kill()
