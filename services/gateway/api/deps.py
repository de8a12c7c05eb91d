"""Request-scoped helpers shared by the gateway's routers: who is calling, from where, and parsing bodies."""

from ipaddress import IPv6Address, IPv6Network, ip_address
from typing import Any, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from helpdesk.auth import Principal, authenticate, require_operator
from helpdesk.errors import Problem, describe_validation_errors
from services.gateway.api.body import read_json
from services.gateway.desk import FrontDesk

M = TypeVar("M", bound=BaseModel)

ANONYMOUS_COOKIE = "helpdesk_anonymous"
IPV6_CLIENT_PREFIX = 64
"""One IPv6 subscriber gets a whole /64 and can use any address in it: counting per address would let
one client be billions of clients."""


def caller(desk: FrontDesk, request: Request, response: Response) -> Principal:
    """The caller; with anonymous access on and no credential, this client's own anonymous user, whose
    cookie goes out with the response (a client without one becomes a new anonymous user)."""
    authorization = request.headers.get("authorization")
    anonymous = None
    if not authorization and desk.settings.allow_anonymous:
        ttl = desk.settings.anonymous_identity_ttl_seconds
        identity = desk.web_sessions.anonymous(request.cookies.get(ANONYMOUS_COOKIE), ttl)
        if identity.token is not None:
            response.set_cookie(
                ANONYMOUS_COOKIE,
                identity.token,
                max_age=ttl,
                path="/",
                secure=desk.settings.environment == "azure",
                httponly=True,
                samesite="strict",
            )
        anonymous = identity.principal
    return authenticate(authorization, desk.api_keys, anonymous, sessions=desk.web_sessions)


def operator(desk: FrontDesk, request: Request) -> Principal:
    return require_operator(authenticate(request.headers.get("authorization"), desk.api_keys))


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


async def body_as(model: type[M], desk: FrontDesk, request: Request) -> M:
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
