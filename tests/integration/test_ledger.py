"""Revenue and adjustments on moto: attribution by list version, exactly once, late booking."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from pulse.aws import clients
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.aws.list_table import DynamoListStore
from pulse.aws.market_markers import closed_key
from pulse.core.types import next_month
from pulse.money.ledger import LedgerEntry, Totals, booking_month
from pulse_cli.template import Stack
from pulse_cli.uploads import Uploaded, upload_batch
from tests.factories import (
    REVENUE_COLUMNS,
    adjustment,
    creator,
    revenue,
    video,
)

Deliver = Callable[..., list[Any]]


@pytest.fixture
def version(stack: Stack, upload_snapshot: Callable[..., dict[str, Any]]) -> str:
    """A US list version where p49 (creator on2) and p48 (creator on1) are listed."""
    upload_snapshot("creators", "2026-11-26", [creator("on1"), creator("on2")])
    upload_snapshot(
        "videos",
        "2026-11-27",
        [video(f"p{i:02d}", "on1" if i % 2 == 0 else "on2", "pets", views=i) for i in range(50)],
    )
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    return current.version


def _revenue(
    s3: Any, stack: Stack, batch: str, rows: list[dict[str, Any]], date: str = "2026-11-27"
) -> Uploaded:
    return upload_batch(
        s3,
        stack.name_of("IngestBucket"),
        f"revenue/market=US/date={date}/{batch}/",
        {"part-0000.csv.gz": rows},
        columns=REVENUE_COLUMNS,
    )


def _adjustments(s3: Any, stack: Stack, batch: str, rows: list[dict[str, Any]]) -> Uploaded:
    return upload_batch(
        s3, stack.name_of("IngestBucket"), f"adjustments/market=US/{batch}/", {"a.jsonl": rows}
    )


def _report(s3: Any, stack: Stack, dataset: str, batch: str) -> Any:
    key = f"ingest-reports/{dataset}/market=US/{batch}/report.json"
    return json.loads(s3.get_object(Bucket=stack.name_of("ReportsBucket"), Key=key)["Body"].read())


def _totals(stack: Stack, month: str, creator_id: str) -> Totals:
    return DynamoLedgerStore(stack.name_of("StateTable")).totals("US", month, creator_id)


def test_booking_months() -> None:
    assert next_month("2026-11") == "2026-12"
    assert next_month("2026-12") == "2027-01"
    assert booking_month("2026-11", None) == "2026-11"
    assert booking_month("2026-11", "2026-10") == "2026-11"
    assert booking_month("2026-11", "2026-11") == "2026-12"
    assert booking_month("2026-09", "2026-11") == "2026-12"


def test_revenue_is_attributed_through_the_list_version_it_was_served_under(
    stack: Stack, s3: Any, deliver: Deliver, version: str
) -> None:
    rows = [
        revenue("r1", "p49", version, 1_500_000),
        revenue("r2", "p49", version, 500_000, impressions=10),
        revenue("r3", "p48", version, 2_000_000),
        revenue("r4", "p10", version, 9_000_000),  # not on the list
        revenue("r5", "p49", "0000000999", 9_000_000),  # no such version
        revenue("r6", "p49", version, 1, currency="EUR"),  # wrong currency
        revenue("r1", "p49", version, 7),  # repeated in the batch
    ]
    deliver(_revenue(s3, stack, "b1", rows))
    report = _report(s3, stack, "revenue", "b1")
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (7, 3, 4)
    assert report["rejected_by_reason"] == {"not_on_list": 2, "currency_mismatch": 1, "duplicate_id": 1}
    assert report["outcome"]["revenue_micros_recorded"] == 4_000_000
    assert _totals(stack, "2026-11", "on2") == Totals(2_000_000, 0, 1010, 2)
    assert _totals(stack, "2026-11", "on1") == Totals(2_000_000, 0, 1000, 1)


def test_replays_and_repeats_across_batches_are_counted_once(
    stack: Stack, s3: Any, deliver: Deliver, version: str
) -> None:
    rows = [revenue(f"r{i}", "p49" if i % 2 else "p48", version, 1_000_000 + i) for i in range(120)]
    deliver(_revenue(s3, stack, "b1", rows))
    before = (_totals(stack, "2026-11", "on1"), _totals(stack, "2026-11", "on2"))
    deliver(_revenue(s3, stack, "b1", rows))  # the same batch uploaded again
    deliver(_revenue(s3, stack, "b2", [*rows[50:], revenue("new", "p48", version, 5)]))  # overlapping batch
    assert _report(s3, stack, "revenue", "b1")["rejected_by_reason"] == {"duplicate_row": 120}
    assert _report(s3, stack, "revenue", "b2")["rejected_by_reason"] == {"duplicate_row": 70}
    on1, on2 = _totals(stack, "2026-11", "on1"), _totals(stack, "2026-11", "on2")
    assert on2 == before[1]
    assert on1 == Totals(before[0].gross_micros + 5, 0, before[0].impressions + 1000, before[0].entries + 1)
    assert on1.gross_micros + on2.gross_micros == sum(1_000_000 + i for i in range(120)) + 5


def test_revenue_for_a_closed_month_is_booked_into_the_next_open_one(
    stack: Stack, s3: Any, deliver: Deliver, version: str, dynamodb: Any
) -> None:
    dynamodb.put_item(
        TableName=stack.name_of("StateTable"), Item={**closed_key("US"), "last_closed": {"S": "2026-11"}}
    )
    deliver(_revenue(s3, stack, "late", [revenue("r1", "p49", version, 3_000_000)]))
    assert _totals(stack, "2026-11", "on2") == Totals()
    assert _totals(stack, "2026-12", "on2") == Totals(3_000_000, 0, 1000, 1)
    assert _report(s3, stack, "revenue", "late")["outcome"]["booked_late"] == 1


def test_adjustments_are_signed_booked_and_counted_once(
    stack: Stack, s3: Any, deliver: Deliver, dynamodb: Any
) -> None:
    deliver(
        _adjustments(s3, stack, "ivt-1", [adjustment("a1", "on1", -250_000), adjustment("a2", "on1", 100)])
    )
    deliver(
        _adjustments(s3, stack, "ivt-2", [adjustment("a1", "on1", -250_000), adjustment("a3", "on2", -7)])
    )
    assert _totals(stack, "2026-11", "on1") == Totals(0, -249_900, 0, 2)
    assert _totals(stack, "2026-11", "on2") == Totals(0, -7, 0, 1)
    assert _report(s3, stack, "adjustments", "ivt-2")["rejected_by_reason"] == {"duplicate_row": 1}
    dynamodb.put_item(
        TableName=stack.name_of("StateTable"), Item={**closed_key("US"), "last_closed": {"S": "2026-11"}}
    )
    deliver(_adjustments(s3, stack, "ivt-3", [adjustment("a4", "on1", -1, month="2026-10")]))
    assert _totals(stack, "2026-12", "on1") == Totals(0, -1, 0, 1)


def test_a_month_closing_during_booking_fails_the_run_and_the_retry_books_into_the_next_month(
    stack: Stack, s3: Any, deliver: Deliver, version: str, dynamodb: Any
) -> None:
    table = stack.name_of("StateTable")

    def close_november_once(model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            clients.dynamodb().meta.events.unregister("before-call.dynamodb", close_november_once)
            dynamodb.put_item(TableName=table, Item={**closed_key("US"), "last_closed": {"S": "2026-11"}})

    uploaded = _revenue(s3, stack, "race", [revenue("r1", "p49", version, 42)])
    clients.dynamodb().meta.events.register("before-call.dynamodb", close_november_once)
    with pytest.raises(RuntimeError, match="closed"):
        deliver(uploaded, "0001")
    deliver(uploaded, "0001")  # Lambda's retry of the same notification
    assert _totals(stack, "2026-11", "on2") == Totals()
    assert _totals(stack, "2026-12", "on2") == Totals(42, 0, 1000, 1)


def test_a_creators_entries_of_a_month_can_be_listed_for_audit(
    stack: Stack, s3: Any, deliver: Deliver, version: str, dynamodb: Any
) -> None:
    deliver(_revenue(s3, stack, "b1", [revenue("r1", "p49", version, 10), revenue("r2", "p49", version, 20)]))
    items = dynamodb.query(
        TableName=stack.name_of("StateTable"),
        IndexName="ledger",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": {"S": "LEDGER#US#2026-11#on2"}},
    )["Items"]
    assert sorted((i["entry_id"]["S"], int(i["revenue_micros"]["N"])) for i in items) == [
        ("r1", 10),
        ("r2", 20),
    ]
    assert sum(int(i["revenue_micros"]["N"]) for i in items) == _totals(stack, "2026-11", "on2").gross_micros


def test_a_transaction_retried_after_it_went_through_is_counted_once_and_as_recorded(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore retries a timed-out TransactWriteItems whose first attempt committed: the retry
    finds this call's own entries (same writer), which are recorded, not duplicates."""
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    entries = [
        LedgerEntry("revenue", f"r{i}", "US", "c1", "2026-11", "2026-11", 10, 1, "revenue/b1/", {})
        for i in range(3)
    ]
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=7))
    assert ledger.record(entries[:2]) == (entries[:2], [])
    recorded, repeated = ledger.record(entries)  # the same writer: as if botocore had retried
    assert (sorted(e.entry_id for e in recorded), repeated) == (["r0", "r1", "r2"], [])
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=8))
    assert ledger.record(entries[:1]) == ([], entries[:1])  # anybody else: a duplicate
    assert _totals(stack, "2026-11", "c1") == Totals(30, 0, 3, 3)
