"""Month end in the state table and ReportsBucket.

- `MARKET#<market>` / `CLOSED`: `last_closed`, moved forward one month at a time;
- `STMT#<market>#<month>#<shard>` / `<creator_id>`: statements, spread over the month's shard
  count of partition keys (a 10M-creator run writes fast); one creator's is one GetItem (the shard
  comes from its id);
- `STMT#<market>#<month>` / `LAYOUT`: that count, recorded by the month's run before its first
  statement (from `new_month_shards`, the run's setting) and never changed; a month without it was
  written before counts were recorded and has 16. Readers read it once per month and container
  (`pulse.aws.shard_counts`); it sits under `STMT#` with the statements, so whoever may read
  statements may read it;
- reports: `payouts/market=<market>/month=<month>/statements.csv` and `summary.json`.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pulse.aws import clients, market_markers, shard_counts
from pulse.aws.dynamo import batch_write, query_all
from pulse.aws.ledger_table import totals_from_item
from pulse.aws.market_markers import closed_key
from pulse.core.concurrency import bounded_map
from pulse.core.types import previous_month
from pulse.money.ledger import Totals
from pulse.money.month_end import MonthOrderError
from pulse.money.payout import PayoutSummary, Statement
from pulse.money.statement_document import document_key

# The statement's integer fields go to DynamoDB as numbers, the rest as strings.
_NUMBERS = frozenset(f.name for f in dataclasses.fields(Statement) if f.type == "int")


def layout_key(market: str, month: str) -> dict[str, Any]:
    return {"pk": {"S": f"STMT#{market}#{month}"}, "sk": {"S": "LAYOUT"}}


def shard_key(market: str, month: str, shard: int) -> str:
    return f"STMT#{market}#{month}#{shard:02d}"


def statement_key(market: str, month: str, creator_id: str, shards: int) -> dict[str, Any]:
    """The statement's key in a month of `shards` shards (the month's count: `shards()`)."""
    shard = zlib.crc32(creator_id.encode()) % shards
    return {"pk": {"S": shard_key(market, month, shard)}, "sk": {"S": creator_id}}


def _to_item(s: Statement, shards: int) -> dict[str, Any]:
    item: dict[str, Any] = statement_key(s.market, s.month, s.creator_id, shards)
    for name, value in s.as_dict().items():
        item[name] = {"N": str(value)} if name in _NUMBERS else {"S": str(value)}
    return item


def _from_item(item: dict[str, Any]) -> Statement:
    values: dict[str, Any] = {
        name: (int(v["N"]) if "N" in v else v["S"]) for name, v in item.items() if name not in ("pk", "sk")
    }
    return Statement(**values)


def _creator_range(sort_key: str, first: str | None, until: str | None) -> tuple[str, dict[str, Any]]:
    """The key condition on `sort_key` for creators from `first` and before `until` (either may be
    None); with both, BETWEEN also takes a key equal to `until`, which the caller drops."""
    if first is not None and until is not None:
        return f" AND {sort_key} BETWEEN :first AND :until", {":first": {"S": first}, ":until": {"S": until}}
    if first is not None:
        return f" AND {sort_key} >= :first", {":first": {"S": first}}
    if until is not None:
        return f" AND {sort_key} < :until", {":until": {"S": until}}
    return "", {}


class DynamoPayoutStore:
    def __init__(self, table: str, workers: int = 8, new_month_shards: int = shard_counts.UNRECORDED) -> None:
        """`new_month_shards`: the count a month's run records (the month end's setting); readers
        go by each month's recorded count."""
        self._table = table
        self._workers = workers
        self._new_month_shards = new_month_shards
        self._counts = shard_counts.ShardCounts(table)

    def shards(self, market: str, month: str) -> int:
        """The month's statement shard count (16 while no layout is recorded: an older month's,
        or a month whose statements are not written yet)."""
        return self._counts.count(layout_key(market, month))

    def last_closed(self, market: str) -> str | None:
        return market_markers.last_closed(self._table, market)

    def close(self, market: str, month: str) -> None:
        try:
            clients.dynamodb().update_item(
                TableName=self._table,
                Key=closed_key(market),
                UpdateExpression="SET last_closed = :m",
                ConditionExpression="attribute_not_exists(last_closed) OR last_closed IN (:m, :prev)",
                ExpressionAttributeValues={":m": {"S": month}, ":prev": {"S": previous_month(month)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise MonthOrderError(f"{market}: {month} is not the next month to close") from exc
            raise

    def month_totals(
        self, market: str, month: str, first: str | None = None, until: str | None = None
    ) -> Iterator[tuple[str, Totals]]:
        # Totals sort by "<creator>#<shard>", and "#" sorts before every character of an id: a
        # creator's keys all lie between its id and the next id, so ids bound a range exactly.
        condition, values = _creator_range("gsi1sk", first, until)
        items = query_all(
            TableName=self._table,
            IndexName="ledger",
            KeyConditionExpression="gsi1pk = :p" + condition,
            ExpressionAttributeValues={":p": {"S": f"TOTALS#{market}#{month}"}, **values},
        )
        current: str | None = None
        sums = Totals()
        for item in items:  # sorted by "<creator>#<shard>": a creator's shards are consecutive
            creator = item["creator_id"]["S"]
            if creator != current:
                if current is not None:
                    yield current, sums
                current, sums = creator, Totals()
            sums += totals_from_item(item)
        if current is not None:
            yield current, sums

    def closing_balances(
        self, market: str, month: str, first: str | None = None, until: str | None = None
    ) -> Iterator[tuple[str, int]]:
        condition, values = _creator_range("sk", first, until)

        def shard(i: int) -> Iterator[tuple[str, int]]:
            for item in query_all(
                TableName=self._table,
                KeyConditionExpression="pk = :p" + condition,
                FilterExpression="closing_balance_micros <> :zero",
                ProjectionExpression="sk, closing_balance_micros",
                ExpressionAttributeValues={
                    ":p": {"S": shard_key(market, month, i)},
                    ":zero": {"N": "0"},
                    **values,
                },
            ):
                if item["sk"]["S"] != until:  # BETWEEN includes its upper bound
                    yield item["sk"]["S"], int(item["closing_balance_micros"]["N"])

        # Each shard is sorted by creator: merged, the month's balances come in creator order.
        return heapq.merge(*(shard(i) for i in range(self.shards(market, month))))

    def save_statements(self, market: str, month: str, statements: Iterable[Statement]) -> None:
        # The month's count is recorded before its first statement; a retried run finds it.
        shards = self._counts.record(layout_key(market, month), self._new_month_shards)

        def chunks() -> Iterator[list[Any]]:
            batch: list[Any] = []
            for s in statements:
                batch.append({"PutRequest": {"Item": _to_item(s, shards)}})
                if len(batch) == 25:
                    yield batch
                    batch = []
            if batch:
                yield batch

        for _ in bounded_map(lambda chunk: batch_write(self._table, chunk), chunks(), self._workers):
            pass

    def statement(self, market: str, month: str, creator_id: str) -> Statement | None:
        item = (
            clients.dynamodb()
            .get_item(
                TableName=self._table,
                Key=statement_key(market, month, creator_id, self.shards(market, month)),
            )
            .get("Item")
        )
        return _from_item(item) if item else None


class S3PayoutReports:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def write_document(self, market: str, month: str, creator_id: str, document: bytes) -> None:
        """A statement's document (`statement_document.py`), beside the month's statements.csv."""
        clients.s3().put_object(
            Bucket=self._bucket,
            Key=document_key(market, month, creator_id),
            Body=document,
            ContentType="application/json",
        )

    def document_link(self, market: str, month: str, creator_id: str, expires_in: int) -> str | None:
        """A GET link to a statement's document, None if it has none (a month closed before
        documents were written). The link is signed here, with this function's credentials."""
        key = document_key(market, month, creator_id)
        try:
            clients.s3().head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        link: str = clients.s3().generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )
        return link

    def write(self, market: str, month: str, statements_csv: Path, summary: PayoutSummary) -> None:
        prefix = f"payouts/market={market}/month={month}/"
        clients.s3().upload_file(
            str(statements_csv),
            self._bucket,
            prefix + "statements.csv",
            ExtraArgs={"ContentType": "text/csv"},
        )
        clients.s3().put_object(
            Bucket=self._bucket,
            Key=prefix + "summary.json",
            Body=json.dumps(summary.as_json(), indent=2).encode(),
            ContentType="application/json",
        )
