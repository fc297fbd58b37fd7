"""The month-end run on moto: statements, reports, the event, and running once and in order."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from pulse import bootstrap
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.bootstrap import month_end
from pulse.core.runs import RunInProgress
from pulse.money.ledger import Kind, LedgerEntry
from pulse.money.month_end import MonthOrderError, run_month_end
from pulse.money.payout import CSV_FIELDS
from pulse_cli.lambdas import function_environment, invoke
from pulse_cli.template import Stack
from pulse_local.apigw import rest_event

Events = Callable[[], list[dict[str, Any]]]


def _book(
    stack: Stack, month: str, creator: str, micros: int, kind: Kind = "revenue", entry: str | None = None
) -> None:
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    entry_id = entry or f"{kind}-{month}-{creator}-{micros}"
    recorded, _ = ledger.record(
        [
            LedgerEntry(
                kind,
                entry_id,
                "US",
                creator,
                month,
                month,
                micros,
                10 if kind == "revenue" else 0,
                "test",
                {},
            )
        ]
    )
    assert recorded


def _payout(stack: Stack, month: str) -> dict[str, Any]:
    return invoke(stack, "PayoutFunction", {"month": month, "markets": ["US"]})["runs"][0]  # type: ignore[no-any-return]


def _report(s3: Any, stack: Stack, month: str, name: str) -> str:
    key = f"payouts/market=US/month={month}/{name}"
    return s3.get_object(Bucket=stack.name_of("ReportsBucket"), Key=key)["Body"].read().decode()  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _fresh_deps() -> None:
    bootstrap.reset()


def test_a_month_end_writes_statements_reports_and_the_event(
    stack: Stack, s3: Any, bus_events: Events
) -> None:
    _book(stack, "2026-10", "big", 150_000_015)
    _book(stack, "2026-10", "big", -15, kind="adjustment")
    _book(stack, "2026-10", "small", 1_000_001)
    _book(stack, "2026-10", "clawed", -3_000_000, kind="adjustment")
    summary = _payout(stack, "2026-10")
    assert summary["creators"] == 3
    assert summary["statuses"] == {"payable": 1, "below_minimum": 1, "negative_balance": 1}
    totals = summary["totals"]
    assert totals["gross_revenue_micros"] == 151_000_016
    assert totals["net_revenue_micros"] == totals["creator_share_micros"] + totals["platform_share_micros"]
    assert all(summary["invariants"].values())
    rows = list(csv.DictReader(io.StringIO(_report(s3, stack, "2026-10", "statements.csv"))))
    assert [r["creator_id"] for r in rows] == ["big", "clawed", "small"]
    assert tuple(rows[0]) == CSV_FIELDS
    big = rows[0]
    assert (
        big["net_revenue_micros"],
        big["creator_share_micros"],
        big["payable_micros"],
        big["payable_minor"],
        big["closing_balance_micros"],
        big["status"],
    ) == ("150000000", "75000000", "75000000", "7500", "0", "payable")
    assert rows[1]["closing_balance_micros"] == "-1500000"
    assert json.loads(_report(s3, stack, "2026-10", "summary.json"))["totals"] == totals
    (event,) = [e for e in bus_events() if e["detail-type"] == "PayoutRunCompleted"]
    assert event["detail"]["totals"] == totals
    response = invoke(
        stack, "ApiFunction", rest_event("GET", "/v1/creators/big/statements/2026-10?market=US")
    )
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["payable_minor"] == 7500


def test_a_second_run_returns_the_first_result_and_writes_nothing(
    stack: Stack, s3: Any, dynamodb: Any
) -> None:
    _book(stack, "2026-10", "c1", 200_000_000)
    first = _payout(stack, "2026-10")
    items = dynamodb.scan(TableName=stack.name_of("StateTable"))["Items"]
    csv_before = _report(s3, stack, "2026-10", "statements.csv")
    again = _payout(stack, "2026-10")
    assert again["duplicate"] is True
    assert {k: v for k, v in again.items() if k != "duplicate"} == {
        k: v for k, v in first.items() if k != "duplicate"
    }
    assert dynamodb.scan(TableName=stack.name_of("StateTable"))["Items"] == items
    assert _report(s3, stack, "2026-10", "statements.csv") == csv_before


def test_a_concurrent_run_is_refused_while_the_first_holds_the_month(stack: Stack) -> None:
    _book(stack, "2026-10", "c1", 200_000_000)
    with function_environment(stack, "PayoutFunction"):
        deps = month_end()
        entered, release = threading.Event(), threading.Event()
        original = deps.store.close

        def slow_close(market: str, month: str) -> None:
            entered.set()
            release.wait(10)
            original(market, month)

        deps.store.close = slow_close  # type: ignore[method-assign]
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.append(run_month_end("US", "2026-10", deps)))
        worker.start()
        entered.wait(10)
        with pytest.raises(RunInProgress):
            run_month_end("US", "2026-10", deps)
        release.set()
        worker.join(10)
        assert results[0].summary.creators == 1
        assert run_month_end("US", "2026-10", deps).duplicate is True
        deps.store.close = original  # type: ignore[method-assign]


def test_months_close_in_order_and_late_revenue_lands_in_the_next_one(stack: Stack) -> None:
    _book(stack, "2026-07", "c1", 80_000_000)
    assert _payout(stack, "2026-07")["statuses"]["below_minimum"] == 1
    with pytest.raises(MonthOrderError):
        _payout(stack, "2026-09")
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    assert ledger.last_closed("US") == "2026-07"
    # late revenue for July, after it closed, is booked into August
    ledger.record(
        [LedgerEntry("revenue", "late-1", "US", "c1", "2026-08", "2026-07", 30_000_000, 1, "test", {})]
    )
    august = _payout(stack, "2026-08")
    # carried 40.00 + this month's share 15.00 = 55.00 >= 50.00: paid once, all of it
    assert august["totals"]["opening_balance_micros"] == 40_000_000
    assert august["totals"]["payable_micros"] == 55_000_000
    assert august["totals"]["closing_balance_micros"] == 0
    assert _payout(stack, "2026-09")["creators"] == 0


def test_bad_requests_are_refused(stack: Stack) -> None:
    with pytest.raises(ValueError, match="not over yet"):
        invoke(stack, "PayoutFunction", {"month": bootstrap.clock()().strftime("%Y-%m")})
    with pytest.raises(ValueError, match="expected"):
        invoke(stack, "PayoutFunction", {"month": "2026-10", "extra": 1})
    with pytest.raises(ValueError, match="not programme markets"):
        invoke(stack, "PayoutFunction", {"month": "2026-10", "markets": ["ZZ"]})


def test_every_statement_has_a_document_a_creator_can_read_through_a_short_lived_link(
    stack: Stack, s3: Any
) -> None:
    _book(stack, "2026-10", "big", 150_000_015)
    _book(stack, "2026-10", "big", -15, kind="adjustment")
    _book(stack, "2026-10", "small", 1_000_001)
    _book(stack, "2026-10", "clawed", -3_000_000, kind="adjustment")
    _payout(stack, "2026-10")
    rows = {
        r["creator_id"]: r
        for r in csv.DictReader(io.StringIO(_report(s3, stack, "2026-10", "statements.csv")))
    }
    for creator, row in rows.items():
        written = json.loads(_report(s3, stack, "2026-10", f"statements/{creator}.json"))
        assert {name: str(written[name]) for name in CSV_FIELDS} == row
    small = json.loads(_report(s3, stack, "2026-10", "statements/small.json"))
    assert small["payout"]["reason"].startswith("Nothing is paid")
    assert small["videos"] == [
        {"video_id": "", "category": "", "impressions": 10, "revenue_micros": 1_000_001}
    ]
    clawed = json.loads(_report(s3, stack, "2026-10", "statements/clawed.json"))
    assert clawed["status"] == "negative_balance"
    assert clawed["adjustments"][0]["revenue_micros"] == -3_000_000

    def document(path: str) -> tuple[int, dict[str, Any]]:
        response = invoke(stack, "ApiFunction", rest_event("GET", path))
        return response["statusCode"], json.loads(response["body"])

    status, answer = document("/v1/creators/small/statements/2026-10/document?market=US")
    assert (status, answer["expires_in"]) == (200, 300)
    assert "/payouts/market%3DUS/month%3D2026-10/statements/small.json?" in answer["url"] or (
        "/payouts/market=US/month=2026-10/statements/small.json?" in answer["url"]
    )
    assert "X-Amz-Expires=300" in answer["url"]
    status, answer = document("/v1/creators/nobody/statements/2026-10/document?market=US")
    assert (status, answer["error"]["code"]) == (404, "document_not_found")
    assert document("/v1/creators/small/statements/2026-10/document")[0] == 400  # the market is required
