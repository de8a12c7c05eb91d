"""What the soak (`bench.soak`) looks at besides the chats: each process's memory and CPU, Redis memory
split into what holds it (streams, records with a TTL, records without one), the consumer groups'
pending entries, Prometheus series per process, and turns answered twice.

Key classes: a Redis key with its ids, dates, numbers and digests replaced by placeholders
(`gateway||turn:<uuid>`), so that each kind of record is counted once however many of it there are.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import yaml

from bench.load_targets import StackTarget
from helpdesk.topics import Topic

ROOT = Path(__file__).resolve().parent.parent

_PLACEHOLDERS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}(T\d\d(:\d\d)?)?"), "<date>"),
    (re.compile(r"(knowledgestore\|\|item):[^:]+"), r"\1:<id>"),
    (re.compile(r"(?=[0-9a-f]*\d)[0-9a-f]{8,}"), "<hex>"),
    (re.compile(r"(?<=[:\-])\d+(?=:|$)"), "<n>"),
)
SAMPLED_PER_CLASS = 200
"""Keys of one class whose `MEMORY USAGE` is read; the class's bytes are their mean times its count."""


def key_class(key: str) -> str:
    for pattern, placeholder in _PLACEHOLDERS:
        key = pattern.sub(placeholder, key)
    return key


@dataclass
class KeyClass:
    name: str
    kind: str
    count: int = 0
    without_ttl: int = 0
    bytes: float = 0.0
    max_ttl_seconds: int = -1
    """The longest TTL left on one of its keys: about the TTL it is written with."""

    @property
    def bytes_per_key(self) -> float:
        return self.bytes / self.count if self.count else 0.0


@dataclass
class Census:
    """Every key of the Redis the stack uses, by class, at one moment."""

    classes: dict[str, KeyClass] = field(default_factory=dict)
    used_memory: int = 0

    def streams(self) -> list[KeyClass]:
        return [c for c in self.classes.values() if c.kind == "stream"]

    def records(self, *, with_ttl: bool) -> list[KeyClass]:
        """Non-stream classes whose keys all carry a TTL (`with_ttl`), or of which some do not."""
        return [c for c in self.classes.values() if c.kind != "stream" and (c.without_ttl == 0) == with_ttl]

    def bytes_of(self, classes: Iterable[KeyClass]) -> float:
        return sum(c.bytes for c in classes)


def redis_client(target: StackTarget) -> aioredis.Redis:
    return aioredis.Redis.from_url(f"redis://{target.state['redis']}")


async def census(client: aioredis.Redis) -> Census:
    """Count, TTL and size of every key class (TTLs of every key, sizes of a sample per class)."""
    members: dict[str, list[bytes]] = defaultdict(list)
    async for key in client.scan_iter(count=2000):
        members[key_class(_text(key))].append(key)
    out = Census()
    for name, keys in members.items():
        kind = _text(await client.type(keys[0]))
        found = KeyClass(name, kind, count=len(keys))
        for start in range(0, len(keys), 2000):
            async with client.pipeline(transaction=False) as pipe:
                for key in keys[start : start + 2000]:
                    pipe.ttl(key)
                ttls = await pipe.execute()
            found.without_ttl += sum(1 for t in ttls if t == -1)
            found.max_ttl_seconds = max([found.max_ttl_seconds, *ttls])
        sample = keys[:SAMPLED_PER_CLASS]
        async with client.pipeline(transaction=False) as pipe:
            for key in sample:
                pipe.memory_usage(key)
            sizes = [s or 0 for s in await pipe.execute()]
        found.bytes = sum(sizes) / len(sample) * len(keys)
        out.classes[name] = found
    out.used_memory = int((await client.info("memory"))["used_memory"])
    return out


async def stream_lengths(client: aioredis.Redis) -> dict[str, tuple[int, int, int]]:
    """Every stream's length, `MEMORY USAGE` and entries ever added (sampled: cheap enough to read at
    every sample). Entries added, not the length, tell how many entries a chat adds: a stream already
    at its trimming bound (a Redis that kept earlier runs' streams) stops growing in length."""
    out: dict[str, tuple[int, int, int]] = {}
    async for key in client.scan_iter(count=2000, _type="STREAM"):
        name = key.decode()
        info = await client.xinfo_stream(key)
        added = int(info.get("entries-added", info["length"]))
        out[name] = (int(info["length"]), int(await client.memory_usage(key) or 0), added)
    return out


@dataclass(frozen=True)
class GroupPending:
    stream: str
    group: str
    pending: int
    last_delivered: str
    undelivered: bool
    """The stream holds entries this group has not been handed yet (its last delivered id is not the
    stream's last): a backlog, which pending entries (handed out, not acknowledged) do not show."""

    @property
    def per_replica(self) -> bool:
        """A `broadcast` group, one per replica (`{uuid}`), made anew at every start of one."""
        return _UUID.fullmatch(self.group) is not None


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def pending_entries(client: aioredis.Redis) -> list[GroupPending]:
    """Pending entries (delivered, not acknowledged) of every consumer group of every stream."""
    out = []
    async for key in client.scan_iter(count=2000, _type="STREAM"):
        last = _text((await client.xinfo_stream(key))["last-generated-id"])
        for group in await client.xinfo_groups(key):
            delivered = _text(group["last-delivered-id"])
            out.append(
                GroupPending(
                    _text(key), _text(group["name"]), int(group["pending"]), delivered, delivered != last
                )
            )
    return out


def judged_groups(before: list[GroupPending], after: list[GroupPending]) -> list[GroupPending]:
    """The groups whose pending entries must drain: every app's durable group, and the per-replica
    groups that took deliveries during the soak (a running replica's). A per-replica group that took
    none belongs to a replica that is gone, or follows a topic nothing was published to."""
    earlier = {(g.stream, g.group): g.last_delivered for g in before}
    return [g for g in after if not g.per_replica or earlier.get((g.stream, g.group)) != g.last_delivered]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def listed_entries(client: aioredis.Redis, key: str) -> int:
    """The length of the longest list in a Dapr state record (its JSON value in the hash's `data`)."""
    raw = await client.hget(key, "data")
    if raw is None:
        return 0
    try:
        value = json.loads(raw)
        if isinstance(value, str):
            value = json.loads(value)
    except ValueError:
        return 0
    lists = [v for v in (value.values() if isinstance(value, dict) else [value]) if isinstance(v, list)]
    return max((len(v) for v in lists), default=0)


def stream_ttl_seconds(component: str = "pubsub") -> float:
    """The `streamTTL` of a pubsub.redis component in components/ (what trims the durable streams)."""
    data = yaml.safe_load((ROOT / "components" / f"{component}.yaml").read_text())
    value = next(m["value"] for m in data["spec"]["metadata"] if m["name"] == "streamTTL")
    units = {"s": 1, "m": 60, "h": 3600}
    return float(value[:-1]) * units[value[-1]]


# ---- turns answered twice -----------------------------------------------------------------------------


async def duplicated_turns(client: aioredis.Redis, since_ms: int, logs: Path) -> set[str]:
    """Turns since `since_ms` with two different outcomes published by dialogue, or a reply stored
    twice by the gateway (its `turn_completed` log lines): the fault suite's definition
    (tests/chaos/support.py). A redelivery republishing the same outcome is not a duplicate."""
    outcomes: dict[str, set[str]] = defaultdict(set)
    for stream in (Topic.CHAT_ANSWERED.value, Topic.CHAT_ESCALATED.value):
        start = f"{since_ms}-0"
        while True:
            batch: list[Any] = await client.xrange(stream, min=start, max="+", count=2000) or []
            for _, fields in batch:
                event = json.loads(fields[b"data"]).get("data", {})
                outcome = json.dumps([event.get("answer"), event.get("mode"), event.get("message")])
                outcomes[str(event.get("turn_id"))].add(outcome)
            if len(batch) < 2000:
                break
            start = "(" + _text(batch[-1][0])
    twice = {t for t, o in outcomes.items() if len(o) > 1}
    return twice | _completed_twice(logs, since_ms)


def _completed_twice(logs: Path, since_ms: int) -> set[str]:
    completions: Counter[str] = Counter()
    for path in logs.glob("gateway-*.log"):
        if path.name.endswith(".dapr.log"):
            continue
        for line in path.read_text(errors="replace").splitlines():
            if '"turn_completed"' not in line:
                continue
            try:
                record = json.loads(line)
                at = datetime.fromisoformat(record["ts"].replace("Z", "+00:00")).timestamp() * 1000
            except (ValueError, KeyError):
                continue
            if at >= since_ms and record.get("turn_id"):
                completions[record["turn_id"]] += 1
    return {t for t, n in completions.items() if n > 1}


# ---- Prometheus series ----------------------------------------------------------------------------------


def metrics_endpoints(target: StackTarget) -> dict[str, tuple[str, dict[str, str]]]:
    """Each process's /metrics: the services' (with the operator key, which the gateway and the evaluator
    ask for) and each sidecar's own metrics port (read from its command line)."""
    operator = {"authorization": f"Bearer {target.state['operator_key']}"}
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for replica in target.state["replicas"]:
        out[replica["name"]] = (f"{replica['app']}/metrics", operator)
        port = _flag_of(replica.get("sidecar_pid"), "--metrics-port")
        if port:
            out[replica["name"] + ".dapr"] = (f"http://127.0.0.1:{port}/metrics", {})
    return out


def _flag_of(pid: int | None, flag: str) -> str | None:
    if not pid:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return None
    return argv[argv.index(flag) + 1] if flag in argv else None


_BUCKET_LABEL = re.compile(r'(,?le="[^"]*")')
_SUFFIX = re.compile(r"_(bucket|sum|count)(?=\{|$)")


@dataclass(frozen=True)
class Scrape:
    series: dict[str, int]
    """Label sets per process (a histogram's buckets, sum and count are one): per-turn or per-user
    labels would make this grow with turns; a status seen for the first time adds one."""
    state_calls: float
    """State store operations the sidecars have counted so far (`dapr_component_state_latencies`)."""


async def scrape(session: aiohttp.ClientSession, endpoints: dict[str, tuple[str, dict[str, str]]]) -> Scrape:
    series: dict[str, int] = {}
    calls = 0.0
    for name, (url, headers) in endpoints.items():
        try:
            async with session.get(url, headers=headers) as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError):
            continue
        series[name], state_calls = label_sets(text)
        calls += state_calls
    return Scrape(series, calls)


_STATE_CALLS = "dapr_component_state_latencies_count{"


def label_sets(exposition: str) -> tuple[int, float]:
    """Label sets in one Prometheus text exposition (a histogram's buckets, sum and count are one) and
    the state store operations it has counted."""
    lines = [line for line in exposition.splitlines() if line and not line.startswith("#")]
    sets = {_SUFFIX.sub("", _BUCKET_LABEL.sub("", line.rsplit(" ", 1)[0])) for line in lines}
    calls = sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(_STATE_CALLS))
    return len(sets), calls


def jsonable(value: Any) -> Any:
    """Floats rounded for the report's JSON line."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
