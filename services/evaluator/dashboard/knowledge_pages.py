"""The dashboard's knowledge page: upload FAQ sheets and documents, see the sources (documents, what
was skipped or flagged, the latest imports and refusals) and remove one.

The page uses the same knowledge sources as the operator API. An upload is a multipart form with the
session's CSRF token; it may be as large as the API's import route allows (`IMPORT_MAX_BODY_BYTES`)."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.knowledge.entries import DOCUMENT_ID_PATTERN
from helpdesk.knowledge.importing import ImportRefused
from helpdesk.knowledge.store import KnowledgeStoreBusy
from services.evaluator.api.deps import OperatorAccess, SessionToken, Sources
from services.evaluator.api.knowledge_api import IMPORT_MAX_BODY_BYTES
from services.evaluator.dashboard.pages import (
    MAX_FORM_BYTES,
    read_form,
    redirect_to,
    render_page,
    session_ended,
    session_for_form,
)
from services.evaluator.knowledge_sources import (
    BadSourceName,
    ImportSummary,
    KnowledgeSources,
    RefusalNote,
    SourceNotFound,
    SourceOutcome,
)
from services.evaluator.operator_access import OperatorSession, csrf_ok

PAGE = "/dashboard/knowledge"
MAX_FILES = 20

router = APIRouter(include_in_schema=False)


async def knowledge_page(
    sources: KnowledgeSources,
    session: OperatorSession,
    results: list[ImportSummary] | None = None,
    status: int = 200,
) -> Response:
    return render_page(
        "knowledge.html", status=status, session=session, view=await sources.sources(), results=results
    )


@router.get(PAGE)
async def knowledge(operators: OperatorAccess, sources: Sources, token: SessionToken = None) -> Response:
    session = await operators.session(token)
    if session is None:
        return render_page("login.html")
    return await knowledge_page(sources, session)


async def import_one(sources: KnowledgeSources, file: UploadFile, actor: str) -> ImportSummary:
    name = file.filename or ""
    try:
        return await sources.import_file(name, await file.read(), actor)
    except (ImportRefused, BadSourceName) as exc:
        return ImportSummary(
            name=name or "(no name)",
            outcome=SourceOutcome.REFUSED,
            error=RefusalNote(kind=exc.kind, detail=exc.detail),
        )


@router.post(f"{PAGE}/imports", max_body_size=IMPORT_MAX_BODY_BYTES)
async def upload(
    request: Request, operators: OperatorAccess, sources: Sources, token: SessionToken = None
) -> Response:
    session = await operators.session(token)
    if session is None:
        return session_ended()
    async with request.form(max_files=MAX_FILES, max_fields=4, max_part_size=64 * 1024) as form:
        if not csrf_ok(session, str(form.get("csrf") or "")):
            return session_ended()
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile) and f.filename]
        results = []
        try:
            for file in files:
                results.append(await import_one(sources, file, session.user_id))
        except (SidecarUnavailable, KnowledgeStoreBusy):
            return render_page(
                "login.html", status=503, error="The knowledge store is busy or unavailable; try again."
            )
    return await knowledge_page(sources, session, results, status=200 if files else 422)


@router.post(f"{PAGE}/sources/{{document_id}}/remove", max_body_size=MAX_FORM_BYTES)
async def remove(
    request: Request,
    document_id: Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN)],
    operators: OperatorAccess,
    sources: Sources,
    token: SessionToken = None,
) -> Response:
    form = await read_form(request)
    session = await session_for_form(operators, token, form)
    if session is None:
        return session_ended()
    with contextlib.suppress(SourceNotFound):
        await sources.remove(document_id, session.user_id)
    return redirect_to(path=PAGE)
