"""What dialogue reads in a message beyond the nlp analysis: small talk, a request for a person, a
reply to a clarification, a follow-up. Rules on purpose: they must work when nlp sends no intent, and
each is a short, closed list of expressions in English and Japanese."""

from __future__ import annotations

import re
from collections.abc import Sequence

from helpdesk.events import Language
from helpdesk.text import normalise
from services.dialogue.knowledge.analysis import index_terms, question_terms
from services.dialogue.replies import Smalltalk

_SMALLTALK_PHRASES: tuple[tuple[Smalltalk, str], ...] = (
    (
        Smalltalk.GOODBYE,
        r"good ?bye|bye(?: bye)?|see (?:you|ya)(?: later| soon)?|take care|that'?s all"
        r"|have a (?:good|nice|great) (?:day|one|evening|weekend)"
        r"|さようなら|さよなら|またね|バイバイ|失礼します|失礼いたします|以上です|では(?:また)?",
    ),
    (
        Smalltalk.THANKS,
        r"thank(?:s| you)(?: (?:very|so) much| a lot)?|thx|ty|cheers|much appreciated|appreciate it"
        r"|(?:どうも)?ありがとう(?:ございます|ございました)?|助かりました|助かります|感謝します|サンキュー",
    ),
    (
        Smalltalk.GREETING,
        r"hi|hello|hey|hiya|good (?:morning|afternoon|evening)|greetings"
        r"|こんにちは|こんにちわ|こんばんは|おはよう(?:ございます)?|はじめまして|もしもし|どうも|やあ",
    ),
)
_SMALLTALK = re.compile(
    "|".join(f"(?<![a-z])(?P<{kind.value}>{pattern})(?![a-z])" for kind, pattern in _SMALLTALK_PHRASES)
)
_SMALLTALK_FILLER = re.compile(
    r"(?:\b(?:ok(?:ay)?|great|so|again|there|all|everyone|team|bot|and|very|much|it|for|the|help|your)\b"
    r"|[\s\W_]|です|ね|よ|ー)+"
)

_PERSON = r"(?:human|person|people|agent|operator|someone|somebody|representative|staff|technician)"
_HUMAN_EN = re.compile(
    rf"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:(?:a|an|the|some|real|live)\s+)*{_PERSON}\b"
    r"|\b(?:want|need|get)\s+(?:a\s+|an\s+)?(?:human|real person|live agent|agent|operator|representative)\b"
    r"|^(?:human|agent|operator|representative|real person|live agent|human agent)(?: please)?$"
    r"|\bescalate\b"
)
_NEED_SOMEONE = re.compile(
    r"^(?:i\s+)?(?:need|want)\s+(?:a\s+|an\s+)?(?:person|human|someone|somebody)(?:\s+please)?[\s.!]*$"
)
"""The whole message: "I need a person", "need someone!" (with more after it, it is a question about
someone: "I need a person to approve my expense claim")."""
_HAND_ME_OVER = re.compile(r"\b(?:connect|transfer|put|pass|hand)\s+me\s+(?:to|through|over)\b")
_SOMEONE_TO_TALK_TO = re.compile(rf"\b(?:{_PERSON}|service desk|helpdesk)\b")
_HUMAN_JA = re.compile(
    r"(?:担当者|オペレーター|オペレータ|人間|有人|スタッフ|係の人|人)(?:と|に|を|へ|の方)?"
    r"(?:話|つな|繋|代わ|かわ|お願い|呼|相談|対応)"
)

_ORDINALS_EN = {
    "first": 0, "1st": 0, "former": 0, "top": 0,
    "second": 1, "2nd": 1, "two": 1,
    "third": 2, "3rd": 2, "three": 2,
}  # fmt: skip
_LAST_EN = re.compile(r"\b(?:last|latter|final)\b")
_NUMBER = re.compile(r"(?<!\d)(?<!\d\.)([1-9])(?!\d|\.\d)")
"""A choice's number, also as a list item's ("2.", "no.3"), but not a part of a decimal or version
("2.5", "1.2")."""
_NUMBERED = re.compile(r"\b(?:no|nr|num|number)\s*\.?\s*#?\s*[1-9](?!\d)")
"""A choice named by its number with "no." ("no. 2", "No.3"): a number, not a "no"."""
_KANJI_NUMBERS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4}
_ORDINAL_JA = re.compile(r"([一二三四五1-9])\s*(?:番目|番|つ目|個目|こ目|本目)")
_KANJI_NUMBER_ALONE = re.compile(
    r"^([一二三四五])(?:です|で(?:お願いします|おねがいします)?|を?お願いします)?[。.！!]?$"
)
"""A reply that is a kanji numeral and nothing else (「二」, 「三です」)."""
_FIRST_JA = re.compile(r"最初|はじめの|初めの|前者|ひとつめ|一つめ")
_SECOND_JA = re.compile(r"ふたつめ|二つめ")
_THIRD_JA = re.compile(r"みっつめ|三つめ")
_LAST_JA = re.compile(r"最後|後者")
_NONE_WORDS = frozenset({"no", "nope", "nah", "none", "neither", "nothing", "not"})
_NONE_CONTEXT = frozenset(
    {"of", "these", "them", "those", "the", "above", "any", "it", "isn't", "is", "it's", "one", "ones"}
    | {"that", "this"}
    | {"really", "sorry", "actually", "thanks", "thank", "you"}
)
_NONE_JA = re.compile(r"どれでもない|どれも違|いずれでもない|どれもちが|違います|ちがいます|いいえ")
_NO_JA_ALONE = re.compile(r"^(?:いや|いえ|ちがう|違う|ううん|ちがいます)(?:です|だ|よ)?[\s。.！!、,…]*$")
"""「いや」, 「違う」 and the like as the whole reply (within a longer one they are often something else:
「違う方法」)."""

_YES_WORDS = frozenset(
    {"yes", "yeah", "yep", "yup", "y", "ya", "yah", "sure", "ok", "okay", "correct", "right", "exactly"}
    | {"absolutely", "definitely", "indeed", "please", "pls", "plz", "that", "this", "that's", "thats"}
)
_YES_CONTEXT = frozenset(
    {"one", "it", "is", "it's", "its", "the", "thing", "thanks", "thank", "you", "thx", "ty", "much"}
    | {"great", "perfect"}
)
_YES_JA = re.compile(
    r"^(?:はい|ええ|うん|そう|それ|その通り|お願いします|おねがいします|です|で|ね|よ|ok|okay)+$"
)
"""Units that never overlap (「そうです」 is そう + です), so a long run cannot make the match backtrack."""
YES_CHARACTERS = 40
"""A longer reply is more than a yes."""
_PUNCTUATION = re.compile(r"[\s.,!?。、！？]+")

_FOLLOW_UP_EN = re.compile(
    r"^(?:and|also|plus|what about|how about|same for|same on|same with|but|what if|and if)\b"
)
_FOLLOW_UP_JA = re.compile(r"^(?:それと|あと|じゃあ|では|それでは|それなら|また|ちなみに)|(?:は|も)[?？]?$")

SHORT_REPLY_WORDS = 6
SHORT_REPLY_CHARACTERS = 20


def smalltalk(text: str) -> Smalltalk | None:
    """The kind of small talk when the message is nothing else ("thanks!", "hi there", "ありがとう")."""
    lowered = normalise(text).lower()
    found = [kind for m in _SMALLTALK.finditer(lowered) for kind in Smalltalk if m.group(kind.value)]
    if not found:
        return None
    rest = _SMALLTALK_FILLER.sub("", _SMALLTALK.sub(" ", lowered))
    if rest:
        return None
    for kind in (Smalltalk.GOODBYE, Smalltalk.THANKS, Smalltalk.GREETING):
        if kind in found:
            return kind
    return None


def asks_for_a_person(text: str) -> bool:
    lowered = normalise(text).lower()
    return bool(
        _HUMAN_EN.search(lowered)
        or _NEED_SOMEONE.match(lowered)
        or _asks_to_be_handed_over(lowered)
        or _HUMAN_JA.search(lowered)
    )


def _asks_to_be_handed_over(lowered: str) -> bool:
    """ "Connect me to ... the service desk": a person or the desk named anywhere after the first
    "connect me to" (normalised text is one line). Looking from the first one only is enough, since
    what follows a later one follows the first too; a `.*` between the two in one pattern scanned the
    rest of the message again from every repeat ("put me to put me to ...": quadratic)."""
    handing = _HAND_ME_OVER.search(lowered)
    return handing is not None and _SOMEONE_TO_TALK_TO.search(lowered, handing.end()) is not None


def _is_short(text: str) -> bool:
    return len(text.split()) <= SHORT_REPLY_WORDS and (" " in text or len(text) <= SHORT_REPLY_CHARACTERS)


def rejects_choices(text: str) -> bool:
    """ "None of these" in reply to a clarification."""
    lowered = normalise(text).lower()
    if not _is_short(lowered):
        return False
    if _NUMBERED.search(lowered):
        return False
    said = re.findall(r"[a-z']+", lowered)
    english = bool(said) and bool(_NONE_WORDS & set(said)) and set(said) <= _NONE_WORDS | _NONE_CONTEXT
    return english or bool(_NONE_JA.search(lowered) or _NO_JA_ALONE.match(lowered.strip()))


def agrees(text: str) -> bool:
    """ "Yes" in reply to "Did you mean …?" ("yes", "yep, that's it", "yes please, thanks", "that one",
    「はい」, 「はい、お願いします」, 「それでお願いします」): only words of agreement and courtesy, at
    least one of agreement ("yes but on my phone" is a new question)."""
    lowered = _PUNCTUATION.sub(" ", normalise(text).lower()).strip()
    if len(lowered) > YES_CHARACTERS:
        return False
    said = set(lowered.split())
    if said and said & _YES_WORDS and said <= _YES_WORDS | _YES_CONTEXT:
        return True
    return bool(_YES_JA.match(lowered.replace(" ", "")))


def chosen_position(text: str, choices: Sequence[str], language: Language) -> int | None:
    """Which of the offered choices a reply picks: "2", "the second one", "2番", "二番目", "最初の",
    "the last", or words of one choice's question ("the one about resetting"). None when it picks none."""
    lowered = normalise(text).lower()
    count = len(choices)
    position: int | None = None
    if _is_short(lowered):
        if (m := _ORDINAL_JA.search(lowered) or _KANJI_NUMBER_ALONE.match(lowered.strip())) is not None:
            symbol = m.group(1)
            position = _KANJI_NUMBERS[symbol] if symbol in _KANJI_NUMBERS else int(symbol) - 1
        elif _FIRST_JA.search(lowered):
            position = 0
        elif _SECOND_JA.search(lowered):
            position = 1
        elif _THIRD_JA.search(lowered):
            position = 2
        elif _LAST_JA.search(lowered) or _LAST_EN.search(lowered):
            position = count - 1
        elif (m := _NUMBER.search(lowered)) is not None:
            position = int(m.group(1)) - 1
        else:
            words = re.findall(r"[a-z0-9]+", lowered)
            position = next((_ORDINALS_EN[w] for w in words if w in _ORDINALS_EN), None)
    if position is not None:
        return position if 0 <= position < count else None
    return _by_wording(lowered, choices, language)


def _by_wording(text: str, choices: Sequence[str], language: Language) -> int | None:
    said = set(question_terms(text, language))
    if not said:
        return None
    overlaps = [len(said & set(index_terms(choice, language))) / len(said) for choice in choices]
    best = max(range(len(choices)), key=lambda i: overlaps[i])
    runner_up = max((o for i, o in enumerate(overlaps) if i != best), default=0.0)
    return best if overlaps[best] >= 0.5 and overlaps[best] > runner_up else None


def is_follow_up(text: str, language: Language) -> bool:
    """A message that leans on the previous one: "and on my phone?", "what about printers?",
    "スマホは？", "じゃあ経費は？"."""
    lowered = normalise(text).lower()
    pattern = _FOLLOW_UP_JA if language is Language.JA else _FOLLOW_UP_EN
    return bool(pattern.search(lowered)) and len(question_terms(lowered, language)) <= 4
