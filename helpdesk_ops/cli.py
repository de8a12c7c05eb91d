"""helpdeskctl: the operator's one command line.

Local commands find the running stack through `.run/stack.json` (written by `up`). Flags are read and
written in the configuration store, dead letters listed and replayed, files imported into the knowledge
base through the evaluator's API (`kb`, helpdesk_ops/knowledge_cli.py), and turns followed live as they
cross the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from helpdesk.flags import config_key, parse_definition
from helpdesk.topics import Topic, all_dead_letter_topics, publisher_of
from helpdesk_ops import knowledge_cli, nlu
from helpdesk_ops.dead_letter_replay import RedisDeadLetters, ServiceBusDeadLetters
from helpdesk_ops.devstack import Stack
from helpdesk_ops.local import LocalStack, pinned_dapr_version, write_state
from helpdesk_ops.run_file import ROOT, parse_replicas
from helpdesk_ops.stack_console import banner

app = typer.Typer(help="Run and operate the helpdesk.", no_args_is_help=True)
flags_app = typer.Typer(help="Read and flip feature flags in the configuration store.", no_args_is_help=True)
dead_app = typer.Typer(help="List and replay dead letters.", no_args_is_help=True)
app.add_typer(flags_app, name="flags")
app.add_typer(knowledge_cli.app, name="kb")
app.add_typer(dead_app, name="deadletters")
app.add_typer(nlu.app, name="nlu")
console = Console()


@app.callback()
def _root() -> None:
    """Run and operate the helpdesk."""


def _daprd() -> str:
    if os.environ.get("DAPRD"):
        return os.environ["DAPRD"]
    # DAPR_VERSION selects another runtime, built and cached by scripts/build-daprd.sh under the same name.
    version = (os.environ.get("DAPR_VERSION") or pinned_dapr_version()).removeprefix("v")
    cache = Path(
        os.environ.get("HELPDESK_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "helpdesk"
    )
    return str(cache / f"dapr-{version}" / "daprd")


def _stack() -> LocalStack:
    try:
        return LocalStack.load()
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


# ---- running ------------------------------------------------------------------------------------


@app.command()
def up(
    replicas: str = typer.Option("", help='Replicas per service, e.g. "nlp=2 dialogue=3".'),
    quiet: bool = typer.Option(False, help="Do not echo the services' logs (they still go to .run/logs)."),
    run_dir: Annotated[Path, typer.Option(help="Where logs, Redis data and stack.json go.")] = ROOT / ".run",
    free_ports: bool = typer.Option(False, help="Pick free ports instead of dapr.yaml's (a second stack)."),
    secrets: Annotated[
        Path | None,
        typer.Option(
            envvar="HELPDESK_SECRETS",
            exists=True,
            dir_okay=False,
            help='A JSON object of secrets for the local secret store, e.g. {"openai-api-key": "sk-..."}.',
        ),
    ] = None,
) -> None:
    """Start Redis, a daprd per service replica and the services on 127.0.0.1; Ctrl-C stops them all."""
    state_file = run_dir / "stack.json"
    extra_secrets = _read_secrets(secrets) if secrets else {}

    async def run() -> None:
        stack = Stack(
            replicas=parse_replicas(replicas),
            daprd=_daprd(),
            echo=None if quiet else sys.stdout,
            color=sys.stdout.isatty(),
            run_dir=run_dir,
            free_ports=free_ports,
            secrets_extra=extra_secrets,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stack.start()
            write_state(stack, state_file)
            banner(stack)
            await stop.wait()
        finally:
            print("\nStopping…", flush=True)
            await stack.stop()
            with contextlib.suppress(FileNotFoundError):
                state_file.unlink()
            print("Stopped.", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def _read_secrets(path: Path) -> dict[str, str]:
    """The operator's own secrets (a model key), merged into the local secret store that every start
    writes afresh with this run's generated keys. Refuses anything but an object of strings."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: not a JSON file ({exc})", param_hint="--secrets") from None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise typer.BadParameter(f"{path}: expected an object of string values", param_hint="--secrets")
    return loaded


@app.command()
def status() -> None:
    """Health of every replica of the local stack and of its sidecar."""
    stack = _stack()
    table = Table(title="helpdesk (local)")
    for column in ("replica", "app", "ready", "sidecar", "detail"):
        table.add_column(column)
    healthy = True
    with httpx.Client(timeout=2.0) as client:
        for replica in stack.replicas():
            try:
                ready = client.get(f"{replica['app']}/readyz")
                ready_text, detail = str(ready.status_code), ready.json().get("detail", "")
            except httpx.HTTPError as exc:
                ready_text, detail = "down", type(exc).__name__
            try:
                side = client.get(f"http://127.0.0.1:{replica['dapr_http']}/v1.0/healthz").status_code
                side_text = "ok" if side == 204 else str(side)
            except httpx.HTTPError:
                side_text = "down"
            healthy &= ready_text == "200" and side_text == "ok"
            table.add_row(replica["name"], replica["app"], ready_text, side_text, detail)
    console.print(table)
    console.print(f"redis {stack.data['redis']} · logs {stack.data['logs']}")
    raise typer.Exit(0 if healthy else 1)


# ---- flags --------------------------------------------------------------------------------------


def _redis(stack: LocalStack) -> Any:
    import redis

    return redis.Redis.from_url(stack.redis_url, decode_responses=True)


@flags_app.command("list")
def flags_list() -> None:
    """Every flag and its current definition."""
    defaults = json.loads((ROOT / "flags" / "defaults.json").read_text())
    client = _redis(_stack())
    table = Table("flag", "definition", "source")
    for name in sorted(defaults):
        raw = client.get(config_key(name))
        value = raw.rsplit("||", 1)[0] if raw else json.dumps(defaults[name])
        table.add_row(name, value, "store" if raw else "default")
    console.print(table)


@flags_app.command("set")
def flags_set(
    name: str,
    definition: str = typer.Argument(
        ..., help='A value (llm, true, 3) or a JSON definition, e.g. \'{"split": {"a": 50, "b": 50}}\''
    ),
) -> None:
    """Change a flag; every replica of every service follows within seconds."""
    parse_definition(definition)  # refuse what the services would refuse
    client = _redis(_stack())
    key = config_key(name)
    current = client.get(key)
    version = int(current.rsplit("||", 1)[1]) + 1 if current and "||" in current else 1
    client.set(key, f"{definition}||{version}")
    console.print(f"{name} = {definition} (version {version})")


# ---- dead letters -------------------------------------------------------------------------------


@dead_app.command("list")
def dead_list(
    azure: str | None = typer.Option(None, envvar="AZURE_SERVICEBUS_CONNECTION_STRING", help="Service Bus"),
) -> None:
    """Messages that a consumer gave up on, by consumer and topic."""
    letters: Any = ServiceBusDeadLetters(azure) if azure else RedisDeadLetters(_stack().redis_url)
    table = Table("where", "id", "consumer", "topic", "turn", "event id")
    count = 0
    for entry in letters.list():
        table.add_row(
            entry.stream,
            entry.entry_id,
            entry.consumer or "?",
            entry.original_topic or "?",
            entry.turn_id or "-",
            entry.event_id,
        )
        count += 1
    console.print(table)
    console.print(f"{count} dead letter(s)")


@dead_app.command("replay")
def dead_replay(
    entry_id: str | None = typer.Argument(
        None, help="One entry id from `deadletters list`; all when omitted (local stack only)."
    ),
    topic: str | None = typer.Option(None, help="Only this dead-letter topic (or, on Azure, this topic)."),
    azure: str | None = typer.Option(None, envvar="AZURE_SERVICEBUS_CONNECTION_STRING", help="Service Bus"),
) -> None:
    """Republish dead letters to their original topic (unchanged: same id, same trace), then remove them."""
    if azure:
        if entry_id is not None:
            console.print("on Service Bus, replay takes a whole queue: drop the entry id, use --topic")
            raise typer.Exit(2)
        _replay_service_bus(ServiceBusDeadLetters(azure), topic)
        return
    stack = _stack()
    letters = RedisDeadLetters(stack.redis_url)
    entries = [
        e
        for e in letters.list([topic] if topic else all_dead_letter_topics())
        if entry_id is None or e.entry_id == entry_id
    ]
    if not entries:
        console.print("nothing to replay")
        raise typer.Exit(1 if entry_id else 0)

    def publish(original_topic: str, envelope: dict[str, Any]) -> None:
        # Through the sidecar of the topic's publisher: no other may publish it (components/ scopes).
        with stack.sidecar(publisher_of(original_topic).value) as sidecar:
            response = sidecar.post(
                f"/v1.0/publish/pubsub/{original_topic}",
                content=json.dumps(envelope),
                headers={"content-type": "application/cloudevents+json"},
            )
        response.raise_for_status()

    with Progress(console=console) as progress:
        task = progress.add_task("replaying", total=len(entries))
        for entry in entries:
            letters.replay(entry, publish)
            progress.advance(task)
    console.print(f"replayed {len(entries)} dead letter(s)")


def _replay_service_bus(letters: ServiceBusDeadLetters, topic: str | None) -> None:
    """Drain every place dead letters wait on Service Bus (or those of one topic) back to the
    original topic, a batch at a time until a queue is empty."""
    places = [p for p in letters.queues() if topic is None or p[0] == topic]
    total = 0
    with Progress(console=console) as progress:
        task = progress.add_task("replaying", total=len(places))
        for place_topic, subscription, own in places:
            while (count := letters.replay_all(place_topic, subscription, own)) > 0:
                total += count
            progress.advance(task)
    console.print(f"replayed {total} dead letter(s)")


# ---- following turns ----------------------------------------------------------------------------


@app.command()
def follow(count: int = typer.Option(0, help="Stop after this many events (0: until Ctrl-C).")) -> None:
    """Follow turns live as they cross the services (never shows raw user text)."""
    client = _redis(_stack())
    streams = {t.value: "$" for t in Topic}
    seen = 0
    with contextlib.suppress(KeyboardInterrupt):
        while count == 0 or seen < count:
            for stream, entries in client.xread(streams, block=1000, count=100) or []:
                for entry_id, fields in entries:
                    streams[stream] = entry_id
                    console.print(_describe(stream, fields.get("data", "")))
                    seen += 1


def _describe(topic: str, raw: str) -> str:
    try:
        data = json.loads(raw).get("data", {})
    except (json.JSONDecodeError, AttributeError):
        return f"{topic:<20} (unreadable)"
    turn = str(data.get("turn_id", data.get("update_id", "")))[:8]
    detail = {
        "chat.requested": lambda d: f"channel={d.get('channel', {}).get('channel')}",
        "chat.analyzed": lambda d: f"lang={d.get('language')} intent={d.get('intent', {}).get('name')}",
        "chat.answered": lambda d: f"mode={d.get('mode')} cited={d.get('cited_faq_ids')}",
        "chat.escalated": lambda d: f"reason={d.get('reason')}",
        "handoff.replied": lambda d: f"operator={d.get('operator_id')}",
        "feedback.submitted": lambda d: f"rating={d.get('rating')}",
        "kb.updated": lambda d: f"version={d.get('kb_version')}",
    }.get(topic, lambda d: "")(data)
    return f"{topic:<20} {turn:<9} {detail}"


def main() -> None:
    os.chdir(ROOT)
    app()


if __name__ == "__main__":
    main()
