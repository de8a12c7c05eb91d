"""POST /api/messages: the Bot Framework's webhook, handed to the Teams channel.

No `from __future__ import annotations` here: FastAPI resolves the dependency aliases at runtime.
"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.gateway.api.deps import TeamsChannelDep

router = APIRouter(tags=["teams"])


@router.post(
    "/api/messages",
    summary="Bot Framework activities from Microsoft Teams",
    description=(
        "Called by the Bot Framework with a signed token. Answers 200 once the message is recorded; "
        "the reply is sent later to the conversation. 401 without a token, 403 for a token that "
        "is not valid for this bot, channel, service URL or tenant, 503 while Teams is switched off."
    ),
    status_code=200,
    response_class=Response,
    responses={
        401: {"description": "No Bot Framework token"},
        403: {"description": "Token or activity not acceptable"},
        503: {"description": "Teams is switched off or keys cannot be fetched now"},
    },
)
async def messages(request: Request, teams: TeamsChannelDep) -> Response:
    return await teams.receive(request)
