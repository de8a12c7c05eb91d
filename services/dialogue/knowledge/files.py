"""Knowledge files: the default knowledge base in `knowledge/`, and operator files of entries.

A file is YAML (a list of entries, or a mapping with `entries:`) or JSON Lines (one entry a line).
Files under a directory are read in name order; a later file's entry replaces an earlier one's id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from helpdesk.events import KbUpdated
from services.dialogue.knowledge.model import FaqEntry, InvalidKnowledge, KnowledgeBase, parse_entry

KNOWLEDGE_SUFFIXES = (".yaml", ".yml", ".jsonl")


def _documents(path: Path) -> Iterator[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidKnowledge(f"{path.name}:{number} is not JSON") from exc
    else:
        yield from yaml.safe_load_all(text)


def _raw_entries(document: Any) -> Iterator[Any]:
    if isinstance(document, list):
        yield from document
    elif isinstance(document, dict) and isinstance(document.get("entries"), list):
        yield from document["entries"]
    elif isinstance(document, dict):
        yield document


def _files(path: Path) -> list[Path]:
    if not path.exists():
        raise FileNotFoundError(f"no knowledge files at {path}")
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in KNOWLEDGE_SUFFIXES)


def read_entries(path: Path) -> list[FaqEntry]:
    """Every entry in a file, or in the knowledge files under a directory."""
    entries: dict[str, FaqEntry] = {}
    for file in _files(path):
        for document in _documents(file):
            for raw in _raw_entries(document):
                entry = parse_entry(raw)
                entries[entry.id] = entry
    return list(entries.values())


def fingerprint(path: Path) -> str:
    """A short digest of the knowledge files' bytes: the seed's version, the same on every replica."""
    digest = hashlib.sha256()
    for file in _files(path):
        digest.update(file.relative_to(path if path.is_dir() else file.parent).as_posix().encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def seed_knowledge(path: Path) -> KnowledgeBase:
    """The knowledge base the default files describe (what a fresh state store is seeded with)."""
    return KnowledgeBase.seeded(read_entries(path), fingerprint(path))


def kb_update(
    entries: Iterable[FaqEntry],
    *,
    removed: Iterable[str] = (),
    known_ids: Iterable[str] = (),
    kb_version: str | None = None,
    actor: str = "operator",
) -> KbUpdated:
    """A `kb.updated` event carrying these entries (ids in `known_ids` count as changed, others as
    added), for whoever publishes knowledge: the evaluator's approvals, an operator's command."""
    items = list(entries)
    known = set(known_ids)
    update_id = uuid.uuid4()
    return KbUpdated(
        update_id=update_id,
        kb_version=kb_version or f"update-{update_id.hex[:12]}",
        added=[e.id for e in items if e.id not in known],
        changed=[e.id for e in items if e.id in known],
        removed=list(removed),
        entries=[e.model_dump(mode="json", exclude_none=True) for e in items],
        actor=actor,
    )


def kb_update_from_file(
    path: Path, *, known_ids: Iterable[str] = (), kb_version: str | None = None, actor: str = "operator"
) -> KbUpdated:
    """The `kb.updated` event that publishes every entry of a knowledge file (`helpdeskctl kb publish`)."""
    return kb_update(read_entries(path), known_ids=known_ids, kb_version=kb_version, actor=actor)
