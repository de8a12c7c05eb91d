"""The gateway's JSON bodies: the kernel's reader, then the gateway's own rule for strings.

`helpdesk.http_edges.read_json` fails in the order the checks must: media type before anything is read
(415), size and read time while it is read (413, 408), then encoding, syntax and nesting (400). Control
characters in any string are refused here (400); only then does the schema decide (422). Nothing of the
input is echoed back.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from helpdesk import http_edges
from helpdesk.errors import Problem

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _strings(value: Any) -> list[str]:
    """Every key and string value; recursive, which is safe once the kernel has bounded the nesting."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (_strings(k) + _strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


async def read_json(request: Request) -> tuple[Any, bytes]:
    """The parsed body and its raw bytes (for fingerprints)."""
    data, raw = await http_edges.read_json(request)
    if any(_CONTROL.search(s) for s in _strings(data)):
        raise Problem(400, "The body contains control characters.", kind="control-characters")
    return data, raw
