"""Which parts of the retrieval help: the FAQ benchmark with parts of the fused score switched off.

    .venv/bin/python -m bench.faq_ablation --faq .run/stackfaq/faq.jsonl --queries .run/stackfaq/queries.jsonl

Prints a Markdown table (P@1, MRR, Hit@5 per variant) for docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from bench.faq_bench import Query, read_queries
from helpdesk.knowledge.entries import FaqEntry
from helpdesk.knowledge.files import read_entries
from services.dialogue.public import KnowledgeIndex, RetrievalWeights

FULL = RetrievalWeights()
NO_CHARS = replace(FULL, phrasing_chars=0.0, answer_chars=0.0, topic_chars=0.0)
VARIANTS: dict[str, RetrievalWeights] = {
    "BM25 on phrasings only": replace(NO_CHARS, answer=0.0, topic=0.0),
    "+ answer field (BM25)": replace(NO_CHARS, topic=0.0),
    "+ topic field (BM25)": NO_CHARS,
    "+ character n-grams on phrasings": replace(FULL, answer_chars=0.0, topic_chars=0.0),
    "+ character n-grams on answers and topics (all)": FULL,
}


def measure(entries: list[FaqEntry], queries: list[Query], weights: RetrievalWeights) -> tuple[float, ...]:
    index = KnowledgeIndex(entries, "ablation", weights=weights)
    p1 = mrr = hit5 = 0.0
    answerable = [q for q in queries if q.relevant]
    for query in answerable:
        ranked = [h.entry.id for h in index.search(query.text, query.language, limit=100).hits]
        rank = next((i for i, ident in enumerate(ranked) if ident in query.relevant), None)
        if rank is not None:
            p1 += rank == 0
            mrr += 1 / (rank + 1)
            hit5 += rank < 5
    n = max(len(answerable), 1)
    return p1 / n, mrr / n, hit5 / n


def main(
    faq: Annotated[Path, typer.Option(help="FAQ entries: a .jsonl file or a folder like knowledge/.")],
    queries: Annotated[Path, typer.Option(help="Queries with their relevant entry ids (.jsonl).")],
) -> None:
    """P@1, MRR and Hit@5 of each retrieval variant, as a markdown table."""
    entries, read = read_entries(faq), read_queries(queries)
    print("| variant | P@1 | MRR | Hit@5 |\n|---|---|---|---|")
    for name, weights in VARIANTS.items():
        p1, mrr, hit5 = measure(entries, read, weights)
        print(f"| {name} | {p1:.3f} | {mrr:.3f} | {hit5:.3f} |", flush=True)


if __name__ == "__main__":
    typer.run(main)
