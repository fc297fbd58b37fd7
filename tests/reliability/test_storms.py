"""Delivery storms (spec §3, §5): S3 notifications and schedules arrive at least once, in any order.

Every kind of event each function receives is delivered once, in order; then 1,000 more deliveries,
drawn from the same events at random and in random order, must change nothing at all: not an
item of the state table, not a report, not an event on the bus.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pulse import bootstrap
from pulse.aws.eligibility_table import DynamoEligibilityStore
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.aws.list_table import DynamoListStore
from pulse.money.earnings import MonthLines
from pulse.money.ledger import Totals
from pulse_cli.lambdas import invoke, s3_put_event
from pulse_cli.template import Stack
from pulse_cli.uploads import Uploaded, upload_batch
from pulse_local.earnings_check import aggregates_equal_entries
from tests.factories import REVENUE_COLUMNS, adjustment, creator, revenue, video
from tests.reliability.state import fresh_account, lists_content, report_objects, table_items

STORM = 1_000
Events = Callable[[], list[dict[str, Any]]]


@dataclass(frozen=True)
class Delivery:
    """One event as its source sends it, to the function the template routes it to."""

    name: str
    function: str
    event: dict[str, Any]

    def __call__(self, stack: Stack) -> Any:
        return invoke(stack, self.function, self.event)


def _s3(stack: Stack, uploaded: Uploaded, sequencer: str) -> Delivery:
    bucket = stack.name_of("IngestBucket")
    (route,) = [r for r in stack.s3_routes() if r.matches(bucket, uploaded.key)]
    event = s3_put_event(bucket, uploaded.key, uploaded.size, uploaded.etag, sequencer)
    return Delivery(uploaded.key, route.function, event)


def _scheduled(stack: Stack, function: str) -> Delivery:
    """The schedule's own input, as the template gives it to EventBridge Scheduler."""
    (event,) = [
        e for e in stack.functions[function]["Properties"]["Events"].values() if e["Type"] == "ScheduleV2"
    ]
    return Delivery(f"schedule:{function}", function, json.loads(event["Properties"]["Input"]))


def _state(stack: Stack) -> tuple[list[str], dict[str, bytes]]:
    """Every item of the state table and every report object, as stored."""
    return sorted(json.dumps(i, sort_keys=True) for i in table_items(stack)), report_objects(stack)


@pytest.fixture
def deliveries(stack: Stack, s3: Any) -> list[Delivery]:
    """Each kind of event every function receives, in the order they first arrive."""
    bootstrap.reset()
    bucket = stack.name_of("IngestBucket")
    sequencer = iter(f"{n:016X}" for n in range(1, 1_000))

    def batch(folder: str, parts: dict[str, list[dict[str, Any]]], **kwargs: Any) -> Delivery:
        return _s3(stack, upload_batch(s3, bucket, folder, parts, **kwargs), next(sequencer))

    creators = [creator(f"c{i}") for i in range(12)]
    gb_creators = [creator(f"g{i}", market="GB") for i in range(4)]
    videos = [video(f"{c}{i:03d}", f"c{i % 12}", c, views=i) for c in ("pets", "music") for i in range(200)]
    # The first version of the US lists is "0000000001": revenue is reported against it.
    listed = [f"pets{i:03d}" for i in range(192, 200)]
    rows = [revenue(f"r{i}", listed[i % 8], "0000000001", 1_000 * i + 7) for i in range(60)]
    out = [
        batch("creators/market=US/snapshot=2026-11-25/", {"p.jsonl": creators[:10]}, snapshot="2026-11-25"),
        batch(
            "creators/market=US/snapshot=2026-11-26/",
            {"p.csv": creators},
            snapshot="2026-11-26",
            columns=list(creators[0]),
        ),
        batch("creators/market=GB/snapshot=2026-11-26/", {"p.jsonl.gz": gb_creators}, snapshot="2026-11-26"),
        batch("videos/market=US/snapshot=2026-11-27/", {"p.jsonl.gz": videos}, snapshot="2026-11-27"),
        batch(
            "videos/market=US/snapshot=2026-11-26/", {"p.jsonl": videos[:100]}, snapshot="2026-11-26"
        ),  # late
        batch("revenue/market=US/date=2026-11-27/b1/", {"p.csv.gz": rows[:40]}, columns=REVENUE_COLUMNS),
        batch("revenue/market=US/date=2026-11-27/b2/", {"p.jsonl": rows[30:]}),  # overlaps b1
        batch(
            "revenue/market=US/date=2026-10-31/b3/",
            {"p.jsonl": [revenue("late", listed[0], "0000000001", 5, served_date="2026-10-31")]},
        ),
        batch(
            "adjustments/market=US/ivt-1/",
            {"a.jsonl": [adjustment("a1", "c11", -2_500), adjustment("a2", "c10", 40, month="2026-10")]},
        ),
        batch(
            "adjustments/market=US/bad/",
            {"a.jsonl": [adjustment("a3", "c1", 1)]},
            manifest_rows={"a.jsonl": 2},
        ),  # rejected
        _scheduled(stack, "ListsRefreshFunction"),
        _scheduled(stack, "PayoutFunction"),  # October, every launched market
        Delivery("payout:US:2026-10", "PayoutFunction", {"month": "2026-10", "markets": ["US"]}),
    ]
    assert len({d.function for d in out}) == 6  # every asynchronous function (the API has its own tests)
    return out


def test_a_storm_of_redeliveries_in_any_order_changes_nothing(
    stack: Stack, bus_events: Events, deliveries: list[Delivery]
) -> None:
    first = {delivery.name: delivery(stack) for delivery in deliveries}
    assert first["revenue/market=US/date=2026-11-27/b2/_manifest.json"]["batches"][0]["rows_accepted"] == 20
    assert first["schedule:ListsRefreshFunction"]["markets"][-1]["published"]["unchanged"] is True  # US
    before = _state(stack)
    announced = len(bus_events())
    assert announced >= len(deliveries)  # every batch, the lists, the month ends
    rng = random.Random(20261127)
    storm = [rng.choice(deliveries) for _ in range(STORM)]
    for delivery in storm:
        result = delivery(stack)
        _assert_replayed(delivery, result)
    assert len({d.name for d in storm}) == len(deliveries)
    after = _state(stack)
    assert after[0] == before[0], "a re-delivery changed the state table"
    assert after[1] == before[1], "a re-delivery changed a report"
    assert len(bus_events()) == announced, "a re-delivery announced something again"


def _assert_replayed(delivery: Delivery, result: Any) -> None:
    """Each function says it recognised the delivery as one it had done."""
    if "batches" in result:
        assert all(b.get("duplicate") is True for b in result["batches"]), (delivery.name, result)
    elif "runs" in result:
        assert all(r["duplicate"] is True for r in result["runs"]), (delivery.name, result)
    else:
        assert all(m["published"] is None or m["published"]["unchanged"] for m in result["markets"]), result


# --- first deliveries in any order ---------------------------------------------------------------

ORDERS = 6


def _eligibility(stack: Stack) -> dict[str, Any]:
    store = DynamoEligibilityStore(stack.name_of("StateTable"))
    us = store.current("US", [f"c{i}" for i in range(12)])
    gb = store.current("GB", [f"g{i}" for i in range(4)])
    return {**{f"US:{k}": v for k, v in us.items()}, **{f"GB:{k}": v for k, v in gb.items()}}


def _ledger(stack: Stack) -> dict[tuple[str, str], Totals]:
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    return {(m, f"c{i}"): ledger.totals("US", m, f"c{i}") for m in ("2026-10", "2026-11") for i in range(12)}


def _earnings(stack: Stack) -> dict[tuple[str, str], MonthLines]:
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    return {
        (m, f"c{i}"): ledger.month_lines("US", m, f"c{i}") for m in ("2026-10", "2026-11") for i in range(12)
    }


def test_batches_that_arrive_in_any_order_leave_the_same_state(stack: Stack, s3: Any) -> None:
    """Snapshots of a dataset may arrive newest first, and ledger batches in any order: the
    eligibility, the published lists and every creator's totals come out the same."""
    rng = random.Random(7)
    bucket = stack.name_of("IngestBucket")
    outcomes = []
    delivered = 0
    for order in range(ORDERS):
        fresh_account(stack)
        sequencer = iter(f"{n:016X}" for n in range(1, 1_000))

        def batch(folder: str, rows: list[dict[str, Any]], snapshot: str | None = None) -> Delivery:
            uploaded = upload_batch(s3, bucket, folder, {"p.jsonl": rows}, snapshot=snapshot)
            return _s3(stack, uploaded, next(sequencer))  # noqa: B023  # called within this iteration

        def shuffled(group: list[Delivery]) -> list[Delivery]:
            return group if order == 0 else rng.sample(group, len(group))  # noqa: B023

        creators = [
            batch(
                "creators/market=US/snapshot=2026-11-24/",
                [creator(f"c{i}", standing="banned") for i in range(12)],
                "2026-11-24",
            ),
            batch(
                "creators/market=US/snapshot=2026-11-25/",
                [creator(f"c{i}", followers=10) for i in range(6)],
                "2026-11-25",
            ),
            batch(
                "creators/market=US/snapshot=2026-11-26/", [creator(f"c{i}") for i in range(12)], "2026-11-26"
            ),
            batch(
                "creators/market=GB/snapshot=2026-11-26/",
                [creator(f"g{i}", market="GB") for i in range(4)],
                "2026-11-26",
            ),
        ]
        videos = [
            batch(
                f"videos/market=US/snapshot={day}/",
                [
                    video(f"{c}{i:03d}", f"c{i % 12}", c, views=i * shift % 200)
                    for c in ("pets", "music")
                    for i in range(200)
                ],
                day,
            )
            for day, shift in (("2026-11-25", 7), ("2026-11-26", 3), ("2026-11-27", 1))
        ]
        for delivery in [*shuffled(creators), *shuffled(videos)]:
            delivery(stack)
        current = DynamoListStore(stack.name_of("StateTable")).current("US")
        assert current is not None
        listed = [f"pets{i:03d}" for i in range(192, 200)]
        rows = [
            revenue(
                f"r{i}", listed[i % 8], current.version, 1_000 * i + 7, served_date=f"2026-1{i % 2}-2{i % 9}"
            )
            for i in range(90)
        ]
        ledger = [
            batch("revenue/market=US/date=2026-11-27/b1/", rows[:50]),
            batch("revenue/market=US/date=2026-11-27/b2/", rows[30:]),  # overlaps b1
            batch("revenue/market=US/date=2026-11-27/b3/", rows[10:20]),  # all in b1
            batch(
                "adjustments/market=US/ivt-1/",
                [adjustment("a1", "c11", -2_500), adjustment("a2", "c10", 40, month="2026-10")],
            ),
            batch(
                "adjustments/market=US/ivt-2/", [adjustment("a1", "c11", -2_500), adjustment("a3", "c9", -1)]
            ),
        ]
        for delivery in shuffled(ledger):
            delivery(stack)
        delivered += len(creators) + len(videos) + len(ledger)
        creator_ids = [f"c{i}" for i in range(12)]
        assert aggregates_equal_entries(stack, "US", ("2026-10", "2026-11"), creator_ids)
        outcomes.append((_eligibility(stack), lists_content(stack), _ledger(stack), _earnings(stack)))
        assert outcomes[-1] == outcomes[0], f"order {order} left another state"
    assert sum(t.gross_micros for t in outcomes[0][2].values()) == sum(1_000 * i + 7 for i in range(90))
    assert delivered == ORDERS * 12
