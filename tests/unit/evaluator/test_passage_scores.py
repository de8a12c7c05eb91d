"""The evaluator's scores cover answers from passages of documents: relevance, groundedness and
citation validity read the cited passage (from the evaluator's copy, or from what its citation carried
when the copy does not know it yet), the judge sees the passage, and records and the dashboard show
the document, section and page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpdesk.events import AnswerMode, Citation, Language
from helpdesk.knowledge.entries import KnowledgeKind, Passage, document_id, passage_id
from helpdesk.memory_ports import MemoryStateStore, memory_runtime
from helpdesk_ops.seed import local_secrets
from services.evaluator.app import create_app
from services.evaluator.judge import load_prompt
from services.evaluator.knowledge import KnowledgeCopy
from services.evaluator.scores.turn_scores import evaluate_answer
from services.evaluator.settings import EvaluatorSettings
from tests.unit.evaluator.conftest import answered, knowledge
from tests.unit.evaluator.test_app import OPERATOR_KEY, USER_KEY, deliver, operator

PROMPTS = Path(__file__).resolve().parents[3] / "prompts"
GUIDE = document_id("vpn-client-guide.md")
SECTION = ("Troubleshooting", "Error 809")
TEXT = (
    "Error 809 means the VPN tunnel could not be established because the network blocks the IKE ports. "
    "Switch the client to SSL mode: open GlobalConnect, choose Settings > Protocol and select SSL."
)
PASSAGE = Passage(
    id=passage_id(GUIDE, SECTION, TEXT),
    document_id=GUIDE,
    title="GlobalConnect VPN client guide",
    section=SECTION,
    page=4,
    text=TEXT,
)
CITATION = Citation(
    faq_id=PASSAGE.id,
    kind=KnowledgeKind.PASSAGE,
    title=PASSAGE.title,
    section=list(SECTION),
    page=4,
    document_id=GUIDE,
    snippet=TEXT,
)
KINTAI = Passage(
    id=passage_id(
        document_id("kintai.md"), ("打刻の修正",), "打刻を忘れた場合は打刻修正申請画面から申請します。"
    ),
    document_id=document_id("kintai.md"),
    title="勤怠システム操作マニュアル",
    section=("打刻の修正",),
    text="打刻を忘れた場合は打刻修正申請画面から申請します。",
    language=Language.JA,
)


def with_passages() -> KnowledgeCopy:
    copy = knowledge()
    copy.upsert([PASSAGE, KINTAI])
    return copy


def from_passage(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "question": "I get error 809 on the hotel wifi",
        "answer": TEXT,
        "cited_faq_ids": [PASSAGE.id],
        "citations": [CITATION],
    }
    return fields | overrides


def test_an_extract_of_the_cited_passage_is_grounded_relevant_and_validly_cited() -> None:
    record = evaluate_answer(answered(**from_passage()), with_passages())
    assert record.groundedness == 1.0
    assert record.relevance is not None
    assert record.relevance >= 0.5
    assert record.citation_validity == 1.0
    assert record.unknown_citations == []
    [source] = record.sources
    assert (source.kind, source.id, source.title, source.section, source.page) == (
        KnowledgeKind.PASSAGE,
        PASSAGE.id,
        "GlobalConnect VPN client guide",
        ["Troubleshooting", "Error 809"],
        4,
    )
    assert source.label == "GlobalConnect VPN client guide › Troubleshooting › Error 809 (p. 4)"


def test_a_model_answer_claiming_more_than_the_passage_scores_lower_groundedness() -> None:
    record = evaluate_answer(
        answered(
            **from_passage(
                mode=AnswerMode.LLM,
                answer="Reinstall Windows, buy a new router and call your bank about the card fees.",
            )
        ),
        with_passages(),
    )
    assert record.groundedness is not None
    assert record.groundedness < 0.3


def test_a_passage_the_copy_does_not_know_grounds_through_its_citation_but_is_no_valid_citation() -> None:
    record = evaluate_answer(answered(**from_passage()), knowledge())
    assert record.groundedness == 1.0
    assert record.citation_validity == 0.0
    assert record.unknown_citations == [PASSAGE.id]


def test_a_japanese_passage_grounds_a_japanese_answer() -> None:
    record = evaluate_answer(
        answered(
            language=Language.JA,
            question="打刻を忘れたときは？",
            answer=KINTAI.text,
            cited_faq_ids=[KINTAI.id],
            citations=[],
        ),
        with_passages(),
    )
    assert record.groundedness == 1.0
    assert record.citation_validity == 1.0


def test_an_answer_citing_an_entry_and_a_passage_counts_both() -> None:
    record = evaluate_answer(
        answered(**from_passage(cited_faq_ids=["password-reset", PASSAGE.id, "gone"])), with_passages()
    )
    assert record.citation_validity == pytest.approx(2 / 3)
    assert record.unknown_citations == ["gone"]


def test_the_judge_reads_the_cited_passage() -> None:
    copy = with_passages()
    rendered = load_prompt(PROMPTS).render(evaluate_answer(answered(**from_passage()), copy), copy)
    assert f'<faq id="{PASSAGE.id}">' in rendered
    assert "GlobalConnect VPN client guide › Troubleshooting › Error 809 (p. 4)" in rendered
    assert "Switch the client to SSL mode" in rendered


GUIDE_MARKDOWN = """# GlobalConnect <b>VPN</b> guide

## Troubleshooting

### Error 809

Error 809 means the VPN tunnel could not be established because the network blocks the IKE ports.
Switch the client to SSL mode: open GlobalConnect, choose Settings > Protocol and select SSL.
"""


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    runtime = memory_runtime(
        "evaluator", secrets=local_secrets(USER_KEY, OPERATOR_KEY), knowledge=MemoryStateStore()
    )
    settings = EvaluatorSettings(knowledge_path=str(tmp_path), aggregate_flush_seconds=0.01)
    with TestClient(create_app(settings, runtime)) as test_client:
        yield test_client


def test_an_imported_passage_cited_by_an_answer_is_scored_recorded_and_shown(client: TestClient) -> None:
    imported = client.post(
        "/v1/knowledge/imports",
        headers=operator(),
        files={"file": ("vpn-guide.md", GUIDE_MARKDOWN.encode(), "text/markdown")},
    )
    assert imported.status_code in (200, 201), imported.text
    sources = client.get("/v1/knowledge/sources", headers=operator()).json()
    assert sources, sources
    document = document_id("vpn-guide.md")
    text = " ".join(GUIDE_MARKDOWN.split("### Error 809\n\n")[1].split())
    cited = passage_id(document, ("Troubleshooting", "Error 809"), text)
    citation = CITATION.model_copy(
        update={"faq_id": cited, "title": "GlobalConnect <b>VPN</b> guide", "document_id": document}
    )
    event = answered(**from_passage(cited_faq_ids=[cited], citations=[citation], answer=text))

    assert deliver(client, event, "chat.answered") == "SUCCESS"

    record = client.get(f"/v1/evaluations/{event.turn_id}", headers=operator()).json()
    assert record["citation_validity"] == 1.0, record
    assert record["groundedness"] == 1.0
    assert record["sources"][0]["kind"] == "passage"
    assert record["sources"][0]["section"] == ["Troubleshooting", "Error 809"]
    recent = client.get("/v1/evaluations/recent", headers=operator()).json()["turns"]
    assert recent[0]["sources"] == ["GlobalConnect <b>VPN</b> guide › Troubleshooting › Error 809 (p. 4)"]
    signed = client.post("/dashboard/login", data={"api_key": OPERATOR_KEY}, follow_redirects=False)
    assert signed.status_code == 303
    page = client.get("/dashboard").text
    assert "GlobalConnect &lt;b&gt;VPN&lt;/b&gt; guide › Troubleshooting › Error 809 (p. 4)" in page
    assert "<b>VPN</b>" not in page
