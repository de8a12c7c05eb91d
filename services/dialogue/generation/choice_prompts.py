"""Choice prompts (`kind: choice` in `prompts/`): the model reads the user's question and the entries
a clarification would offer, and names the one whose answer, as written, answers the question (or
none). The answer the user then gets is the entry's own text: the model writes nothing a user reads.

They show the entries exactly as answer prompts do (`KnowledgePrompt`: escaped data inside tags, the
canary in the system message only), and need no language name since the model writes no prose.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from helpdesk.llm.prompts import PromptLibrary
from services.dialogue.generation.answer_prompts import KnowledgePrompt

CHOICE_KIND = "choice"

_REQUIRED = {
    "system": {"canary"},
    "user": {"faq_context", "question"},
    "faq_entry": {"id", "question", "answer"},
    "passage": {"id", "title", "text"},
}


class ChoicePrompt(KnowledgePrompt):
    required: ClassVar[dict[str, set[str]]] = _REQUIRED
    kind: Literal["choice"] = "choice"


ChoicePrompts = PromptLibrary[ChoicePrompt]


def load_choice_prompts(directory: Path) -> ChoicePrompts:
    """The choice prompts of `directory`; the other prompt files beside them are left alone."""
    return PromptLibrary.load(directory, ChoicePrompt, kind=CHOICE_KIND)
