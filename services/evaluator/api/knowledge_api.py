"""The operator API of knowledge sources: import a file, list the sources, remove one.

    POST   /v1/knowledge/imports                  one file: multipart/form-data (field `file`), or the
                                                  raw bytes with `?name=<file name>`
    GET    /v1/knowledge/sources                  documents, the knowledge version, recent imports
    DELETE /v1/knowledge/sources/{document_id}    the document and every item it gave

An upload may be up to `IMPORT_MAX_BODY_BYTES` (the route's own limit, above the app's 1 MiB; the edge
refuses a larger declared length before reading it); the importer's own file limit is below it. The
answer to an import says what it did (imported, unchanged) with the counts; a refused file is a problem
document (413 or 422, `type` naming the refusal) and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.datastructures import UploadFile

from helpdesk.errors import Problem
from helpdesk.knowledge.entries import DOCUMENT_ID_PATTERN
from services.evaluator.api.deps import Reader, Sources, Writer
from services.evaluator.knowledge_sources import MAX_NAME_CHARS, ImportSummary, SourcesView

MIB = 1024 * 1024
IMPORT_MAX_BODY_BYTES = 25 * MIB
"""A 20 MB file (the importer's limit) with room for the multipart framing."""

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])


async def uploaded(request: Request, name: str | None) -> tuple[str, bytes]:
    """The file's name and bytes, from a multipart form's `file` field or from the raw body."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4, max_part_size=64 * 1024) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise Problem(422, "Send the file in the form field 'file'.", kind="no-file")
            return name or file.filename or "", await file.read()
    if not name:
        raise Problem(
            422, "Name the file: ?name=<file name> (or send it as multipart/form-data).", kind="no-name"
        )
    return name, await request.body()


@router.post(
    "/imports",
    summary="Import a FAQ sheet or a document into the knowledge base",
    max_body_size=IMPORT_MAX_BODY_BYTES,
)
async def import_source(
    request: Request,
    who: Writer,
    sources: Sources,
    name: Annotated[str | None, Query(max_length=MAX_NAME_CHARS)] = None,
) -> ImportSummary:
    file_name, data = await uploaded(request, name)
    return await sources.import_file(file_name, data, who.principal.user_id)


@router.get("/sources", summary="The knowledge base's documents, its version and the latest imports")
async def list_sources(_: Reader, sources: Sources) -> SourcesView:
    return await sources.sources()


@router.delete("/sources/{document_id}", summary="Remove a document and its passages or entries")
async def remove_source(
    document_id: Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN)], who: Writer, sources: Sources
) -> ImportSummary:
    return await sources.remove(document_id, who.principal.user_id)
