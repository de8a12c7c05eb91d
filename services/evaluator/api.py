"""The operator API: evaluation numbers, the A/B verdict, single evaluations and the candidate queue.

Every route needs an operator: an `Authorization: Bearer <operator key>` header, or the dashboard's
session cookie (then state-changing routes also need the `X-CSRF-Token` header).
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Cookie, Depends, Header, Query
from pydantic import BaseModel, Field

from helpdesk.errors import Problem
from services.evaluator.candidates import Candidate, CandidateEdit, CandidateStatus, NotFound, ReviewError
from services.evaluator.operators import SESSION_COOKIE, SignedIn, csrf_ok
from services.evaluator.records import EvaluationRecord
from services.evaluator.service import Evaluator

Days = Annotated[int, Query(ge=1, le=90)]


class Rejection(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


def operator_router(evaluator: Evaluator) -> APIRouter:
    async def signed_in(
        authorization: Annotated[str | None, Header()] = None,
        session_token: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
    ) -> SignedIn:
        return await evaluator.operators.from_cookie_or_bearer(session_token, authorization)

    async def may_change(
        who: Annotated[SignedIn, Depends(signed_in)],
        x_csrf_token: Annotated[str | None, Header()] = None,
    ) -> SignedIn:
        if who.session is not None and not csrf_ok(who.session, x_csrf_token):
            raise Problem(403, "The request lacks this session's CSRF token.", kind="csrf")
        return who

    Reader = Annotated[SignedIn, Depends(signed_in)]  # noqa: N806 - a dependency alias
    Writer = Annotated[SignedIn, Depends(may_change)]  # noqa: N806 - a dependency alias

    router = APIRouter(prefix="/v1", tags=["operators"])

    @router.get(
        "/evaluations/summary", summary="Quality, latency, cost and session numbers, per variant and hour"
    )
    async def summary(_: Reader, days: Days = 7) -> dict[str, Any]:
        return await evaluator.summary(days)

    @router.get("/evaluations/recent", summary="The latest evaluated turns")
    async def recent(_: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
        return {"turns": await evaluator.recent(limit)}

    @router.get("/evaluations/{turn_id}", summary="One turn's evaluation, with its rating and judge verdict")
    async def evaluation(turn_id: UUID, _: Reader) -> EvaluationRecord:
        record = await evaluator.turns.evaluation(turn_id)
        if record is None:
            raise Problem(404, "No evaluation for this turn.")
        return record

    @router.get("/experiments", summary="A/B results per variant, with intervals, tests and a verdict")
    async def experiments(_: Reader, days: Days = 7) -> dict[str, Any]:
        return await evaluator.experiment(days)

    @router.get("/faq-candidates", summary="FAQ candidates drafted from agents' answers")
    async def candidates(_: Reader, status: CandidateStatus | None = None) -> dict[str, list[Candidate]]:
        return {"candidates": await evaluator.candidates.find(status)}

    @router.get("/faq-candidates/{candidate_id}")
    async def candidate(candidate_id: str, _: Reader) -> Candidate:
        found = await evaluator.candidates.get(candidate_id)
        if found is None:
            raise Problem(404, "No such candidate.")
        return found

    @router.patch("/faq-candidates/{candidate_id}", summary="Edit a pending candidate")
    async def edit(candidate_id: str, change: CandidateEdit, _: Writer) -> Candidate:
        return await _review(lambda: evaluator.candidates.edit(candidate_id, change))

    @router.post("/faq-candidates/{candidate_id}/approve", summary="Approve, publish to the knowledge base")
    async def approve(candidate_id: str, who: Writer, change: CandidateEdit | None = None) -> Candidate:
        return await _review(
            lambda: evaluator.candidates.approve(candidate_id, who.principal.user_id, change)
        )

    @router.post("/faq-candidates/{candidate_id}/reject", summary="Reject a candidate")
    async def reject(candidate_id: str, who: Writer, body: Rejection | None = None) -> Candidate:
        note = body.note if body else None
        return await _review(lambda: evaluator.candidates.reject(candidate_id, who.principal.user_id, note))

    return router


async def _review(action: Any) -> Candidate:
    try:
        result: Candidate = await action()
    except NotFound as exc:
        raise Problem(404, "No such candidate.") from exc
    except ReviewError as exc:
        raise Problem(409, str(exc), kind="review-conflict") from exc
    return result
