"""The ledger in the state table (docs/design.md, "Ledger").

- `ENTRY#<market>#<R|A>#<id>` / `E`: one entry per revenue row (R) or adjustment (A); it is only
  ever created, with `attribute_not_exists`, which is what makes a replayed row count once.
  `gsi1pk = LEDGER#<market>#<month>#<creator>` lists a creator's entries of a month (index `ledger`).
- `TOTAL#<market>#<month>#<creator>#<shard>` / `T`: the creator's month totals, split over
  `TOTAL_SHARDS` items chosen by entry id, so that a hot creator's increments land on several
  partitions instead of one; the 8 shards are read back with one BatchGetItem, and a month's
  totals of every creator, in creator order, from index `ledger` (`gsi1pk = TOTALS#<market>#<month>`).
- `MARKET#<market>` / `CLOSED`: the last month closed by a payout run.

Entries and the increments of their totals are written in one TransactWriteItems, with a check
that the booked month is still open; a transaction holds at most 100 items.
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
from pulse.aws.dynamo import batch_get
from pulse.aws.market_markers import closed_key
from pulse.core.clock import Clock, stamp, system_clock
from pulse.money.ledger import LedgerEntry, Totals

TOTAL_SHARDS = 8
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
        totals: set[tuple[str, str, int]] = set()
        for entry in entries:
            key = (entry.month, entry.creator_id, _shard(entry.entry_id))
            # entries + their distinct totals + one check of the month must fit in a transaction
            if len(group) + len(totals | {key}) + 2 > _MAX_ITEMS:
                self._write_group(group, writer, recorded, repeated)
                group, totals = [], set()
            group.append(entry)
            totals.add(key)
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
        for (month, creator, shard), total in sums.items():
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": total_key(market, month, creator, shard),
                        "UpdateExpression": "SET market = :mk, #mo = :mo, creator_id = :c, gsi1pk = :gp, "
                        f"gsi1sk = :gs ADD {_ADD_TOTALS}",
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
                        },
                    }
                }
            )
        return items

    def totals(self, market: str, month: str, creator_id: str) -> Totals:
        """A creator's month, in one request (BatchGetItem of its shards)."""
        keys = [total_key(market, month, creator_id, s) for s in range(TOTAL_SHARDS)]
        found = batch_get(self._table, keys, ", ".join(TOTALS_FIELDS), {}, consistent=True)
        return sum(map(totals_from_item, found), Totals())


def totals_from_item(item: dict[str, Any]) -> Totals:
    """A totals item (or a shard of one) as the domain's Totals; absent counters are 0."""
    return Totals(**{name: int(item.get(name, {}).get("N", "0")) for name in TOTALS_FIELDS})
