"""Drafting a FAQ candidate from an agent's reply: extractive by default (the user's redacted question,
the agent's answer without greeting and sign-off, redacted); with a model configured, a `ModelDrafter`
may generalise both."""

from __future__ import annotations

import re
from typing import Protocol

from helpdesk.events import Language
from helpdesk.llm.json_reply import json_object
from helpdesk.llm.port import PinnedModel
from helpdesk.llm.prompts import Prompt, fill
from helpdesk.logging import get_logger
from helpdesk.text import normalise
from helpdesk.text.pii import redact_text as redact
from services.evaluator.candidates.candidate import Draft

_log = get_logger(__name__)


class Drafter(Protocol):
    async def draft(self, question: str, answer: str, language: Language) -> Draft: ...


_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^\n,.!]*[,.!]?"
    r"|(?:お疲れ様です|お世話になっております|こんにちは)[。、!！]?)\s*",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"(?:^|(?<=[.!?。！]))\s*"
    r"(?:(?:best(?: regards)?|kind regards|regards|many thanks|thanks|thank you|cheers)\b[^\n]*"
    r"|(?:よろしくお願い(?:いた|致)?します|以上です)[。!！]?)\s*$",
    re.IGNORECASE,
)
MAX_NAME_LINES = 2


def clean_answer(answer: str) -> str:
    """The agent's answer as a FAQ answer: greeting and sign-off (with the name under it) dropped,
    personal data redacted."""
    lines = [normalise(line) for line in answer.splitlines()]
    lines = [line for line in lines if line]
    if lines:
        lines[0] = _GREETING.sub("", lines[0], count=1)
    for index in range(len(lines) - 1, max(len(lines) - 2 - MAX_NAME_LINES, -1), -1):
        if index > 0 and _SIGN_OFF.fullmatch(lines[index]):
            lines = lines[:index]
            break
    text = " ".join(line for line in lines if line)
    text = _SIGN_OFF.sub("", text).rstrip()
    return redact(text.strip() or normalise(answer))


class ExtractiveDrafter:
    async def draft(self, question: str, answer: str, language: Language) -> Draft:
        return Draft(question=normalise(question), answer=clean_answer(answer))


LANGUAGE_NAMES = {Language.EN: "English", Language.JA: "Japanese"}


class ModelDrafter:
    """Drafts with a chat model (`prompts/faq-draft.v<N>.en.yaml`), from the redacted question and the
    redacted, cleaned reply; anything unusable from the model falls back to the extractive draft."""

    def __init__(self, model: PinnedModel, prompt: Prompt) -> None:
        self._model = model
        self._prompt = prompt

    async def draft(self, question: str, answer: str, language: Language) -> Draft:
        extractive = await ExtractiveDrafter().draft(question, answer, language)
        try:
            completion = await self._model.complete(
                fill(self._prompt.system, language_name=LANGUAGE_NAMES.get(language, "English")),
                fill(self._prompt.user, question=extractive.question, answer=extractive.answer),
                temperature=self._prompt.temperature,
                max_tokens=self._prompt.max_tokens,
            )
        except Exception as exc:
            _log.warning("faq_draft_failed", error_type=type(exc).__name__)
            return extractive
        data = json_object(completion.text) or {}
        drafted_question, drafted_answer = data.get("question"), data.get("answer")
        if not isinstance(drafted_question, str) or not isinstance(drafted_answer, str):
            _log.warning("faq_draft_unusable")
            return extractive
        if not drafted_question.strip() or not drafted_answer.strip():
            return extractive
        alternatives = [a.strip() for a in data.get("alternatives") or [] if isinstance(a, str) and a.strip()]
        return Draft(
            question=normalise(drafted_question)[:1000],
            answer=drafted_answer.strip()[:4000],
            alternatives=[normalise(a)[:1000] for a in alternatives[:3]],
            drafted_by=f"{self._prompt.ref}:{self._model.name}",
        )
