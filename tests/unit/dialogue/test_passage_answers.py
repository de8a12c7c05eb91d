"""Retrieval and answers over FAQ entries and passages of documents together: one ranking on one
confidence scale, flagged passages never used, answers from a passage's best sentences cited by
document, section and page."""

from __future__ import annotations

import uuid

import pytest

from helpdesk.events import AnswerMode, Language
from helpdesk.knowledge.entries import KnowledgeKind, Passage
from services.dialogue import replies
from services.dialogue.knowledge.index import KnowledgeIndex
from services.dialogue.knowledge.library import seed_knowledge
from services.dialogue.knowledge.semantic import SemanticSpace
from services.dialogue.memory import ConversationMemory
from services.dialogue.passage_answers import EXTRACT_CHARS, best_sentences, passage_answer, sentences
from services.dialogue.policy import (
    Answer,
    AnswerPolicy,
    DecisionReason,
    Escalation,
    FixedKnowledge,
    reply_language,
)
from services.dialogue.responder import outcome_event, remember
from services.dialogue.settings import DEFAULT_KNOWLEDGE_PATH
from tests.unit.dialogue.conftest import analyzed
from tests.unit.dialogue.passages import (
    CLOCK_FIX,
    ERROR_809,
    INSTALL,
    MANUAL_PASSAGES,
    PLANTED,
    SIGN_IN,
    kintai,
    vpn,
)


@pytest.fixture(scope="module")
def index(semantic_space: SemanticSpace) -> KnowledgeIndex:
    knowledge = seed_knowledge(DEFAULT_KNOWLEDGE_PATH)
    return KnowledgeIndex(
        [*knowledge.entries.values(), *MANUAL_PASSAGES], "kb-with-manuals", semantic=semantic_space
    )


def ask(
    policy: AnswerPolicy, text: str, memory: ConversationMemory | None = None
) -> tuple[Answer, ConversationMemory]:
    memory = memory or ConversationMemory(conversation_id=uuid.uuid4(), user_id="user-1")
    event = analyzed(text, conversation_id=memory.conversation_id)
    decision = policy.decide(event, memory)
    outcome = outcome_event(event, decision, 0.0, reply_language(event, memory))
    assert isinstance(decision.outcome, Answer), decision
    return decision.outcome, remember(memory, event, decision, outcome, keep_turns=10)


# ---- retrieval ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        ("I get error 809 when I connect to the VPN from a hotel", Language.EN, ERROR_809),
        ("How do I install the VPN client on Windows?", Language.EN, INSTALL),
        ("打刻を忘れたときはどうすればいいですか", Language.JA, CLOCK_FIX),
    ],
)
def test_a_question_about_a_manual_ranks_its_passage_first_and_confidently(
    index: KnowledgeIndex, question: str, language: Language, expected: Passage
) -> None:
    retrieval = index.search(question, language)
    assert retrieval.top is not None
    assert retrieval.top.entry == expected
    assert retrieval.confidence >= 0.7
    assert retrieval.top.probability == retrieval.confidence


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        ("How do I reset my password?", Language.EN, "it-password-reset"),
        ("有給休暇はどうやって申請しますか", Language.JA, "hr-leave-request"),
    ],
)
def test_faq_questions_still_find_their_entries_beside_the_manuals(
    index: KnowledgeIndex, default_index: KnowledgeIndex, question: str, language: Language, expected: str
) -> None:
    alone = default_index.search(question, language)
    together = index.search(question, language)
    assert together.top is not None
    assert together.top.entry.id == expected
    assert together.confidence == alone.confidence
    assert together.evidence == alone.evidence
    faq_hits = [h.entry.id for h in together.hits if not isinstance(h.entry, Passage)]
    assert faq_hits == [h.entry.id for h in alone.hits][: len(faq_hits)], "entries keep their order"


def test_both_kinds_are_ranked_by_their_calibrated_probability(index: KnowledgeIndex) -> None:
    retrieval = index.search("I get error 809 when I connect to the VPN from a hotel", Language.EN)
    kinds = {isinstance(h.entry, Passage) for h in retrieval.hits}
    assert kinds == {True, False}
    for hit in retrieval.hits:
        assert hit.probability is not None
        assert 0.0 <= hit.probability <= 1.0


def test_without_passages_retrieval_is_the_faq_retrieval(default_index: KnowledgeIndex) -> None:
    retrieval = default_index.search("VPN won't connect", Language.EN)
    assert all(h.passage is None for h in retrieval.hits)
    assert retrieval.passage_terms == (), "no passage search, nothing merged"
    assert retrieval.confidence == retrieval.hits[0].probability
    assert len(default_index) == len(default_index.entries)


def test_a_flagged_passage_is_never_retrieved_even_for_its_own_words(index: KnowledgeIndex) -> None:
    retrieval = index.search(PLANTED.text, Language.EN, limit=20)
    assert PLANTED.id not in {h.entry.id for h in retrieval.hits}
    assert index.get(PLANTED.id) is None
    assert index.get(ERROR_809.id) == ERROR_809
    assert len(index) == len(index.entries) + len(MANUAL_PASSAGES) - 1


def test_a_knowledge_base_of_passages_only_answers_from_them() -> None:
    index = KnowledgeIndex(MANUAL_PASSAGES, "manuals-only")
    retrieval = index.search("error 809 on hotel wifi", Language.EN)
    assert retrieval.top is not None
    assert retrieval.top.entry == ERROR_809
    assert retrieval.terms
    assert index.search("社食のメニューは？", Language.JA).confidence < 0.45


# ---- the extract ----------------------------------------------------------------------------------


def test_sentences_end_at_japanese_and_english_stops_and_at_line_breaks() -> None:
    assert sentences("申請します。承認されます。") == ["申請します。", "承認されます。"]
    assert sentences("Open it. Then sign in!\n- step two") == ["Open it.", "Then sign in!", "- step two"]
    assert sentences("Use v1.2 of the client.") == ["Use v1.2 of the client."], "no cut inside a number"


def test_a_short_passage_is_the_answer_itself(index: KnowledgeIndex) -> None:
    assert best_sentences(SIGN_IN, ["sign"], index.passages.idf) == SIGN_IN.text


def test_a_long_passage_gives_the_sentences_holding_the_questions_rare_words_in_order(
    index: KnowledgeIndex,
) -> None:
    steps = [f"Step {n}: press the button marked {word}." for n, word in enumerate("abcdefghijkl", 1)]
    long = vpn(("Reference",), " ".join([*steps, "To switch to SSL mode choose Settings > Protocol > SSL."]))
    extract = best_sentences(long, ["ssl", "mode"], index.passages.idf)
    assert extract.startswith("To switch to SSL mode")
    assert len(extract) <= EXTRACT_CHARS

    extract = best_sentences(ERROR_809, ["ssl", "mode", "protocol"], index.passages.idf)
    assert "Switch the client to SSL mode" in extract
    assert extract.index("Switch the client") < extract.index("select SSL"), "passage order is kept"


def test_a_japanese_extract_is_joined_without_spaces(index: KnowledgeIndex) -> None:
    long = kintai(("打刻",), "出勤したら打刻します。" * 30 + "打刻修正は翌月5日まで申請できます。")
    extract = best_sentences(long, ["打刻", "修正", "申請", "翌月"], index.passages.idf)
    assert extract.endswith("打刻修正は翌月5日まで申請できます。")
    assert " " not in extract


# ---- answers ---------------------------------------------------------------------------------------


def test_an_answer_from_a_passage_quotes_it_and_cites_document_section_and_page(
    index: KnowledgeIndex,
) -> None:
    policy = AnswerPolicy(FixedKnowledge(index))
    answer, _ = ask(policy, "I get error 809 when I connect to the VPN from a hotel")
    assert answer.mode is AnswerMode.FAQ
    assert answer.cited_faq_ids == (ERROR_809.id,)
    assert "SSL" in answer.text
    assert answer.text == ERROR_809.text, "a short passage is the answer itself"
    [cited] = answer.citations
    assert cited.kind is KnowledgeKind.PASSAGE
    assert cited.faq_id == ERROR_809.id
    assert cited.title == "GlobalConnect VPN client guide"
    assert cited.section == ["Troubleshooting", "Error 809"]
    assert cited.page == 2
    assert cited.url == "https://intranet.example.com/guides/vpn-client"
    assert cited.document_id == ERROR_809.document_id
    assert cited.snippet is not None
    assert cited.snippet.startswith("Error 809 means")


def test_a_passage_link_that_is_no_web_address_is_not_a_url() -> None:
    local = vpn(("Connecting",), SIGN_IN.text + " Keep the client open.", link="manuals/vpn-client-guide.md")
    policy = AnswerPolicy(FixedKnowledge(KnowledgeIndex([local], "one")))
    answer, _ = ask(policy, "how do I sign in to GlobalConnect with my company account")
    [cited] = answer.citations
    assert cited.url is None


def test_a_japanese_passage_answers_in_its_own_words_cited_by_section(index: KnowledgeIndex) -> None:
    policy = AnswerPolicy(FixedKnowledge(KnowledgeIndex([CLOCK_FIX, INSTALL], "two")))
    answer, _ = ask(policy, "打刻修正申請はどこからしますか")
    assert answer.text == CLOCK_FIX.text
    [cited] = answer.citations
    assert (cited.title, cited.section) == ("勤怠システム操作マニュアル", ["打刻", "打刻の修正"])


def test_an_answer_in_the_other_language_than_the_users_says_so(index: KnowledgeIndex) -> None:
    text = passage_answer(CLOCK_FIX, ["打刻"], index.passages.idf, Language.EN)
    assert text.startswith(CLOCK_FIX.text)
    assert text.endswith(replies.ONLY_IN_OTHER_LANGUAGE[Language.EN])
    assert replies.ONLY_IN_OTHER_LANGUAGE[Language.JA] not in passage_answer(
        CLOCK_FIX, ["打刻"], index.passages.idf, Language.JA
    )


def test_two_passages_that_fit_alike_are_offered_as_choices_named_by_section() -> None:
    windows = vpn(("Installing the client", "Windows"), "Install GlobalConnect from the Software Center.")
    mac = vpn(("Installing the client", "macOS"), "Install GlobalConnect from the Self Service app.")
    policy = AnswerPolicy(FixedKnowledge(KnowledgeIndex([windows, mac], "two")))
    answer, memory = ask(policy, "install globalconnect")
    assert answer.mode is AnswerMode.CLARIFY, answer
    assert {c.question for c in answer.choices} == {windows.citation, mac.citation}
    position = next(i for i, c in enumerate(answer.choices) if c.faq_id == mac.id)
    chosen, _ = ask(policy, str(position + 1), memory)
    assert chosen.cited_faq_ids == (mac.id,)
    assert "Self Service" in chosen.text


def test_an_escalation_summary_names_the_closest_passages() -> None:
    policy = AnswerPolicy(FixedKnowledge(KnowledgeIndex(MANUAL_PASSAGES, "manuals-only")))
    memory = ConversationMemory(conversation_id=uuid.uuid4(), user_id="user-1")
    question = "which toner cartridge does the colour printer in the hotel lobby take"
    decision = policy.decide(analyzed(question), memory)
    assert decision.reason is DecisionReason.LOW_CONFIDENCE
    assert isinstance(decision.outcome, Escalation)
    assert "Closest passages: GlobalConnect VPN client guide" in decision.outcome.summary
