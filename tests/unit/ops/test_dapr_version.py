"""DAPR_VERSION selects the runtime everywhere: the build script, helpdeskctl and the tests' runner
(tests/support/stack.py) all find the daprd built for that version, and nothing else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpdesk_ops.cli import _daprd
from helpdesk_ops.local import pinned_dapr_version

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "scripts" / "build-daprd.sh"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DAPRD", raising=False)
    monkeypatch.delenv("DAPR_VERSION", raising=False)
    monkeypatch.setenv("HELPDESK_CACHE", str(tmp_path))
    return tmp_path


def built(cache: Path, version: str) -> str:
    """Where scripts/build-daprd.sh puts (or finds) daprd `version`: it prints the path last."""
    target = cache / f"dapr-{version.removeprefix('v')}" / "daprd"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("#!/bin/sh\n")
    target.chmod(0o755)
    env = os.environ | {"HELPDESK_CACHE": str(cache), "DAPR_VERSION": version}
    env.pop("DAPRD", None)
    result = subprocess.run([str(BUILD)], capture_output=True, text=True, env=env, check=True, timeout=60)
    return result.stdout.strip().splitlines()[-1]


def test_without_dapr_version_the_pinned_runtime_is_used(cache: Path) -> None:
    assert _daprd() == str(cache / f"dapr-{pinned_dapr_version()}" / "daprd")


@pytest.mark.parametrize("version", ["1.16.0", "v1.16.0"])
def test_dapr_version_selects_the_daprd_the_build_script_made(
    version: str, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_VERSION", version)

    assert _daprd() == built(cache, version) == str(cache / "dapr-1.16.0" / "daprd")


def test_an_explicit_daprd_wins(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPR_VERSION", "1.16.0")
    monkeypatch.setenv("DAPRD", "/opt/dapr/daprd")

    assert _daprd() == "/opt/dapr/daprd"


def test_the_build_script_refuses_a_version_that_is_not_one(cache: Path) -> None:
    env = os.environ | {"HELPDESK_CACHE": str(cache), "DAPR_VERSION": "latest"}
    env.pop("DAPRD", None)
    result = subprocess.run([str(BUILD)], capture_output=True, text=True, env=env, check=False, timeout=60)

    assert result.returncode == 2
    assert "not a Dapr release version" in result.stderr
