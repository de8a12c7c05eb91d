"""Convert StackFAQ (Karan & Snajder 2018) to the faq-bench shape.

One FAQ line per question/answer pair of a thread (719), one query line per usable paraphrase (1,249:
empty and "*" entries skipped); a query's relevant entries are all pairs of its own thread. This is the
protocol of the reference numbers in ../shared/data/README.md. The paraphrases are only queries: they
never become alternatives of an entry.

    python -m bench.stackfaq ../shared/data/stackfaq/stackExchange-FAQ.json --out .run/stackfaq
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)]


def convert(source: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    threads = json.loads(source.read_text(encoding="utf-8"))["root"]["qapair"]
    faq: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    for number, thread in enumerate(threads):
        ids = []
        for position, answer in enumerate(_as_list(thread.get("answer"))):
            if not answer.strip():
                continue
            ident = f"t{number:03d}-a{position}"
            faq.append({"id": ident, "question": thread["question"], "answer": answer, "lang": "en"})
            ids.append(ident)
        for paraphrase in _as_list(thread.get("rephr")):
            text = paraphrase.strip()
            if text and text != "*" and ids:
                queries.append({"query": text, "relevant": ids, "lang": "en"})
    return faq, queries


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def main(
    source: Annotated[Path, typer.Argument(help="stackExchange-FAQ.json")],
    out: Annotated[Path, typer.Option(help="Folder for faq.jsonl and queries.jsonl.")],
) -> None:
    """Convert StackFAQ into the FAQ and query files `make faq-bench` reads."""
    faq, queries = convert(source)
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "faq.jsonl", faq)
    _write(out / "queries.jsonl", queries)
    print(f"{len(faq)} FAQ entries, {len(queries)} queries -> {out}")


if __name__ == "__main__":
    typer.run(main)
