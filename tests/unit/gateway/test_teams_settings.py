"""Teams settings that must agree with the sidecar, and the warnings the channel gives at start."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from services.gateway.settings import TeamsSettings
from tests.support.teams import TeamsWorld, teams_gateway, teams_world

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def world() -> Iterator[TeamsWorld]:
    with teams_world() as w:
        yield w


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert match, duration
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


def test_the_handler_timeout_is_the_sidecars() -> None:
    resiliency = yaml.safe_load((ROOT / "components" / "resiliency.yaml").read_text())
    handler = resiliency["spec"]["policies"]["timeouts"][
        resiliency["spec"]["targets"]["components"]["pubsub"]["inbound"]["timeout"]
    ]
    assert TeamsSettings().handler_timeout_seconds == seconds(handler)


def test_a_send_ends_inside_the_handler_timeout_and_a_claim_outlives_any_live_sender() -> None:
    settings = TeamsSettings()
    assert settings.http_timeout_seconds <= settings.send_budget_seconds < settings.handler_timeout_seconds
    assert settings.claim_lease_seconds > settings.handler_timeout_seconds
    assert settings.claim_lease_seconds > settings.send_budget_seconds + settings.http_timeout_seconds


def test_a_budget_without_room_for_one_attempt_is_refused() -> None:
    with pytest.raises(ValidationError, match="room for one connector attempt"):
        TeamsSettings(handler_timeout_seconds=6, handler_reserve_seconds=2, http_timeout_seconds=5)


def test_the_multi_tenant_authority_is_warned_about_at_start(
    world: TeamsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    assert TeamsSettings().multi_tenant_authority
    assert TeamsSettings(
        authority="https://login.microsoftonline.com/BotFramework.com/"
    ).multi_tenant_authority
    tenant = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert not TeamsSettings(authority=tenant).multi_tenant_authority

    with teams_gateway(world, teams={"authority": "https://login.microsoftonline.com/botframework.com"}):
        pass
    assert "teams_authority_multi_tenant" in capsys.readouterr().out
    with teams_gateway(world, teams={"authority": tenant}):
        pass
    assert "teams_authority_multi_tenant" not in capsys.readouterr().out
