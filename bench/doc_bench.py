"""Document retrieval benchmark: index passages with the dialogue service's own index, ask, report.

    make doc-bench DOCS=<squad.json | folder of documents> QUERIES=<squad.json | queries.jsonl>

Two inputs:
- SQuAD-format JSON (DOCS and QUERIES the same file, e.g. JSQuAD's validation split): every paragraph is
  a passage of its article (the article title is the document title, a "<title> [SEP] " prefix of the
  context is removed) and every question's relevant passage is the paragraph it was asked about; its
  answers are the answer texts.
- A folder of documents (Markdown, HTML, PDF, DOCX, text), each imported as the service imports it
  (`helpdesk.knowledge.importing.read_source`), and a JSON-lines query file. Query lines: {"query",
  "lang" (optional), "document": file name, "section": [headings] (optional), "answer": text
  (optional), "half": "tune" | "heldout" (optional)}. The relevant passages are the document's passages
  under that section (the headings given appear in its section path) that contain the answer text, or all
  of them when none does; a query without "document" is one the documents cannot answer.

The passages go through `KnowledgeIndex` exactly as dialogue builds it (`deployed_index`: the answer
policy's thresholds are those of the deployed answer model), and `KnowledgeIndex.search`
is timed as the policy calls it (analysis, scoring, calibrated confidence), one query at a time. Ties
keep the index's order. `--half` keeps the tuning or the held-out queries (JSQuAD: articles ordered by
the MD5 of their title, alternately A = tune and B = held out, as the JSQuAD study defined them). The
last line printed is one JSON object: p_at_1, mrr (at 10), recall_at_5, answer_in_top (the first
passage contains an answer text, over queries with answers), p50_ms, p99_ms, by language, and what the
answer policy does with each question (answered with a relevant passage, answered with another one,
clarified, escalated), for the questions the documents answer and for those they cannot.
"""

from __future__ import annotations

import gc
import hashlib
import json
import platform
import statistics
import time
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from helpdesk.events import OUT_OF_SCOPE, AnswerMode, Channel, ChannelRef, ChatAnalyzed, Intent, Language
from helpdesk.knowledge.entries import Passage, document_id, passage_id
from helpdesk.text import detect_language, normalise
from services.dialogue.public import (
    Answer,
    AnswerPolicy,
    ConversationMemory,
    FixedKnowledge,
    KnowledgeIndex,
    deployed_index,
)

RANKED = 10
MISSES_SHOWN = 20
SQUAD_SEPARATOR = " [SEP] "


class Half(StrEnum):
    TUNE = "tune"
    HELDOUT = "heldout"
    ALL = "all"


@dataclass(frozen=True)
class DocQuery:
    text: str
    language: Language
    relevant: frozenset[str]
    answers: tuple[str, ...] = ()
    half: Half = Half.ALL


@dataclass
class Collection:
    passages: list[Passage]
    queries: list[DocQuery]
    skipped: list[str] = field(default_factory=list)


def folded(text: str) -> str:
    """What answer texts are compared on: NFKC, lower case, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _squad_half(title: str, rank: int) -> Half:
    return Half.TUNE if rank % 2 == 0 else Half.HELDOUT


def read_squad(path: Path) -> Collection:
    """Passages and questions of a SQuAD-format file."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    articles = raw["data"]
    order = sorted(range(len(articles)), key=lambda a: hashlib.md5(articles[a]["title"].encode()).hexdigest())
    halves = {a: _squad_half(articles[a]["title"], rank) for rank, a in enumerate(order)}
    passages: list[Passage] = []
    queries: list[DocQuery] = []
    for number, article in enumerate(articles):
        title = normalise(str(article["title"]).replace("_", " "))
        document = document_id(f"{path.name}#{number}")
        for paragraph_number, paragraph in enumerate(article["paragraphs"]):
            context = str(paragraph["context"])
            prefix = f"{article['title']}{SQUAD_SEPARATOR}"
            text = normalise(context[len(prefix) :] if context.startswith(prefix) else context)
            language = detect_language(text)
            passage = Passage(
                id=passage_id(document, (), text, paragraph_number),
                document_id=document,
                title=title,
                text=text,
                language=language if language is Language.JA else Language.EN,
            )
            passages.append(passage)
            for qa in paragraph["qas"]:
                if qa.get("is_impossible"):
                    continue
                question = normalise(str(qa["question"]))
                answers = tuple(dict.fromkeys(str(a["text"]) for a in qa.get("answers", [])))
                queries.append(
                    DocQuery(question, passage.language, frozenset({passage.id}), answers, halves[number])
                )
    return Collection(passages, queries)


def read_documents(folder: Path) -> Collection:
    """The passages of every document in `folder`, imported as the service imports them."""
    from helpdesk.knowledge.importing import ImportRefused, read_source

    passages: list[Passage] = []
    skipped: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            imported = read_source(path.name, path.read_bytes())
        except ImportRefused as exc:
            skipped.append(f"{path.name}: {exc}")
            continue
        passages.extend(imported.passages)
    return Collection(passages, [], skipped)


def _under(passage: Passage, section: tuple[str, ...]) -> bool:
    """Whether the headings appear, in order and one after the other, in the passage's section path
    (an importer may or may not count the document's title as the first heading)."""
    path = tuple(passage.section)
    return any(path[start : start + len(section)] == section for start in range(len(path) - len(section) + 1))


def read_queries(path: Path, passages: Iterable[Passage]) -> list[DocQuery]:
    """The queries of a JSON-lines file, with their relevant passages among `passages`."""
    by_document: dict[str, list[Passage]] = defaultdict(list)
    for passage in passages:
        by_document[passage.document_id].append(passage)
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row: dict[str, Any] = json.loads(line)
        text = normalise(str(row["query"]))
        hint = row.get("lang")
        language = Language(hint) if hint in ("en", "ja") else detect_language(text)
        answer = str(row.get("answer") or "")
        relevant: frozenset[str] = frozenset()
        if row.get("document"):
            section = tuple(str(s) for s in row.get("section") or ())
            candidates = [p for p in by_document[document_id(str(row["document"]))] if _under(p, section)]
            holding = [p for p in candidates if answer and folded(answer) in folded(p.text)]
            relevant = frozenset(p.id for p in (holding or candidates))
            if not relevant:
                raise ValueError(f"no passage of {row['document']} under {section}: {text!r}")
        half = Half(row["half"]) if row.get("half") else Half.ALL
        queries.append(DocQuery(text, language, relevant, (answer,) if answer else (), half))
    return queries


def load(docs: Path, queries: Path) -> Collection:
    if docs.is_file():
        collection = read_squad(docs)
        if queries.resolve() != docs.resolve():
            raise typer.BadParameter("a SQuAD file holds its own questions: give the same file as QUERIES")
        return collection
    collection = read_documents(docs)
    collection.queries = read_queries(queries, collection.passages)
    return collection


class Tally:
    """Sums per group: queries, first hits, reciprocal ranks (at 10), top-5 hits, answers in the first
    passage (over queries with answers)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[float]] = defaultdict(lambda: [0.0] * 6)

    def add(self, groups: Iterable[str], rank: int | None, answer_in_top: bool | None) -> None:
        for group in groups:
            row = self.rows[group]
            row[0] += 1
            if rank is not None:
                row[1] += rank == 0
                row[2] += 1 / (rank + 1) if rank < RANKED else 0.0
                row[3] += rank < 5
            if answer_in_top is not None:
                row[4] += 1
                row[5] += answer_in_top

    def metrics(self, group: str) -> dict[str, Any]:
        row = self.rows[group]
        n = max(row[0], 1)
        out: dict[str, Any] = {
            "queries": int(row[0]),
            "p_at_1": round(row[1] / n, 4),
            "mrr": round(row[2] / n, 4),
            "recall_at_5": round(row[3] / n, 4),
        }
        if row[4]:
            out["answer_in_top"] = round(row[5] / row[4], 4)
        return out


def decided(policy: AnswerPolicy, query: DocQuery) -> str:
    """What the answer policy does with the question as a conversation's first turn, without nlp's
    intent: answered_right / answered_wrong (the cited passage is or is not relevant), clarified,
    escalated."""
    event = ChatAnalyzed(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.API, user_id="doc-bench"),
        text=query.text,
        language=query.language,
        normalised_text=query.text,
        tokens=query.text.lower().split(),
        intent=Intent(name=OUT_OF_SCOPE, confidence=0.0),
        out_of_scope=True,
        redacted_text=query.text,
    )
    memory = ConversationMemory(conversation_id=event.conversation_id, user_id="doc-bench")
    outcome = policy.decide(event, memory).outcome
    if not isinstance(outcome, Answer) or outcome.mode in (AnswerMode.FALLBACK, AnswerMode.HANDOFF):
        return "escalated"
    if outcome.mode is AnswerMode.CLARIFY:
        return "clarified"
    right = bool(set(outcome.cited_faq_ids) & query.relevant)
    return "answered_right" if right else "answered_wrong"


def evaluate(index: KnowledgeIndex, queries: list[DocQuery]) -> dict[str, Any]:
    tally = Tally()
    policy = AnswerPolicy(FixedKnowledge(index))
    decisions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    latencies: list[float] = []
    misses: list[str] = []
    for query in queries[:20]:
        index.search(query.text, query.language, limit=RANKED)
    gc.collect()
    gc.freeze()
    for query in queries:
        started = time.perf_counter()
        retrieval = index.search(query.text, query.language, limit=RANKED)
        latencies.append((time.perf_counter() - started) * 1000)
        decisions["answerable" if query.relevant else "unanswerable"][decided(policy, query)] += 1
        if not query.relevant:
            continue
        ranked = [hit.entry.id for hit in retrieval.hits]
        rank = next((i for i, ident in enumerate(ranked) if ident in query.relevant), None)
        top = retrieval.top
        answer_in_top = None
        if query.answers:
            text = folded(top.entry.text) if top is not None and isinstance(top.entry, Passage) else ""
            answer_in_top = any(folded(answer) in text for answer in query.answers)
        tally.add(("all", query.language.value), rank, answer_in_top)
        if rank != 0 and len(misses) < MISSES_SHOWN:
            first = top.entry.citation if top is not None and isinstance(top.entry, Passage) else None
            misses.append(f"  miss (rank {rank}): {query.text[:70]!r} -> {first}")
    gc.unfreeze()
    for line in misses:
        print(line)
    return {
        **tally.metrics("all"),
        "p50_ms": round(statistics.median(latencies), 3) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 3) if latencies else None,
        "by_language": {k: tally.metrics(k) for k in sorted(tally.rows) if k != "all"},
        "policy": {k: dict(v) for k, v in sorted(decisions.items())},
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(docs: Path, queries_path: Path, half: Half) -> dict[str, Any]:
    collection = load(docs, queries_path)
    queries = [q for q in collection.queries if half is Half.ALL or q.half in (half, Half.ALL)]
    started = time.perf_counter()
    index = deployed_index(collection.passages, "doc-bench")
    build_seconds = time.perf_counter() - started
    result = evaluate(index, queries)
    return {
        **result,
        "passages": len(index.passages),
        "half": half.value,
        "index_build_s": round(build_seconds, 3),
        "skipped_documents": collection.skipped,
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    }


def main(
    docs: Annotated[Path, typer.Option(help="A SQuAD-format JSON file, or a folder of documents.")],
    queries: Annotated[Path, typer.Option(help="The same SQuAD file, or a JSON-lines query file.")],
    half: Annotated[Half, typer.Option(help="Only the tuning or the held-out queries.")] = Half.ALL,
) -> None:
    """Passage retrieval quality and latency of dialogue's index; the last line is one JSON object."""
    print(json.dumps(run(docs, queries, half), ensure_ascii=False))


if __name__ == "__main__":
    typer.run(main)
