"""The soak's criteria (`bench.soak`): each one a PASS/FAIL with the figures behind it.

How "Redis memory flat" is judged when the durable streams cannot reach their bound within the soak
(`streamTTL` 3 h on `pubsub`, records kept 1 hour to 90 days): memory is split by key class. What has a
bound (a stream trimmed by age, a record with a TTL) may grow until that bound, which is computed at this
rate from the measured entries or keys per turn and their bytes; the live streams on `broadcast` (30 s)
reach theirs within the soak and must stay there. What has no bound (a key without a TTL) must not grow
with turns, and what no key class explains (Redis' own tables and buffers) must stay a small part of
the growth. So a leak shows as a FAIL whichever kind it is, and the bound of everything else is a
number in the report rather than a wait of hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.soak_probes import Census, KeyClass, judged_groups, stream_ttl_seconds
from services.gateway.public import OPEN_HANDOFFS_LISTED

if TYPE_CHECKING:
    from bench.soak import Sample, SoakRun

RSS_GROWTH_LIMIT = 0.10
UNBOUNDED_BYTES_PER_TURN = 0.1
"""What a key class without a TTL may add per turn: time alone may add a little (an aggregate's new
hour bucket is about 1 KB an hour, well under 0.01 byte a turn at a few chats a second); anything kept
per turn or per conversation adds tens of bytes a turn."""
UNBOUNDED_NOISE_BYTES = 4096
RESIDUAL_SHARE = 0.25
"""Of Redis' memory growth, the most that the key classes may leave unexplained: hash tables grow in
powers of two and the expiry table by a few dozen bytes a key, so some is always unexplained."""
RESIDUAL_FLOOR_MB = 8.0
LIVE_SLACK = 1.5
SERIES_GROWTH_LIMIT = 10
"""New label sets a process may show between the first window and the end (a status or an outcome
seen for the first time, such as a retried delivery); per-turn or per-user labels add thousands."""
CAPPED: dict[str, int] = {"gateway||handoffs:open": OPEN_HANDOFFS_LISTED}
"""Key classes without a TTL that a cap in the code bounds instead, with the most entries they list:
judged at their cap (entries now, bytes per entry), since a soak need not reach it."""
REFUSED_SHARE = 0.001
ACHIEVED_SHARE = 0.99
IGNORED_FOR_RSS = ("redis", "load-generator")
"""Redis holds the data (its memory is judged by key class); the load generator is not the helpdesk."""


@dataclass
class Verdicts:
    criteria: dict[str, tuple[bool, str]] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def judge(run: SoakRun) -> Verdicts:
    out = Verdicts()
    _turns(run, out)
    _rss(run, out)
    _redis(run, out)
    _pending(run, out)
    _series(run, out)
    return out


def _turns(run: SoakRun, out: Verdicts) -> None:
    sent = max(run.sent, 1)
    failed = sum(w.failed for w in run.windows)
    accepted = run.sent - failed
    achieved = accepted / run.seconds if run.seconds else 0.0
    out.figures["achieved_rps"] = achieved
    out.criteria["turns"] = (
        run.lost == 0 and run.duplicated == 0,
        f"{run.lost} lost, {run.duplicated} duplicated of {accepted} accepted",
    )
    out.criteria["load"] = (
        failed / sent <= REFUSED_SHARE and achieved >= ACHIEVED_SHARE * run.rate,
        f"{failed} refused or failed ({failed / sent:.3%}, limit {REFUSED_SHARE:.1%}); "
        f"accepted {achieved:.2f}/s of {run.rate:g}/s offered (limit {ACHIEVED_SHARE:.0%})",
    )


def _rss(run: SoakRun, out: Verdicts) -> None:
    if not run.samples or run.before is None:
        return
    start, end = run.samples[0], run.samples[-1]
    chats = max(end.sent - start.sent, 1)
    rows = ["RSS MB (before load, start = after the first window, end, max, growth) and CPU ms per chat"]
    growth: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name in end.rss_mb:
        peak = max(s.rss_mb.get(name, 0.0) for s in run.samples)
        growth[name] = (end.rss_mb[name] - start.rss_mb[name]) / start.rss_mb[name]
        cpu[name] = (end.cpu_seconds[name] - start.cpu_seconds[name]) * 1000 / chats
        rows.append(
            f"  {name:<18} {run.before.rss_mb.get(name, 0.0):>7.1f} {start.rss_mb[name]:>7.1f} "
            f"{end.rss_mb[name]:>7.1f} {peak:>7.1f} {growth[name]:>+7.1%}   cpu {cpu[name]:.2f} ms"
        )
    out.details += rows
    out.figures["rss_mb"] = {
        name: {"before": run.before.rss_mb.get(name), "start": start.rss_mb[name], "end": end.rss_mb[name]}
        for name in end.rss_mb
    }
    out.figures["rss_growth"] = growth
    out.figures["cpu_ms_per_chat"] = cpu
    judged = {n: g for n, g in growth.items() if n not in IGNORED_FOR_RSS}
    over = [f"{n} {g:+.1%}" for n, g in judged.items() if g >= RSS_GROWTH_LIMIT]
    worst = max(judged.items(), key=lambda item: item[1], default=("none", 0.0))
    out.criteria["rss"] = (
        not over,
        ", ".join(over) if over else f"largest growth {worst[0]} {worst[1]:+.1%} (limit +10 %)",
    )


def _redis(run: SoakRun, out: Verdicts) -> None:
    before, after = run.census_before, run.census_after
    if before is None or after is None or not run.samples:
        return
    turns = max(run.accepted, 1)
    out.details.append("Redis used_memory MB over time (t s: used, of which streams)")
    out.details.append(
        "  " + ", ".join(f"{s.at:.0f}: {s.used_memory_mb:.1f}/{s.streams_mb:.1f}" for s in run.samples)
    )
    _classes_table(before, after, turns, out)
    _live_streams(run, out)
    unbounded = _unbounded_growth(run, before, after, turns, out)
    _residual(before, after, out)
    _projection(run, before, after, turns, out)
    out.criteria["redis_unbounded"] = (
        not unbounded,
        "key classes without a TTL grew with turns: " + ", ".join(unbounded)
        if unbounded
        else f"no key class without a TTL or a cap grew by more than {UNBOUNDED_BYTES_PER_TURN} byte a turn",
    )


def _classes_table(before: Census, after: Census, turns: int, out: Verdicts) -> None:
    out.details.append(
        "Key classes (keys before -> after, keys without TTL, bytes per key, TTL, per 1,000 turns)"
    )
    for name, found in sorted(after.classes.items(), key=lambda item: -item[1].bytes):
        was = before.classes.get(name, KeyClass(name, found.kind))
        ttl = "none" if found.without_ttl else _duration(found.max_ttl_seconds)
        per_k = (found.count - was.count) * 1000 / turns
        out.details.append(
            f"  {found.kind:<6} {name:<58} {was.count:>7} -> {found.count:<7} {found.without_ttl:>6} "
            f"{found.bytes_per_key:>8.0f} B  {ttl:>6}  {per_k:+8.1f} keys, "
            f"{(found.bytes - was.bytes) / turns * 1000 / 1024:+8.1f} KB"
        )


def _live_streams(run: SoakRun, out: Verdicts) -> None:
    """Each live stream's length after the first minute against rate x entries per chat x 30 s."""
    live_ttl = stream_ttl_seconds("broadcast")
    first, last = run.samples[0], run.samples[-1]
    chats = max(last.sent - first.sent, 1) * run.accepted / max(run.sent, 1)
    failures, lines = [], []
    for name in sorted(n for n in last.stream_entries if n.startswith("live.")):
        durable = name.removeprefix("live.")
        per_chat = added_between(first, last, durable) / chats
        bound = run.rate * per_chat * live_ttl * LIVE_SLACK + 100
        settled = [s.stream_entries.get(name, 0) for s in run.samples if s.at >= 60]
        longest = max(settled, default=0)
        lines.append(f"{name} longest {longest} (bound {bound:.0f})")
        if longest > bound:
            failures.append(name)
    out.details.append("Live streams (trimmed at 30 s): " + "; ".join(lines))
    out.criteria["redis_live_streams"] = (
        not failures,
        ("over their bound: " + ", ".join(failures)) if failures else "; ".join(lines),
    )


def _unbounded_growth(run: SoakRun, before: Census, after: Census, turns: int, out: Verdicts) -> list[str]:
    grew = []
    for found in after.records(with_ttl=False):
        was = before.classes.get(found.name, KeyClass(found.name, found.kind))
        added = found.bytes - was.bytes
        if found.name in CAPPED:
            entries, cap = run.capped_entries.get(found.name, 0), CAPPED[found.name]
            at_cap = found.bytes / max(entries, 1) * cap
            out.details.append(
                f"Capped without a TTL: {found.name} lists {entries} of at most {cap} "
                f"({found.bytes / 1024:.0f} KB now, {at_cap / 1024:.0f} KB at its cap)"
            )
            if entries > cap:
                grew.append(f"{found.name} lists {entries} entries, over its cap of {cap}")
        elif added > UNBOUNDED_NOISE_BYTES and added / turns > UNBOUNDED_BYTES_PER_TURN:
            grew.append(f"{found.name} {added / turns:+.2f} B/turn ({was.count} -> {found.count} keys)")
    return grew


def _residual(before: Census, after: Census, out: Verdicts) -> None:
    explained = after.bytes_of(after.classes.values()) - before.bytes_of(before.classes.values())
    used = after.used_memory - before.used_memory
    residual_mb = (used - explained) / 2**20
    limit_mb = max(RESIDUAL_FLOOR_MB, RESIDUAL_SHARE * used / 2**20)
    out.figures["redis_used_memory_mb"] = {
        "before": before.used_memory / 2**20,
        "after": after.used_memory / 2**20,
    }
    out.figures["redis_unexplained_growth_mb"] = residual_mb
    out.criteria["redis_overhead"] = (
        residual_mb <= limit_mb,
        f"used_memory {before.used_memory / 2**20:.1f} -> {after.used_memory / 2**20:.1f} MB; key classes "
        f"explain {explained / 2**20:+.1f} MB, the rest {residual_mb:+.1f} MB (limit {limit_mb:.1f} MB)",
    )


def _projection(run: SoakRun, before: Census, after: Census, turns: int, out: Verdicts) -> None:
    """Each bounded class at its bound at this rate: keys (or entries) per turn x rate x TTL x bytes."""
    stream_ttl = stream_ttl_seconds("pubsub")
    total = 0.0
    rows = []
    for found in [*after.streams(), *after.records(with_ttl=True)]:
        was = before.classes.get(found.name, KeyClass(found.name, found.kind))
        ttl = stream_ttl if found.kind == "stream" else float(found.max_ttl_seconds)
        if found.name.startswith("live."):
            ttl = 0.0  # at its bound already (judged above)
        per_turn = (
            max(found.count - was.count, 0) / turns
            if found.kind != "stream"
            else _entries_per_turn(run, found.name)
        )
        size = _bytes_per_entry(run, found) if found.kind == "stream" else found.bytes_per_key
        bound = max(found.bytes, per_turn * run.rate * ttl * size) if ttl > run.seconds else found.bytes
        total += bound
        if bound > 2**20:
            rows.append(
                f"  {found.name:<58} {per_turn:6.3f}/turn x {size:6.0f} B x {_duration(int(ttl)):>5}: "
                f"{bound / 2**30:8.2f} GiB"
            )
    out.details.append(f"Bounded classes at their bound at {run.rate:g} chats/s (what each holds when full):")
    out.details += rows
    out.details.append(f"  total {total / 2**30:.2f} GiB")
    out.figures["redis_bound_gib"] = total / 2**30


def _entries_per_turn(run: SoakRun, stream: str) -> float:
    return added_between(run.before, run.samples[-1], stream) / max(run.accepted, 1)


def added_between(first: Sample | None, last: Sample, stream: str) -> int:
    """Entries added to a stream between two samples: from Redis' `entries-added` where both samples
    have it (a stream at its trimming bound adds entries without growing), else the growth in length."""
    if first is not None and stream in first.stream_added and stream in last.stream_added:
        return max(last.stream_added[stream] - first.stream_added[stream], 0)
    start = first.stream_entries.get(stream, 0) if first else 0
    return max(last.stream_entries.get(stream, 0) - start, 0)


def _bytes_per_entry(run: SoakRun, found: KeyClass) -> float:
    length = run.samples[-1].stream_entries.get(found.name, 0)
    return found.bytes / length if length else 0.0


def _pending(run: SoakRun, out: Verdicts) -> None:
    judged = judged_groups(run.pending_before, run.pending_after)
    others = [g for g in run.pending_after if g not in judged]
    waiting = [
        f"{g.stream}/{g.group} {g.pending} pending{', backlog' if g.undelivered else ''}"
        for g in judged
        if g.pending or g.undelivered
    ]
    out.figures["pending_after_drain"] = {f"{g.stream}/{g.group}": g.pending for g in judged}
    out.details.append(
        f"Consumer groups after the drain: {len(judged)} durable or of a running replica "
        f"({sum(g.pending for g in judged)} pending); {len(others)} per-replica groups without a delivery "
        f"during the soak ({sum(g.pending for g in others)} pending: replicas gone, or live.kb.updated)"
    )
    out.criteria["pending"] = (
        not waiting,
        ("still pending: " + ", ".join(waiting))
        if waiting
        else f"0 in all {len(judged)} judged groups, {run.drained_in_seconds} s after the last chat's answer",
    )


def _series(run: SoakRun, out: Verdicts) -> None:
    start, end = run.scrape_start.series, run.scrape_end.series
    grew = {n: end[n] - c for n, c in start.items() if n in end}
    out.figures["prometheus_series"] = {n: [start[n], end.get(n)] for n in start}
    if run.samples:
        chats = max(run.samples[-1].sent - run.samples[0].sent, 1) * run.accepted / max(run.sent, 1)
        out.figures["state_calls_per_chat"] = (
            run.scrape_end.state_calls - run.scrape_start.state_calls
        ) / chats
    over = [f"{n} +{g}" for n, g in grew.items() if g > SERIES_GROWTH_LIMIT]
    out.criteria["metric_series"] = (
        not over and bool(grew),
        ", ".join(over)
        if over
        else "label sets per process: " + ", ".join(f"{n} {start[n]}{g:+d}" for n, g in grew.items()),
    )


def _duration(seconds: int) -> str:
    if seconds < 0:
        return "none"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds}s"
