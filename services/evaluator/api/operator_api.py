"""The operator API: evaluation numbers, the A/B verdict, single evaluations and the candidate queue."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from helpdesk.errors import Problem
from services.evaluator.api.deps import Candidates, Evaluations, Reader, Report, Writer
from services.evaluator.candidates.candidate import (
    Candidate,
    CandidateEdit,
    CandidateNotFound,
    CandidateStatus,
)
from services.evaluator.quality_report import MAX_DAYS
from services.evaluator.records import EvaluationRecord

Days = Annotated[int, Query(ge=1, le=MAX_DAYS)]


class Rejection(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


router = APIRouter(prefix="/v1", tags=["operators"])


@router.get(
    "/evaluations/summary", summary="Quality, latency, cost and session numbers, per variant and hour"
)
async def summary(_: Reader, report: Report, days: Days = 7) -> dict[str, Any]:
    return await report.summary(days)


@router.get("/evaluations/recent", summary="The latest evaluated turns")
async def recent(
    _: Reader, report: Report, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    return {"turns": await report.recent(limit)}


@router.get("/evaluations/{turn_id}", summary="One turn's evaluation, with its rating and judge verdict")
async def evaluation(turn_id: UUID, _: Reader, evaluations: Evaluations) -> EvaluationRecord:
    record = await evaluations.evaluation(turn_id)
    if record is None:
        raise Problem(404, "No evaluation for this turn.")
    return record


@router.get("/experiments", summary="A/B results per variant, with intervals, tests and a verdict")
async def experiments(_: Reader, report: Report, days: Days = 7) -> dict[str, Any]:
    return await report.experiment(days)


@router.get("/faq-candidates", summary="FAQ candidates drafted from agents' answers")
async def candidates(
    _: Reader, queue: Candidates, status: CandidateStatus | None = None
) -> dict[str, list[Candidate]]:
    return {"candidates": await queue.find(status)}


@router.get("/faq-candidates/{candidate_id}")
async def candidate(candidate_id: str, _: Reader, queue: Candidates) -> Candidate:
    found = await queue.get(candidate_id)
    if found is None:
        raise CandidateNotFound()
    return found


@router.patch("/faq-candidates/{candidate_id}", summary="Edit a pending candidate")
async def edit(candidate_id: str, change: CandidateEdit, _: Writer, queue: Candidates) -> Candidate:
    return await queue.edit(candidate_id, change)


@router.post("/faq-candidates/{candidate_id}/approve", summary="Approve, publish to the knowledge base")
async def approve(
    candidate_id: str, who: Writer, queue: Candidates, change: CandidateEdit | None = None
) -> Candidate:
    return await queue.approve(candidate_id, who.principal.user_id, change)


@router.post("/faq-candidates/{candidate_id}/reject", summary="Reject a candidate")
async def reject(
    candidate_id: str, who: Writer, queue: Candidates, body: Rejection | None = None
) -> Candidate:
    note = body.note if body else None
    return await queue.reject(candidate_id, who.principal.user_id, note)


@router.post(
    "/faq-candidates/{candidate_id}/withdraw",
    summary="Withdraw an approved wording: out of its entry, never added back by a re-import",
)
async def withdraw(candidate_id: str, who: Writer, queue: Candidates) -> Candidate:
    return await queue.withdraw(candidate_id, who.principal.user_id)
