"""Asserting what a module logs, whatever ran before.

The services configure structlog with `cache_logger_on_first_use`, so a module's `_log` that has logged
once keeps the processor list of that moment. Every app start configures structlog again with a new
list, and structlog's `capture_logs` edits only the current one: a logger cached before the last app
start is never captured, so such assertions passed alone and failed after other tests. Here each named
module's `_log` is replaced, for the test, by a fresh logger first used inside the capture."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs


@contextmanager
def captured_logs(
    monkeypatch: pytest.MonkeyPatch, *modules: ModuleType
) -> Iterator[list[MutableMapping[str, Any]]]:
    with capture_logs() as logs:
        for module in modules:
            monkeypatch.setattr(module, "_log", structlog.get_logger(module.__name__))
        yield logs
