"""Dashboard routes: sign in with the operator key, see the numbers, review FAQ candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Cookie, Request
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from helpdesk.dapr.ports import SidecarUnavailable
from services.evaluator.candidates import CandidateEdit, CandidateStatus, NotFound, ReviewError
from services.evaluator.operators import SESSION_COOKIE, OperatorSession, csrf_ok
from services.evaluator.service import Evaluator

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

Token = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


_templates.filters["percent"] = _percent
_templates.filters["number"] = _number


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


async def _form(request: Request) -> dict[str, str]:
    """The form's fields; the routes that read one take at most `MAX_FORM_BYTES` (413 beyond, while
    the body streams in)."""
    body = await request.body()
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def dashboard_router(evaluator: Evaluator) -> tuple[APIRouter, StaticFiles]:
    router = APIRouter(include_in_schema=False)
    secure = evaluator.settings.secure_cookies or evaluator.settings.environment == "azure"

    def _back(status: int = 303) -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=status, headers=_SECURITY_HEADERS)

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    @router.get("/dashboard")
    async def dashboard(token: Token = None, days: int = 7) -> Response:
        session = await evaluator.operators.session(token)
        if session is None:
            return _page("login.html")
        days = min(max(days, 1), 90)
        summary = await evaluator.summary(days)
        experiment = await evaluator.experiment(days)
        pending = await evaluator.candidates.find(CandidateStatus.PENDING)
        others = [c for c in await evaluator.candidates.find() if c.status is not CandidateStatus.PENDING][
            :20
        ]
        chart_data = {
            "series": summary["series"],
            "variants": {
                name: {
                    k: numbers[k]
                    for k in ("turns", "relevance", "groundedness", "thumbs_up_rate", "handoff_rate")
                }
                for name, numbers in summary["variants"].items()
            },
        }
        return _page(
            "dashboard.html",
            session=session,
            days=days,
            summary=summary,
            experiment=experiment,
            pending=pending,
            reviewed=others,
            recent=await evaluator.recent(30),
            chart_data=chart_data,
        )

    @router.post("/dashboard/login", max_body_size=MAX_FORM_BYTES)
    async def login(request: Request) -> Response:
        form = await _form(request)
        signed = await evaluator.operators.sign_in(form.get("api_key", ""))
        if signed is None:
            return _page("login.html", status=401, error="That key is not an operator key.")
        token, _ = signed
        response = _back()
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=evaluator.settings.operator_session_seconds,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )
        return response

    async def _session_for_form(token: str | None, form: dict[str, str]) -> OperatorSession | None:
        session = await evaluator.operators.session(token)
        if session is None or not csrf_ok(session, form.get("csrf")):
            return None
        return session

    @router.post("/dashboard/logout", max_body_size=MAX_FORM_BYTES)
    async def logout(request: Request, token: Token = None) -> Response:
        form = await _form(request)
        if await _session_for_form(token, form) is not None:
            await evaluator.operators.sign_out(token)
        response = _back()
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.post("/dashboard/candidates/{candidate_id}/{action}", max_body_size=MAX_FORM_BYTES)
    async def review(candidate_id: str, action: str, request: Request, token: Token = None) -> Response:
        form = await _form(request)
        session = await _session_for_form(token, form)
        if session is None:
            return _page("login.html", status=403, error="Your session ended; sign in again.")
        edit = CandidateEdit(
            question=form.get("question") or None,
            answer=form.get("answer") or None,
            alternatives=[a for a in form.get("alternatives", "").splitlines() if a.strip()] or None,
            category=form.get("category") or None,
        )
        try:
            if action == "approve":
                await evaluator.candidates.approve(candidate_id, session.user_id, edit)
            elif action == "edit":
                await evaluator.candidates.edit(candidate_id, edit)
            elif action == "reject":
                await evaluator.candidates.reject(candidate_id, session.user_id, form.get("note") or None)
            else:
                return _page("login.html", status=404, error="Unknown action.")
        except (NotFound, ReviewError):
            return _back()
        except SidecarUnavailable:
            return _page("login.html", status=503, error="The state store is unavailable; try again shortly.")
        return _back()

    static = StaticFiles(directory=HERE / "static")
    return router, static
