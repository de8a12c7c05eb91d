"""Request-scoped helpers shared by the gateway's routers: who is calling, and parsing bodies."""

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from helpdesk.auth import Principal, authenticate, require_operator
from helpdesk.errors import Problem, describe_validation_errors
from services.gateway.api.body import read_json
from services.gateway.desk import FrontDesk

M = TypeVar("M", bound=BaseModel)


def caller(desk: FrontDesk, request: Request) -> Principal:
    return authenticate(
        request.headers.get("authorization"),
        desk.api_keys,
        desk.settings.allow_anonymous,
        sessions=desk.web_sessions,
    )


def operator(desk: FrontDesk, request: Request) -> Principal:
    return require_operator(authenticate(request.headers.get("authorization"), desk.api_keys, False))


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


async def body_as(model: type[M], desk: FrontDesk, request: Request) -> tuple[M, bytes]:
    data, raw = await read_json(request)
    return validated(model, data), raw


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
