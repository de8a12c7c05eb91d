"""Tracing and metrics shared by every service.

The trace starts at the gateway (or continues the caller's `traceparent`), travels in the CloudEvent
envelope that Dapr fills and forwards, and is continued by each subscriber, so one chat turn is one
trace across the four services. Spans are exported over OTLP when an endpoint is configured (sampled as
the SDK's `OTEL_TRACES_SAMPLER` says, every span by default); without one nothing would read them, so
they are not recorded at all: they still carry and pass on the ids that the logs print, at about half
the cost of a recorded span that is dropped (docs/benchmarks.md, "Where a chat's CPU goes inside the
services").
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Histogram

_propagator = TraceContextTextMapPropagator()
_tracing_configured = False


def configure_tracing(service: str, replica: str, otlp_endpoint: str | None) -> None:
    global _tracing_configured
    if _tracing_configured:
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.instance.id": replica}),
        sampler=span_sampler(otlp_endpoint),
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _tracing_configured = True


def span_sampler(otlp_endpoint: str | None) -> Sampler | None:
    """Without an exporter no span is recorded (ids only); with one, the SDK's own choice (None), which
    honours `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`."""
    return None if otlp_endpoint else ALWAYS_OFF


@cache
def tracer() -> trace.Tracer:
    """One tracer per process: asking the provider for it on every request goes through its deprecation
    shim each time. Taken before `configure_tracing`, it is a proxy that follows the provider set later."""
    return trace.get_tracer("helpdesk")


def extract_context(carrier: Mapping[str, str]) -> otel_context.Context:
    """The trace context carried by W3C headers or CloudEvent attributes (`traceparent`, `tracestate`)."""
    return _propagator.extract(carrier=dict(carrier))


def current_traceparent() -> dict[str, str]:
    """W3C headers for the current span, to hand to the sidecar when publishing."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else None


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "helpdesk_http_requests_total", "HTTP requests handled", ["service", "route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "helpdesk_http_request_seconds", "HTTP request latency", ["service", "route"], buckets=LATENCY_BUCKETS
)
EVENTS_HANDLED = Counter(
    "helpdesk_events_total",
    "Pub/sub deliveries by outcome (success, retry, drop)",
    ["service", "pubsub", "topic", "outcome"],
)
EVENT_SECONDS = Histogram(
    "helpdesk_event_handler_seconds",
    "Time spent handling one delivery",
    ["service", "topic"],
    buckets=LATENCY_BUCKETS,
)
EVENT_LAG = Histogram(
    "helpdesk_event_lag_seconds",
    "Time from publication to delivery (pub/sub lag)",
    ["service", "topic"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "helpdesk_events_published_total", "Events published", ["service", "pubsub", "topic", "outcome"]
)
EVENTS_REJECTED = Counter(
    "helpdesk_events_rejected_total",
    "Deliveries refused before handling (invalid schema or envelope); they go to the dead-letter topic",
    ["service", "topic", "reason"],
)
DEAD_LETTERS = Counter("helpdesk_dead_letters_total", "Messages recorded from dead-letter topics", ["topic"])
FLAG_EVALUATIONS = Counter(
    "helpdesk_flag_evaluations_total", "Feature flag evaluations", ["service", "flag", "variant"]
)
STAGE_SECONDS = Histogram(
    "helpdesk_stage_seconds",
    "Time spent per stage of a chat turn",
    ["service", "stage"],
    buckets=LATENCY_BUCKETS,
)
