"""`helpdeskctl kb`: import files into the knowledge base, list its sources, remove one.

Every command talks to the evaluator's operator API (the knowledge store's one writer), as the
dashboard does: the local stack's evaluator and operator key come from its stack file (`.run/stack.json`,
written by `helpdeskctl up`); `--evaluator` and `--key` (or HELPDESK_EVALUATOR_URL and
HELPDESK_OPERATOR_KEY) point at a deployed one. A file is sent as it is, one request per file, under
the name it is imported as: its file name, or its path under a directory being imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from helpdesk_ops.local import LocalStack
from helpdesk_ops.run_file import ROOT

app = typer.Typer(
    help="Import files into the knowledge base, list its sources, remove one.", no_args_is_help=True
)
console = Console()

IMPORTED_SUFFIXES = (
    ".csv",
    ".tsv",
    ".xlsx",
    ".pdf",
    ".docx",
    ".html",
    ".htm",
    ".md",
    ".markdown",
    ".txt",
    ".yaml",
    ".yml",
    ".jsonl",
)
"""What `kb import` takes from a directory (a file named on the command line is always sent: the
evaluator says whether it reads it)."""
REQUEST_SECONDS = 180.0
SHOWN_SKIPPED = 5

Evaluator = Annotated[
    str | None,
    typer.Option(
        "--evaluator",
        envvar="HELPDESK_EVALUATOR_URL",
        help="The evaluator's URL (default: the local stack's).",
    ),
]
OperatorKey = Annotated[
    str | None,
    typer.Option(
        "--key", envvar="HELPDESK_OPERATOR_KEY", help="An operator key (default: the local stack's)."
    ),
]


@dataclass(frozen=True)
class Upload:
    path: Path
    name: str


def uploads(paths: list[Path]) -> Iterator[Upload]:
    """Each file named, and the importable files under each directory named (by their path under it)."""
    for path in paths:
        if path.is_dir():
            for file in sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMPORTED_SUFFIXES
            ):
                yield Upload(file, file.relative_to(path).as_posix())
        else:
            yield Upload(path, path.name)


def evaluator_client(url: str | None, key: str | None) -> httpx.Client:
    """The evaluator's API with an operator key: given, or the local stack's."""
    if url is None or key is None:
        try:
            stack = LocalStack.load()
        except FileNotFoundError as exc:
            console.print(f"[red]{exc}[/red] (or give --evaluator and --key)")
            raise typer.Exit(1) from None
        url = url or stack.replicas("evaluator")[0]["app"]
        key = key or stack.data["operator_key"]
    return httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=REQUEST_SECONDS)


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    kind = str(body.get("type", "")).rsplit("/", 1)[-1] or str(response.status_code)
    return {"outcome": "refused", "error": {"kind": kind, "detail": body.get("detail", response.text[:200])}}


def import_one(client: httpx.Client, upload: Upload) -> dict[str, Any]:
    response = client.post(
        "/v1/knowledge/imports",
        params={"name": upload.name},
        content=upload.path.read_bytes(),
        headers={"content-type": "application/octet-stream"},
    )
    if response.status_code == 200:
        summary: dict[str, Any] = response.json()
        return summary
    if response.status_code in (401, 403):
        console.print(f"[red]The evaluator refused the operator key ({response.status_code}).[/red]")
        raise typer.Exit(1)
    return {"name": upload.name, **_problem(response)}


def show_summaries(summaries: list[dict[str, Any]]) -> None:
    table = Table(
        "file", "result", "added", "changed", "unchanged", "removed", "skipped", "flagged", "version"
    )
    for s in summaries:
        outcome = s["outcome"]
        colour = {"imported": "green", "unchanged": "dim", "refused": "red"}.get(outcome, "")
        table.add_row(
            s["name"],
            f"[{colour}]{outcome}[/{colour}]" if colour else outcome,
            *(str(s.get(k, "")) for k in ("added", "changed", "unchanged", "removed")),
            str(s.get("skipped_count", "")),
            str(s.get("flagged", "")),
            str(s.get("kb_version") or ""),
        )
    console.print(table)
    for s in summaries:
        if s.get("error"):
            console.print(f"[red]{s['name']}: {s['error']['kind']}[/red]: {s['error']['detail']}")
        for note in (s.get("skipped") or [])[:SHOWN_SKIPPED]:
            console.print(f"  {s['name']}: skipped {note['part']}: {note['reason']}")
        if s.get("skipped_count", 0) > SHOWN_SKIPPED:
            console.print(f"  {s['name']}: … {s['skipped_count'] - SHOWN_SKIPPED} more skipped")
        if s.get("flagged"):
            console.print(
                f"  {s['name']}: {s['flagged']} passage(s) read like instructions to the assistant: "
                "kept for review, never answered from"
            )


def import_files(paths: list[Path], evaluator: str | None, key: str | None) -> list[dict[str, Any]]:
    files = list(uploads(paths))
    if not files:
        console.print("no importable files")
        raise typer.Exit(1)
    summaries = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with evaluator_client(evaluator, key) as client, Progress(*columns, console=console) as progress:
        task = progress.add_task("importing", total=len(files))
        for upload in files:
            progress.update(task, description=f"importing {upload.name}")
            summaries.append(import_one(client, upload))
            progress.advance(task)
        progress.update(task, description="imported")
    return summaries


@app.command("import")
def kb_import(
    paths: Annotated[
        list[Path], typer.Argument(exists=True, help="Files, or directories of files, to import.")
    ],
    evaluator: Evaluator = None,
    key: OperatorKey = None,
) -> None:
    """Import FAQ sheets (CSV, XLSX), documents (PDF, DOCX, HTML, Markdown, text) and knowledge files
    (YAML, JSON Lines); importing an unchanged file again changes nothing."""
    summaries = import_files(paths, evaluator, key)
    show_summaries(summaries)
    counts = {o: sum(1 for s in summaries if s["outcome"] == o) for o in ("imported", "unchanged", "refused")}
    console.print(
        f"{counts['imported']} imported, {counts['unchanged']} unchanged, {counts['refused']} refused"
    )
    raise typer.Exit(1 if counts["refused"] else 0)


@app.command("sources")
def kb_sources(evaluator: Evaluator = None, key: OperatorKey = None) -> None:
    """The knowledge base's documents, its version and the latest imports that were refused."""
    with evaluator_client(evaluator, key) as client:
        response = client.get("/v1/knowledge/sources")
    response.raise_for_status()
    view = response.json()
    table = Table("document", "id", "type", "entries", "passages", "flagged", "skipped", "imported")
    for d in view["documents"]:
        table.add_row(
            d["name"],
            d["document_id"],
            d["media_type"].rsplit("/", 1)[-1],
            str(d["faq_entries"]),
            str(d["passages"]),
            str(d["flagged"]),
            str(d["skipped_count"]),
            d["imported_at"][:19],
        )
    console.print(table)
    console.print(f"knowledge version {view['kb_version']} · {view['items']} items")
    for refused in [r for r in view["recent"] if r["outcome"] == "refused"][:10]:
        console.print(
            f"[red]refused[/red] {refused['at'][:19]} {refused['name']}: {refused['error']['detail']}"
        )


@app.command("remove")
def kb_remove(
    document_id: Annotated[str, typer.Argument(help="The document's id (see `kb sources`).")],
    evaluator: Evaluator = None,
    key: OperatorKey = None,
) -> None:
    """Remove a document and every passage or entry it gave."""
    with evaluator_client(evaluator, key) as client:
        response = client.delete(f"/v1/knowledge/sources/{document_id}")
    if response.status_code == 404:
        console.print(f"[red]no document {document_id}[/red]")
        raise typer.Exit(1)
    response.raise_for_status()
    summary = response.json()
    console.print(f"removed {summary['name']}: {summary['removed']} item(s); version {summary['kb_version']}")


@app.command("publish")
def kb_publish(
    path: Annotated[Path, typer.Argument(exists=True, help="A file of FAQ entries (as in knowledge/).")],
    evaluator: Evaluator = None,
    key: OperatorKey = None,
) -> None:
    """Import a knowledge file (YAML or JSON Lines); every dialogue replica re-indexes live."""
    summaries = import_files([path], evaluator, key)
    show_summaries(summaries)
    summary = summaries[0]
    if summary["outcome"] == "refused":
        raise typer.Exit(1)
    console.print(f"{summary['kb_version']}: {summary['added']} added, {summary['changed']} changed")


@app.command("reload")
def kb_reload(evaluator: Evaluator = None, key: OperatorKey = None) -> None:
    """Import the default knowledge base in knowledge/ again (after editing its files)."""
    files = sorted(p for p in (ROOT / "knowledge").iterdir() if p.suffix in (".yaml", ".yml", ".jsonl"))
    summaries = import_files(files, evaluator, key)
    show_summaries(summaries)
    raise typer.Exit(1 if any(s["outcome"] == "refused" for s in summaries) else 0)
