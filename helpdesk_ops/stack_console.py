"""What the local stack shows on the operator's console: each process's output line prefix, and the
banner `helpdeskctl up` prints once everything is ready."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk_ops.devstack import Stack

_COLORS = ["36", "33", "35", "32", "34", "31"]


def line_prefix(name: str, color: bool) -> str:
    base = name.split("-", 1)[0]
    label = f"{name:<16}| "
    if not color:
        return label
    code = _COLORS[sum(map(ord, base)) % len(_COLORS)]
    return f"\x1b[{code}m{label}\x1b[0m"


def banner(stack: Stack, write: Callable[[str], Any] = print) -> None:
    gateway = stack.gateway_url()
    write("")
    write("The helpdesk is running.")
    write(f"  Web chat:     {gateway}/")
    write(f"  API docs:     {gateway}/docs")
    for replica in stack.of("gateway")[1:]:
        write(f"  Also gateway: {replica.url}")
    write(f"  Evaluator:    {stack.of('evaluator')[0].url}/")
    write(f"  Logs:         {stack.log_dir}/")
    write("  Try:")
    write(f"    curl -s {gateway}/v1/chat -H 'content-type: application/json' -d '{{\"message\":\"hello\"}}'")
    write(f"  API key (user):     {stack.api_key}")
    write(f"  API key (operator): {stack.operator_key}")
    write("  Press Ctrl-C to stop everything.")
    write("")
