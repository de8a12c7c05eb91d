"""Hostile files at the import library: each is refused on its own with a clear kind, or imported with
the dangerous part left out or flagged, and none takes the importer down or makes it expand, decode or
parse more than the limits allow. (Hostile uploads at the running import service are in
test_document_import_service.py; a failed import leaving the knowledge base as it was is tested at the
stack.)"""

from __future__ import annotations

import pickle
import random
import time
import tracemalloc
from collections import Counter

import pytest

from helpdesk.knowledge.importing import ImportLimits, ImportRefused, RefusalKind, read_source
from helpdesk.knowledge.importing.limits import MIB
from tests.support.documents import (
    HONEST,
    PLANTED_EN,
    PLANTED_JA,
    Bullets,
    Table,
    corrupt_pdf,
    csv_faq,
    docx_guide,
    encrypted_pdf,
    entity_bomb_docx,
    html_page,
    image_only_pdf,
    macro_xlsx,
    many_parts_docx,
    markdown_guide,
    pdf_manual,
    xlsx_faq,
    zip_bomb_docx,
    zip_bomb_xlsx,
)


def refusal(name: str, data: bytes, limits: ImportLimits | None = None) -> ImportRefused:
    with pytest.raises(ImportRefused) as refused:
        read_source(name, data, limits or ImportLimits())
    return refused.value


def refusal_and_peak_memory(name: str, data: bytes) -> tuple[ImportRefused, int]:
    """The refusal, and the peak of Python allocations (bytes) while the file was read."""
    tracemalloc.start()
    try:
        return refusal(name, data), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_corrupt_pdf_is_refused_as_corrupt() -> None:
    refused = refusal("manual.pdf", corrupt_pdf())
    assert refused.reason is RefusalKind.CORRUPT
    assert refused.status == 422


def test_a_password_protected_pdf_is_refused_as_encrypted() -> None:
    assert refusal("secret.pdf", encrypted_pdf()).reason is RefusalKind.ENCRYPTED


def test_an_image_only_pdf_is_refused_as_having_no_text() -> None:
    refused = refusal("scan.pdf", image_only_pdf())
    assert refused.reason is RefusalKind.NO_TEXT
    assert "OCR" in refused.detail


def test_a_file_named_pdf_that_is_not_one_is_refused() -> None:
    assert refusal("manual.pdf", b"<html>not a pdf</html>").reason is RefusalKind.CORRUPT


def test_a_50_mb_file_is_refused_as_too_large_before_it_is_parsed() -> None:
    # A PDF header on 50 MB of nothing: parsing would call it corrupt, the size check comes first.
    data = b"%PDF-1.7\n" + b"\0" * (50 * MIB)
    started = time.perf_counter()
    refused = refusal("huge.pdf", data)
    assert refused.reason is RefusalKind.TOO_LARGE
    assert refused.status == 413
    assert time.perf_counter() - started < 1.0
    assert ImportLimits().max_bytes == 20 * MIB


def test_a_docx_that_expands_to_a_gigabyte_is_refused_without_being_expanded() -> None:
    bomb = zip_bomb_docx()
    assert len(bomb) < 2 * MIB
    refused, peak = refusal_and_peak_memory("guide.docx", bomb)

    assert refused.reason is RefusalKind.DECOMPRESSION_BOMB
    assert peak < 16 * MIB


def test_an_xlsx_compressed_a_thousand_times_is_refused_under_the_total_limit() -> None:
    bomb = zip_bomb_xlsx()
    assert refusal("faq.xlsx", bomb).reason is RefusalKind.DECOMPRESSION_BOMB
    assert "compressed" in refusal("faq.xlsx", bomb).detail


def test_a_docx_of_thousands_of_parts_is_refused() -> None:
    refused = refusal("guide.docx", many_parts_docx())
    assert refused.reason is RefusalKind.DECOMPRESSION_BOMB
    assert "parts" in refused.detail


def test_nested_xml_entities_in_a_docx_are_never_expanded() -> None:
    refused, peak = refusal_and_peak_memory("laughs.docx", entity_bomb_docx())
    assert refused.reason is RefusalKind.CORRUPT
    assert peak < 16 * MIB


def test_a_workbook_with_macros_is_refused_whatever_its_name() -> None:
    assert refusal("faq.xlsx", macro_xlsx()).reason is RefusalKind.UNSUPPORTED_TYPE
    assert refusal("faq.xlsm", macro_xlsx()).reason is RefusalKind.UNSUPPORTED_TYPE


def test_a_csv_with_mixed_encodings_and_broken_quoting_skips_those_rows_and_keeps_the_rest() -> None:
    good = csv_faq(
        [("1", "パスワードを忘れました", "ポータルからリセットしてください。", "", "")], encoding="cp932"
    )
    other_encoding = "2,VPNに接続できない,再起動してください。,,\r\n".encode()
    broken_quote = '3,Printer?,"Restart" the spooler,,\r\n'.encode("cp932")
    unclosed = '4,"Never closed,Lost,,\r\n5,Swallowed?,Yes,,\r\n'.encode("cp932")
    source = read_source("faq.csv", good + other_encoding + broken_quote + unclosed)

    assert [entry.id.rsplit(":", 1)[-1] for entry in source.faq_entries] == ["1"]
    assert [(part.part, part.reason) for part in source.skipped] == [
        ("row 3 (line 3)", "not in the file's encoding"),
        ("row 4 (line 4)", "broken quoting"),
        ("row 5 (lines 5-6)", "a quote opened here is never closed"),
    ]


def test_a_csv_that_is_noise_in_every_encoding_is_refused() -> None:
    assert refusal("faq.csv", bytes(range(0x80, 0x100)) * 64).reason is RefusalKind.BAD_ENCODING


def test_scripts_styles_and_hidden_text_of_an_html_page_never_reach_a_passage() -> None:
    inside_main = (
        "<script>document.write('SCRIPT-IN-MAIN')</script><noscript>NOSCRIPT-TEXT</noscript>"
        "<span style='display: none'>HIDDEN-BY-STYLE</span><b hidden>HIDDEN-ATTRIBUTE</b>"
        "<span aria-hidden='true'>ARIA-HIDDEN</span><template>TEMPLATE-TEXT</template>"
        "<img src=x onerror=\"alert('ONERROR')\"><!-- COMMENT-TEXT -->Visible too."
    )
    data = html_page(
        "VPN help",
        [("Connecting", [HONEST, inside_main])],
        head="<script>window.secret = 'SCRIPT-IN-HEAD'</script><style>.x{content:'STYLE-TEXT'}</style>",
        body_end="<script>document.write('SCRIPT-IN-BODY')</script>",
    )
    source = read_source("vpn.html", data)
    text = "\n".join(p.text for p in source.passages)

    assert text == f"{HONEST}\n\nVisible too."
    for marker in (
        "SCRIPT-IN-HEAD", "STYLE-TEXT", "SCRIPT-IN-MAIN", "SCRIPT-IN-BODY", "NOSCRIPT-TEXT",
        "HIDDEN-BY-STYLE", "HIDDEN-ATTRIBUTE", "ARIA-HIDDEN", "TEMPLATE-TEXT", "ONERROR", "COMMENT-TEXT",
        "Home",
    ):  # fmt: skip
        assert marker not in text


@pytest.mark.parametrize("planted", [PLANTED_EN, PLANTED_JA])
@pytest.mark.parametrize("kind", ["md", "html", "docx", "pdf"])
def test_a_planted_instruction_flags_its_passage_in_every_format(kind: str, planted: str) -> None:
    sections = [("Connecting", [HONEST]), ("Note", [planted])]
    data = {
        "md": lambda: markdown_guide("VPN guide", sections),
        "html": lambda: html_page("VPN guide", sections),
        "docx": lambda: docx_guide("VPN guide", sections),
        "pdf": lambda: pdf_manual("VPN guide", [sections]),
    }[kind]()
    source = read_source(f"vpn.{kind}", data)

    assert [(p.section, p.flagged) for p in source.passages] == [(("Connecting",), False), (("Note",), True)]
    assert source.flagged == 1


def test_a_pdf_over_the_page_limit_is_refused_before_its_pages_are_read() -> None:
    manual = pdf_manual("Long", [[("Page", [HONEST])]] * 3)
    refused = refusal("long.pdf", manual, ImportLimits(max_pages=2))
    assert refused.reason is RefusalKind.TOO_LARGE
    assert "3 pages" in refused.detail


def test_a_document_over_the_passage_limit_is_refused() -> None:
    sections = [(f"Section {n}", [f"{HONEST} ({n})"]) for n in range(4)]
    refused = refusal("many.md", markdown_guide("Many", sections), ImportLimits(max_passages=3))
    assert refused.reason is RefusalKind.TOO_LARGE


def test_a_sheet_over_the_row_limit_is_refused() -> None:
    rows = [(str(n), f"Question {n}?", "Answer.", "", "") for n in range(11)]
    assert refusal("faq.csv", csv_faq(rows), ImportLimits(max_rows=10)).reason is RefusalKind.TOO_LARGE


def test_an_import_over_its_time_limit_is_refused() -> None:
    sections = [(f"Section {n}", [HONEST]) for n in range(50)]
    refused = refusal("slow.md", markdown_guide("Slow", sections), ImportLimits(max_seconds=1e-9))
    assert refused.reason is RefusalKind.TOO_SLOW


SEEDS = {
    "faq.csv": lambda: csv_faq(
        [("1", "パスワードを忘れました", "ポータルからリセット。", "", "")], encoding="cp932"
    ),
    "faq.xlsx": lambda: xlsx_faq([("1", "Printer offline?", "Restart the spooler.", "", "")]),
    "manual.pdf": lambda: pdf_manual("Manual", [[("Connecting", [HONEST, PLANTED_JA])]]),
    "guide.docx": lambda: docx_guide("Guide", [("Connecting", [HONEST, Table([["a", "b"], ["c", "d"]])])]),
    "page.html": lambda: html_page("Page", [("Connecting", [HONEST, Bullets(["a", "b"])])]),
    "guide.md": lambda: markdown_guide("Guide", [("Connecting", [HONEST])]),
}


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_damaged_files_are_imported_or_refused_never_crash_the_importer(name: str) -> None:
    """Seeded random damage (bytes changed, cut out, inserted; the file truncated) to each format:
    every outcome is an imported source or an `ImportRefused`, nothing else escapes."""
    original = SEEDS[name]()
    rng = random.Random(f"{name}-18")
    outcomes: Counter[str] = Counter()
    for _ in range(40):
        damaged = bytearray(original)
        for _ in range(rng.choice([1, 3, 10, 50])):
            if len(damaged) < 2:
                break
            at = rng.randrange(len(damaged))
            roll = rng.random()
            if roll < 0.6:
                damaged[at] = rng.randrange(256)
            elif roll < 0.8:
                del damaged[at : at + rng.randrange(1, 64)]
            else:
                damaged[at:at] = rng.randbytes(rng.randrange(1, 16))
        if rng.random() < 0.1 and len(damaged) > 1:
            damaged = damaged[: rng.randrange(1, len(damaged))]
        try:
            read_source(name, bytes(damaged))
            outcomes["imported"] += 1
        except ImportRefused as refused:
            outcomes[refused.kind] += 1
    assert sum(outcomes.values()) == 40


def test_a_refusal_crosses_a_process_boundary_with_its_kind() -> None:
    refused = refusal("secret.pdf", encrypted_pdf())
    again = pickle.loads(pickle.dumps(refused))
    assert (again.reason, again.kind, again.status, again.detail) == (
        RefusalKind.ENCRYPTED,
        "encrypted",
        422,
        refused.detail,
    )
