"""Dashboard pages: sign in with the operator key, see the numbers, review FAQ candidates."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from helpdesk.dapr.ports import SidecarUnavailable
from services.evaluator.api.deps import Candidates, CookiePolicy, OperatorAccess, Report, SessionToken
from services.evaluator.candidates.candidate import (
    CandidateAlreadyReviewed,
    CandidateEdit,
    CandidateNotFound,
    CandidateStatus,
    NotAnApprovedWording,
    WordingEntryGone,
)
from services.evaluator.operator_access import SESSION_COOKIE, OperatorAuth, OperatorSession, csrf_ok
from services.evaluator.quality_report import MAX_DAYS

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
CHARTED = ("turns", "relevance", "groundedness", "thumbs_up_rate", "handoff_rate")
REVIEWED_SHOWN = 20

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class ReviewAction(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    WITHDRAW = "withdraw"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


_templates.filters["percent"] = _percent
_templates.filters["number"] = _number


def render_page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


def session_ended() -> HTMLResponse:
    """The sign-in page for a form sent without a live session or without its CSRF token: the operator
    signs in again rather than learning which of the two failed."""
    return render_page("login.html", status=403, error="Your session ended; sign in again.")


def redirect_to(status: int = 303, path: str = "/dashboard") -> RedirectResponse:
    return RedirectResponse(path, status_code=status, headers=_SECURITY_HEADERS)


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields; the routes that read one take at most `MAX_FORM_BYTES` (413 beyond, while
    the body streams in)."""
    body = await request.body()
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


async def session_for_form(
    operators: OperatorAuth, token: str | None, form: dict[str, str]
) -> OperatorSession | None:
    session = await operators.session(token)
    if session is None or not csrf_ok(session, form.get("csrf")):
        return None
    return session


router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard")
async def dashboard(
    operators: OperatorAccess, report: Report, queue: Candidates, token: SessionToken = None, days: int = 7
) -> Response:
    session = await operators.session(token)
    if session is None:
        return render_page("login.html")
    days = min(max(days, 1), MAX_DAYS)
    summary = await report.summary(days)
    experiment = await report.experiment(days)
    pending = await queue.find(CandidateStatus.PENDING)
    others = [c for c in await queue.find() if c.status is not CandidateStatus.PENDING][:REVIEWED_SHOWN]
    chart_data = {
        "series": summary["series"],
        "variants": {name: {k: numbers[k] for k in CHARTED} for name, numbers in summary["variants"].items()},
    }
    return render_page(
        "dashboard.html",
        session=session,
        days=days,
        summary=summary,
        experiment=experiment,
        pending=pending,
        reviewed=others,
        recent=await report.recent(30),
        chart_data=chart_data,
    )


@router.post("/dashboard/login", max_body_size=MAX_FORM_BYTES)
async def login(request: Request, operators: OperatorAccess, cookie: CookiePolicy) -> Response:
    form = await read_form(request)
    signed = await operators.sign_in(form.get("api_key", ""))
    if signed is None:
        return render_page("login.html", status=401, error="That key is not an operator key.")
    token, _ = signed
    response = redirect_to()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=cookie.max_age_seconds,
        httponly=True,
        samesite="strict",
        secure=cookie.secure,
        path="/",
    )
    return response


@router.post("/dashboard/logout", max_body_size=MAX_FORM_BYTES)
async def logout(request: Request, operators: OperatorAccess, token: SessionToken = None) -> Response:
    form = await read_form(request)
    if await session_for_form(operators, token, form) is not None:
        await operators.sign_out(token)
    response = redirect_to()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/dashboard/candidates/{candidate_id}/{action}", max_body_size=MAX_FORM_BYTES)
async def review(
    candidate_id: str,
    action: str,
    request: Request,
    operators: OperatorAccess,
    queue: Candidates,
    token: SessionToken = None,
) -> Response:
    form = await read_form(request)
    session = await session_for_form(operators, token, form)
    if session is None:
        return session_ended()
    edit = CandidateEdit(
        question=form.get("question") or None,
        answer=form.get("answer") or None,
        alternatives=[a for a in form.get("alternatives", "").splitlines() if a.strip()] or None,
        category=form.get("category") or None,
    )
    try:
        chosen = ReviewAction(action)
    except ValueError:
        return render_page("login.html", status=404, error="Unknown action.")
    try:
        match chosen:
            case ReviewAction.APPROVE:
                await queue.approve(candidate_id, session.user_id, edit)
            case ReviewAction.EDIT:
                await queue.edit(candidate_id, edit)
            case ReviewAction.REJECT:
                await queue.reject(candidate_id, session.user_id, form.get("note") or None)
            case ReviewAction.WITHDRAW:
                await queue.withdraw(candidate_id, session.user_id)
    except (CandidateNotFound, CandidateAlreadyReviewed, NotAnApprovedWording, WordingEntryGone):
        return redirect_to()
    except SidecarUnavailable:
        return render_page(
            "login.html", status=503, error="The state store is unavailable; try again shortly."
        )
    return redirect_to()
