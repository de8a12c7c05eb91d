"""Sizing on Azure Container Apps from measured CPU per chat: `python -m bench.sizing --bench <file>`.

Reads a `make bench` result (its JSON lines, saved with `make bench | tee bench.out`) and prints, for
each rate asked (50, 500 and 5,000 chats/s unless told), the replicas of each app, the KEDA thresholds
that follow from the same figures, what Service Bus and Redis must carry, and the compute cost per
1,000 chats; a markdown table for docs/deploy.md, then a last line of JSON.

The model, and why:

- A replica of an app runs the service and its Dapr sidecar, so an app's CPU per chat is the service's
  plus its sidecar's (`gateway-0` + `gateway-0.dapr`, summed over replicas). Container Apps bills the
  resources allocated to a replica and lets one set resources only for the app's containers, not for
  the managed sidecar, so the sidecar is counted inside the replica's allocation here.
- replicas = ceil(rate x CPU ms per chat / (1000 x vCPU per replica x target utilisation)). The
  utilisation (0.6 unless told) leaves room for bursts and for the time KEDA takes to add a replica.
- The gateway is the exception: every gateway replica's sidecar receives every live answer
  (`broadcast`, the wake-up path) and skips those addressed to other replicas, so each one spends
  `live_ms` per chat of the whole rate on live deliveries. With G replicas the gateway costs
  gateway_ms + (G - 1) x live_ms per chat, and a replica is full on live deliveries alone once rate x
  live_ms reaches its CPU budget: no replica count helps past that. `--bench-two-gateways` estimates
  `live_ms` as the growth of the gateway's CPU per chat when a second gateway replica runs (a `make
  bench` with `REPLICAS="gateway=2"`), which also counts the per-second costs a replica at half the
  rate spreads over fewer chats: an upper bound. The kept measurement has it probed directly
  (docs/deploy.md).
- KEDA's azure-servicebus rule adds replicas until backlog / replicas <= messageCount. A backlog that
  settles there waits messageCount / per-replica throughput seconds, so messageCount = per-replica
  throughput x the wait allowed (`--target-lag`). The gateway scales on CPU at the target utilisation
  itself: Container Apps' HTTP rule counts requests over 15 s divided by 15 (a rate, not requests in
  flight), and with the fan-out a gateway replica's throughput depends on how many there are, while
  its CPU is what the budget above is made of.
- Each sidecar holds up to `maxActiveMessages` of a subscription locked (docs/deploy.md), and KEDA
  counts them as active: the component's `maxActiveMessages` is the smallest `messageCount`, so a
  replica's own held messages never ask for another replica.
- `--recorded` reads a measurement kept in a file (bench/data/sizing-measured.json, the one the
  template's defaults follow) instead of bench outputs; `--record-to` writes one. Either way the
  deploy/main.bicep defaults that follow are printed, and tests/contract/test_sizing_defaults.py fails
  while the template differs from what the kept file derives.
- Service Bus Standard allows 1,000 credits a second per namespace: a message sent, a filter evaluated
  (one per subscription of the topic) and a message received cost one each. Premium is sized at about
  4 MB/s of ingress and of egress per messaging unit (Microsoft's benchmark figure).
- Redis (state only; pub/sub goes to Service Bus on Azure) is sized by what the soak measured: state
  calls per chat, and memory at steady state per chat/s of load (records live for their TTL).
- Cost: replicas x (vCPU x price per vCPU-second + GiB x price per GiB-second) for the seconds 1,000
  chats take at that rate; active rates, no free grant, no idle rate. Prices are list prices in USD for
  one region and date (see docs/deploy.md); pass others with `--vcpu-second` / `--gib-second`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

APPS = ("gateway", "nlp", "dialogue", "evaluator")
DEFAULT_SIZES = "gateway=0.25,nlp=0.5,dialogue=0.5,evaluator=0.5"
"""vCPU per replica as deploy/main.bicep sets them; memory is 2 GiB per vCPU (the Consumption pairs).
An app that cannot carry a rate at its size is shown at the size that needs the fewest vCPU."""
ACA_MAX_VCPU = 4.0
"""The largest Consumption replica (4 vCPU / 8 GiB)."""
SIZES_TRIED = (0.25, 0.5, 1.0, 2.0, 4.0)
LIVE_SERVICE_SHARE = 0.5
"""With `--live-ms` alone (no second bench to split it), half to the service and half to the sidecar."""
PRICE_VCPU_SECOND = 0.000024
PRICE_GIB_SECOND = 0.000003
SB_STANDARD_CREDITS = 1000
SB_PREMIUM_BYTES_PER_MU = 4 * 1024 * 1024
SB_PREMIUM_UNITS = (1, 2, 4, 8, 16)
MESSAGE_BYTES = "chat.requested=951,chat.analyzed=1774,chat.answered=2504,chat.escalated=1552"
"""Bytes per event as the soak measured them in the local streams (CloudEvent envelope included)."""
RECORDED = Path(__file__).resolve().parent / "data" / "sizing-measured.json"
"""The measurement deploy/main.bicep's scaling defaults follow."""
MESSAGE_COUNT_PARAMETERS = {
    "nlp": "nlpMessagesPerReplica",
    "dialogue": "dialogueMessagesPerReplica",
    "evaluator": "evaluatorMessagesPerReplica",
}
"""App -> the deploy/main.bicep parameter that sets the messageCount of its azure-servicebus rules."""
CPU_UTILISATION_PARAMETER = "gatewayCpuUtilization"
"""The deploy/main.bicep parameter that sets the gateway's CPU rule (percent of its replica's vCPU)."""
DEFAULT_UTILISATION = 0.6
DEFAULT_TARGET_LAG = 2.0
DEFAULT_ESCALATED_SHARE = 0.04


@dataclass(frozen=True)
class Cost:
    """CPU ms per chat of one app: its service (one Python process: at most one core per replica) and
    its sidecar (Go: any core of the replica)."""

    service: float
    sidecar: float

    @property
    def total(self) -> float:
        return self.service + self.sidecar

    def minus(self, other: Cost) -> Cost:
        return Cost(max(0.0, self.service - other.service), max(0.0, self.sidecar - other.sidecar))


@dataclass(frozen=True)
class Measured:
    """What one `make bench` measurement says a chat costs."""

    rate: float
    cpu: dict[str, Cost]
    """Per app, summed over its replicas."""
    redis_ms: float
    p50_ms: float
    live: Cost
    """What one more gateway replica adds per chat: its live deliveries (and its idle work)."""
    escalated_share: float
    state_calls: float | None
    redis_gib_per_rate: float | None


def json_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a file: one document (a soak's --json-out), or one per line among others."""
    text = path.read_text()
    try:
        whole = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [whole] if isinstance(whole, dict) else []


def load_measurement(path: Path, at: float | None) -> dict[str, Any]:
    """The `dapr` measurements at `at` chats/s (or the soak's summary) from a file of JSON lines, CPU per
    chat and p50 averaged over them: run the rate twice (`--rates 30,30`) to halve the noise's weight."""
    rows = json_rows(path)
    soaks = [r for r in rows if "cpu_ms_per_chat" in r and "criteria" in r]
    if soaks:
        soak = soaks[-1]
        return {
            "offered_rps": soak["rate"],
            "cpu_ms_per_chat": soak["cpu_ms_per_chat"],
            "p50_ms": soak.get("p50_ms"),
        }
    found = [r for r in rows if r.get("mode") == "dapr" and r.get("cpu_ms_per_chat") and r.get("offered_rps")]
    if at is not None:
        found = [r for r in found if r["offered_rps"] == at]
    if not found:
        raise typer.BadParameter(f"{path}: no dapr measurement" + (f" at {at:g}/s" if at else ""))
    names = {name for r in found for name in r["cpu_ms_per_chat"]}
    return {
        "offered_rps": found[-1]["offered_rps"],
        "cpu_ms_per_chat": {
            n: sum(r["cpu_ms_per_chat"].get(n, 0.0) for r in found) / len(found) for n in names
        },
        "p50_ms": sum(r["p50_ms"] for r in found) / len(found),
        "measurements": len(found),
    }


def per_app(cpu_ms_per_chat: dict[str, float]) -> dict[str, Cost]:
    """`gateway-0`, `gateway-0.dapr`, `gateway-1`, ... -> `gateway` (service, sidecar)."""
    service: dict[str, float] = dict.fromkeys(APPS, 0.0)
    sidecar: dict[str, float] = dict.fromkeys(APPS, 0.0)
    for name, ms in cpu_ms_per_chat.items():
        app = name.split("-", 1)[0]
        if app in APPS:
            (sidecar if name.endswith(".dapr") else service)[app] += ms
    return {app: Cost(service[app], sidecar[app]) for app in APPS}


@dataclass(frozen=True)
class AppSize:
    app: str
    vcpu: float
    replicas: int | None
    """None: no replica count carries the rate at this size."""
    per_replica_rps: float
    keda: str


def needed(rate: float, own: Cost, fixed: Cost, vcpu: float, utilisation: float) -> int | None:
    """Replicas R so that each one's share (rate / R x `own`) plus what every replica pays for every
    chat (rate x `fixed`) fits both its service's one core and the whole replica, at the utilisation."""
    core, replica = 1000 * utilisation * min(1.0, vcpu), 1000 * utilisation * vcpu
    room_service, room_replica = core - rate * fixed.service, replica - rate * fixed.total
    if room_service <= 0 or room_replica <= 0:
        return None
    return max(1, math.ceil(rate * own.service / room_service), math.ceil(rate * own.total / room_replica))


def throughput(cost: Cost, vcpu: float, utilisation: float) -> float:
    """Chats a second one replica carries at the utilisation (service on one core, sidecar beside)."""
    return min(1000 * utilisation * min(1.0, vcpu) / cost.service, 1000 * utilisation * vcpu / cost.total)


def size_app(app: str, rate: float, m: Measured, vcpu: float, utilisation: float, lag: float) -> AppSize:
    cost = m.cpu[app]
    if app == "gateway":
        own = cost.minus(m.live)
        replicas = needed(rate, own, m.live, vcpu, utilisation)
        count = replicas or 1
        per_chat = Cost(own.service + count * m.live.service, own.sidecar + count * m.live.sidecar)
        per_replica = throughput(per_chat, vcpu, utilisation)
        return AppSize(app, vcpu, replicas, per_replica, f"CPU utilisation {cpu_percent(utilisation)} %")
    replicas = needed(rate, cost, Cost(0.0, 0.0), vcpu, utilisation)
    per_replica = throughput(cost, vcpu, utilisation)
    return AppSize(app, vcpu, replicas, per_replica, f"messageCount {message_count(per_replica, lag)}")


def message_count(per_replica_rps: float, lag: float) -> int:
    """What one replica works off in the wait allowed: KEDA's messageCount per replica."""
    return max(1, math.ceil(per_replica_rps * lag))


def cpu_percent(utilisation: float) -> int:
    return round(utilisation * 100)


def cheapest_size(app: str, rate: float, m: Measured, utilisation: float, lag: float) -> AppSize:
    """The app at the replica size that carries the rate with the fewest vCPU in all (or at the largest
    size, marked None, when none does)."""
    fitting = [
        s for s in (size_app(app, rate, m, vcpu, utilisation, lag) for vcpu in SIZES_TRIED) if s.replicas
    ]
    if not fitting:
        return size_app(app, rate, m, ACA_MAX_VCPU, utilisation, lag)
    return min(fitting, key=lambda s: (s.replicas or 0) * s.vcpu)


def service_bus(rate: float, m: Measured, gateways: int, sizes: dict[str, int]) -> str:
    """Credits a second on Standard (send + one filter per subscription + receive, per message), and
    Premium messaging units by bytes (ingress: sends; egress: deliveries). `gateways`: the gateway
    replicas each live answer goes to (1 without the fan-out)."""
    answered = 1 - m.escalated_share
    # (topic, messages per chat, subscriptions): the live copy goes to every gateway replica.
    flows = [
        ("chat.requested", 1.0, 1),
        ("chat.analyzed", 1.0, 1),
        ("chat.answered", answered, 2),
        ("chat.escalated", m.escalated_share, 2),
        ("chat.answered", answered, gateways),
        ("chat.escalated", m.escalated_share, gateways),
    ]
    credits = sum(per_chat * (1 + 2 * subs) for _, per_chat, subs in flows) * rate
    ingress = sum(per_chat * sizes[topic] for topic, per_chat, _ in flows) * rate
    egress = sum(per_chat * subs * sizes[topic] for topic, per_chat, subs in flows) * rate
    if credits <= SB_STANDARD_CREDITS:
        return f"Standard ({credits:,.0f} credits/s of 1,000)"
    units = math.ceil(max(ingress, egress) / SB_PREMIUM_BYTES_PER_MU)
    fitting = next((u for u in SB_PREMIUM_UNITS if u >= units), None)
    tier = f"Premium {fitting} MU" if fitting else f"over one Premium namespace ({units} MU of at most 16)"
    return f"{tier} ({egress / 2**20:,.1f} MB/s out, {credits:,.0f} credits/s)"


def redis_line(rate: float, m: Measured) -> str:
    parts = []
    if m.state_calls is not None:
        parts.append(f"{m.state_calls * rate:,.0f} state calls/s")
    if m.redis_gib_per_rate is not None:
        parts.append(f"{m.redis_gib_per_rate * rate:,.0f} GiB at steady state")
    return ", ".join(parts) or "not measured (pass --soak)"


def cost_per_thousand(
    rate: float, sized: list[AppSize], vcpu_second: float, gib_second: float
) -> float | None:
    """None when some app cannot carry the rate at any replica size."""
    if any(s.replicas is None for s in sized):
        return None
    seconds = 1000 / rate
    return sum((s.replicas or 0) * s.vcpu * (vcpu_second + 2 * gib_second) * seconds for s in sized)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| chats/s | "
        + " | ".join(APPS)
        + " | KEDA (per replica) | Service Bus | Redis | USD per 1,000 chats |"
    )
    out = [head, "|" + "---|" * (len(APPS) + 5)]
    for row in rows:
        cells = []
        for s in row["apps"]:
            cells.append(
                f"{s['replicas']} × {s['vcpu']:g} vCPU" if s["replicas"] else f"none at {s['vcpu']:g} vCPU"
            )
        keda = "; ".join(f"{s['app']}: {s['keda']}" for s in row["apps"])
        out.append(
            f"| {row['rate']:,g} | " + " | ".join(cells) + f" | {keda} | {row['service_bus']} | "
            f"{row['redis']} | {'—' if row['usd_per_1000'] is None else format(row['usd_per_1000'], '.4f')} |"
        )
    return "\n".join(out)


@dataclass(frozen=True)
class Plan:
    """What the sizing is asked for besides the measurement."""

    sizes: dict[str, float]
    utilisation: float
    target_lag: float
    fan_out: bool
    vcpu_second: float
    gib_second: float


def size_rate(rate: float, m: Measured, plan: Plan, topic_bytes: dict[str, int]) -> dict[str, Any]:
    """One row: each app at its configured size, or at the one that carries the rate with the fewest vCPU."""
    sized = []
    for app in APPS:
        at_size = size_app(app, rate, m, plan.sizes[app], plan.utilisation, plan.target_lag)
        if at_size.replicas is None:
            at_size = cheapest_size(app, rate, m, plan.utilisation, plan.target_lag)
        sized.append(at_size)
    gateways = (sized[0].replicas or 1) if plan.fan_out else 1
    return {
        "rate": rate,
        "apps": [asdict(s) for s in sized],
        "service_bus": service_bus(rate, m, gateways, topic_bytes),
        "redis": redis_line(rate, m),
        "usd_per_1000": cost_per_thousand(rate, sized, plan.vcpu_second, plan.gib_second),
    }


def describe(m: Measured, live_measured: bool, fan_out: bool) -> str:
    per_app_text = ", ".join(f"{k} {v.service:.2f} + {v.sidecar:.2f}" for k, v in m.cpu.items())
    return (
        f"measured at {m.rate:g} chats/s: CPU ms per chat (service + sidecar) {per_app_text}, "
        f"redis {m.redis_ms:.2f}; each gateway replica more: {m.live.service:.2f} + {m.live.sidecar:.2f} "
        "ms per chat"
        + ("" if live_measured else " (not measured: pass --bench-two-gateways)")
        + ("" if fan_out else "; without the fan-out: each live answer to the waiting replica only")
    )


def parse_pairs(text: str) -> dict[str, float]:
    return {k.strip(): float(v) for k, v in (part.split("=") for part in text.split(",") if part)}


def template_defaults(m: Measured, plan: Plan) -> dict[str, int]:
    """The deploy/main.bicep scaling parameters, by name, that follow from the measurement at the
    plan's replica sizes: the gateway's CPU rule at the target utilisation, and each backlog rule's
    messageCount (what one replica works off in the wait allowed)."""
    found = {CPU_UTILISATION_PARAMETER: cpu_percent(plan.utilisation)}
    for app, parameter in MESSAGE_COUNT_PARAMETERS.items():
        per_replica = throughput(m.cpu[app], plan.sizes[app], plan.utilisation)
        found[parameter] = message_count(per_replica, plan.target_lag)
    return found


def max_active_messages(defaults: dict[str, int]) -> int:
    """The most a sidecar may hold of one subscription before its own held messages (active for KEDA)
    ask for another replica: the smallest messageCount, since one pubsub component serves every app."""
    return min(defaults[parameter] for parameter in MESSAGE_COUNT_PARAMETERS.values())


@dataclass(frozen=True)
class Recorded:
    """A measurement kept in a file, with the sizes, utilisation and wait it was sized for and where it
    came from (date, machine, commands)."""

    measured: Measured
    sizes: dict[str, float]
    utilisation: float
    target_lag: float
    provenance: dict[str, Any]


def _cost(data: dict[str, Any]) -> Cost:
    return Cost(float(data["service"]), float(data["sidecar"]))


def read_recorded(path: Path) -> Recorded:
    data = json.loads(path.read_text())
    plan = data["plan"]
    measured = Measured(
        rate=float(data["rate"]),
        cpu={app: _cost(data["cpu_ms_per_chat"][app]) for app in APPS},
        redis_ms=float(data["redis_ms"]),
        p50_ms=float(data["p50_ms"]),
        live=_cost(data["live_ms_per_chat"]),
        escalated_share=float(data["escalated_share"]),
        state_calls=data.get("state_calls_per_chat"),
        redis_gib_per_rate=data.get("redis_gib_per_rate"),
    )
    return Recorded(
        measured=measured,
        sizes={app: float(plan["sizes"][app]) for app in APPS},
        utilisation=float(plan["utilisation"]),
        target_lag=float(plan["target_lag_seconds"]),
        provenance=data.get("measured", {}),
    )


def write_recorded(path: Path, kept: Recorded) -> None:
    m = kept.measured
    data = {
        "about": (
            "The measured inputs of the Azure sizing (bench/sizing.py). deploy/main.bicep's scaling "
            "defaults are derived from this file: `.venv/bin/python -m bench.sizing --recorded "
            f"{path}` prints them, and tests/contract/test_sizing_defaults.py fails while the template "
            "differs."
        ),
        "measured": kept.provenance,
        "rate": m.rate,
        "cpu_ms_per_chat": {app: asdict(cost) for app, cost in m.cpu.items()},
        "redis_ms": round(m.redis_ms, 3),
        "p50_ms": round(m.p50_ms, 2),
        "live_ms_per_chat": asdict(m.live),
        "escalated_share": m.escalated_share,
        "state_calls_per_chat": m.state_calls,
        "redis_gib_per_rate": m.redis_gib_per_rate,
        "plan": {
            "sizes": kept.sizes,
            "utilisation": kept.utilisation,
            "target_lag_seconds": kept.target_lag,
        },
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def measure(
    bench: Path,
    at: float | None,
    bench_two_gateways: Path | None,
    live_ms: float | None,
    soak: Path | None,
    fan_out: bool,
    escalated_share: float,
) -> Measured:
    """A Measured from `make bench` outputs (and a soak's JSON)."""
    base = load_measurement(bench, at)
    cpu = per_app(base["cpu_ms_per_chat"])
    unmeasured = [app for app, cost in cpu.items() if cost.service <= 0]
    if unmeasured or not base.get("p50_ms"):
        what = f"no CPU for {', '.join(unmeasured)}" if unmeasured else "no p50 latency"
        raise typer.BadParameter(f"{bench}: {what} (pass a make bench output)", param_hint="--bench")
    live = Cost(0.0, 0.0)
    if fan_out and live_ms:
        live = Cost(live_ms * LIVE_SERVICE_SHARE, live_ms * (1 - LIVE_SERVICE_SHARE))
    if fan_out and bench_two_gateways is not None:
        two = per_app(load_measurement(bench_two_gateways, at)["cpu_ms_per_chat"])
        live = two["gateway"].minus(cpu["gateway"])
    soaked = json_rows(soak)[-1] if soak else {}
    return Measured(
        rate=base["offered_rps"],
        cpu=cpu,
        redis_ms=base["cpu_ms_per_chat"].get("redis", 0.0),
        p50_ms=base["p50_ms"],
        live=live,
        escalated_share=escalated_share,
        state_calls=soaked.get("state_calls_per_chat"),
        redis_gib_per_rate=soaked["redis_bound_gib"] / soaked["rate"]
        if soaked.get("redis_bound_gib")
        else None,
    )


def provenance(measured_by: list[str]) -> dict[str, Any]:
    command = " ".join([".venv/bin/python -m bench.sizing", *sys.argv[1:]])
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.node()}: {os.cpu_count()} cores, {platform.platform()}",
        "commands": [*measured_by, command],
    }


def defaults_text(defaults: dict[str, int]) -> str:
    lines = [f"  param {name} int = {value}" for name, value in defaults.items()]
    return "\n".join(
        [
            "deploy/main.bicep defaults that follow (tests/contract/test_sizing_defaults.py holds them):",
            *lines,
            f"  pubsub maxActiveMessages = min(messageCount) = {max_active_messages(defaults)}"
            " (main.bicep computes it from the parameters)",
        ]
    )


def main(
    bench: Annotated[
        Path | None, typer.Option(help="make bench output (JSON lines) or a soak's JSON.")
    ] = None,
    recorded: Annotated[
        Path | None,
        typer.Option(help=f"A kept measurement instead of --bench (the template follows {RECORDED.name})."),
    ] = None,
    record_to: Annotated[
        Path | None, typer.Option(help="Keep this measurement, its sizes, utilisation and wait, in a file.")
    ] = None,
    measured_by: Annotated[
        list[str] | None, typer.Option(help="With --record-to: how the bench outputs were made (repeat).")
    ] = None,
    at: Annotated[float | None, typer.Option(help="Which offered rate's measurement to use.")] = 30.0,
    bench_two_gateways: Annotated[
        Path | None, typer.Option(help='The same bench with REPLICAS="gateway=2": gives live_ms.')
    ] = None,
    live_ms: Annotated[float | None, typer.Option(help="Gateway CPU ms per chat per extra replica.")] = None,
    soak: Annotated[Path | None, typer.Option(help="A soak's JSON: state calls and Redis memory.")] = None,
    fan_out: Annotated[
        bool,
        typer.Option(help="Every gateway replica gets every live answer (today); off: only the waiting one."),
    ] = True,
    rates: Annotated[str, typer.Option(help="Chats per second to size for.")] = "50,500,5000",
    sizes: Annotated[
        str | None, typer.Option(help=f"vCPU per replica per app [{DEFAULT_SIZES}, or the kept file's].")
    ] = None,
    utilisation: Annotated[
        float | None, typer.Option(help=f"Target CPU utilisation per replica [{DEFAULT_UTILISATION}].")
    ] = None,
    target_lag: Annotated[
        float | None,
        typer.Option(help=f"Seconds a backlog may wait (KEDA messageCount) [{DEFAULT_TARGET_LAG}]."),
    ] = None,
    escalated_share: Annotated[
        float | None, typer.Option(help=f"Share of chats escalated [{DEFAULT_ESCALATED_SHARE}].")
    ] = None,
    message_bytes: Annotated[str, typer.Option(help="Bytes per event by topic.")] = MESSAGE_BYTES,
    vcpu_second: Annotated[float, typer.Option(help="USD per vCPU-second (active).")] = PRICE_VCPU_SECOND,
    gib_second: Annotated[float, typer.Option(help="USD per GiB-second (active).")] = PRICE_GIB_SECOND,
) -> None:
    """Replicas, KEDA thresholds, Service Bus and Redis, and compute cost per 1,000 chats; the
    deploy/main.bicep scaling defaults that follow."""
    if (bench is None) == (recorded is None):
        raise typer.BadParameter("pass --bench (a new measurement) or --recorded (a kept one)")
    if recorded is not None:
        kept = read_recorded(recorded)
        m = kept.measured
        if escalated_share is not None:
            m = replace(m, escalated_share=escalated_share)
        if not fan_out:
            m = replace(m, live=Cost(0.0, 0.0))
        kept_sizes, kept_utilisation, kept_lag = kept.sizes, kept.utilisation, kept.target_lag
        live_measured = True
    else:
        assert bench is not None
        share = DEFAULT_ESCALATED_SHARE if escalated_share is None else escalated_share
        m = measure(bench, at, bench_two_gateways, live_ms, soak, fan_out, share)
        kept_sizes, kept_utilisation, kept_lag = (
            parse_pairs(DEFAULT_SIZES),
            DEFAULT_UTILISATION,
            DEFAULT_TARGET_LAG,
        )
        live_measured = bool(bench_two_gateways or live_ms or not fan_out)
    plan = Plan(
        parse_pairs(sizes) if sizes else kept_sizes,
        kept_utilisation if utilisation is None else utilisation,
        kept_lag if target_lag is None else target_lag,
        fan_out,
        vcpu_second,
        gib_second,
    )
    if record_to is not None:
        write_recorded(
            record_to,
            Recorded(m, plan.sizes, plan.utilisation, plan.target_lag, provenance(measured_by or [])),
        )
    topic_bytes = {k: int(v) for k, v in parse_pairs(message_bytes).items()}
    rows = [size_rate(float(r), m, plan, topic_bytes) for r in rates.split(",") if r]
    defaults = template_defaults(m, plan)
    print(describe(m, live_measured, fan_out))
    print(table(rows))
    print(defaults_text(defaults))
    print(
        json.dumps(
            {
                "measured": asdict(m),
                "utilisation": plan.utilisation,
                "rows": rows,
                "template_defaults": defaults,
                "max_active_messages": max_active_messages(defaults),
            }
        ),
        file=sys.stdout,
    )


if __name__ == "__main__":
    typer.run(main)
