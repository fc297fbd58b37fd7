"""The ledger in the state table (docs/design.md, "Ledger").

- `ENTRY#<market>#<R|A>#<id>` / `E`: one entry per revenue row (R) or adjustment (A); it is only
  ever created, with `attribute_not_exists`, which is what makes a replayed row count once.
  `gsi1pk = LEDGER#<market>#<month>#<creator>` lists a creator's entries of a month (index `ledger`).
- `TOTAL#<market>#<month>#<creator>#<shard>` / `T`: the creator's month totals, split over
  `TOTAL_SHARDS` items chosen by entry id, so that a hot creator's increments land on several
  partitions instead of one; the 8 shards are read back with one BatchGetItem, and a month's
  totals of every creator, in creator order, from index `ledger` (`gsi1pk = TOTALS#<market>#<month>`).
  The totals item also counts `late_micros`, the part of the gross booked late (spec §8.2).
- `EARN#<market>#<month>#<creator>#<shard>` / `V#<video_id>`, `C#<campaign_id>`, `A#<adjustment_id>`:
  the creator-month's lines (spec §8.2), the shard chosen by the line's id, so a hot creator's
  lines spread over `EARN_SHARDS` partition keys; read back with one Query per shard.
- `MARKET#<market>` / `CLOSED`: the last month closed by a payout run.

Entries, the increments of their totals and of their lines are written in one TransactWriteItems,
with a check that the booked month is still open; a transaction holds at most 100 items.
"""

from __future__ import annotations

import json
import random
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from botocore.exceptions import ClientError

from pulse.aws import clients, market_markers
from pulse.aws.dynamo import batch_get, query_all
from pulse.aws.market_markers import closed_key
from pulse.core.clock import Clock, stamp, system_clock
from pulse.core.concurrency import bounded_map
from pulse.money.earnings import Increment, LineKey, MonthLines, increments
from pulse.money.ledger import LedgerEntry, Totals

TOTAL_SHARDS = 8
EARN_SHARDS = 8
# A totals item holds one number attribute per field of Totals, under the field's own name.
TOTALS_FIELDS = tuple(f.name for f in fields(Totals))
_ADD_TOTALS = ", ".join(f"{name} :t{i}" for i, name in enumerate(TOTALS_FIELDS))
_MAX_ITEMS = 100
_ATTEMPTS = 8


class MonthClosedMeanwhile(RuntimeError):
    """A payout run closed the month while entries were being booked into it: the invocation
    fails, and its retry books what is left into the next open month."""


def entry_key(market: str, kind: str, entry_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ENTRY#{market}#{'R' if kind == 'revenue' else 'A'}#{entry_id}"}, "sk": {"S": "E"}}


def total_key(market: str, month: str, creator_id: str, shard: int) -> dict[str, Any]:
    return {"pk": {"S": f"TOTAL#{market}#{month}#{creator_id}#{shard}"}, "sk": {"S": "T"}}


def _shard(entry_id: str) -> int:
    return zlib.crc32(entry_id.encode()) % TOTAL_SHARDS


def earn_pk(market: str, month: str, creator_id: str, shard: int) -> str:
    return f"EARN#{market}#{month}#{creator_id}#{shard}"


def earn_shard(line_id: str) -> int:
    return zlib.crc32(line_id.encode()) % EARN_SHARDS


def _lines(entry: LedgerEntry) -> list[tuple[str, str, LineKey]]:
    """The line items an entry adds to: (month, creator, line)."""
    return [(entry.month, entry.creator_id, key) for key, _ in increments(entry)]


class DynamoLedgerStore:
    def __init__(self, table: str, clock: Clock = system_clock) -> None:
        self._table = table
        self._clock = clock

    def last_closed(self, market: str) -> str | None:
        return market_markers.last_closed(self._table, market)

    def record(
        self, entries: Sequence[LedgerEntry], writer: str = ""
    ) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
        # Without a batch upload's identity, each call is its own writer (botocore's retries of it).
        writer = writer or uuid.uuid4().hex
        recorded: list[LedgerEntry] = []
        repeated: list[LedgerEntry] = []
        group: list[LedgerEntry] = []
        updated: set[tuple[str, str, Any]] = set()  # the distinct totals and lines of the group
        for entry in entries:
            keys = {(entry.month, entry.creator_id, _shard(entry.entry_id)), *_lines(entry)}
            # entries + their distinct totals and lines + one check of the month fit in a transaction
            if len(group) + 1 + len(updated | keys) + 1 > _MAX_ITEMS:
                self._write_group(group, writer, recorded, repeated)
                group, updated = [], set()
            group.append(entry)
            updated |= keys
        if group:
            self._write_group(group, writer, recorded, repeated)
        return recorded, repeated

    def _write_group(
        self, group: list[LedgerEntry], writer: str, recorded: list[LedgerEntry], repeated: list[LedgerEntry]
    ) -> None:
        pending = list(group)
        for attempt in range(_ATTEMPTS):
            if not pending:
                return
            items = self._transaction(pending, writer)
            try:
                clients.dynamodb().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    raise MonthClosedMeanwhile(f"{pending[0].market}: a month closed during booking") from exc
                existing: dict[int, dict[str, Any]] = {
                    i - 1: dict(r.get("Item", {}))
                    for i, r in enumerate(reasons[1 : len(pending) + 1], 1)
                    if r.get("Code") == "ConditionalCheckFailed"
                }
                if existing:
                    for i, item in sorted(existing.items()):
                        # Written by this writer: botocore retried a transaction whose first attempt
                        # went through (a timeout), or this is a retry of the batch upload that
                        # booked it before failing. Counted once, and reported as recorded.
                        mine = item.get("writer", {}).get("S") == writer
                        (recorded if mine else repeated).append(pending[i])
                    pending = [e for i, e in enumerate(pending) if i not in existing]
                else:  # a conflict with another transaction on the same items: back off, retry
                    time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))
                continue
            recorded.extend(pending)
            return
        raise RuntimeError("ledger transaction kept conflicting")

    def _transaction(self, entries: list[LedgerEntry], writer: str) -> list[dict[str, Any]]:
        now = stamp(self._clock)
        market = entries[0].market
        earliest = min(e.month for e in entries)
        items: list[dict[str, Any]] = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": closed_key(market),
                    "ConditionExpression": "attribute_not_exists(last_closed) OR last_closed < :m",
                    "ExpressionAttributeValues": {":m": {"S": earliest}},
                }
            }
        ]
        sums: dict[tuple[str, str, int], Totals] = defaultdict(Totals)
        late: dict[tuple[str, str, int], int] = defaultdict(int)
        lines: dict[tuple[str, str, LineKey], Increment] = defaultdict(Increment)
        for e in entries:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **entry_key(e.market, e.kind, e.entry_id),
                            "kind": {"S": e.kind},
                            "entry_id": {"S": e.entry_id},
                            "market": {"S": e.market},
                            "creator_id": {"S": e.creator_id},
                            "month": {"S": e.month},
                            "own_month": {"S": e.own_month},
                            "revenue_micros": {"N": str(e.revenue_micros)},
                            "impressions": {"N": str(e.impressions)},
                            "source": {"S": e.source},
                            "detail": {"S": json.dumps(e.detail, separators=(",", ":"))},
                            "recorded_at": {"S": now},
                            "writer": {"S": writer},
                            "gsi1pk": {"S": f"LEDGER#{e.market}#{e.month}#{e.creator_id}"},
                            "gsi1sk": {"S": f"{e.kind}#{e.entry_id}"},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            sums[(e.month, e.creator_id, _shard(e.entry_id))] += Totals.of(e)
            late[(e.month, e.creator_id, _shard(e.entry_id))] += e.late_micros
            for key, inc in increments(e):
                lines[(e.month, e.creator_id, key)] += inc
        for (month, creator, shard), total in sums.items():
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": total_key(market, month, creator, shard),
                        "UpdateExpression": "SET market = :mk, #mo = :mo, creator_id = :c, gsi1pk = :gp, "
                        f"gsi1sk = :gs ADD {_ADD_TOTALS}, late_micros :late",
                        "ExpressionAttributeNames": {"#mo": "month"},
                        "ExpressionAttributeValues": {
                            ":mk": {"S": market},
                            ":mo": {"S": month},
                            ":c": {"S": creator},
                            ":gp": {"S": f"TOTALS#{market}#{month}"},
                            ":gs": {"S": f"{creator}#{shard}"},
                            **{
                                f":t{i}": {"N": str(getattr(total, name))}
                                for i, name in enumerate(TOTALS_FIELDS)
                            },
                            ":late": {"N": str(late[(month, creator, shard)])},
                        },
                    }
                }
            )
        for (month, creator, key), inc in lines.items():
            items.append(self._line_update(market, month, creator, key, inc))
        return items

    def _line_update(
        self, market: str, month: str, creator: str, key: LineKey, inc: Increment
    ) -> dict[str, Any]:
        """A line's increment: numbers added, its text (category, reason) set when it has one."""
        values: dict[str, Any] = {
            ":i": {"N": str(inc.impressions)},
            ":r": {"N": str(inc.revenue_micros)},
        }
        if inc.text:
            values[":txt"] = {"S": inc.text}
        return {
            "Update": {
                "TableName": self._table,
                "Key": {
                    "pk": {"S": earn_pk(market, month, creator, earn_shard(key.line_id))},
                    "sk": {"S": f"{key.kind}#{key.line_id}"},
                },
                "UpdateExpression": "ADD impressions :i, revenue_micros :r"
                + (" SET txt = :txt" if inc.text else ""),
                "ExpressionAttributeValues": values,
            }
        }

    def totals(self, market: str, month: str, creator_id: str) -> Totals:
        """A creator's month, in one request (BatchGetItem of its shards)."""
        keys = [total_key(market, month, creator_id, s) for s in range(TOTAL_SHARDS)]
        found = batch_get(self._table, keys, ", ".join(TOTALS_FIELDS), {}, consistent=True)
        return sum(map(totals_from_item, found), Totals())

    def month_lines(self, market: str, month: str, creator_id: str) -> MonthLines:
        """A creator-month's totals and lines (spec §8.2): one BatchGetItem of the totals' shards and
        one Query per line shard (in parallel; a shard past 1 MB, about 8,000 lines, pages on)."""
        keys = [total_key(market, month, creator_id, s) for s in range(TOTAL_SHARDS)]
        found = list(
            batch_get(self._table, keys, ", ".join((*TOTALS_FIELDS, "late_micros")), {}, consistent=True)
        )
        totals = sum(map(totals_from_item, found), Totals())
        late = sum(int(item.get("late_micros", {}).get("N", "0")) for item in found)

        def shard(i: int) -> list[dict[str, Any]]:
            return list(
                query_all(
                    TableName=self._table,
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": earn_pk(market, month, creator_id, i)}},
                    ProjectionExpression="sk, impressions, revenue_micros, txt",
                    ConsistentRead=True,
                )
            )

        lines: dict[LineKey, Increment] = {}
        for items in bounded_map(shard, range(EARN_SHARDS), EARN_SHARDS):
            for item in items:
                kind, line_id = item["sk"]["S"].split("#", 1)
                lines[LineKey(kind, line_id)] = Increment(
                    int(item.get("impressions", {}).get("N", "0")),
                    int(item.get("revenue_micros", {}).get("N", "0")),
                    item.get("txt", {}).get("S", ""),
                )
        return MonthLines(totals, late, lines)

    def entries(self, market: str, month: str, creator_id: str) -> list[LedgerEntry]:
        """A creator-month's entries, from index `ledger` (checks and the demo's comparison)."""
        return [
            entry_from_item(item)
            for item in query_all(
                TableName=self._table,
                IndexName="ledger",
                KeyConditionExpression="gsi1pk = :p",
                ExpressionAttributeValues={":p": {"S": f"LEDGER#{market}#{month}#{creator_id}"}},
            )
        ]


def entry_from_item(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        kind=item["kind"]["S"],
        entry_id=item["entry_id"]["S"],
        market=item["market"]["S"],
        creator_id=item["creator_id"]["S"],
        month=item["month"]["S"],
        own_month=item["own_month"]["S"],
        revenue_micros=int(item["revenue_micros"]["N"]),
        impressions=int(item["impressions"]["N"]),
        source=item["source"]["S"],
        detail=json.loads(item["detail"]["S"]),
    )


def totals_from_item(item: dict[str, Any]) -> Totals:
    """A totals item (or a shard of one) as the domain's Totals; absent counters are 0."""
    return Totals(**{name: int(item.get(name, {}).get("N", "0")) for name in TOTALS_FIELDS})
