"""The earnings section of `make bench` (issue 16): AWS requests per earnings lookup through the
API's handler, and what the lines cost the ledger's writes, per revenue row.

- lookups: `GET /v1/creators/{id}/earnings/{month}` through `api.handler` on moto, for a hot
  creator's open month and its closed month, every AWS request counted;
- writes: a revenue batch of 500 rows (20 creators, one of them with half the rows; 200 listed
  videos, 12 campaigns) ingested by RevenueIngestFunction, invoked with the S3 notification of
  its manifest on moto, its TransactWriteItems requests and their items counted. "Before" is the
  transaction shape before the lines (a check, the entries, one update per distinct totals shard;
  `record()`'s grouping of then) computed on the same rows as attributed, not measured with the
  old code.
"""

from __future__ import annotations

import os
import random
import zlib
from collections import Counter
from typing import Any

from pulse_local.bench_api import api_module_on_moto

ROWS = 500


def _listed() -> dict[str, str]:
    """The list's 200 videos (category pets) and their creators: "hot" has half of them."""
    rng = random.Random(16)
    return {f"v{i:03d}": "hot" if i % 2 == 0 else f"c{rng.randrange(19)}" for i in range(200)}


def _revenue_rows(month: str, version: str) -> list[dict[str, Any]]:
    rng = random.Random(16)
    return [
        {
            "row_id": f"r{month}-{i:05d}",
            "served_date": f"{month}-27",
            "market": "US",
            "video_id": f"v{rng.randrange(200):03d}",
            "list_version": version,
            "campaign_id": f"k{rng.randrange(12)}",
            "impressions": 10,
            "revenue_micros": 1_000 + i,
            "currency": "USD",
        }
        for i in range(ROWS)
    ]


def _entries(rows: list[dict[str, Any]], listed: dict[str, str]) -> list[Any]:
    """The rows as the ingest books them (what the lines' writes are computed from)."""
    from pulse.money.ledger import LedgerEntry  # noqa: PLC0415

    return [
        LedgerEntry(
            "revenue",
            r["row_id"],
            "US",
            listed[r["video_id"]],
            r["served_date"][:7],
            r["served_date"][:7],
            r["revenue_micros"],
            r["impressions"],
            "bench",
            {"video_id": r["video_id"], "campaign_id": r["campaign_id"], "category": "pets"},
        )
        for r in rows
    ]


def _before(entries: list[Any], shards: int = 8) -> tuple[int, int]:
    """(transactions, items) of the shape before the lines, grouped by record()'s rule of then:
    entries + distinct totals + the check + one more must fit in 100, per call of 500 rows."""
    transactions = items = 0
    for start in range(0, len(entries), 500):
        group = 0
        totals: set[tuple[str, str, int]] = set()
        for e in entries[start : start + 500]:
            key = (e.month, e.creator_id, zlib.crc32(e.entry_id.encode()) % shards)
            if group + len(totals | {key}) + 2 > 100:
                transactions += 1
                items += group + len(totals) + 1
                group, totals = 0, set()
            group += 1
            totals.add(key)
        if group:
            transactions += 1
            items += group + len(totals) + 1
    return transactions, items


def _ingest_october(stack: Any, listed: dict[str, str], count_items: Any) -> tuple[str, list[dict[str, Any]]]:
    """Publish the list, then ingest October's batch through RevenueIngestFunction, invoked with
    its manifest's S3 notification, `count_items` counting its TransactWriteItems."""
    from pulse.aws import clients  # noqa: PLC0415
    from pulse.lists.ranking import Ranked  # noqa: PLC0415
    from pulse_cli.lambdas import route_object  # noqa: PLC0415
    from pulse_cli.uploads import upload_batch  # noqa: PLC0415
    from pulse_local.published import publish_all_active  # noqa: PLC0415

    ranked = [Ranked(i + 1, video, creator, 10_000 - i) for i, (video, creator) in enumerate(listed.items())]
    version = publish_all_active(stack, "US", {"pets": ranked}).version.version
    bucket = stack.name_of("IngestBucket")
    october = _revenue_rows("2026-10", version)
    uploaded = upload_batch(
        clients.s3(), bucket, "revenue/market=US/date=2026-10-27/b1/", {"part-0000.jsonl": october}
    )
    clients.dynamodb().meta.events.register("provide-client-params.dynamodb.TransactWriteItems", count_items)
    (report,) = route_object(
        stack, bucket, uploaded.key, size=uploaded.size, etag=uploaded.etag, sequencer="0000000000000001"
    )
    clients.dynamodb().meta.events.unregister(
        "provide-client-params.dynamodb.TransactWriteItems", count_items
    )
    assert report["batches"][0]["rows_accepted"] == ROWS, report
    return version, october


def earnings_counts() -> dict[str, Any]:
    from moto import mock_aws  # noqa: PLC0415

    from pulse import bootstrap  # noqa: PLC0415
    from pulse.aws import clients  # noqa: PLC0415
    from pulse.aws.ledger_table import DynamoLedgerStore  # noqa: PLC0415
    from pulse.aws.market_markers import closed_key  # noqa: PLC0415
    from pulse_cli.lambdas import LambdaContext  # noqa: PLC0415
    from pulse_cli.template import Stack  # noqa: PLC0415
    from pulse_local.apigw import rest_event  # noqa: PLC0415
    from pulse_local.bench_worker import RequestCounter  # noqa: PLC0415
    from pulse_local.resources import create_resources  # noqa: PLC0415

    api = api_module_on_moto()
    context: Any = LambdaContext(function_name="bench")
    written: Counter[str] = Counter()

    def count_items(params: dict[str, Any], **_: Any) -> None:  # one per TransactWriteItems call
        written["requests"] += 1
        written["items"] += len(params["TransactItems"])

    with mock_aws():
        bootstrap.reset()
        stack = Stack()
        create_resources(stack)
        table = stack.name_of("StateTable")
        os.environ["STATE_TABLE"] = table
        os.environ["LISTS_BUCKET"] = stack.name_of("ListsBucket")
        os.environ["REPORTS_BUCKET"] = stack.name_of("ReportsBucket")
        ledger = DynamoLedgerStore(table)
        listed = _listed()
        version, october = _ingest_october(stack, listed, count_items)
        ledger.record(_entries(_revenue_rows("2026-11", version), listed)[:200])
        clients.dynamodb().put_item(
            TableName=table, Item={**closed_key("US"), "last_closed": {"S": "2026-10"}}
        )
        bootstrap.reset()
        counter = RequestCounter()
        token = clients.use_budget("api")  # the clients the API's invocations use
        counter.attach()
        clients.restore_budget(token)

        def asked(month: str) -> dict[str, int]:
            counter.counts.clear()
            answer = api.handler(rest_event("GET", f"/v1/creators/hot/earnings/{month}?market=US"), context)
            assert answer["statusCode"] == 200, answer
            return dict(counter.counts)

        asked("2026-11")  # a warm container
        lookups = {"open": asked("2026-11"), "closed": asked("2026-10")}
        bootstrap.reset()
    before_requests, before_items = _before(_entries(october, listed))
    return {
        "lookups": lookups,
        "before": (before_requests / ROWS, before_items / ROWS),
        "after": (written["requests"] / ROWS, written["items"] / ROWS),
    }


def bench_earnings() -> None:
    counts = earnings_counts()
    print("Earnings (GET /v1/creators/{id}/earnings/{month}, ledger writes)")
    for month, ops in counts["lookups"].items():
        print(
            f"  AWS requests per earnings lookup, {month} month of a hot creator: {sum(ops.values())} {ops}"
        )
    (before_r, before_i), (after_r, after_i) = counts["before"], counts["after"]
    print(
        f"  per revenue row ({ROWS:,} rows, 20 creators, one with half of them, 200 videos, 12 campaigns):"
        f" TransactWriteItems requests {before_r:.3f} before (computed) -> {after_r:.3f} after (measured);"
        f" item writes {before_i:.2f} -> {after_i:.2f}"
    )
