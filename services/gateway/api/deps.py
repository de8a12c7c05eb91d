"""The gateway's route dependencies: the parts `compose` built, who is calling and from where, and
request bodies read against their schema.

The dependencies are coroutines even where they need not be: FastAPI runs a plain function in a worker
thread, a thread hop per dependency per request.

No `from __future__ import annotations` here: FastAPI resolves the dependency aliases at runtime.
"""

from ipaddress import IPv6Address, IPv6Network, ip_address
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from pydantic import BaseModel, ValidationError

from helpdesk.auth import Principal, authenticate, require_operator
from helpdesk.errors import Problem, describe_validation_errors
from helpdesk.web import parts_of
from services.gateway.api.body import read_json
from services.gateway.channels.teams.channel import TeamsChannel
from services.gateway.channels.web.web_sessions import SessionStarts, WebSessions
from services.gateway.composition import GatewayParts
from services.gateway.desk.feedback import FeedbackDesk
from services.gateway.desk.handoff_desk import HandoffDesk
from services.gateway.desk.intake import TurnIntake
from services.gateway.desk.turn_reader import TurnReader

M = TypeVar("M", bound=BaseModel)

ANONYMOUS_COOKIE = "helpdesk_anonymous"
IPV6_CLIENT_PREFIX = 64
"""One IPv6 subscriber gets a whole /64 and can use any address in it: counting per address would let
one client be billions of clients."""


def gateway_parts(request: Request) -> GatewayParts:
    parts: GatewayParts = parts_of(request)
    return parts


async def web_sessions(request: Request) -> WebSessions:
    return gateway_parts(request).web_sessions


async def session_starts(request: Request) -> SessionStarts:
    return gateway_parts(request).session_starts


async def turn_intake(request: Request) -> TurnIntake:
    return gateway_parts(request).intake


async def turn_reader(request: Request) -> TurnReader:
    return gateway_parts(request).reader


async def handoff_desk(request: Request) -> HandoffDesk:
    return gateway_parts(request).handoffs


async def feedback_desk(request: Request) -> FeedbackDesk:
    return gateway_parts(request).feedback


async def teams_channel(request: Request) -> TeamsChannel:
    return gateway_parts(request).teams


WebSessionsDep = Annotated[WebSessions, Depends(web_sessions)]
SessionStartsDep = Annotated[SessionStarts, Depends(session_starts)]
TurnIntakeDep = Annotated[TurnIntake, Depends(turn_intake)]
TurnReaderDep = Annotated[TurnReader, Depends(turn_reader)]
HandoffDeskDep = Annotated[HandoffDesk, Depends(handoff_desk)]
FeedbackDeskDep = Annotated[FeedbackDesk, Depends(feedback_desk)]
TeamsChannelDep = Annotated[TeamsChannel, Depends(teams_channel)]


async def caller(request: Request, response: Response) -> Principal:
    """The caller; with anonymous access on and no credential, this client's own anonymous user, whose
    cookie goes out with the response (a client without one becomes a new anonymous user).

    It reads the parts itself rather than through dependencies of its own: FastAPI's solver costs a
    measurable share of a chat's CPU per nested dependency, and every route has a caller."""
    parts = gateway_parts(request)
    settings, keys, sessions = parts.settings, parts.api_keys, parts.web_sessions
    authorization = request.headers.get("authorization")
    anonymous = None
    if not authorization and settings.allow_anonymous:
        ttl = settings.anonymous_identity_ttl_seconds
        identity = sessions.anonymous(request.cookies.get(ANONYMOUS_COOKIE), ttl)
        if identity.token is not None:
            response.set_cookie(
                ANONYMOUS_COOKIE,
                identity.token,
                max_age=ttl,
                path="/",
                secure=settings.environment == "azure",
                httponly=True,
                samesite="strict",
            )
        anonymous = identity.principal
    return authenticate(authorization, keys, anonymous, sessions=sessions)


async def operator(request: Request) -> Principal:
    keys = gateway_parts(request).api_keys
    return require_operator(authenticate(request.headers.get("authorization"), keys))


Caller = Annotated[Principal, Depends(caller)]
Operator = Annotated[Principal, Depends(operator)]


async def operators_only(request: Request) -> None:
    """Who may read /metrics (the kernel's `MetricsAccess`): operators."""
    require_operator(authenticate(request.headers.get("authorization"), gateway_parts(request).api_keys))


def validated(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Problem(
            422,
            "The request does not match the schema.",
            kind="validation",
            extra={"errors": describe_validation_errors(list(exc.errors()))},
        ) from None


async def body_as(model: type[M], request: Request) -> M:
    data, _ = await read_json(request)
    return validated(model, data)


def client_address(request: Request) -> str | None:
    """The client's address as every per-client limit counts it: the one place that reads the peer.

    The peer is the TCP peer unless the server was told to trust a forwarding proxy, in which case the
    server has already put the address that proxy saw here; nothing in the gateway reads forwarded
    headers itself. IPv6 clients count per /64, IPv4-mapped IPv6 as the IPv4 address."""
    if request.client is None:
        return None
    host = request.client.host
    try:
        address = ip_address(host)
    except ValueError:
        return host
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)
