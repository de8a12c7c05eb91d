"""Knowledge files: the default knowledge base in `knowledge/`, and operator files of entries.

A file is YAML (a list of entries, a mapping with `entries:`, or one entry) or JSON Lines (one entry a
line). Files under a directory are read in name order; a later file's entry replaces an earlier one's id.
`read_entries` refuses the whole read at the first invalid entry (what seeds or publishes a knowledge
base must be right); `read_valid_entries` sets invalid ones aside (what only follows one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from helpdesk.knowledge.entries import FaqEntry, InvalidKnowledge, RejectedEntry, parse_entry, sort_entries

KNOWLEDGE_SUFFIXES = (".yaml", ".yml", ".jsonl")


def knowledge_files(path: Path) -> list[Path]:
    """`path` itself when it is a file, else the knowledge files under it in name order."""
    if not path.exists():
        raise FileNotFoundError(f"no knowledge files at {path}")
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in KNOWLEDGE_SUFFIXES)


def _documents(path: Path) -> Iterator[Any]:
    """The file's documents in order; where one does not parse, an `InvalidKnowledge` in its place (a
    JSON line is skipped alone; YAML cannot be read past an error, so the file ends there)."""
    return _documents_in(path.name, path.read_text(encoding="utf-8"))


def _documents_in(name: str, text: str) -> Iterator[Any]:
    if name.endswith(".jsonl"):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    yield InvalidKnowledge(f"{name}:{number} is not JSON")
        return
    try:
        yield from yaml.safe_load_all(text)
    except yaml.YAMLError as exc:
        yield InvalidKnowledge(f"{name} is not YAML: {exc}")


def is_knowledge_file(name: str) -> bool:
    return name.lower().endswith(KNOWLEDGE_SUFFIXES)


def entries_in(name: str, data: bytes) -> list[FaqEntry]:
    """Every entry of one knowledge file's bytes (YAML, or JSON Lines when `name` ends in .jsonl), a
    later entry replacing an earlier one's id; `InvalidKnowledge` at the first that is not valid (or
    when the bytes are not UTF-8). What an operator imports must be right, as what seeds must."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidKnowledge(f"{name} is not UTF-8") from None
    return list(_strictly(_documents_in(name, text)).values())


def _strictly(documents: Iterable[Any]) -> dict[str, FaqEntry]:
    """The entries of parsed documents by id (a later one wins); `InvalidKnowledge` at the first that
    does not parse or is not valid."""
    entries: dict[str, FaqEntry] = {}
    for document in documents:
        if isinstance(document, InvalidKnowledge):
            raise document
        for raw in _raw_entries(document):
            entry = parse_entry(raw)
            entries[entry.id] = entry
    return entries


def _raw_entries(document: Any) -> Iterator[Any]:
    if isinstance(document, list):
        yield from document
    elif isinstance(document, dict) and isinstance(document.get("entries"), list):
        yield from document["entries"]
    elif isinstance(document, dict):
        yield document


def read_entries(path: Path) -> list[FaqEntry]:
    """Every entry in a file, or in the knowledge files under a directory; `InvalidKnowledge` at the
    first one that is not valid."""
    entries: dict[str, FaqEntry] = {}
    for file in knowledge_files(path):
        entries.update(_strictly(_documents(file)))
    return list(entries.values())


def read_valid_entries(path: Path) -> tuple[list[FaqEntry], list[RejectedEntry]]:
    """Every valid entry in a file or under a directory, and what was set aside: invalid entries, and
    whole files (or JSON lines) that do not parse."""
    entries: dict[str, FaqEntry] = {}
    rejected: list[RejectedEntry] = []
    for file in knowledge_files(path):
        raws: list[Any] = []
        for document in _documents(file):
            if isinstance(document, InvalidKnowledge):
                rejected.append(RejectedEntry(None, str(document)))
            else:
                raws.extend(_raw_entries(document))
        valid, invalid = sort_entries(raws)
        entries.update((entry.id, entry) for entry in valid)
        rejected.extend(invalid)
    return list(entries.values()), rejected


def fingerprint(path: Path) -> str:
    """A short digest of the knowledge files' bytes (names included): the same on every replica."""
    digest = hashlib.sha256()
    for file in knowledge_files(path):
        digest.update(file.relative_to(path if path.is_dir() else file.parent).as_posix().encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
