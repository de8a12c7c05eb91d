"""Fixtures the integration tests share beyond the session's stack (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_ops.devstack import Stack
from tests.support.operator_cli import stack_state_file


@pytest.fixture(scope="module")
def stack_state(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared stack's state file, as `helpdeskctl` reads it."""
    return stack_state_file(stack, tmp_path_factory.mktemp("cli"))
