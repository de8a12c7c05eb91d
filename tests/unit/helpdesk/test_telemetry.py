"""Spans: recorded only when something exports them; the trace ids the logs print flow either way."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from helpdesk.telemetry import extract_context, span_sampler

PARENT = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"


def _child_of_parent(otlp_endpoint: str | None) -> tuple[bool, str, str]:
    provider = TracerProvider(sampler=span_sampler(otlp_endpoint))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "chat.requested process", context=extract_context({"traceparent": PARENT}), kind=SpanKind.CONSUMER
    ) as span:
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
        return span.is_recording(), format(span.get_span_context().trace_id, "032x"), carrier["traceparent"]


def test_without_an_exporter_no_span_is_recorded_but_the_trace_continues() -> None:
    recording, trace_id, passed_on = _child_of_parent(None)
    assert not recording
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert passed_on.split("-")[1] == trace_id
    assert passed_on.split("-")[2] != "00f067aa0ba902b7", "a span of its own, not the caller's"


def test_with_an_exporter_spans_are_recorded() -> None:
    recording, trace_id, _ = _child_of_parent("http://127.0.0.1:4318/v1/traces")
    assert recording
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"


def test_a_root_span_without_an_exporter_still_has_an_id_for_the_logs() -> None:
    provider = TracerProvider(sampler=span_sampler(None))
    with provider.get_tracer("test").start_as_current_span("POST /v1/chat") as span:
        assert span.get_span_context().is_valid
