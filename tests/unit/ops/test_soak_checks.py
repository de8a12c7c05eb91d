"""The soak's verdicts (`make soak`), judged from samples alone: every criterion passes on a healthy run
and fails on the one fault it exists to catch, at its limit. No stack: the samples are what the soak
would have read from the processes, Redis and the metrics endpoints."""

from __future__ import annotations

import dataclasses

import pytest

from bench.soak import Refusals, Sample, SoakRun, Window, summary
from bench.soak_checks import CAPPED, judge
from bench.soak_probes import Census, GroupPending, KeyClass, Scrape, judged_groups, key_class, label_sets
from services.gateway.public import OPEN_HANDOFFS_LISTED

RATE = 10.0
SECONDS = 120.0
WINDOW = 300
TURN_BYTES = 1000.0
WEEK = 7 * 86400
PROCESSES = ("gateway-0", "gateway-0.dapr", "redis")
REPLICA_GROUP = "c5ede4f1-b837-434c-a6e1-2d32d69ba5ab"
GONE_REPLICA_GROUP = "0b1c2d3e-0000-4000-8000-000000000000"


async def never_sent(text: str) -> tuple[int, str | None]:
    raise AssertionError("the verdicts never send")


def sample(at: float, sent: int, rss: float = 100.0, live: int = 250) -> Sample:
    return Sample(
        at=at,
        sent=sent,
        rss_mb=dict.fromkeys(PROCESSES, rss),
        cpu_seconds=dict.fromkeys(PROCESSES, sent * 0.01),
        used_memory_mb=10.0,
        streams_mb=1.0,
        stream_entries={"chat.answered": sent, "live.chat.answered": live},
    )


def census(turns: int, *classes: KeyClass, extra: float = 0.0) -> Census:
    """Turn records (one per turn, 1 KB, a 7-day TTL), the durable and live streams, the capped index of
    open handoffs; used_memory is what the classes hold plus 5 MB of Redis' own and `extra`."""
    found = {
        "gateway||turn:<uuid>": KeyClass("gateway||turn:<uuid>", "hash", turns, 0, turns * TURN_BYTES, WEEK),
        "chat.answered": KeyClass("chat.answered", "stream", 1, 0, turns * 500.0, -1),
        "live.chat.answered": KeyClass("live.chat.answered", "stream", 1, 0, 250 * 500.0, -1),
        "gateway||handoffs:open": KeyClass("gateway||handoffs:open", "hash", 1, 1, 3000.0, -1),
        **{c.name: c for c in classes},
    }
    held = sum(c.bytes for c in found.values())
    return Census(found, used_memory=int(held + 5 * 2**20 + extra))


def healthy() -> SoakRun:
    return SoakRun(
        rate=RATE,
        capacity=RATE / 0.6,
        seconds=SECONDS,
        refusals=Refusals(never_sent),
        before=sample(0.0, 0, live=0),
        samples=[sample(30.0, 300), sample(60.0, 600), sample(90.0, 900), sample(120.0, 1200)],
        windows=[Window(latencies=[40.0] * WINDOW, sent=WINDOW) for _ in range(4)],
        census_before=census(0),
        census_after=census(1200),
        pending_before=[
            GroupPending("chat.requested", "nlp", 0, "1-0", False),
            GroupPending("live.chat.answered", REPLICA_GROUP, 0, "1-0", False),
            GroupPending("live.chat.answered", GONE_REPLICA_GROUP, 3, "1-0", True),
        ],
        pending_after=[
            GroupPending("chat.requested", "nlp", 0, "9-0", False),
            GroupPending("live.chat.answered", REPLICA_GROUP, 0, "9-0", False),
            GroupPending("live.chat.answered", GONE_REPLICA_GROUP, 3, "1-0", True),
        ],
        scrape_start=Scrape({"gateway-0": 87, "gateway-0.dapr": 132}, 1000.0),
        scrape_end=Scrape({"gateway-0": 87, "gateway-0.dapr": 133}, 1000.0 + 900 * 15.8),
        capped_entries={"gateway||handoffs:open": 68},
    )


def failing(run: SoakRun) -> set[str]:
    return {name for name, (ok, _) in judge(run).criteria.items() if not ok}


def test_a_healthy_run_passes_every_criterion() -> None:
    verdicts = judge(healthy())

    assert set(verdicts.criteria) == {
        "turns",
        "load",
        "rss",
        "redis_live_streams",
        "redis_unbounded",
        "redis_overhead",
        "pending",
        "metric_series",
    }
    assert failing(healthy()) == set()
    assert summary(healthy(), verdicts)["passed"] is True


@pytest.mark.parametrize(("lost", "duplicated"), [(1, 0), (0, 1)])
def test_one_lost_or_duplicated_turn_fails(lost: int, duplicated: int) -> None:
    run = dataclasses.replace(healthy(), lost=lost, duplicated=duplicated)

    assert failing(run) == {"turns"}
    assert summary(run, judge(run))["passed"] is False


def test_refusals_above_a_thousandth_fail_the_load() -> None:
    run = healthy()
    run.windows[0].failed = 1  # 1 of 1,200: under 0.1 %, and 99.9 % of the rate accepted
    assert "load" not in failing(run)

    run.windows[0].failed = 2
    assert failing(run) == {"load"}


def test_an_accepted_rate_below_99_percent_of_the_offered_fails_the_load() -> None:
    run = dataclasses.replace(healthy(), rate=RATE / 0.98)

    assert "load" in failing(run)


def test_rss_growth_of_ten_percent_fails_and_redis_is_not_judged_by_rss() -> None:
    grown = healthy()
    grown.samples[-1].rss_mb["redis"] = 300.0
    grown.samples[-1].rss_mb["gateway-0"] = 109.9
    assert failing(grown) == set()

    grown.samples[-1].rss_mb["gateway-0.dapr"] = 110.0
    verdicts = judge(grown)
    assert failing(grown) == {"rss"}
    assert "gateway-0.dapr +10.0%" in verdicts.criteria["rss"][1]


def test_a_key_class_without_a_ttl_that_grows_with_turns_fails() -> None:
    steady = KeyClass("aggshard:<date>", "hash", 2, 2, 2000.0, -1)
    grown = dataclasses.replace(steady, count=1200, bytes=2000.0 + 1200 * 40)
    run = dataclasses.replace(
        healthy(),
        census_before=census(0, steady),
        census_after=census(1200, grown),
    )

    assert failing(run) == {"redis_unbounded"}
    assert "aggshard:<date> +40.00 B/turn" in judge(run).criteria["redis_unbounded"][1]


def test_a_key_class_without_a_ttl_that_does_not_grow_passes() -> None:
    steady = KeyClass("knowledgestore||item:<id>", "hash", 50, 50, 90_000.0, -1)
    run = dataclasses.replace(healthy(), census_before=census(0, steady), census_after=census(1200, steady))

    assert failing(run) == set()


def test_the_capped_index_fails_only_over_its_cap() -> None:
    assert CAPPED == {"gateway||handoffs:open": OPEN_HANDOFFS_LISTED}
    at_cap = dataclasses.replace(healthy(), capped_entries={"gateway||handoffs:open": OPEN_HANDOFFS_LISTED})
    assert failing(at_cap) == set()

    over = dataclasses.replace(at_cap, capped_entries={"gateway||handoffs:open": OPEN_HANDOFFS_LISTED + 1})
    assert failing(over) == {"redis_unbounded"}


def test_memory_no_key_class_explains_fails_over_eight_megabytes() -> None:
    within = dataclasses.replace(healthy(), census_after=census(1200, extra=7.9 * 2**20))
    assert failing(within) == set()

    leaking = dataclasses.replace(healthy(), census_after=census(1200, extra=8.1 * 2**20))
    assert failing(leaking) == {"redis_overhead"}


def test_a_live_stream_past_rate_x_entries_per_chat_x_30_seconds_fails() -> None:
    # 1 entry per chat at 10 chats/s: bound 10 x 1 x 30 s x 1.5 + 100 = 550 entries
    run = healthy()
    run.samples[-1].stream_entries["live.chat.answered"] = 550
    assert failing(run) == set()

    run.samples[-1].stream_entries["live.chat.answered"] = 551
    assert failing(run) == {"redis_live_streams"}


def test_entries_per_chat_come_from_entries_added_when_the_durable_stream_is_at_its_bound() -> None:
    # A Redis that kept earlier runs' streams: chat.answered no longer grows in length (trimmed), but
    # Redis' entries-added still counts one entry per chat, so the live bound stays 550
    run = healthy()
    for s in run.samples:
        s.stream_entries["chat.answered"] = 100_000
        s.stream_added["chat.answered"] = 500_000 + s.sent
    run.samples[-1].stream_entries["live.chat.answered"] = 550
    assert failing(run) == set()

    run.samples[-1].stream_entries["live.chat.answered"] = 551
    assert failing(run) == {"redis_live_streams"}


def test_the_first_minute_of_a_live_stream_is_not_judged() -> None:
    run = healthy()
    run.samples[0].stream_entries["live.chat.answered"] = 5000

    assert failing(run) == set()


def test_pending_entries_after_the_drain_fail_in_a_durable_or_running_replicas_group() -> None:
    for index in (0, 1):
        run = healthy()
        group = run.pending_after[index]
        run.pending_after[index] = dataclasses.replace(group, pending=1)
        assert failing(run) == {"pending"}, group

    backlog = healthy()
    backlog.pending_after[0] = dataclasses.replace(backlog.pending_after[0], undelivered=True)
    assert failing(backlog) == {"pending"}


def test_groups_of_replicas_that_took_no_delivery_are_reported_apart() -> None:
    run = healthy()

    judged = judged_groups(run.pending_before, run.pending_after)

    assert [g.group for g in judged] == ["nlp", REPLICA_GROUP]
    assert "1 per-replica groups without a delivery during the soak (3 pending" in "\n".join(
        judge(run).details
    )


def test_more_than_ten_new_label_sets_in_a_process_fails() -> None:
    run = healthy()
    run.scrape_end = Scrape({"gateway-0": 97, "gateway-0.dapr": 133}, run.scrape_end.state_calls)
    assert failing(run) == set()

    run.scrape_end = Scrape({"gateway-0": 98, "gateway-0.dapr": 133}, run.scrape_end.state_calls)
    assert failing(run) == {"metric_series"}


def test_no_scrape_at_all_fails_the_series_criterion() -> None:
    run = dataclasses.replace(healthy(), scrape_start=Scrape({}, 0.0), scrape_end=Scrape({}, 0.0))

    assert failing(run) == {"metric_series"}


def test_figures_for_the_sizing() -> None:
    figures = judge(healthy()).figures

    assert figures["state_calls_per_chat"] == pytest.approx(15.8)
    assert figures["cpu_ms_per_chat"]["gateway-0"] == pytest.approx(10.0)
    # the turn records at their bound: 1 a turn x 10/s x 7 d x 1 KB, with the durable stream's 3 h
    # (1 entry a turn x 10/s x 10,800 s x 500 B) and what the live stream holds now
    turns = RATE * WEEK * TURN_BYTES
    stream = RATE * 3 * 3600 * 500.0
    now = 250 * 500.0
    assert figures["redis_bound_gib"] == pytest.approx((turns + stream + now) / 2**30)


def test_the_summary_gives_the_sizing_its_latency() -> None:
    run = healthy()
    run.windows[0].latencies = [10.0] * WINDOW

    assert summary(run, judge(run))["p50_ms"] == 40.0


@pytest.mark.parametrize(
    ("key", "cls"),
    [
        ("gateway||turn:5f0c1a7e-3b2d-4c1e-9a8b-0123456789ab", "gateway||turn:<uuid>"),
        ("evaluator||aggshard:evaluator-0:2026-12-05", "evaluator||aggshard:evaluator-<n>:<date>"),
        ("gateway||ratelimit:user:local-user:29555720:3", "gateway||ratelimit:user:local-user:<hex>:<n>"),
        ("dialogue||llmcache:9f86d081884c7d659a2feaa0c55ad015", "dialogue||llmcache:<hex>"),
        ("knowledgestore||item:faq-password-reset:v2", "knowledgestore||item:<id>:v2"),
        ("chat.answered", "chat.answered"),
        ("gateway||handoffs:open", "gateway||handoffs:open"),
    ],
)
def test_key_classes_replace_ids_dates_numbers_and_digests(key: str, cls: str) -> None:
    assert key_class(key) == cls


def test_a_histogram_is_one_label_set_and_state_calls_are_summed() -> None:
    exposition = "\n".join(
        [
            "# HELP http_seconds time",
            'http_seconds_bucket{route="/v1/chat",le="0.1"} 3',
            'http_seconds_bucket{route="/v1/chat",le="+Inf"} 4',
            'http_seconds_sum{route="/v1/chat"} 0.2',
            'http_seconds_count{route="/v1/chat"} 4',
            'http_seconds_count{route="/healthz"} 9',
            'dapr_component_state_latencies_count{operation="get"} 10',
            'dapr_component_state_latencies_count{operation="set"} 5.5',
        ]
    )

    assert label_sets(exposition) == (4, 15.5)
