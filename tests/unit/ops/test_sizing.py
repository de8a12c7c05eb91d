"""The sizing for Azure Container Apps (`python -m bench.sizing`): replicas, KEDA thresholds, Service Bus
and the compute cost per 1,000 chats, worked out by hand from round CPU figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bench.sizing import (
    APPS,
    RECORDED,
    Cost,
    Measured,
    Plan,
    Recorded,
    cost_per_thousand,
    load_measurement,
    main,
    max_active_messages,
    needed,
    per_app,
    read_recorded,
    service_bus,
    size_app,
    size_rate,
    template_defaults,
    write_recorded,
)

UTILISATION = 0.6
LAG = 2.0
BYTES = {"chat.requested": 1000, "chat.analyzed": 2000, "chat.answered": 2500, "chat.escalated": 1500}
# Every app: 10 ms of its service and 5 of its sidecar per chat. A 0.5 vCPU replica at 60 % has 300 ms of
# CPU a second: 20 chats/s (15 ms each), with its service's 200 ms well under its one core.
FLAT = {app: Cost(10.0, 5.0) for app in APPS}
NO_LIVE = Cost(0.0, 0.0)


def measured(live: Cost = NO_LIVE, p50_ms: float = 400.0, escalated: float = 0.0) -> Measured:
    return Measured(
        rate=30.0,
        cpu=FLAT,
        redis_ms=2.0,
        p50_ms=p50_ms,
        live=live,
        escalated_share=escalated,
        state_calls=16.0,
        redis_gib_per_rate=20.0,
    )


def plan(fan_out: bool = True) -> Plan:
    return Plan(dict.fromkeys(APPS, 0.5), UTILISATION, LAG, fan_out, 0.000024, 0.000003)


def test_an_apps_cost_is_its_service_and_sidecar_summed_over_replicas() -> None:
    cpu = per_app(
        {
            "gateway-0": 4.0,
            "gateway-0.dapr": 3.0,
            "gateway-1": 5.0,
            "gateway-1.dapr": 2.0,
            "nlp-0": 3.0,
            "redis": 2.5,
            "load-generator": 1.0,
        }
    )

    assert cpu["gateway"] == Cost(9.0, 5.0)
    assert cpu["nlp"] == Cost(3.0, 0.0)
    assert set(cpu) == set(APPS)


@pytest.mark.parametrize(("rate", "replicas"), [(50, 3), (500, 25), (5000, 250)])
def test_replicas_are_rate_times_cpu_per_chat_over_the_replicas_budget(rate: int, replicas: int) -> None:
    sized = size_app("dialogue", rate, measured(), 0.5, UTILISATION, LAG)

    assert sized.replicas == replicas
    assert sized.per_replica_rps == pytest.approx(20.0)


def test_the_service_is_held_to_one_core_however_large_the_replica() -> None:
    # 2 vCPU at 60 %: 1,200 ms a second for the replica (80 chats/s) but 600 for the service (60/s)
    sized = size_app("nlp", 600, measured(), 2.0, UTILISATION, LAG)

    assert sized.per_replica_rps == pytest.approx(60.0)
    assert sized.replicas == 10


def test_keda_message_count_is_one_replicas_throughput_over_the_wait_allowed() -> None:
    assert size_app("evaluator", 50, measured(), 0.5, UTILISATION, LAG).keda == "messageCount 40"
    assert size_app("evaluator", 50, measured(), 0.5, UTILISATION, 5.0).keda == "messageCount 100"
    assert size_app("evaluator", 50, measured(), 1.0, UTILISATION, LAG).keda == "messageCount 80"


def test_the_gateway_scales_on_cpu_at_the_target_utilisation_whatever_its_latency() -> None:
    # Container Apps' HTTP rule counts a 15 s request rate, and with the fan-out a gateway replica's
    # throughput depends on how many there are: its CPU is what the budget is made of
    assert size_app("gateway", 50, measured(), 0.5, UTILISATION, LAG).keda == "CPU utilisation 60 %"
    fast = measured(p50_ms=40.0)
    assert size_app("gateway", 50, fast, 0.5, 0.75, LAG).keda == "CPU utilisation 75 %"


def test_every_gateway_replica_pays_for_every_live_answer() -> None:
    # Of the gateway's 15 ms, 2 + 1 are its live deliveries, which each further replica pays again:
    # R replicas at 50/s need 50 x (15 - 3) / R + 50 x 3 <= 300, so R >= 4
    live = measured(live=Cost(2.0, 1.0))

    assert needed(50, Cost(8.0, 4.0), Cost(2.0, 1.0), 0.5, UTILISATION) == 4
    assert size_app("gateway", 50, live, 0.5, UTILISATION, LAG).replicas == 4
    assert size_app("gateway", 50, measured(), 0.5, UTILISATION, LAG).replicas == 3


def test_past_one_replicas_budget_on_live_answers_alone_no_replica_count_helps() -> None:
    # 100/s x 3 ms = 300 ms: the whole budget of a 0.5 vCPU replica; 150/s x 2 ms fills the service's core
    live = measured(live=Cost(2.0, 1.0))

    assert size_app("gateway", 99, live, 0.5, UTILISATION, LAG).replicas is not None
    assert size_app("gateway", 100, live, 0.5, UTILISATION, LAG).replicas is None
    assert needed(300, Cost(8.0, 4.0), Cost(2.0, 1.0), 4.0, UTILISATION) is None


def test_without_the_fan_out_the_gateway_scales_like_the_others() -> None:
    row = size_rate(5000, measured(), plan(fan_out=False), BYTES)

    assert [a["replicas"] for a in row["apps"]] == [250, 250, 250, 250]


def test_a_gateway_that_cannot_carry_the_rate_at_its_size_takes_the_cheapest_size_that_can() -> None:
    # 100/s with 3 ms of live answers per chat fills a 0.5 vCPU replica; 1 vCPU at 60 %: 600 ms a second,
    # 300 of it live answers, the rest 100 x 12 / R: R = 4 (4 vCPU); 2 vCPU: 2 replicas (4 vCPU, larger)
    row = size_rate(100, measured(live=Cost(2.0, 1.0)), plan(), BYTES)
    gateway = row["apps"][APPS.index("gateway")]

    assert (gateway["replicas"], gateway["vcpu"]) == (4, 1.0)
    assert row["usd_per_1000"] is not None


def test_cost_per_thousand_chats_is_the_vcpu_and_its_two_gib_for_the_seconds_they_take() -> None:
    row = size_rate(50, measured(), plan(), BYTES)

    # 4 apps x 3 replicas x 0.5 vCPU = 6 vCPU and 12 GiB for the 20 s that 1,000 chats take at 50/s
    expected = (6 * 0.000024 + 12 * 0.000003) * 20
    assert row["usd_per_1000"] == pytest.approx(expected)
    assert row["usd_per_1000"] == pytest.approx(0.0036)


def test_no_cost_when_an_app_cannot_carry_the_rate() -> None:
    row = size_rate(1000, measured(live=Cost(2.0, 1.0)), plan(), BYTES)

    assert row["apps"][0]["replicas"] is None
    assert row["usd_per_1000"] is None
    assert cost_per_thousand(1000, [], 0.000024, 0.000003) == 0.0


def test_service_bus_standard_until_a_thousand_credits_then_premium_by_bytes() -> None:
    # per chat: requested and analyzed 1 + 2 x 1 each, the answer 1 + 2 x 2, its live copy 1 + 2 x G
    one_gateway = 3 + 3 + 5 + 3
    assert service_bus(71, measured(), 1, BYTES) == f"Standard ({71 * one_gateway:,} credits/s of 1,000)"
    assert service_bus(72, measured(), 1, BYTES).startswith("Premium 1 MU")

    # egress at 1,000/s: (1,000 + 2,000 + 2 x 2,500 + 4 x 2,500) B = 18 KB a chat = 17.2 MB/s: 5 MU -> 8
    assert service_bus(1000, measured(), 4, BYTES).startswith("Premium 8 MU (17.2 MB/s out")
    assert service_bus(5000, measured(), 4, BYTES).startswith("over one Premium namespace (22 MU")


def bench_lines(*rows: dict[str, object]) -> str:
    text = "mode offered achieved\n" + "\n".join(json.dumps(r) for r in rows)
    return text + "\n\nCPU ms per chat (by process)\n"


def dapr_row(rate: float, p50: float, **cpu: float) -> dict[str, object]:
    """10 + 5 ms per chat for each app (one replica each) unless `cpu` says otherwise."""
    each = {f"{app}-0": 10.0 for app in APPS} | {f"{app}-0.dapr": 5.0 for app in APPS}
    named = {name.replace("_dapr", ".dapr").replace("_", "-"): ms for name, ms in cpu.items()}
    return {"mode": "dapr", "offered_rps": rate, "p50_ms": p50, "cpu_ms_per_chat": each | named}


def test_a_bench_output_is_averaged_over_its_runs_at_the_rate_asked(tmp_path: Path) -> None:
    bench = tmp_path / "bench.out"
    bench.write_text(
        bench_lines(
            dapr_row(30, 40.0, gateway_0=9.0),
            dapr_row(30, 60.0, gateway_0=11.0),
            dapr_row(50, 900.0, gateway_0=99.0),
            {"mode": "inprocess", "offered_rps": 30, "p50_ms": 5.0, "cpu_ms_per_chat": {"inprocess": 9.0}},
        )
    )

    found = load_measurement(bench, 30)

    assert found["cpu_ms_per_chat"]["gateway-0"] == pytest.approx(10.0)
    assert found["p50_ms"] == pytest.approx(50.0)
    assert found["measurements"] == 2


def test_the_command_prints_the_table_and_the_live_cost_from_two_gateways(tmp_path: Path) -> None:
    one, two = tmp_path / "one.out", tmp_path / "two.out"
    one.write_text(bench_lines(dapr_row(30, 400.0)))
    gateways = {"gateway_0": 6.0, "gateway_0_dapr": 3.0, "gateway_1": 6.0, "gateway_1_dapr": 3.0}
    two.write_text(bench_lines(dapr_row(30, 400.0, **gateways)))
    sizes = ",".join(f"{app}=0.5" for app in APPS)

    result = CliRunner().invoke(
        _app(), ["--bench", str(one), "--bench-two-gateways", str(two), "--rates", "50", "--sizes", sizes]
    )

    assert result.exit_code == 0, result.output
    assert "each gateway replica more: 2.00 + 1.00 ms per chat" in result.output
    assert "| 50 | 4 × 0.5 vCPU | 3 × 0.5 vCPU | 3 × 0.5 vCPU | 3 × 0.5 vCPU |" in result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert last["rows"][0]["apps"][0]["replicas"] == 4


def test_the_command_refuses_a_measurement_without_every_app_or_a_latency(tmp_path: Path) -> None:
    partial = tmp_path / "partial.out"
    partial.write_text(bench_lines({**dapr_row(30, 400.0), "cpu_ms_per_chat": {"gateway-0": 10.0}}))
    soak = tmp_path / "soak.json"  # a soak's summary from before it carried the p50 latency
    soak.write_text(json.dumps({**dapr_row(30, 400.0), "rate": 30, "criteria": {}, "p50_ms": None}))

    for path in (partial, soak):
        result = CliRunner().invoke(_app(), ["--bench", str(path)])
        assert result.exit_code == 2, result.output


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(main)
    return app


def test_without_the_fan_out_a_given_live_cost_is_not_charged_per_replica(tmp_path: Path) -> None:
    bench = tmp_path / "bench.out"
    bench.write_text(bench_lines(dapr_row(30, 400.0)))
    sizes = ",".join(f"{app}=0.5" for app in APPS)
    args = ["--bench", str(bench), "--live-ms", "3", "--rates", "50", "--sizes", sizes]

    fanned = CliRunner().invoke(_app(), args)
    direct = CliRunner().invoke(_app(), [*args, "--no-fan-out"])

    assert "| 50 | 4 × 0.5 vCPU |" in fanned.output
    assert "| 50 | 3 × 0.5 vCPU |" in direct.output


def test_the_cheapest_size_is_the_fewest_vcpu_in_all_not_the_smallest_that_fits() -> None:
    # live answers mostly in the sidecar (0.5 + 2 ms): at 150/s a 1 vCPU replica keeps 600 - 375 ms a
    # second for 150 x 12.5 / R: R = 9 (9 vCPU); a 2 vCPU replica keeps 825: R = 3 (6 vCPU); 4 vCPU: 12
    row = size_rate(150, measured(live=Cost(0.5, 2.0)), plan(), BYTES)
    gateway = row["apps"][APPS.index("gateway")]

    assert (gateway["replicas"], gateway["vcpu"]) == (3, 2.0)


def test_the_template_defaults_are_the_cpu_target_and_each_apps_two_seconds_of_work() -> None:
    # 0.5 vCPU at 60 %: 20 chats/s of 15 ms each, 40 in the 2 s allowed; a 1 vCPU nlp: 40/s, 80
    defaults = template_defaults(
        measured(), Plan({**dict.fromkeys(APPS, 0.5), "nlp": 1.0}, 0.6, LAG, True, 0, 0)
    )

    assert defaults == {
        "gatewayCpuUtilization": 60,
        "nlpMessagesPerReplica": 80,
        "dialogueMessagesPerReplica": 40,
        "evaluatorMessagesPerReplica": 40,
    }
    assert max_active_messages(defaults) == 40


def test_a_kept_measurement_reads_back_as_written(tmp_path: Path) -> None:
    kept = Recorded(measured(live=Cost(2.0, 1.0)), dict.fromkeys(APPS, 0.5), 0.6, 2.0, {"date": "2026-12-06"})
    path = tmp_path / "kept.json"

    write_recorded(path, kept)

    assert read_recorded(path) == kept


def test_the_kept_measurement_gives_the_thresholds_docs_deploy_publishes() -> None:
    kept = read_recorded(RECORDED)
    plan = Plan(kept.sizes, kept.utilisation, kept.target_lag, True, 0, 0)

    assert {"date", "machine", "commands"} <= set(kept.provenance)
    assert template_defaults(kept.measured, plan) == {
        "gatewayCpuUtilization": 60,
        "nlpMessagesPerReplica": 138,
        "dialogueMessagesPerReplica": 63,
        "evaluatorMessagesPerReplica": 197,
    }


def test_the_command_keeps_a_measurement_and_sizes_from_it_again(tmp_path: Path) -> None:
    bench, kept = tmp_path / "bench.out", tmp_path / "kept.json"
    bench.write_text(bench_lines(dapr_row(30, 400.0)))
    sizes = ",".join(f"{app}=0.5" for app in APPS)
    first = CliRunner().invoke(
        _app(),
        [
            "--bench",
            str(bench),
            "--live-ms",
            "3",
            "--sizes",
            sizes,
            "--record-to",
            str(kept),
            "--measured-by",
            "make bench on a test box",
        ],
    )

    again = CliRunner().invoke(_app(), ["--recorded", str(kept), "--rates", "50"])

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert read_recorded(kept).provenance["commands"][0] == "make bench on a test box"
    assert "| 50 | 4 × 0.5 vCPU | 3 × 0.5 vCPU | 3 × 0.5 vCPU | 3 × 0.5 vCPU |" in again.output
    assert "  param dialogueMessagesPerReplica int = 40" in again.output
    last = json.loads(again.output.strip().splitlines()[-1])
    assert last["template_defaults"]["nlpMessagesPerReplica"] == 40
    assert last["max_active_messages"] == 40


def test_the_command_wants_one_measurement_new_or_kept(tmp_path: Path) -> None:
    bench = tmp_path / "bench.out"
    bench.write_text(bench_lines(dapr_row(30, 400.0)))

    assert CliRunner().invoke(_app(), []).exit_code == 2
    assert CliRunner().invoke(_app(), ["--bench", str(bench), "--recorded", str(RECORDED)]).exit_code == 2
