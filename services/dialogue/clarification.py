"""Clarifying a question: which items to offer, and which one the user's reply picks.

A clarification offers at most `max_choices` items, the likely one first: the first hit and hits of
other questions (an entry's question, a passage's section) whose probability of answering is at least
`choice_ratio` of the first's, by probability. When only the first is likely enough, one choice is
offered ("Did you mean …?") rather than a list padded with unlikely ones.

The reply is read in this order:
1. the label of an offered choice, as a channel's button sends it back;
2. "yes" / 「はい」 to a single choice;
3. "none of these" / "no" (`None`: the policy hands the question over);
4. a number or an ordinal ("2", "the second one", 「2番」, 「最初の」);
5. words that point to one of several choices: the reply, read together with the question that was
   asked, is searched, and the choice is taken when it is retrieval's first hit and holds
   `WORDED_SHARE` of the offered choices' probability ("the one where it doesn't connect",
   「スマホで使いたい」). Not for a single choice: the question that was asked finds that entry first
   whatever the reply adds ("nah", "hmm"), so only "yes", its label or its words take it;
6. words of one choice's question (the overlap rule of `understanding.chosen_position`).
Small talk ("thanks", 「ありがとう」) is never read as words pointing to a choice: read with the question
asked it would find one of them.
Anything else is not a reply to the clarification but a new question (or a follow-up one, which the
policy reads together with the question that was asked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from helpdesk.events import Choice, Language
from helpdesk.text import normalise
from services.dialogue.knowledge.index import Hit, Retrieval
from services.dialogue.knowledge.passage_confidence import PassageEvidence
from services.dialogue.memory import PendingClarification
from services.dialogue.understanding import agrees, chosen_position, rejects_choices, smalltalk

PASSAGE_MARGIN = 0.15
PASSAGE_COVERAGE = 0.05
WORDED_SHARE = 0.6
"""The share of the offered choices' probability a worded reply must give one of them."""
SEARCHED_FOR_A_REPLY = 10


def choices(retrieval: Retrieval, label: Callable[[Hit], str], *, ratio: float, most: int) -> list[Hit]:
    """The first hit and hits of other questions (by their label) whose probability is at least
    `ratio` of the first's, at most `most`, the most probable first (the sentence vectors may make a
    hit ranked lower by score the likelier one: "VPN" is most often about the phone)."""
    if not retrieval.hits:
        return []
    first = retrieval.hits[0]
    floor = ratio * (first.probability or 0.0)
    chosen = [first]
    labels = {label(first)}
    for hit in retrieval.hits[1:]:
        if len(chosen) >= most:
            break
        name = label(hit)
        if name in labels or (hit.probability or 0.0) < floor:
            continue
        chosen.append(hit)
        labels.add(name)
    return sorted(chosen, key=lambda hit: -(hit.probability or 0.0))


def passages_alike(retrieval: Retrieval) -> bool:
    """Two passages fit about equally well (the Windows and the macOS section of an install guide):
    asking beats guessing. The first passage is less than `PASSAGE_MARGIN` ahead of the next and that
    one covers the question about as well. (An FAQ entry's probability holds how far ahead of the
    others it is; a passage's is calibrated on its own evidence, so this rule of issue 18 stays.)"""
    if len(retrieval.hits) < 2 or not isinstance(retrieval.evidence, PassageEvidence):
        return False
    first, second = retrieval.hits[0], retrieval.hits[1]
    return (
        second.passage is not None
        and retrieval.evidence.margin < PASSAGE_MARGIN
        and second.coverage >= first.coverage - PASSAGE_COVERAGE
    )


class Rejected(Enum):
    """The reply rejects every choice offered."""

    ALL = "all"


@dataclass(frozen=True, slots=True)
class ReplyReader:
    """Reads a reply to `pending`; `search` is retrieval as the policy runs it (nlp's reading of the
    message included)."""

    pending: PendingClarification
    language: Language
    search: Callable[[str, Sequence[str], int], Retrieval]

    def chosen(self, text: str) -> str | Rejected | None:
        """The id of the item the reply picks, `Rejected.ALL`, or None (not a reply to the choices)."""
        offered = self.pending.choices
        said = normalise(text).strip().lower()
        for choice in offered:
            if normalise(choice.question).strip().lower() == said:
                return choice.faq_id
        if len(offered) == 1 and agrees(text):
            return offered[0].faq_id
        if rejects_choices(text):
            return Rejected.ALL
        position = chosen_position(text, [""] * len(offered), self.language)
        if position is not None:
            return offered[position].faq_id
        if smalltalk(text) is not None:
            return None
        worded = self._worded(text, offered) if len(offered) > 1 else None
        if worded is not None:
            return worded
        position = chosen_position(text, [c.question for c in offered], self.language)
        return offered[position].faq_id if position is not None else None

    def _worded(self, text: str, offered: Sequence[Choice]) -> str | None:
        retrieval = self.search(f"{self.pending.question} {text}", (text,), SEARCHED_FOR_A_REPLY)
        ids = [c.faq_id for c in offered]
        if retrieval.top is None or retrieval.top.entry.id not in ids:
            return None
        probability = {h.entry.id: h.probability or 0.0 for h in retrieval.hits}
        total = sum(probability.get(i, 0.0) for i in ids)
        top = retrieval.top.entry.id
        return top if total > 0 and probability[top] / total >= WORDED_SHARE else None
