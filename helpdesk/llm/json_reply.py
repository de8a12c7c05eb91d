"""Reading the JSON object a model was asked to reply with."""

from __future__ import annotations

import re
from typing import Any

import orjson

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's reply (tolerating prose or fences around it), or None."""
    match = _JSON_OBJECT.search(text)
    if match is None:
        return None
    try:
        data = orjson.loads(match.group(0))
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
