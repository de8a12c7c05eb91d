"""FAQ retrieval benchmark: index a FAQ with the dialogue service's own code, run the queries, report.

    make faq-bench FAQ=<faq.jsonl | knowledge/> QUERIES=<queries.jsonl> [LATENCY_ENTRIES=1000]
    .venv/bin/python -m bench.faq_bench --faq .run/stackfaq/faq.jsonl --queries .run/stackfaq/queries.jsonl \
        --threads even            # StackFAQ's tuning half (odd: the held-out half)

FAQ lines: {"id", "question", "answer", "alternatives": [..] (optional), "lang" (optional)}, or the
knowledge base's own files. Query lines: {"query", "relevant": [ids], "lang" (optional)}; a query with
no relevant id is one the knowledge base cannot answer: it is left out of P@1, MRR and Hit@5 and counted
under "unanswerable" by what the answer model's thresholds would do with it (answer, clarify,
escalate). With DOCS (`--docs <folder>`) the documents' passages are indexed beside the entries, as a
knowledge base with imported manuals holds them; a passage ranked above the relevant entry counts
against it.

The index is built as a replica builds it: with the multilingual sentence encoder unless
`--no-semantic` (lexical retrieval, as with `semantic_retrieval` off). `--threads even|odd` keeps the
queries of StackFAQ's even or odd threads (entry ids `t<thread>-a<n>`), the split the weights were
tuned on (even) and held out (odd).

Latency is that of `KnowledgeIndex.search` as the service calls it (analysis, the question's sentence
vector, scoring, confidence), per query, on one core. With LATENCY_ENTRIES the index is padded to that
many entries with renamed copies of the FAQ's own entries, so latency can be measured at a given
knowledge-base size. The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from helpdesk.events import Language
from helpdesk.knowledge.entries import FaqEntry, FaqText, Passage
from helpdesk.knowledge.files import read_entries
from helpdesk.text import detect_language
from services.dialogue.public import KnowledgeIndex, deployed_index

RANKED = 100


@dataclass(frozen=True)
class Query:
    text: str
    relevant: frozenset[str]
    language: Language


def read_queries(path: Path) -> list[Query]:
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row: dict[str, Any] = json.loads(line)
        text = str(row["query"])
        hint = row.get("lang")
        language = Language(hint) if hint in ("en", "ja") else detect_language(text)
        queries.append(Query(text, frozenset(str(i) for i in row.get("relevant") or []), language))
    return queries


def padded(entries: list[FaqEntry], size: int) -> list[FaqEntry]:
    """`entries` plus renamed copies up to `size` (each copy's question is made distinct so that it is
    indexed as its own document)."""
    out = list(entries)
    copy = 0
    while len(out) < size:
        copy += 1
        for entry in entries:
            if len(out) >= size:
                break
            versions = {
                language.value: FaqText(
                    question=f"{text.question} ({copy})", alternatives=text.alternatives, answer=text.answer
                )
                for language, text in entry.versions()
            }
            out.append(entry.model_copy(update={"id": f"copy{copy}-{entry.id}", **versions}))
    return out


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(index: KnowledgeIndex, queries: list[Query]) -> list[float]:
    for query in queries[:20]:
        index.search(query.text, query.language)
    out = []
    for query in queries:
        started = time.perf_counter()
        index.search(query.text, query.language)
        out.append((time.perf_counter() - started) * 1000)
    return out


def metrics(row: list[float]) -> dict[str, float]:
    """Queries, P@1, MRR and Hit@5 from one row of sums (count, first hits, reciprocal ranks, top-5)."""
    n = max(row[0], 1)
    return {
        "queries": int(row[0]),
        "p_at_1": round(row[1] / n, 4),
        "mrr": round(row[2] / n, 4),
        "hit_at_5": round(row[3] / n, 4),
    }


def of_threads(queries: list[Query], parity: str | None) -> list[Query]:
    """StackFAQ's queries of even or odd threads (by their relevant entries' ids, `t<thread>-a<n>`)."""
    if parity is None:
        return queries
    wanted = 0 if parity == "even" else 1
    return [q for q in queries if q.relevant and int(min(q.relevant)[1:].split("-")[0]) % 2 == wanted]


def scored(
    index: KnowledgeIndex, queries: list[Query]
) -> tuple[dict[str, list[float]], dict[str, int], list[str]]:
    """The sums `metrics` reads, per language and over "all"; how the queries no entry answers were
    answered, clarified or escalated at the index's thresholds; and the first 15 misses to print."""
    thresholds = index.model.thresholds
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    unanswerable: dict[str, int] = {"queries": 0, "answered": 0, "clarified": 0, "escalated": 0}
    misses: list[str] = []
    for query in queries:
        retrieval = index.search(query.text, query.language, limit=RANKED)
        if not query.relevant:
            unanswerable["queries"] += 1
            if retrieval.confidence >= thresholds.answer:
                unanswerable["answered"] += 1
            elif retrieval.confidence >= thresholds.clarify:
                unanswerable["clarified"] += 1
            else:
                unanswerable["escalated"] += 1
            continue
        ranked = [hit.entry.id for hit in retrieval.hits]
        rank = next((i for i, ident in enumerate(ranked) if ident in query.relevant), None)
        for key in ("all", query.language.value):
            row = sums[key]
            row[0] += 1
            if rank is not None:
                row[1] += rank == 0
                row[2] += 1 / (rank + 1)
                row[3] += rank < 5
        if rank != 0 and len(misses) < 15:
            misses.append(f"  miss (rank {rank}): {query.text[:70]!r} -> {ranked[:1]}")
    return sums, unanswerable, misses


def run(
    faq: Path,
    queries_path: Path,
    latency_entries: int | None,
    docs: Path | None = None,
    *,
    semantic: bool = True,
    threads: str | None = None,
) -> dict[str, Any]:
    entries = read_entries(faq)
    queries = of_threads(read_queries(queries_path), threads)
    passages = documents(docs) if docs is not None else []
    started = time.perf_counter()
    index = deployed_index([*entries, *passages], "bench", semantic_retrieval=semantic)
    build_seconds = time.perf_counter() - started
    sums, unanswerable, misses = scored(index, queries)

    latency_index = index
    if latency_entries and latency_entries > len(entries):
        latency_index = deployed_index(
            padded(entries, latency_entries), "bench-padded", semantic_retrieval=semantic
        )
    latencies = timed(latency_index, queries)

    for line in misses:
        print(line)
    overall = metrics(sums["all"])
    return {
        **overall,
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "entries": len(entries),
        "passages": len(index.passages),
        "semantic": index.semantic is not None,
        "threads": threads or "all",
        "latency_entries": len(latency_index),
        "index_build_s": round(build_seconds, 3),
        "by_language": {k: metrics(v) for k, v in sorted(sums.items()) if k != "all"},
        "unanswerable": unanswerable,
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    }


def documents(folder: Path) -> list[Passage]:
    """The passages of the documents in `folder`, imported as the service imports them."""
    from helpdesk.knowledge.importing import read_source

    return [
        p
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        for p in read_source(path.name, path.read_bytes()).passages
    ]


def main(
    faq: Annotated[Path, typer.Option(help="FAQ entries: a .jsonl file or a folder like knowledge/.")],
    queries: Annotated[Path, typer.Option(help="Queries with their relevant entry ids (.jsonl).")],
    latency_entries: Annotated[
        int | None, typer.Option(help="Pad the index to this many entries to time queries at that size.")
    ] = None,
    docs: Annotated[
        Path | None, typer.Option(help="Documents indexed beside the FAQ (a passage ranked first is a miss).")
    ] = None,
    semantic: Annotated[
        bool, typer.Option(help="With the multilingual sentence encoder (as deployed).")
    ] = True,
    threads: Annotated[
        str | None, typer.Option(help="StackFAQ: only the queries of even or odd threads.")
    ] = None,
) -> None:
    """Retrieval quality and latency of dialogue's FAQ index; the last line is one JSON object."""
    if threads not in (None, "even", "odd"):
        raise typer.BadParameter("even or odd", param_hint="--threads")
    result = run(faq, queries, latency_entries, docs, semantic=semantic, threads=threads)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    typer.run(main)
