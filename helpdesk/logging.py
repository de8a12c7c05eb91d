"""The one logger setup: structlog JSON lines with service, replica, trace id and turn id.

Handlers bind `turn_id` (and the trace context is bound by the request and subscription wrappers), so a
line never needs them passed by hand. Standard-library loggers (uvicorn, the Dapr SDK) go through the
same renderer. Never log raw user text: log the redacted form or lengths.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog
from opentelemetry import trace

_configured = False


def _add_trace(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    span = trace.get_current_span().get_span_context()
    if span.is_valid and "trace_id" not in event_dict:
        event_dict["trace_id"] = format(span.trace_id, "032x")
        event_dict["span_id"] = format(span.span_id, "016x")
    return event_dict


class _StdoutLogger:
    """Writes each line to whatever `sys.stdout` is at that moment (test captures swap it)."""

    def msg(self, message: str) -> None:
        sys.stdout.write(message + "\n")

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _stdout_logger(*_: Any) -> _StdoutLogger:
    return _StdoutLogger()


def _render(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def configure_logging(service: str, replica: str = "0", level: str = "INFO") -> None:
    """Configure structlog and stdlib logging once per process."""
    global _configured

    def _add_service(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        event_dict.setdefault("replica", replica)
        return event_dict

    shared: list[Any] = [
        _add_service,
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _add_trace,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_render),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=_stdout_logger,
        cache_logger_on_first_use=True,
    )
    if _configured:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=_render),
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
