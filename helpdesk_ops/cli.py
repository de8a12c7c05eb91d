"""helpdeskctl: the operator's one command line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import typer

from helpdesk_ops.devstack import ROOT, Stack, banner, parse_replicas

app = typer.Typer(help="Run and operate the helpdesk.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """Run and operate the helpdesk."""


def _daprd() -> str:
    if os.environ.get("DAPRD"):
        return os.environ["DAPRD"]
    version = os.environ.get("DAPR_VERSION", "1.18.2")
    cache = Path(
        os.environ.get("HELPDESK_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "helpdesk"
    )
    return str(cache / f"dapr-{version}" / "daprd")


@app.command()
def up(
    replicas: str = typer.Option("", help='Replicas per service, e.g. "nlp=2 dialogue=3".'),
    quiet: bool = typer.Option(False, help="Do not echo the services' logs (they still go to .run/logs)."),
) -> None:
    """Start Redis, a daprd per service replica and the services on 127.0.0.1; Ctrl-C stops them all."""

    async def run() -> None:
        stack = Stack(
            replicas=parse_replicas(replicas),
            daprd=_daprd(),
            echo=None if quiet else sys.stdout,
            color=sys.stdout.isatty(),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stack.start()
            banner(stack)
            await stop.wait()
        finally:
            print("\nStopping…", flush=True)
            await stack.stop()
            print("Stopped.", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def main() -> None:
    os.chdir(ROOT)
    app()


if __name__ == "__main__":
    main()
