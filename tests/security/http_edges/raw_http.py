"""Speaking HTTP/1.1 over a raw socket where a client library would hide what the server does (how much
of a body it took, when it closed), and reading a replica's memory and log."""

from __future__ import annotations

import asyncio
import re
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from helpdesk_ops.devstack import Replica, Stack

MB = 1024 * 1024
SESSIONS_PER_ADDRESS = 3
"""The stack's web-session budget per client address, low to see forwarded headers ignored."""
GATEWAY_BODY_SECONDS = 3
"""The gateway's body deadline in the stack, short to see a slow body cut off without the default wait."""
HEADER_SECONDS = 10
"""The default header deadline (`ServiceSettings.header_timeout_seconds`): the stack keeps it."""
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")


def rss_mb(replica: Replica) -> float:
    assert replica.app is not None
    status = Path(f"/proc/{replica.app.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def log_of(stack: Stack, replica: Replica) -> Path:
    return stack.log_dir / f"{replica.name}.log"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int
    """How many body bytes the client got into the connection before the answer came."""


def parse_answer(received: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers, body


CLIENT_SEND_BUFFER = 256 * 1024
"""The client's socket send buffer, fixed: by default Linux grows it to 4 MiB on loopback, and what a
client has written into its own buffer says nothing of what the server read. With it fixed, `sent`
exceeds what the server took by at most this, the server's initial receive window and one piece."""


def _post_huge(port: int, head: bytes, total: int, chunked: bool) -> Answer:
    """A blocking socket rather than asyncio's streams: those drop what the server sent once a write
    fails, and a server that refuses a body closes while the client is still writing it."""
    piece = b"a" * MB
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SEND_BUFFER)
        sock.settimeout(60)
        sock.connect(("127.0.0.1", port))
        try:
            sock.sendall(head)
            time.sleep(0.2)
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (ConnectionError, TimeoutError):
            pass
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                status, headers, body = parse_answer(received)
                if status and len(body) >= int(headers.get("content-length", "0")):
                    break
        except (ConnectionError, TimeoutError):
            pass
    status, headers, body = parse_answer(received)
    return Answer(status, headers, body, sent)


async def post_huge(
    port: int,
    path: str,
    *,
    total: int = 200 * MB,
    chunked: bool,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST `total` bytes in 1 MiB pieces, stopping as soon as the server answers."""
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", f"content-type: {content_type}"]
    lines.append("transfer-encoding: chunked" if chunked else f"content-length: {total}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return await asyncio.to_thread(_post_huge, port, head, total, chunked)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes | None:
    """What the server sent before closing, or None if it kept the connection open that long."""
    received = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            chunk = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
            if not chunk:
                return received
            received += chunk
    except TimeoutError:
        return None
    except ConnectionError:
        return received
    return None
