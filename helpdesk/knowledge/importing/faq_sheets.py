"""FAQ sheets (CSV or a workbook's sheets): one row an entry, columns found by their header names.

The header row is the first of the top rows that names a question and an answer column, in English or
Japanese (rows above it, such as a sheet's title, are left out and reported). Each later row becomes a
`FaqEntry` whose `source` is the sheet's import name; a row without a question or an answer, a
duplicate, or one that reads like an instruction to the assistant is skipped with its reason, and the
rest imported.

Ids: the sheet's id column when it has one (qualified by the document id when it is a bare number, as
row numbers are: "1" in two sheets is not one entry), else derived from the document and the question,
so a re-import gives every row the id it had.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from helpdesk.knowledge.entries import ITEM_ID_PATTERN, FaqEntry
from helpdesk.knowledge.importing.encodings import UNREADABLE
from helpdesk.knowledge.importing.imported import SheetColumns, SkippedPart
from helpdesk.knowledge.importing.limits import Deadline, ImportLimits
from helpdesk.knowledge.importing.refusals import ImportRefused, RefusalKind
from helpdesk.text.injection import check_injection
from helpdesk.text.normalise import normalise

HEADER_SEARCH_ROWS = 10

KNOWN_HEADERS: dict[str, frozenset[str]] = {
    "question": frozenset(
        {
            "question",
            "questions",
            "q",
            "query",
            "質問",
            "問い",
            "質問内容",
            "質問文",
            "問い合わせ",
            "問合せ",
            "問い合わせ内容",
            "問合せ内容",
            "お問い合わせ",
            "お問い合わせ内容",
        }
    ),
    "answer": frozenset(
        {"answer", "answers", "a", "response", "回答", "答え", "回答内容", "回答文", "解答", "応答"}
    ),
    "alternatives": frozenset(
        {
            "alternatives",
            "alternative",
            "alternativequestions",
            "alternatequestions",
            "paraphrases",
            "variants",
            "言い換え",
            "別の聞き方",
            "類似質問",
            "言い換え質問",
            "別表現",
            "表記ゆれ",
        }
    ),
    "category": frozenset({"category", "categories", "カテゴリ", "カテゴリー", "分類", "区分"}),
    "id": frozenset({"id", "faqid", "no", "no.", "#", "番号", "管理番号"}),
    "language": frozenset({"language", "lang", "言語"}),
    "tags": frozenset({"tags", "tag", "keywords", "タグ", "キーワード"}),
}
_LANGUAGES = {
    "en": "en", "english": "en", "英語": "en",
    "ja": "ja", "jp": "ja", "japanese": "ja", "日本語": "ja",
}  # fmt: skip
_HEADER_NOISE = re.compile(r"[\s_\-・:：()（）\[\]【】「」*]")
_ALTERNATIVE_SEPARATORS = re.compile(r"[\n|;；]")
_TAG_SEPARATORS = re.compile(r"[\n,、;；]")
_ID = re.compile(ITEM_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class SheetRow:
    where: str
    """How an operator finds the row: "row 7", or "sheet 'VPN' row 7" in a workbook."""
    cells: tuple[str, ...]
    problem: str | None = None
    """Why the row could not be read at all (broken quoting), reported in its place among the rows."""


@dataclass(frozen=True, slots=True)
class SheetSite:
    name: str
    """The import name: every entry's `source`."""
    document_id: str
    columns: SheetColumns


def header_key(text: str) -> str:
    return _HEADER_NOISE.sub("", normalise(text).lower())


def _column_map(cells: tuple[str, ...], columns: SheetColumns) -> dict[str, int]:
    named = {field: header_key(value) for field, value in columns.model_dump().items() if value}
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = header_key(cell)
        if not key:
            continue
        for field, names in KNOWN_HEADERS.items():
            wanted = named.get(field)
            if field not in found and (key == wanted if wanted else key in names):
                found[field] = index
    return found


def find_header(rows: list[SheetRow], columns: SheetColumns) -> tuple[int, dict[str, int]] | None:
    """The index of the header row among the first rows and the column of each field it names."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = _column_map(row.cells, columns)
        if "question" in found and "answer" in found:
            return index, found
    return None


def entries_of_sheet(
    rows: list[SheetRow], site: SheetSite, *, limits: ImportLimits, deadline: Deadline
) -> tuple[list[FaqEntry], list[SkippedPart]] | None:
    """The sheet's entries and skipped rows, or None when it has no question and answer header."""
    header = find_header(rows, site.columns)
    if header is None:
        return None
    start, columns = header
    skipped = [
        SkippedPart(part=row.where, reason=row.problem or "above the header row")
        for row in rows[:start]
        if row.problem or any(cell.strip() for cell in row.cells)
    ]
    entries: list[FaqEntry] = []
    first_seen: dict[str, str] = {}
    for row in _without_trailing_blanks(rows[start + 1 :]):
        deadline.check()
        entry, reason = _entry(row, columns, site)
        if entry is None or entry.id in first_seen:
            if entry is not None:
                reason = f"the same entry as {first_seen[entry.id]} (id {entry.id})"
            skipped.append(SkippedPart(part=row.where, reason=reason))
            continue
        first_seen[entry.id] = row.where
        entries.append(entry)
    return entries, skipped


def _without_trailing_blanks(rows: list[SheetRow]) -> Iterator[SheetRow]:
    """The rows up to the last one with content: a spreadsheet's formatted empty rows are no data."""
    last = max(
        (i for i, row in enumerate(rows) if row.problem or any(c.strip() for c in row.cells)), default=-1
    )
    yield from rows[: last + 1]


def _entry(row: SheetRow, columns: dict[str, int], site: SheetSite) -> tuple[FaqEntry | None, str]:
    def cell(field: str) -> str:
        index = columns.get(field)
        return row.cells[index].strip() if index is not None and index < len(row.cells) else ""

    if row.problem:
        return None, row.problem
    if any(UNREADABLE in value for value in row.cells):
        return None, "not in the file's encoding"
    if not any(value.strip() for value in row.cells):
        return None, "empty row"
    question, answer = cell("question"), cell("answer")
    if not question:
        return None, "no question"
    if not answer:
        return None, "no answer"
    alternatives = [a.strip() for a in _ALTERNATIVE_SEPARATORS.split(cell("alternatives")) if a.strip()]
    if check_injection(normalise("\n".join([question, answer, *alternatives]))).suspected:
        return None, "reads like an instruction to the assistant"
    raw: dict[str, object] = {
        "id": _entry_id(cell("id"), question, site.document_id),
        "question": question,
        "answer": answer,
        "alternatives": alternatives,
        "source": site.name,
        "category": cell("category") or "general",
        "tags": [t.strip() for t in _TAG_SEPARATORS.split(cell("tags")) if t.strip()],
    }
    language = _LANGUAGES.get(normalise(cell("language")).lower())
    if language:
        raw["lang"] = language
    try:
        return FaqEntry.model_validate(raw), ""
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        return None, f"not a valid entry ({', '.join(fields) or 'shape'})"


def _entry_id(given: str, question: str, document: str) -> str:
    given = normalise(given)
    if given.isdigit():
        return f"{document}:{given}"
    if _ID.match(given):
        return given
    digest = hashlib.sha256(normalise(question).encode()).hexdigest()[:12]
    return f"{document}:{digest}"


def rows_counted(rows: Iterable[SheetRow], limits: ImportLimits) -> list[SheetRow]:
    """The rows, refused past the row limit before any of them is turned into an entry."""
    counted: list[SheetRow] = []
    for row in rows:
        counted.append(row)
        if len(counted) > limits.max_rows:
            raise ImportRefused(RefusalKind.TOO_LARGE, f"The sheet has more than {limits.max_rows} rows.")
    return counted
