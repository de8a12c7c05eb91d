"""The example files intents are learnt from: a CSV with header `text,label`, a helpdesk YAML file (intent ->
language -> texts) or the CLINC150 JSON, and the generic out-of-scope set shipped with the service. Every
out-of-scope label a file may use (`oos`, `out_of_scope`) is read as `OUT_OF_SCOPE`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from helpdesk.events import OUT_OF_SCOPE

GENERIC_OOS = Path(__file__).resolve().parents[1] / "oos" / "generic-oos.yaml"
"""Generic out-of-scope messages in English and Japanese (part CLINC150, CC BY 3.0: see the file's header)."""
OOS_LABELS = frozenset({"oos", "out_of_scope", OUT_OF_SCOPE})


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    """An intent name, or `out_of_scope` (files may say `oos`)."""


def label_of(raw: str) -> str:
    label = raw.strip()
    return OUT_OF_SCOPE if label.lower() in OOS_LABELS else label


def load_examples(path: Path) -> list[Example]:
    """Examples from a CSV with header `text,label`, a helpdesk YAML file (intent -> language -> texts),
    or the CLINC150 JSON (its `train` and `oos_train` splits)."""
    return load_splits(path)[0]


def load_splits(path: Path) -> tuple[list[Example], list[Example] | None, list[Example] | None]:
    """(train, validation, test); the last two only where the file has them (CLINC150 JSON)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))

        def split(*keys: str) -> list[Example]:
            return [Example(str(t), label_of(str(lbl))) for k in keys for t, lbl in data.get(k, [])]

        return split("train", "oos_train"), split("val", "oos_val") or None, split("test", "oos_test") or None
    if suffix in {".yaml", ".yml"}:
        return _yaml_examples(path), None, None
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: expected a CSV header with the columns text,label")
            return [Example(row["text"], label_of(row["label"])) for row in reader if row["text"]], None, None
    raise ValueError(f"{path}: expected .csv, .yaml or .json")


def _yaml_examples(path: Path) -> list[Example]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = []
    for intent, by_language in data.items():
        texts: Iterable[Any] = (
            (t for group in by_language.values() for t in group)
            if isinstance(by_language, dict)
            else by_language
        )
        examples += [Example(str(t), label_of(str(intent))) for t in texts]
    return examples


def load_generic_oos(path: Path = GENERIC_OOS) -> list[Example]:
    """The generic out-of-scope set shipped with the service, every example labelled out of scope."""
    return [Example(e.text, OUT_OF_SCOPE) for e in load_examples(path)]


def load_directory(directory: Path) -> list[Example]:
    """All example files of a directory (the helpdesk's own intents), in name order."""
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in {".yaml", ".yml", ".csv"})
    if not files:
        raise FileNotFoundError(f"no intent example files in {directory}")
    return [e for f in files for e in load_examples(f)]
