"""A creator's earnings on moto (spec §8.2): revenue and adjustments ingested, replayed and booked
late; an open month equals its entries, a closed one its statements (the check `make demo` runs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pulse import bootstrap
from pulse.aws.list_table import DynamoListStore
from pulse_cli.lambdas import invoke
from pulse_cli.template import Stack
from pulse_cli.uploads import upload_batch
from pulse_local.apigw import rest_event
from pulse_local.earnings_check import closed_month_equals_statements, open_month_equals_entries
from tests.factories import REVENUE_COLUMNS, adjustment, creator, revenue, video

Deliver = Callable[..., list[Any]]


@pytest.fixture(autouse=True)
def _fresh_deps() -> None:
    bootstrap.reset()


def _get(stack: Stack) -> Callable[[str], tuple[int, Any]]:
    def get(path: str) -> tuple[int, Any]:
        response = invoke(stack, "ApiFunction", rest_event("GET", path))
        return response["statusCode"], json.loads(response["body"])

    return get


def _revenue(s3: Any, stack: Stack, batch: str, rows: list[dict[str, Any]]) -> Any:
    return upload_batch(
        s3,
        stack.name_of("IngestBucket"),
        f"revenue/market=US/date=2026-11-27/{batch}/",
        {"part-0000.csv.gz": rows},
        columns=REVENUE_COLUMNS,
    )


def test_earnings_equal_the_entries_while_open_and_the_statements_once_closed(
    stack: Stack, s3: Any, deliver: Deliver, upload_snapshot: Callable[..., Any]
) -> None:
    upload_snapshot("creators", "2026-11-26", [creator(f"on{i}") for i in range(3)] + [creator("idle")])
    upload_snapshot(
        "videos",
        "2026-11-27",
        [video(f"p{i:02d}", f"on{i % 3}", "pets", views=i) for i in range(100)],  # p96-p99 listed
    )
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    v = current.version
    rows = [
        revenue(
            f"r{i}",
            f"p{99 - i % 4:02d}",
            v,
            1_000_003 * (i + 1),
            campaign_id=f"k{i % 3}",
            impressions=i + 1,
            served_date="2026-10-27",
        )
        for i in range(30)
    ]
    deliver(_revenue(s3, stack, "b1", rows))
    deliver(_revenue(s3, stack, "b2", rows[:10]))  # a replay across batches: counted once
    adjustments = [
        adjustment("a1", "on0", -2_500_000, month="2026-10"),
        adjustment("a2", "on1", 700, reason="make-good", month="2026-10"),
    ]
    deliver(
        upload_batch(
            s3, stack.name_of("IngestBucket"), "adjustments/market=US/ivt/", {"a.jsonl": adjustments}
        )
    )
    get = _get(stack)
    assert open_month_equals_entries(stack, get, "US", "2026-10") == 3

    status, answer = get("/v1/creators/on1/earnings/2026-10?market=US")
    assert (status, answer["closed"], answer["currency"], answer["late_revenue_micros"]) == (
        200,
        False,
        "USD",
        0,
    )
    assert answer["adjustments"] == [{"adjustment_id": "a2", "revenue_micros": 700, "reason": "make-good"}]
    revenues = [(-line["revenue_micros"], line["video_id"]) for line in answer["videos"]]
    assert revenues == sorted(revenues)
    assert [(line["video_id"], line["category"]) for line in answer["videos"]] == [("p97", "pets")]

    runs = invoke(stack, "PayoutFunction", {"month": "2026-10", "markets": ["US"]})["runs"]
    assert runs[0]["creators"] == 3
    deliver(
        _revenue(s3, stack, "late", [revenue("late1", "p97", v, 5_000_000, served_date="2026-10-30")])
    )  # into 2026-11

    assert closed_month_equals_statements(stack, get, "US", "2026-10") == 3
    assert open_month_equals_entries(stack, get, "US", "2026-11") == 1
    status, late = get("/v1/creators/on1/earnings/2026-11?market=US")
    assert (status, late["late_revenue_micros"], late["gross_revenue_micros"], late["closed"]) == (
        200,
        5_000_000,
        5_000_000,
        False,
    )
    # a creator the market knows, with nothing that month; one it has never seen; bad input
    status, idle = get("/v1/creators/idle/earnings/2026-10?market=US")
    assert (status, idle["closed"], idle["gross_revenue_micros"], idle["videos"]) == (200, True, 0, [])
    assert get("/v1/creators/nobody/earnings/2026-10?market=US")[1]["error"]["code"] == "creator_not_found"
    assert get("/v1/creators/on1/earnings/2026-13?market=US")[0] == 400
    assert get("/v1/creators/on1/earnings/2026-10?market=XX")[1]["error"]["code"] == "unknown_market"
    assert get("/v1/creators/on1/earnings/2026-10?market=US&user=1")[0] == 400
