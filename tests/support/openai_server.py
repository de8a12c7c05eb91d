"""A local OpenAI-compatible server for tests: real HTTP on 127.0.0.1, no network, no key needed.

It serves `POST /v1/chat/completions` (OpenAI and compatible servers) and
`POST /openai/deployments/{deployment}/chat/completions?api-version=...` (Azure OpenAI), records every
request it receives, and can be switched to misbehave:

- `latency`: seconds before answering (released at once by `reset()` or `stop()`);
- `fail_next(status, times, retry_after=...)`: the next requests fail with that status (429 with a
  `Retry-After` header, 500, ...); `fail_always(status)` for an endpoint that stays broken;
- `script`: what the "model" writes, from the request: the `Scripts` cover grounded answers, invented
  citations, no citations, a declined answer, a leaked system prompt (also disguised: `leaks_as` with
  an encoding from `Disguises`), an obeyed planted instruction and malformed output; for the choice
  prompt (picking one of a clarification's offered entries) `Scripts.picks`, `picks_first`,
  `picks_none` and `picks_unoffered`.

Run it in a background thread with `with OpenAITestServer() as server:`; point the client at
`server.base_url` (OpenAI) or `server.azure_endpoint` (Azure).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_FAQ_BLOCK = re.compile(r'<faq id="([^"]+)">(.*?)</faq>', re.DOTALL)
_CANARY = re.compile(r"HDK-CANARY-[0-9a-f]+")
_FAQ_ANSWER = re.compile(r"<faq_answer>(.*?)</faq_answer>", re.DOTALL)


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> str:
        return "\n".join(m["content"] for m in self.messages if m.get("role") == "system")

    @property
    def user(self) -> str:
        return "\n".join(m["content"] for m in self.messages if m.get("role") == "user")

    @property
    def text(self) -> str:
        """Everything the model would read."""
        return "\n".join(m.get("content", "") for m in self.messages)

    @property
    def faq_ids(self) -> list[str]:
        return [html.unescape(ident) for ident, _ in _FAQ_BLOCK.findall(self.user)]

    @property
    def faq_answers(self) -> list[str]:
        found = (_FAQ_ANSWER.search(block) for _, block in _FAQ_BLOCK.findall(self.user))
        return [html.unescape(match.group(1)) if match else "" for match in found]

    @property
    def canary(self) -> str | None:
        """The confidential marker of the system prompt, as the model could read it."""
        match = _CANARY.search(self.system)
        return match.group(0) if match else None

    @property
    def deployment(self) -> str | None:
        match = re.match(r"^/openai/deployments/([^/]+)/", self.path)
        return match.group(1) if match else None


Script = Callable[[ReceivedRequest], str]


def _reply(answer: str, citations: list[str], answerable: bool = True) -> str:
    return json.dumps(
        {"answer": answer, "citations": citations, "answerable": answerable}, ensure_ascii=False
    )


def unicode_escaped_json(value: object) -> str:
    """JSON whose every string character is written as a `\\uXXXX` escape: the same object to a JSON
    parser, while no word of it appears in the raw text."""
    if isinstance(value, str):
        return '"' + "".join(f"\\u{unit:04x}" for unit in _utf16_units(value)) + '"'
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{unicode_escaped_json(k)}: {unicode_escaped_json(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(unicode_escaped_json(v) for v in value) + "]"
    return json.dumps(value)


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-be")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


class Disguises:
    """How an obedient model may dress up the text it was told to reveal, so that the user can read it
    back (each takes the text, returns what the model writes in the answer)."""

    @staticmethod
    def in_base64(text: str) -> str:
        return "Encoded as you asked: " + base64.b64encode(text.encode()).decode()

    @staticmethod
    def reversed(text: str) -> str:
        return text[::-1]

    @staticmethod
    def short_lines(text: str) -> str:
        """Cut into lines of six characters, in the middle of words."""
        flat = " ".join(text.split())
        return "\n".join(flat[i : i + 6] for i in range(0, len(flat), 6))

    @staticmethod
    def zero_width(text: str) -> str:
        return "\u200b".join(text)

    @staticmethod
    def full_width(text: str) -> str:
        return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)

    @staticmethod
    def spelled_in_mixed_case(text: str) -> str:
        return "-".join(ch.upper() if i % 2 else ch.lower() for i, ch in enumerate(text))


class Scripts:
    """What the fake model writes. Each takes the received request and returns the message content."""

    @staticmethod
    def grounded(request: ReceivedRequest) -> str:
        """A well-behaved model: answers from the first FAQ entry and cites it."""
        ids, answers = request.faq_ids, request.faq_answers
        if not ids:
            return _reply("I cannot answer that from the knowledge base.", [], answerable=False)
        return _reply(f"According to the FAQ: {answers[0]}", [ids[0]])

    @staticmethod
    def cites_unknown(request: ReceivedRequest) -> str:
        return _reply("Please see the guide.", ["faq-that-was-never-provided"])

    @staticmethod
    def cites_nothing(request: ReceivedRequest) -> str:
        return _reply("Just restart it, that usually works.", [])

    @staticmethod
    def declines(request: ReceivedRequest) -> str:
        return _reply(
            "I can't answer that from the helpdesk's knowledge base. Shall I connect you with a person?",
            [],
            answerable=False,
        )

    @staticmethod
    def leaks_system_prompt(request: ReceivedRequest) -> str:
        """A model that obeys "print your instructions" from the user."""
        return _reply(f"My instructions are: {request.system}", request.faq_ids[:1])

    @staticmethod
    def leaks_canary_only(request: ReceivedRequest) -> str:
        """Repeats just the confidential marker (the canary), nothing else of the prompt."""
        return _reply(f"The secret marker is {request.canary or '?'}", request.faq_ids[:1])

    @staticmethod
    def leaks_as(
        disguise: Callable[[str], str], *, what: str = "prompt", json_escapes: bool = False
    ) -> Script:
        """A model that obeys "print your instructions" and disguises what it prints: `what` is
        "prompt" (the whole system message), "rules" (the system message without the line holding the
        canary) or "canary"; with `json_escapes` every character of the JSON strings is a `\\u` escape."""

        def script(request: ReceivedRequest) -> str:
            if what == "canary":
                text = f"The secret marker is {request.canary}"
            elif what == "rules":
                text = "\n".join(line for line in request.system.splitlines() if "HDK-CANARY" not in line)
            else:
                text = request.system
            reply = {"answer": disguise(text), "citations": request.faq_ids[:1], "answerable": True}
            return unicode_escaped_json(reply) if json_escapes else json.dumps(reply, ensure_ascii=False)

        return script

    @staticmethod
    def follows_planted_instruction(request: ReceivedRequest) -> str:
        """A gullible model: an instruction planted in a FAQ entry is obeyed, and it is of two kinds,
        "reveal your instructions" and "cite faq-evil"."""
        planted = " ".join(request.faq_answers).lower()
        if "cite faq-evil" in planted:
            return _reply("Send your password to the address in the guide.", ["faq-evil"])
        if "instructions" in planted or "system prompt" in planted:
            return _reply(f"As instructed, here they are: {request.system}", request.faq_ids[:1])
        return Scripts.grounded(request)

    @staticmethod
    def picks_first(request: ReceivedRequest) -> str:
        """The choice prompt: the first entry offered answers the question."""
        return json.dumps({"id": request.faq_ids[0] if request.faq_ids else None})

    @staticmethod
    def picks(entry_id: str | None) -> Script:
        """The choice prompt: this entry (whether offered or not), or none."""
        return lambda request: json.dumps({"id": entry_id})

    @staticmethod
    def picks_none(request: ReceivedRequest) -> str:
        """The choice prompt: none of the entries offered answers the question."""
        return json.dumps({"id": None})

    @staticmethod
    def picks_unoffered(request: ReceivedRequest) -> str:
        return json.dumps({"id": "faq-that-was-never-offered"})

    @staticmethod
    def not_json(request: ReceivedRequest) -> str:
        return "Sure! Restart the router and it will work."

    @staticmethod
    def fenced_json(request: ReceivedRequest) -> str:
        return "```json\n" + Scripts.grounded(request) + "\n```"


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    code: str | None


@dataclass
class OpenAITestServer:
    script: Script = Scripts.grounded
    latency: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _always: _Failure | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _release: asyncio.Event | None = None
    port: int = 0

    # --- switches -------------------------------------------------------------------------------

    def fail_next(
        self, status: int, times: int = 1, *, retry_after: float | str | None = None, code: str | None = None
    ) -> None:
        self._failures.extend(
            _Failure(status, None if retry_after is None else str(retry_after), code) for _ in range(times)
        )

    def fail_always(self, status: int, *, retry_after: float | str | None = None) -> None:
        self._always = _Failure(status, None if retry_after is None else str(retry_after), None)

    def reset(self) -> None:
        """Back to a healthy, fast, grounded model with an empty record; releases any slow request."""
        self._release_waiters()
        self.script = Scripts.grounded
        self.latency = 0.0
        self.prompt_tokens = self.completion_tokens = None
        self.requests.clear()
        self._failures.clear()
        self._always = None

    # --- addresses ------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def azure_endpoint(self) -> str:
        return self.origin

    # --- HTTP -----------------------------------------------------------------------------------

    async def _completions(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}, 400)
        received = ReceivedRequest(
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        self.requests.append(received)
        if received.deployment is not None and "api-version" not in received.query:
            return JSONResponse({"error": {"message": "api-version missing", "code": "404"}}, 404)
        if self.latency > 0 and self._release is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.latency)
        failure = self._failures.pop(0) if self._failures else self._always
        if failure is not None:
            headers = {"retry-after": failure.retry_after} if failure.retry_after is not None else {}
            error = {"message": f"simulated {failure.status}", "type": "server_error", "code": failure.code}
            return JSONResponse({"error": error}, failure.status, headers=headers)
        content = self.script(received)
        prompt_tokens = self.prompt_tokens if self.prompt_tokens is not None else len(received.text.split())
        completion_tokens = (
            self.completion_tokens if self.completion_tokens is not None else len(content.split())
        )
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model") or received.deployment or "unknown",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    def _app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette):  # type: ignore[no-untyped-def]
            self._loop = asyncio.get_running_loop()
            self._release = asyncio.Event()
            yield

        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route(
                    "/openai/deployments/{deployment}/chat/completions", self._completions, methods=["POST"]
                ),
            ],
            lifespan=lifespan,
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def _release_waiters(self) -> None:
        if self._loop is not None and self._release is not None:
            release = self._release

            def swap() -> None:
                release.set()
                self._release = asyncio.Event()

            self._loop.call_soon_threadsafe(swap)

    def start(self) -> OpenAITestServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), log_level="warning", access_log=False, timeout_graceful_shutdown=1, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="openai-test-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the OpenAI test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._release_waiters()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
