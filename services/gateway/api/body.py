"""Reading a JSON request body defensively, in the order the checks must fail.

Size is checked before anything is parsed (413), the media type before the bytes are read (415), the
encoding and JSON syntax next (400), control characters in any string after that (400); only then does
the schema decide (422). Nothing of the input is echoed back.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import Request

from helpdesk.errors import Problem

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Problem(413, f"The body is larger than {max_bytes} bytes.", kind="too-large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise Problem(413, f"The body is larger than {max_bytes} bytes.", kind="too-large")
        chunks.append(chunk)
    return b"".join(chunks)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (_strings(k) + _strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


async def read_json(request: Request, max_bytes: int) -> tuple[Any, bytes]:
    """The parsed body and its raw bytes (for fingerprints)."""
    if not _is_json(request.headers.get("content-type", "")):
        raise Problem(415, "Send the body as application/json.", kind="unsupported-media-type")
    raw = await read_body(request, max_bytes)
    try:
        raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Problem(400, "The body is not valid UTF-8.", kind="invalid-encoding") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Problem(400, "The body is not valid JSON.", kind="invalid-json") from None
    if any(_CONTROL.search(s) for s in _strings(data)):
        raise Problem(400, "The body contains control characters.", kind="control-characters")
    return data, raw
