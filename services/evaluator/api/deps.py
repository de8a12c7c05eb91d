"""Typed route dependencies: the parts `compose` built (on `app.state.parts`) and who is asking.

Every operator route needs an operator: an `Authorization: Bearer <operator key>` header, or the
dashboard's session cookie (then state-changing routes also need the session's `X-CSRF-Token`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Header, Request

from helpdesk.errors import Problem
from helpdesk.web import parts_of
from services.evaluator.candidates.candidate_queue import CandidateQueue
from services.evaluator.composition import EvaluatorParts, SessionCookie
from services.evaluator.evaluation import TurnEvaluator
from services.evaluator.knowledge_sources import KnowledgeSources
from services.evaluator.operator_access import SESSION_COOKIE, OperatorAuth, SignedIn, csrf_ok
from services.evaluator.quality_report import QualityReport


def evaluator_parts(request: Request) -> EvaluatorParts:
    parts: EvaluatorParts = parts_of(request)
    return parts


def operator_access(request: Request) -> OperatorAuth:
    return evaluator_parts(request).operators


def quality_report(request: Request) -> QualityReport:
    return evaluator_parts(request).report


def turn_evaluations(request: Request) -> TurnEvaluator:
    return evaluator_parts(request).evaluations


def candidate_queue(request: Request) -> CandidateQueue:
    return evaluator_parts(request).candidates


def knowledge_sources(request: Request) -> KnowledgeSources:
    return evaluator_parts(request).sources


def session_cookie(request: Request) -> SessionCookie:
    return evaluator_parts(request).session_cookie


OperatorAccess = Annotated[OperatorAuth, Depends(operator_access)]
Report = Annotated[QualityReport, Depends(quality_report)]
Evaluations = Annotated[TurnEvaluator, Depends(turn_evaluations)]
Candidates = Annotated[CandidateQueue, Depends(candidate_queue)]
Sources = Annotated[KnowledgeSources, Depends(knowledge_sources)]
CookiePolicy = Annotated[SessionCookie, Depends(session_cookie)]
SessionToken = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]


async def signed_in(
    operators: OperatorAccess,
    authorization: Annotated[str | None, Header()] = None,
    session_token: SessionToken = None,
) -> SignedIn:
    return await operators.from_cookie_or_bearer(session_token, authorization)


async def may_change(
    who: Annotated[SignedIn, Depends(signed_in)],
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> SignedIn:
    if who.session is not None and not csrf_ok(who.session, x_csrf_token):
        raise Problem(403, "The request lacks this session's CSRF token.", kind="csrf")
    return who


Reader = Annotated[SignedIn, Depends(signed_in)]
"""Any operator."""
Writer = Annotated[SignedIn, Depends(may_change)]
"""An operator allowed to change state (with the CSRF token when signed in through the dashboard)."""
