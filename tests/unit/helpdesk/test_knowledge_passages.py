"""Passages of imported documents: ids that follow content, and citations that name where they are."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpdesk.events import Language
from helpdesk.knowledge.entries import KnowledgeKind, Passage, document_id, passage_id


def passage(text: str = "Open Settings > VPN and press Connect.", **fields: object) -> Passage:
    doc = document_id("vpn-guide.pdf")
    values: dict[str, object] = {
        "id": passage_id(doc, ("Connecting", "Windows"), text),
        "document_id": doc,
        "title": "VPN guide",
        "section": ("Connecting", "Windows"),
        "page": 3,
        "text": text,
        "language": Language.EN,
    }
    values.update(fields)
    return Passage.model_validate(values)


def test_a_document_keeps_its_id_across_imports_and_names_that_slug_alike_differ() -> None:
    assert document_id("manuals/VPN Guide.pdf") == document_id("manuals/VPN Guide.pdf")
    assert document_id("vpn_guide.pdf") != document_id("vpn-guide.pdf")
    assert document_id("手順書.docx").startswith("doc-")


def test_a_passage_id_changes_with_its_text_or_headings_only() -> None:
    doc = document_id("guide.md")
    same = passage_id(doc, ("Setup",), "Install  the\nclient.")
    assert same == passage_id(doc, ("Setup",), "Install the client.")
    assert same != passage_id(doc, ("Setup",), "Install the new client.")
    assert same != passage_id(doc, ("Removal",), "Install the client.")
    assert same != passage_id(doc, ("Setup",), "Install the client.", occurrence=1)


def test_a_passage_is_cited_by_title_section_and_page() -> None:
    item = passage()
    assert item.kind is KnowledgeKind.PASSAGE
    assert item.citation == "VPN guide › Connecting › Windows (p. 3)"
    assert passage(page=None, section=()).citation == "VPN guide"


def test_the_digest_follows_what_a_reader_sees() -> None:
    assert passage().digest == passage().digest
    assert passage().digest != passage(flagged=True).digest


@pytest.mark.parametrize(
    "bad", [{"text": ""}, {"text": "x" * 4001}, {"page": 0}, {"document_id": "Not A Slug"}]
)
def test_a_malformed_passage_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        passage(**bad)
