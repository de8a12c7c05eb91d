"""Withdrawing an approved wording: out of its entry's alternatives in a new knowledge version, the
candidate withdrawn (by whom, when), once only, never added back by a re-import or by users choosing it
again; anything but an approved wording refused."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.events import Language
from helpdesk.knowledge.entries import parse_entry
from helpdesk.knowledge.store import KnowledgeStore
from services.evaluator.candidates.candidate import (
    CandidateAlreadyReviewed,
    CandidateNotFound,
    CandidateStatus,
    NotAnApprovedWording,
)
from services.evaluator.candidates.wordings import (
    WordingRules,
    refusal,
    without_wording,
)
from tests.unit.evaluator.conftest import PASSWORD_ENTRY
from tests.unit.evaluator.test_candidates import replied
from tests.unit.evaluator.test_learned_wordings import (
    FILE_ENTRY,
    VPN_FILE_ENTRY,
    WORDING,
    choice,
    chose,
    learning,
    password_entry,
)


async def current_version(knowledge: KnowledgeStore) -> str:
    version = await knowledge.current()
    assert version is not None
    return version.version


async def test_withdrawal_takes_the_wording_out_of_its_entry_in_a_new_published_version() -> None:
    learned = learning()
    approved = await learned.approved()
    assert WORDING in (await password_entry(learned.knowledge))["en"]["alternatives"]
    approved_version = await current_version(learned.knowledge)

    withdrawn = await learned.candidates.withdraw(approved.id, "op-2")

    assert withdrawn.status is CandidateStatus.WITHDRAWN
    assert (withdrawn.withdrawn_by, withdrawn.withdrawal_done) == ("op-2", True)
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.withdrawn_at == withdrawn.updated_at
    assert (withdrawn.reviewed_by, withdrawn.reviewed_at) == (approved.reviewed_by, approved.reviewed_at)
    entry = await password_entry(learned.knowledge)
    assert entry["en"]["alternatives"] == ["I forgot my password"]
    assert entry["en"]["question"] == PASSWORD_ENTRY["en"]["question"]  # type: ignore[index]
    assert entry["ja"] == PASSWORD_ENTRY["ja"]
    _, withdrawal = learned.updates()
    assert withdrawal.changed_ids == ["password-reset"]
    assert withdrawal.previous_version == approved_version
    assert withdrawal.kb_version == await current_version(learned.knowledge)
    assert withdrawal.actor == "op-2"
    assert await learned.store.approved_wordings({"password-reset"}) == []
    assert await learned.candidates.get(approved.id) == withdrawn


async def test_withdrawing_twice_is_withdrawing_once() -> None:
    learned = learning()
    approved = await learned.approved()
    first = await learned.candidates.withdraw(approved.id, "op-2")
    version = await current_version(learned.knowledge)

    again = await learned.candidates.withdraw(approved.id, "op-3")

    assert again == first
    assert again.withdrawn_by == "op-2"
    assert len(learned.updates()) == 2, "the approval's version and the withdrawal's, no third"
    assert await current_version(learned.knowledge) == version


async def test_a_reimport_does_not_add_a_withdrawn_wording_back() -> None:
    learned = learning()
    await learned.sources.import_file("faq.yaml", FILE_ENTRY.format(alternatives="").encode(), "op-1")
    approved = await learned.approved()
    await learned.candidates.withdraw(approved.id, "op-1")

    summary = await learned.sources.import_file(
        "faq.yaml", FILE_ENTRY.format(alternatives="").encode(), "op-1"
    )

    assert summary.kept_wordings == 0
    assert (await password_entry(learned.knowledge))["en"]["alternatives"] == []


async def test_users_or_agents_choosing_a_withdrawn_wording_again_do_not_bring_it_back() -> None:
    learned = learning(automatic=True, min_users=2)
    await learned.candidates.learn_wording(chose("user-a"))
    applied = await learned.candidates.learn_wording(chose("user-b"))
    assert applied is not None
    assert applied.status is CandidateStatus.APPROVED
    await learned.candidates.withdraw(applied.id, "op-1")
    assert refusal(choice(WORDING), learned.candidates.library.copy, WordingRules()) is None

    for user in ("user-c", "user-d"):
        again = await learned.candidates.learn_wording(chose(user))
        assert again is None or again.status is CandidateStatus.WITHDRAWN
    vouched = await learned.candidates.from_handoff(
        replied(WORDING, PASSWORD_ENTRY["en"]["answer"])  # type: ignore[index]
    )
    assert vouched is not None
    await learned.state.delete("wordings:password-reset")
    for user in ("user-e", "user-f"):
        counted_anew = await learned.candidates.learn_wording(chose(user))
    assert counted_anew is not None, "once the counts are forgotten, two users propose it again"
    assert (counted_anew.id, counted_anew.status) == (applied.id, CandidateStatus.WITHDRAWN)

    assert (await learned.candidates.get(applied.id) or applied).status is CandidateStatus.WITHDRAWN
    assert WORDING not in (await password_entry(learned.knowledge))["en"]["alternatives"]
    assert len(learned.updates()) == 2


async def test_a_withdrawn_wording_cannot_be_approved_or_rejected() -> None:
    learned = learning()
    approved = await learned.approved()
    await learned.candidates.withdraw(approved.id, "op-1")
    with pytest.raises(CandidateAlreadyReviewed, match="withdrawn candidate cannot be approved"):
        await learned.candidates.approve(approved.id, "op-1")
    with pytest.raises(CandidateAlreadyReviewed, match="withdrawn candidate cannot be rejected"):
        await learned.candidates.reject(approved.id, "op-1")
    assert (await learned.candidates.get(approved.id) or approved).status is CandidateStatus.WITHDRAWN
    assert len(learned.updates()) == 2


async def test_only_an_approved_wording_can_be_withdrawn() -> None:
    learned = learning(min_users=2)
    await learned.candidates.learn_wording(chose("user-a"))
    pending = await learned.candidates.learn_wording(chose("user-b"))
    assert pending is not None
    with pytest.raises(NotAnApprovedWording, match="this candidate is a pending wording"):
        await learned.candidates.withdraw(pending.id, "op-1")
    await learned.candidates.reject(pending.id, "op-1")
    with pytest.raises(NotAnApprovedWording, match="this candidate is a rejected wording"):
        await learned.candidates.withdraw(pending.id, "op-1")

    drafted = await learned.candidates.from_handoff(
        replied("How do I book a meeting room for ten people?", "Use the room finder in Outlook.")
    )
    assert drafted is not None
    entry = await learned.candidates.approve(drafted.id, "op-1")
    with pytest.raises(NotAnApprovedWording, match="this candidate is an approved new entry") as refused:
        await learned.candidates.withdraw(entry.id, "op-1")
    assert refused.value.status == 409
    assert (await learned.candidates.get(entry.id) or entry).status is CandidateStatus.APPROVED
    with pytest.raises(CandidateNotFound):
        await learned.candidates.withdraw("no-such-candidate", "op-1")
    assert len(learned.updates()) == 1, "only the new entry's approval"


async def test_when_the_entry_is_gone_only_the_candidate_is_withdrawn() -> None:
    learned = learning()
    await learned.sources.import_file(
        "faq.yaml", (FILE_ENTRY.format(alternatives="") + VPN_FILE_ENTRY).encode(), "op-1"
    )
    approved = await learned.approved()
    await learned.sources.import_file("faq.yaml", VPN_FILE_ENTRY.encode(), "op-1")
    version, published = await current_version(learned.knowledge), len(learned.updates())

    withdrawn = await learned.candidates.withdraw(approved.id, "op-1")

    assert (withdrawn.status, withdrawn.withdrawal_done) == (CandidateStatus.WITHDRAWN, True)
    assert (await current_version(learned.knowledge), len(learned.updates())) == (version, published)


async def test_when_the_entry_no_longer_has_the_wording_only_the_candidate_is_withdrawn() -> None:
    japanese = "ログインできなくなった時の対処"
    learned = learning()
    approved = await learned.approved(japanese, Language.JA)
    await learned.sources.import_file("faq.yaml", FILE_ENTRY.format(alternatives="").encode(), "op-1")
    before: dict[str, Any] = await password_entry(learned.knowledge)
    assert before.get("ja") is None
    version, published = await current_version(learned.knowledge), len(learned.updates())

    withdrawn = await learned.candidates.withdraw(approved.id, "op-1")

    assert (withdrawn.status, withdrawn.withdrawal_done) == (CandidateStatus.WITHDRAWN, True)
    assert (await current_version(learned.knowledge), len(learned.updates())) == (version, published)
    assert await password_entry(learned.knowledge) == before


def test_without_wording_takes_out_only_that_alternative() -> None:
    entry = parse_entry(
        {
            **PASSWORD_ENTRY,
            "en": {**PASSWORD_ENTRY["en"], "alternatives": ["I forgot my password", WORDING]},  # type: ignore[dict-item]
        }
    )
    later = entry.updated_at.replace(year=entry.updated_at.year + 1)
    taken = without_wording(entry, Language.EN, "Locked out after too many tries, what now?", later)
    assert taken.texts[Language.EN].alternatives == ("I forgot my password",)
    assert taken.texts[Language.JA] == entry.texts[Language.JA]
    assert taken.updated_at == later
    assert without_wording(taken, Language.EN, WORDING, later) is taken
    assert without_wording(entry, Language.JA, WORDING, later) is entry
    question = PASSWORD_ENTRY["en"]["question"]  # type: ignore[index]
    assert without_wording(entry, Language.EN, question, later) is entry, "the question is not a wording"


# ---- a wording the entry's knowledge file lists itself is the file's ----------------------------------

LISTED_BY_FILE = FILE_ENTRY.format(alternatives='"Locked out after too many tries, what now?"')
WITHOUT_IT = FILE_ENTRY.format(alternatives="")


async def test_withdrawing_a_wording_the_file_lists_itself_leaves_the_entry_as_the_file_wrote_it() -> None:
    learned = learning()
    await learned.sources.import_file("faq.yaml", WITHOUT_IT.encode(), "op-1")
    approved = await learned.approved()
    assert not approved.listed_by_file
    await learned.sources.import_file("faq.yaml", LISTED_BY_FILE.encode(), "op-1")
    assert (await learned.candidates.get(approved.id) or approved).listed_by_file
    before = await password_entry(learned.knowledge)
    version, published = await current_version(learned.knowledge), len(learned.updates())

    withdrawn = await learned.candidates.withdraw(approved.id, "op-1")

    assert (withdrawn.status, withdrawn.withdrawal_done) == (CandidateStatus.WITHDRAWN, True)
    assert (await current_version(learned.knowledge), len(learned.updates())) == (version, published)
    assert await password_entry(learned.knowledge) == before
    assert before["en"]["alternatives"] == ["Locked out after too many tries, what now?"]
    dropped = await learned.sources.import_file("faq.yaml", WITHOUT_IT.encode(), "op-1")
    assert dropped.kept_wordings == 0, "withdrawn, the wording goes once the file drops it"
    assert (await password_entry(learned.knowledge))["en"]["alternatives"] == []


async def test_a_wording_the_file_no_longer_lists_is_learnings_again_and_leaves_the_entry() -> None:
    learned = learning()
    await learned.sources.import_file("faq.yaml", WITHOUT_IT.encode(), "op-1")
    approved = await learned.approved()
    await learned.sources.import_file("faq.yaml", LISTED_BY_FILE.encode(), "op-1")
    assert (await learned.candidates.get(approved.id) or approved).listed_by_file
    summary = await learned.sources.import_file("faq.yaml", WITHOUT_IT.encode(), "op-1")
    assert summary.kept_wordings == 1
    assert not (await learned.candidates.get(approved.id) or approved).listed_by_file
    published = len(learned.updates())

    withdrawn = await learned.candidates.withdraw(approved.id, "op-1")

    assert not withdrawn.listed_by_file
    assert (await password_entry(learned.knowledge))["en"]["alternatives"] == []
    assert len(learned.updates()) == published + 1


async def test_a_wording_its_entry_had_already_when_approved_is_the_entrys_own() -> None:
    learned = learning()
    await learned.sources.import_file("faq.yaml", WITHOUT_IT.encode(), "op-1")
    proposed = await learned.candidates.learn_wording(chose("user-a"))
    assert proposed is not None
    assert proposed.status is CandidateStatus.PENDING
    await learned.sources.import_file("faq.yaml", LISTED_BY_FILE.encode(), "op-1")
    approved = await learned.candidates.approve(proposed.id, "op-1")
    assert approved.listed_by_file
    version = await current_version(learned.knowledge)

    withdrawn = await learned.candidates.withdraw(approved.id, "op-1")

    assert withdrawn.status is CandidateStatus.WITHDRAWN
    assert await current_version(learned.knowledge) == version
    assert (await password_entry(learned.knowledge))["en"]["alternatives"] == [
        "Locked out after too many tries, what now?"
    ]
