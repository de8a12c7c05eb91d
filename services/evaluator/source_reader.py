"""Reading an uploaded file into knowledge items, away from the event loop.

Parsers are CPU-bound Python (pypdf, python-docx, openpyxl) and a hostile file may make one spin or
swell. So each file is read in a process of its own, forked from a server that has the importer loaded
already (`forkserver`: a few milliseconds a file, not the seconds a fresh interpreter takes): the
evaluator's event loop keeps answering while a 20 MB manual is parsed, the process gets an address-space
limit so a parser that swells fails alone, and one that outlives the import's time limit is killed.
Knowledge files in the helpdesk's own format (YAML, JSON Lines) are read the same way.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from helpdesk.knowledge.entries import FaqEntry, InvalidKnowledge, document_id
from helpdesk.knowledge.files import entries_in, is_knowledge_file
from helpdesk.knowledge.importing import ImportedSource, ImportLimits, ImportRefused, RefusalKind, read_source
from helpdesk.text.language import Language

WORKER_MEMORY_BYTES = 2 * 1024**3
"""The address space of one reading process: far above what a 20 MB file needs (a PDF parser holds a
few times the file), far below what would push the evaluator's container out of memory."""
GRACE_SECONDS = 5.0
"""Beyond the import's own time limit (which the importer checks between pages and rows), for a
library call that never returns."""
YAML_MEDIA_TYPE = "application/yaml"
JSONL_MEDIA_TYPE = "application/jsonl"


def knowledge_file(name: str, data: bytes, limits: ImportLimits) -> ImportedSource:
    """A knowledge file in the helpdesk's own format, as an imported source of FAQ entries."""
    import hashlib

    if len(data) > limits.max_bytes:
        raise ImportRefused(RefusalKind.TOO_LARGE, f"The file is larger than {limits.max_bytes} bytes.")
    try:
        entries: list[FaqEntry] = entries_in(name, data)
    except InvalidKnowledge as exc:
        raise ImportRefused(RefusalKind.BAD_SHEET, str(exc)) from None
    if not entries:
        raise ImportRefused(RefusalKind.NO_TEXT, "The file holds no knowledge entry.")
    document = document_id(name)
    return ImportedSource(
        name=name,
        document_id=document,
        title=name.rsplit("/", 1)[-1],
        media_type=JSONL_MEDIA_TYPE if name.endswith(".jsonl") else YAML_MEDIA_TYPE,
        sha256=hashlib.sha256(data).hexdigest(),
        language=Language.JA if all(e.en is None for e in entries) else Language.EN,
        faq_entries=tuple(e.model_copy(update={"source": name}) for e in entries),
    )


def read_any(name: str, data: bytes, limits: ImportLimits) -> ImportedSource:
    """The one entry point of a reading process (and of the tests): a knowledge file or any file the
    importer reads."""
    if is_knowledge_file(name):
        return knowledge_file(name, data, limits)
    return read_source(name, data, limits)


def _child(connection: Connection, name: str, data: bytes, limits: ImportLimits) -> None:
    """Runs in the reading process: the outcome goes back as a tagged tuple (an `ImportRefused` does
    not survive pickling with its kind)."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    outcome: tuple[str, Any]
    try:
        outcome = ("read", read_any(name, data, limits))
    except ImportRefused as exc:
        outcome = ("refused", (exc.reason.value, exc.detail))
    except MemoryError:
        outcome = (
            "refused",
            (RefusalKind.TOO_LARGE.value, "Reading the file needed more memory than allowed."),
        )
    except Exception as exc:  # a parser's own failure on a file it cannot read
        outcome = (
            "refused",
            (RefusalKind.CORRUPT.value, f"The file could not be read ({type(exc).__name__})."),
        )
    connection.send(outcome)
    connection.close()


@dataclass(frozen=True)
class SourceReader:
    """Reads one file in a process of its own (see the module docstring)."""

    limits: ImportLimits = field(default_factory=ImportLimits)

    async def read(self, name: str, data: bytes) -> ImportedSource:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["helpdesk.knowledge.importing", "services.evaluator.source_reader"])
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(sending, name, data, self.limits), daemon=True)
        process.start()
        sending.close()
        try:
            outcome = await asyncio.wait_for(
                asyncio.to_thread(_receive, receiving), self.limits.max_seconds + GRACE_SECONDS
            )
        except TimeoutError:
            raise ImportRefused(
                RefusalKind.TOO_SLOW,
                f"Reading the file took longer than {self.limits.max_seconds:g} seconds.",
            ) from None
        finally:
            if process.is_alive():
                process.kill()
            await asyncio.to_thread(process.join, 5)
            receiving.close()
        kind, value = outcome
        if kind == "refused":
            reason, detail = value
            raise ImportRefused(RefusalKind(reason), detail)
        assert isinstance(value, ImportedSource)
        return value


def _receive(connection: Connection) -> tuple[str, Any]:
    try:
        received: tuple[str, Any] = connection.recv()
    except EOFError:
        return ("refused", (RefusalKind.CORRUPT.value, "Reading the file stopped without an answer."))
    return received
