"""Prompt-injection suspicion: text that tries to steer the LLM rather than ask or inform the helpdesk.

Heuristics, not a guarantee: they flag the common attacks in English and Japanese (override earlier
instructions, reveal the system prompt, role play as an unrestricted model, jailbreak names) and the
usual disguises (spaced-out or punctuated letters, leetspeak, full-width letters, base64). One detector
for two places: nlp checks each user message (the flag travels in `chat.analyzed`; the dialogue service
decides what to do with it, e.g. answer from the FAQ only), and the document importer checks each
passage of an imported file (a flagged passage is kept for operators and never used in an answer). A
false positive costs little in either place, a missed attack more, so the patterns are broad. Callers
pass normalised text (`helpdesk.text.normalise`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_ENGLISH = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(ignore|disregard|forget|override|skip|bypass)\b.{0,40}\b(previous|prior|above|earlier|preceding|"
        r"all|any|your|the|these|those|system|original|initial)\b.{0,30}\b(instructions?|prompts?|rules|"
        r"directions|guidelines|messages|context|constraints|polic(y|ies))\b",
        r"\b(reveal|show|print|display|repeat|output|leak|tell me|give me|what (is|are)|dump|expose)\b.{0,40}"
        r"\b(system|initial|hidden|original|secret|developer|internal)\s+(prompt|instructions?|message|rules)",
        r"\byour\s+(system\s+)?(prompt|instructions)\b.{0,20}\b(verbatim|word for word|exactly)\b",
        r"\b(you are|you're)\s+(now\s+(a|an|my|in|called|named|free|dan)\b|"
        r"no longer\s+(bound|restricted|an?\s+(ai|assistant|bot)))",
        r"\b(act|behave|respond)\s+as\s+(if\s+you\s+(are|were)\s+)?(an?\s+)?(unrestricted|unfiltered|evil|"
        r"different|new|other|jailbroken|uncensored|ai|assistant|dan)\b",
        r"\bpretend\s+(to\s+be|you\s+(are|were)|that\s+you)\b",
        r"\b(from now on|starting now)\b.{0,20}"
        r"\b(you are|you will|you must|you'll|your (new )?(role|name))\b",
        r"\bjail\s*-?\s*break(ing|s|ed)?\b",
        r"\b(do anything now|dan mode|unrestricted mode)\b",
        r"\b(answer|respond|reply|talk|speak|act|behave)\b.{0,20}\b(without|with no)\s+(restrictions|"
        r"limitations|filters|guardrails|censorship|rules)\b",
        r"\b(new|updated|real|actual)\s+(instructions|system prompt|rules)\s*:",
        r"(^|\n)\s*(system|assistant|developer)\s*:",
        r"</?\s*(system|instructions?|im_start|im_end)\s*>|<\|im_(start|end)\|>|\[/?INST\]|###\s*instruction",
    )
]

# "DAN" only in capitals: "Dan from finance" is a colleague, "DAN" is the jailbreak persona.
_DAN = re.compile(r"\bDAN\b")

_JAPANESE = [
    re.compile(p)
    for p in (
        r"(以前|以上|上記|前|先ほど|これまで|今まで|最初|元)の?(すべての|全ての|全部の)?"
        r"(指示|命令|指令|ルール|規則|設定|プロンプト|制約).{0,10}(無視|忘れて(?!しま)|破棄|取り消|従わな)",
        r"(指示|命令|制約|制限|プロンプト).{0,6}(を|は)?(すべて|全部|全て)?無視",
        r"(システム|初期|隠し|内部|開発者)(の)?(プロンプト|指示|命令|メッセージ|設定).{0,12}"
        r"(表示|教え|見せ|出力|開示|公開|書き出|言って|繰り返)",
        r"プロンプト.{0,8}(を)?(表示|教え|見せ|出力|開示|公開)",
        r"(あなた|君|お前)は(今から|これから|今後)",
        r"として(振る舞|ふるま|振舞|行動|答え|回答)",
        r"(に|を)なりきって|のふりを(して|しろ)",
        r"(制限|制約|フィルター|検閲|安全機能|ガードレール).{0,8}(解除|無視|外し|なし|無し|無効|回避)",
        r"脱獄|ジェイル\s*ブレイク|DANモード|制限のない(AI|アシスタント)",
        r"新しい(指示|命令|ルール)\s*[:：]",
    )
]

# Spaced-out or punctuated attacks ("i g n o r e  p r e v i o u s", "s.y.s.t.e.m p.r.o.m.p.t") after
# everything but letters is removed and leetspeak is undone.
_SQUASHED = (
    "ignorepreviousinstructions",
    "ignoreallpreviousinstructions",
    "ignoreallinstructions",
    "ignoreyourinstructions",
    "ignoretheaboveinstructions",
    "disregardpreviousinstructions",
    "forgetpreviousinstructions",
    "forgetallpreviousinstructions",
    "revealthesystemprompt",
    "revealyoursystemprompt",
    "showmethesystemprompt",
    "showyoursystemprompt",
    "printthesystemprompt",
    "jailbreak",
    "doanythingnow",
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_NOT_LETTER = re.compile(r"[^a-z]+")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_MAX_DECODE_DEPTH = 2


@dataclass(frozen=True, slots=True)
class InjectionCheck:
    suspected: bool
    reasons: tuple[str, ...] = ()


def _decoded_base64(text: str) -> list[str]:
    """Readable texts hidden as base64 inside the message."""
    decoded = []
    for m in _BASE64.finditer(text):
        chunk = m.group()
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
            plain = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if plain and sum(ch.isprintable() or ch.isspace() for ch in plain) / len(plain) > 0.9:
            decoded.append(plain)
    return decoded


def _reasons(text: str, depth: int) -> list[str]:
    reasons = [f"en:{i}" for i, p in enumerate(_ENGLISH) if p.search(text)]
    reasons += [f"ja:{i}" for i, p in enumerate(_JAPANESE) if p.search(text)]
    if _DAN.search(text):
        reasons.append("en:dan")
    squashed = _NOT_LETTER.sub("", text.lower().translate(_LEET))
    reasons += [f"squashed:{w}" for w in _SQUASHED if w in squashed]
    if depth < _MAX_DECODE_DEPTH:
        for plain in _decoded_base64(text):
            reasons += [f"base64>{r}" for r in _reasons(plain, depth + 1)]
    return reasons


def check_injection(text: str) -> InjectionCheck:
    """Whether the normalised message looks like an attempt to override the assistant's instructions."""
    reasons = tuple(dict.fromkeys(_reasons(text, 0)))
    return InjectionCheck(suspected=bool(reasons), reasons=reasons)
