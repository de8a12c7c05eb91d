"""The FAQ learning loop: draft, de-duplicate, review, publish."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from helpdesk.events import Channel, ChannelRef, HandoffReplied, KbUpdated, Language
from helpdesk.knowledge.entries import parse_entry
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.knowledge.versions import KnowledgeEdit
from helpdesk.llm.port import Completion
from helpdesk.llm.prompts import Prompt, PromptLibrary
from helpdesk.memory_ports import MemoryBus, MemoryStateStore
from services.evaluator.candidates.candidate import CandidateAlreadyReviewed, CandidateEdit, CandidateStatus
from services.evaluator.candidates.candidate_queue import CandidateQueue
from services.evaluator.candidates.candidate_store import CandidateStore
from services.evaluator.candidates.drafting import ModelDrafter, clean_answer
from services.evaluator.knowledge import KnowledgeFollower
from services.evaluator.knowledge_sources import KnowledgeSources
from services.evaluator.source_reader import SourceReader
from tests.unit.evaluator.conftest import PASSWORD_ENTRY

PROMPTS = Path(__file__).resolve().parents[3] / "prompts"


def replied(
    question: str | None, answer: str, language: Language | None = Language.EN, **extra: Any
) -> HandoffReplied:
    return HandoffReplied(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.WEB, user_id="user-1"),
        operator_id=extra.get("operator_id", "agent-1"),
        answer=answer,
        question=question,
        language=language,
    )


def queue() -> tuple[CandidateQueue, KnowledgeStore, MemoryBus]:
    """A queue whose approvals go to an in-memory knowledge store, as the evaluator's do."""
    state, bus = MemoryStateStore(), MemoryBus()
    knowledge = KnowledgeStore(MemoryStateStore())
    base = [e for e in [parse_entry(PASSWORD_ENTRY)] if e is not None]
    library = KnowledgeFollower(knowledge, base)
    sources = KnowledgeSources(knowledge, bus, state, SourceReader(), library)
    return CandidateQueue(CandidateStore(state), sources, library, duplicate_threshold=0.75), knowledge, bus


def test_the_extractive_draft_drops_greeting_and_sign_off_and_redacts() -> None:
    text = (
        "Hi Anna,\nPlease open the printer queue and restart it. Mail me at agent@example.com.\n"
        "Best regards,\nTom"
    )
    assert clean_answer(text) == "Please open the printer queue and restart it. Mail me at [EMAIL]."
    assert (
        clean_answer("お疲れ様です。プリンターを再起動してください。よろしくお願いします。")
        == "プリンターを再起動してください。"
    )


async def test_a_handoff_reply_becomes_a_pending_candidate_once() -> None:
    candidates, _, _ = queue()
    event = replied(
        "The printer on floor 3 is jammed, what do I do?", "Hello, open tray 2 and remove the paper. Thanks"
    )
    first = await candidates.from_handoff(event)
    again = await candidates.from_handoff(event)
    assert first is not None
    assert again is not None
    assert first.id == again.id
    assert first.status is CandidateStatus.PENDING
    assert first.answer == "open tray 2 and remove the paper."
    assert [c.id for c in await candidates.find(CandidateStatus.PENDING)] == [first.id]


async def test_a_question_the_knowledge_base_answers_is_a_duplicate_not_queued() -> None:
    candidates, _, _ = queue()
    candidate = await candidates.from_handoff(replied("I forgot my password", "Use the portal."))
    assert candidate is not None
    assert candidate.status is CandidateStatus.DUPLICATE
    assert candidate.duplicate_of == "password-reset"
    assert await candidates.find(CandidateStatus.PENDING) == []


async def test_japanese_duplicates_are_found_on_morphemes() -> None:
    candidates, _, _ = queue()
    candidate = await candidates.from_handoff(
        replied("パスワードを忘れました", "ポータルから再設定してください。", Language.JA)
    )
    assert candidate is not None
    assert candidate.status is CandidateStatus.DUPLICATE


async def test_the_same_question_from_two_handoffs_merges_into_one_candidate() -> None:
    candidates, _, _ = queue()
    first = await candidates.from_handoff(replied("How do I book a meeting room?", "Use the Rooms app."))
    second = await candidates.from_handoff(
        replied("how do I book a meeting room", "Open the Rooms app and pick a slot.", operator_id="agent-2")
    )
    assert first is not None
    assert second is not None
    assert second.id == first.id
    assert len(second.source_turn_ids) == 2
    assert second.operator_ids == ["agent-1", "agent-2"]
    assert second.supporting_answers == ["Open the Rooms app and pick a slot."]
    assert len(await candidates.find(CandidateStatus.PENDING)) == 1


async def test_a_reply_without_the_question_drafts_nothing() -> None:
    candidates, _, _ = queue()
    assert await candidates.from_handoff(replied(None, "Done.")) is None


async def test_approval_publishes_the_entry_and_the_copy_learns_it() -> None:
    candidates, knowledge, bus = queue()
    drafted = await candidates.from_handoff(replied("How do I book a meeting room?", "Use the Rooms app."))
    assert drafted is not None
    approved = await candidates.approve(
        drafted.id,
        "op-1",
        CandidateEdit(answer="Open the Rooms app, pick a room and a slot.", category="facilities"),
    )
    assert approved.status is CandidateStatus.APPROVED
    assert approved.published
    updates = bus.of(KbUpdated)
    assert len(updates) == 1
    update = updates[0]
    assert isinstance(update, KbUpdated)
    assert update.schema_version == 2
    assert update.changed_ids == [approved.faq_id]
    assert update.counts.added == 1
    assert approved.kb_version == update.kb_version
    loaded = await knowledge.load()
    assert loaded is not None
    assert loaded.version.version == update.kb_version
    assert approved.faq_id is not None
    entry = loaded.items[approved.faq_id].model_dump(mode="json")
    assert entry["id"] == approved.faq_id
    assert entry["category"] == "facilities"
    assert entry["owner"] == "op-1"
    assert entry["en"] == {
        "question": "How do I book a meeting room?",
        "alternatives": [],
        "answer": "Open the Rooms app, pick a room and a slot.",
    }
    assert approved.faq_id in candidates.library.copy
    again = await candidates.approve(drafted.id, "op-1")
    assert again.update_id == approved.update_id
    assert len(bus.of(KbUpdated)) == 1
    later = await candidates.from_handoff(replied("how can I book a meeting room?", "Rooms app."))
    assert later is not None
    assert later.status is CandidateStatus.DUPLICATE
    assert later.duplicate_of == approved.faq_id


async def test_a_failed_publication_is_repeated_with_the_same_update_id() -> None:
    candidates, knowledge, bus = queue()
    drafted = await candidates.from_handoff(replied("Where is the canteen menu?", "On the intranet."))
    assert drafted is not None
    bus.fail_next = 1
    with pytest.raises(Exception, match="simulated"):
        await candidates.approve(drafted.id, "op-1")
    stored = await candidates.get(drafted.id)
    assert stored is not None
    assert stored.status is CandidateStatus.APPROVED
    assert not stored.published
    written = await knowledge.current()
    published = await candidates.approve(drafted.id, "op-1")
    assert published.published
    assert await knowledge.current() == written, "the entry is written once"
    updates = bus.of(KbUpdated)
    assert len(updates) == 1
    assert isinstance(updates[0], KbUpdated)
    assert updates[0].update_id == stored.update_id
    assert written is not None
    assert updates[0].kb_version == written.version


async def test_rejected_candidates_cannot_be_approved_or_edited() -> None:
    candidates, _, bus = queue()
    drafted = await candidates.from_handoff(replied("Where is the canteen menu?", "On the intranet."))
    assert drafted is not None
    rejected = await candidates.reject(drafted.id, "op-1", "too specific")
    assert rejected.status is CandidateStatus.REJECTED
    with pytest.raises(CandidateAlreadyReviewed):
        await candidates.approve(drafted.id, "op-1")
    with pytest.raises(CandidateAlreadyReviewed):
        await candidates.edit(drafted.id, CandidateEdit(answer="x"))
    assert bus.of(KbUpdated) == []


async def test_edits_are_redacted() -> None:
    candidates, _, _ = queue()
    drafted = await candidates.from_handoff(replied("Where is the canteen menu?", "On the intranet."))
    assert drafted is not None
    edited = await candidates.edit(drafted.id, CandidateEdit(answer="Ask canteen@example.com"))
    assert edited.answer == "Ask [EMAIL]"


async def test_knowledge_published_by_others_is_followed_for_de_duplication() -> None:
    candidates, knowledge, _ = queue()
    rooms = parse_entry(
        {
            "id": "facilities-rooms",
            "en": {"question": "How do I book a meeting room?", "answer": "Rooms app."},
        }
    )
    await knowledge.commit(KnowledgeEdit(put=[rooms]))
    await candidates.library.refresh()
    assert "facilities-rooms" in candidates.library.copy
    assert "password-reset" not in candidates.library.copy, "the store's version replaces the files"
    duplicate = await candidates.from_handoff(replied("how do I book a meeting room", "Use the Rooms app."))
    assert duplicate is not None
    assert duplicate.status is CandidateStatus.DUPLICATE
    assert duplicate.duplicate_of == "facilities-rooms"


async def test_schema_1_updates_are_still_followed_for_de_duplication() -> None:
    candidates, _, _ = queue()
    update = KbUpdated(
        update_id=uuid.uuid4(),
        kb_version="v2",
        added=["facilities-rooms"],
        entries=[
            {
                "id": "facilities-rooms",
                "en": {"question": "How do I book a meeting room?", "answer": "Rooms app."},
            }
        ],
        removed=["password-reset"],
    )
    candidates.library.observe(update)
    await candidates.library.refresh()
    assert "facilities-rooms" in candidates.library.copy
    assert "password-reset" not in candidates.library.copy


class DraftingModel:
    name = "gpt-4o-mini"

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.users: list[str] = []

    async def complete(self, system: str, user: str, *, temperature: float, max_tokens: int) -> Completion:
        self.users.append(user)
        if isinstance(self.reply, Exception):
            raise self.reply
        return Completion(self.reply, 300, 80)


def model_queue(model: DraftingModel) -> CandidateQueue:
    state, bus = MemoryStateStore(), MemoryBus()
    knowledge = KnowledgeStore(MemoryStateStore())
    library = KnowledgeFollower(knowledge, [])
    sources = KnowledgeSources(knowledge, bus, state, SourceReader(), library)
    prompt = PromptLibrary.load(PROMPTS, Prompt).resolve("faq-draft")
    return CandidateQueue(
        CandidateStore(state), sources, library, duplicate_threshold=0.75, drafter=ModelDrafter(model, prompt)
    )


async def test_with_a_model_the_candidate_is_a_generalised_summary_of_redacted_text() -> None:
    model = DraftingModel(
        '{"question": "How do I book a parking space?", "answer": "Book it in the Rooms app under Parking.",'
        ' "alternatives": ["Reserve a parking spot", "", 3]}'
    )
    candidate = await model_queue(model).from_handoff(
        replied(
            "Can I park tomorrow? I'm jo@example.com", "Hi Jo, book it in the Rooms app under Parking. Tom"
        )
    )
    assert candidate is not None
    assert candidate.question == "How do I book a parking space?"
    assert candidate.answer == "Book it in the Rooms app under Parking."
    assert candidate.alternatives == ["Reserve a parking spot"]
    assert candidate.drafted_by == "faq-draft@1:gpt-4o-mini"
    assert "jo@example.com" not in model.users[0]


@pytest.mark.parametrize("reply", [RuntimeError("timeout"), "not json", '{"question": "", "answer": "x"}'])
async def test_an_unusable_model_draft_falls_back_to_extraction(reply: str | Exception) -> None:
    candidate = await model_queue(DraftingModel(reply)).from_handoff(
        replied("Where is the canteen menu?", "Hello, it is on the intranet. Regards")
    )
    assert candidate is not None
    assert candidate.drafted_by == "extractive"
    assert candidate.answer == "it is on the intranet."
