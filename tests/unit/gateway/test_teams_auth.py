"""Who may post to /api/messages. Every rejected request publishes nothing, stores
nothing, calls no connector and logs none of the message text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk.events import ChatRequested
from tests.support.jwks_server import ISSUER
from tests.support.teams import APP_ID, OTHER_TENANT, TeamsGateway, TeamsWorld, teams_gateway, teams_world

SECRET_QUESTION = "Where is the payroll file 4242 kept?"


@pytest.fixture(scope="module")
def world() -> Iterator[TeamsWorld]:
    with teams_world() as w:
        yield w


@pytest.fixture
def teams(world: TeamsWorld) -> Iterator[TeamsGateway]:
    with teams_gateway(world) as t:
        yield t


def assert_rejected(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str], response: Any, status: int
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert set(problem) >= {"type", "title", "status", "detail", "correlation_id"}
    assert SECRET_QUESTION not in response.text
    assert teams.g.bus.published == []
    assert teams.g.state.writes == 0
    assert teams.world.connector.attempts == 0
    assert teams.world.connector.token_requests == 0
    assert SECRET_QUESTION not in capfd.readouterr().out


def post(teams: TeamsGateway, headers: dict[str, str] | None, **activity: Any) -> Any:
    return teams.post(teams.world.activity(SECRET_QUESTION, **activity), headers)


# ---- 17: no credential --------------------------------------------------------------------------------


def test_no_authorization_header_is_401_with_a_challenge(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str]
) -> None:
    response = post(teams, {})
    assert_rejected(teams, capfd, response, 401)
    assert response.headers["www-authenticate"].lower().startswith("bearer")


def test_a_non_bearer_credential_is_401(teams: TeamsGateway, capfd: pytest.CaptureFixture[str]) -> None:
    assert_rejected(teams, capfd, post(teams, {"authorization": "Basic dXNlcjpwYXNz"}), 401)


# ---- 18: the token itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mint",
    [
        pytest.param({"audience": "some-other-bot"}, id="wrong-aud"),
        pytest.param({"issuer": "https://sts.windows.net/attacker/"}, id="wrong-iss"),
        pytest.param({"issued_ago": 3600 + 301, "lifetime": 3600}, id="expired-beyond-skew"),
        pytest.param({"algorithm": "none"}, id="alg-none"),
        pytest.param({"algorithm": "HS256"}, id="alg-hs256"),
        pytest.param({"kid": "never-published"}, id="unknown-kid"),
    ],
)
def test_an_invalid_token_is_403(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str], mint: dict[str, Any]
) -> None:
    activity = teams.world.activity(SECRET_QUESTION)
    assert_rejected(teams, capfd, teams.post(activity, teams.world.auth(activity, **mint)), 403)


def test_a_token_expired_within_the_skew_is_still_accepted(teams: TeamsGateway) -> None:
    activity = teams.world.activity()
    response = teams.post(activity, teams.world.auth(activity, issued_ago=3600 + 200, lifetime=3600))
    assert response.status_code == 200
    assert len(teams.requests()) == 1


def test_a_tampered_or_malformed_token_is_403(teams: TeamsGateway, capfd: pytest.CaptureFixture[str]) -> None:
    activity = teams.world.activity(SECRET_QUESTION)
    header, _, signature = teams.world.auth(activity)["authorization"].split(" ")[1].split(".")
    other = teams.world.keys.mint(APP_ID, activity["serviceUrl"], extra={"tampered": True}).split(".")[1]
    assert_rejected(
        teams, capfd, teams.post(activity, {"authorization": f"Bearer {header}.{other}.{signature}"}), 403
    )
    assert_rejected(teams, capfd, teams.post(activity, {"authorization": "Bearer not.a-token"}), 403)


def test_the_unknown_kid_made_the_gateway_look_for_rotated_keys(teams: TeamsGateway) -> None:
    keys = teams.world.keys
    activity = teams.world.activity()
    teams.post(activity)  # keys cached
    fetched = keys.key_fetches
    assert teams.post(activity, teams.world.auth(activity, kid="never-published")).status_code == 403
    assert keys.key_fetches == fetched + 1


# ---- 19: serviceUrl ------------------------------------------------------------------------------------


def test_a_token_for_another_service_url_is_403_and_nothing_is_sent_anywhere(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str]
) -> None:
    activity = teams.world.activity(SECRET_QUESTION)
    headers = teams.world.auth(activity, service_url="https://smba.trafficmanager.net/emea/")
    assert_rejected(teams, capfd, teams.post(activity, headers), 403)


def test_an_activity_pointing_elsewhere_than_its_token_is_403(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str]
) -> None:
    genuine = teams.world.activity(SECRET_QUESTION)
    forged = teams.world.activity(SECRET_QUESTION, service_url="https://attacker.example/collect/")
    assert_rejected(teams, capfd, teams.post(forged, teams.world.auth(genuine)), 403)


def test_a_token_without_a_service_url_claim_is_403(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str]
) -> None:
    activity = teams.world.activity(SECRET_QUESTION)
    assert_rejected(teams, capfd, teams.post(activity, teams.world.auth(activity, service_url=None)), 403)


# ---- 20: endorsement and tenant ------------------------------------------------------------------------


def test_a_key_not_endorsed_for_teams_is_403(teams: TeamsGateway, capfd: pytest.CaptureFixture[str]) -> None:
    activity = teams.world.activity(SECRET_QUESTION)
    assert_rejected(teams, capfd, teams.post(activity, teams.world.auth(activity, kid="webchat-only")), 403)


def test_an_activity_from_another_channel_is_403(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str]
) -> None:
    assert_rejected(teams, capfd, post(teams, None, channel_id="webchat"), 403)


def test_a_tenant_not_on_the_allow_list_is_403(
    teams: TeamsGateway, capfd: pytest.CaptureFixture[str]
) -> None:
    assert_rejected(teams, capfd, post(teams, None, tenant=OTHER_TENANT), 403)


def test_an_activity_without_a_tenant_is_403(teams: TeamsGateway, capfd: pytest.CaptureFixture[str]) -> None:
    activity = teams.world.activity(SECRET_QUESTION)
    del activity["channelData"]
    del activity["conversation"]["tenantId"]
    assert_rejected(teams, capfd, teams.post(activity), 403)


def test_an_empty_allow_list_admits_no_tenant_and_a_star_admits_any(world: TeamsWorld) -> None:
    with teams_gateway(world, teams={"allowed_tenants": []}) as closed:
        assert closed.post(world.activity()).status_code == 403
    with teams_gateway(world, teams={"allowed_tenants": ["*"]}) as open_:
        assert open_.post(world.activity(tenant=OTHER_TENANT)).status_code == 200


# ---- keys: cached, rotated, unavailable -----------------------------------------------------------------


def test_keys_are_fetched_once_and_a_rotated_key_is_picked_up(world: TeamsWorld) -> None:
    with teams_gateway(world) as teams:
        before = world.keys.metadata_fetches
        for _ in range(3):
            assert teams.post(world.activity()).status_code == 200
        assert world.keys.metadata_fetches == before + 1
        new_kid = world.keys.rotate()
        activity = world.activity()
        assert teams.post(activity, world.auth(activity, kid=new_kid)).status_code == 200
        assert world.keys.metadata_fetches == before + 2


def test_unknown_kids_do_not_refetch_keys_during_the_cooldown(world: TeamsWorld) -> None:
    with teams_gateway(world, teams={"keys_cooldown_seconds": 3600}) as teams:
        assert teams.post(world.activity()).status_code == 200
        fetched = world.keys.key_fetches
        for _ in range(3):
            activity = world.activity()
            assert teams.post(activity, world.auth(activity, kid="never-published")).status_code == 403
        assert world.keys.key_fetches == fetched


def test_unreachable_keys_are_503_and_nothing_is_published(world: TeamsWorld) -> None:
    from helpdesk_ops.devstack import free_port

    closed = f"https://127.0.0.1:{free_port()}/v1/.well-known/openidconfiguration"
    with teams_gateway(world, teams={"openid_metadata_url": closed}) as teams:
        response = teams.post(world.activity())
        assert response.status_code == 503
        assert "retry-after" in response.headers
        assert teams.g.bus.published == []


def test_the_issuer_list_is_configurable(world: TeamsWorld) -> None:
    with teams_gateway(world, teams={"allowed_issuers": ["https://other-issuer.example"]}) as teams:
        assert teams.post(world.activity()).status_code == 403
    with teams_gateway(world, teams={"allowed_issuers": ["https://other-issuer.example", ISSUER]}) as teams:
        assert teams.post(world.activity()).status_code == 200
        assert isinstance(teams.requests()[0], ChatRequested)
