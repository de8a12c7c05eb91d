"""The one settings loader (pydantic-settings).

Dapr's own variables (`DAPR_HTTP_PORT`, `DAPR_GRPC_PORT`, `DAPR_API_TOKEN`, `APP_API_TOKEN`) are read under
their SDK names so that the same process runs under `make run`, `dapr run`, Docker Compose and Azure
Container Apps without translation. Everything else is `HELPDESK_*`. Each service subclasses
`ServiceSettings` with its own fields; domain code receives plain values, never the environment.
"""

from __future__ import annotations

import socket
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["local", "test", "azure"]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HELPDESK_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    environment: Environment = "local"
    log_level: str = "INFO"
    replica: str = Field(default="0", description="Replica name, for logs and metrics.")

    dapr_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("DAPR_RUNTIME_HOST"))
    dapr_http_port: int = Field(default=3500, validation_alias=AliasChoices("DAPR_HTTP_PORT"))
    dapr_grpc_port: int = Field(default=50001, validation_alias=AliasChoices("DAPR_GRPC_PORT"))
    dapr_api_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("DAPR_API_TOKEN"))
    app_api_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("APP_API_TOKEN"))
    sidecar_wait_seconds: float = Field(default=60.0, gt=0)
    publish_timeout_seconds: float = Field(default=5.0, gt=0)
    state_timeout_seconds: float = Field(
        default=2.0, gt=0, description="State calls take milliseconds; a store that hangs fails fast."
    )

    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "HELPDESK_OTLP_ENDPOINT"),
        description="Export OpenTelemetry spans over OTLP/HTTP when set.",
    )
    flags_refresh_seconds: float = Field(default=2.0, gt=0)
    flags_defaults_path: str | None = Field(
        default=None, description="flags/defaults.json; used until the configuration store answers."
    )
    flags_sentinel_key: str | None = Field(
        default=None,
        description=(
            "Azure App Configuration: the key whose change makes the sidecar send the whole store. Set, "
            "the flags are read as the whole store; unset (Redis), by their keys."
        ),
    )

    max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description=(
            "The largest request body any route takes (413 beyond, before it is read). Events come from "
            "the sidecar through the same limit: a whole knowledge base in one kb.updated is ~150 KB."
        ),
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time from the end of the headers to the end of the body (408)."
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=4096,
        description="Request line and headers together (431 beyond); a Teams token is ~2 KB, cookies less.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time from a connection (or a request's first byte) to the end of its headers (408).",
    )
    keep_alive_seconds: int = Field(default=5, gt=0, description="An idle kept-alive connection is closed.")
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description=(
            "Proxies whose X-Forwarded-For/-Proto are believed (addresses or CIDRs, as JSON). Empty: "
            "nobody's; the client is the TCP peer. On Azure: the ingress's addresses (docs/deploy.md)."
        ),
    )

    @model_validator(mode="after")
    def _tokens_outside_local(self) -> Self:
        if self.environment == "azure" and self.app_api_token is None:
            raise ValueError("APP_API_TOKEN is required outside local runs: the sidecar must prove itself")
        return self

    @property
    def address(self) -> str:
        """This replica's name among all replicas of every service: the host name (unique per replica
        on Container Apps and per container in docker-compose) and the `replica` name (unique per
        replica of the local runner, where all share one host)."""
        return f"{socket.gethostname()}/{self.replica}"

    @property
    def sidecar_http(self) -> str:
        return f"http://{self.dapr_host}:{self.dapr_http_port}"

    @property
    def sidecar_grpc(self) -> str:
        return f"{self.dapr_host}:{self.dapr_grpc_port}"
