"""The evaluator's copy of the knowledge base reads the knowledge files in their layouts."""

from __future__ import annotations

from pathlib import Path

from helpdesk.events import Language
from helpdesk.knowledge.entries import parse_entry
from helpdesk.text import terms
from services.evaluator.knowledge import KnowledgeCopy, load_directory


def test_per_language_blocks_flat_entries_and_jsonl_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "entries:\n"
        "  - id: vpn\n"
        "    category: network\n"
        "    en:\n"
        "      question: How do I connect to the VPN?\n"
        "      alternatives: [VPN does not work]\n"
        "      answer: Install the client.\n"
        "    ja:\n"
        "      question: VPNに接続するには？\n"
        "      answer: クライアントをインストールしてください。\n",
        encoding="utf-8",
    )
    (tmp_path / "b.jsonl").write_text(
        '{"id": "leave", "question": "How many days of leave do I have?", '
        '"answer": "See the HR portal.", "lang": "en"}\n'
        '{"id": "broken"}\n',
        encoding="utf-8",
    )
    entries = {e.id: e for e in load_directory(tmp_path)}
    assert set(entries) == {"vpn", "leave"}
    assert entries["vpn"].texts[Language.JA].question == "VPNに接続するには？"
    assert entries["vpn"].texts[Language.EN].alternatives == ("VPN does not work",)
    assert entries["leave"].texts[Language.EN].answer == "See the HR portal."


def test_closest_finds_a_paraphrase_in_the_same_language() -> None:
    entry = parse_entry(
        {
            "id": "pw",
            "en": {
                "question": "How do I reset my password?",
                "alternatives": ["forgot password"],
                "answer": "x",
            },
        }
    )
    assert entry is not None
    copy = KnowledgeCopy([entry])
    found, score = copy.closest(frozenset(terms("I forgot my password", Language.EN)), Language.EN)
    assert found is entry
    assert score == 1.0
    _, none = copy.closest(frozenset(terms("printer jam", Language.EN)), Language.EN)
    assert none == 0.0


def test_the_default_knowledge_directory_loads_without_errors() -> None:
    root = Path(__file__).resolve().parents[3] / "knowledge"
    for entry in load_directory(root):
        assert entry.texts
