"""Creator eligibility records in the state table.

Keys (docs/design.md): a market's creators are spread over its shard count of partitions,
`pk = ELIG#<market>#<shard>` with `sk = <creator_id>`, so that a 10M-creator load spreads its
writes over many partitions, while one creator is still a single GetItem (the API): its shard is
derived from its id. The count is the market's own, recorded on its creators marker
(`MARKET#<market>` / `CREATORS`) by its first snapshot before any record, from the writer's
`new_market_shards`; a marker without a count (markets from before counts) means 16. It never
changes, so each store reads it once per market (`pulse.aws.shard_counts`).
The market's latest applied snapshot is on the same marker (`pulse.aws.market_markers`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

from pulse.aws import clients, market_markers, shard_counts
from pulse.aws.dynamo import GET_BATCH, Item, batch_get, batch_write
from pulse.core.clock import Clock, stamp, system_clock
from pulse.core.concurrency import bounded_map
from pulse.eligibility.creators_snapshot import StoredEligibility
from pulse.eligibility.evaluation import (
    CurrentEligibility,
    Eligibility,
    Reason,
    Status,
    StoredRecord,
    confirmed_on,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef


def shard_of(creator_id: str, shards: int) -> int:
    return zlib.crc32(creator_id.encode()) % shards


def eligibility_key(market: str, creator_id: str, shards: int) -> Item:
    """The record's key in a market of `shards` shards (the market's count: `shards()`)."""
    return {"pk": {"S": f"ELIG#{market}#{shard_of(creator_id, shards):02d}"}, "sk": {"S": creator_id}}


def _reasons_json(reasons: Sequence[Reason]) -> str:
    return json.dumps([r.as_dict() for r in reasons], separators=(",", ":"))


def to_item(record: Eligibility, updated_at: str, shards: int) -> Item:
    return {
        **eligibility_key(record.market, record.creator_id, shards),
        "creator_id": {"S": record.creator_id},
        "market": {"S": record.market},
        "status": {"S": record.status},
        "reasons": {"S": _reasons_json(record.reasons)},
        "as_of": {"S": record.as_of},
        "rules_version": {"S": record.rules_version},
        "fp": {"S": record.fingerprint},
        "account_type": {"S": record.account_type},
        "followers": {"N": str(record.followers)},
        "age_verified_18": {"BOOL": record.age_verified_18},
        "videos_30d": {"N": str(record.videos_30d)},
        "standing": {"S": record.standing},
        "enrolled": {"BOOL": record.enrolled},
        "updated_at": {"S": updated_at},
    }


class DynamoEligibilityStore:
    def __init__(
        self,
        table: str,
        clock: Clock = system_clock,
        read_workers: int = 8,
        new_market_shards: int = shard_counts.UNRECORDED,
    ) -> None:
        """`new_market_shards`: the count a market's first snapshot records (the creators ingest's
        setting); every other market, and every reader, goes by the market's recorded count."""
        self._table = table
        self._clock = clock
        self._read_workers = read_workers
        self._new_market_shards = new_market_shards
        self._counts = shard_counts.ShardCounts(table)

    def shards(self, market: str) -> int:
        """The market's shard count (16 while it has no marker: nothing written with another)."""
        return self._counts.count(market_markers.marker_key(market, "CREATORS"))

    def latest_snapshot(self, market: str) -> str | None:
        return market_markers.latest_snapshot(self._table, market, "CREATORS")

    def set_latest_snapshot(self, market: str, snapshot: str) -> None:
        # The marker is never created without a count, even by a first snapshot that saved no
        # record (the pipeline rejects an empty snapshot before, but this store does not rely on it).
        self._shards_to_write(market)
        market_markers.advance_snapshot(self._table, market, "CREATORS", snapshot)

    def fetch(self, market: str, creator_ids: Sequence[str]) -> dict[str, StoredEligibility]:
        shards = self.shards(market)
        keys = [eligibility_key(market, cid, shards) for cid in creator_ids]
        found: dict[str, StoredEligibility] = {}
        for item in batch_get(self._table, keys, "sk, fp, #s, absent", {"#s": "status"}):
            creator_id = item["sk"]["S"]
            status = cast(Status, item["status"]["S"])
            found[creator_id] = StoredEligibility(creator_id, item["fp"]["S"], status, "absent" in item)
        return found

    def save(self, records: Sequence[Eligibility]) -> None:
        if not records:
            return
        now = stamp(self._clock)
        shards = {market: self._shards_to_write(market) for market in {r.market for r in records}}
        requests: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": to_item(r, now, shards[r.market])}} for r in records
        ]
        batch_write(self._table, requests)

    def _shards_to_write(self, market: str) -> int:
        """The market's count; a market without a marker records `new_market_shards` first."""
        marker = market_markers.marker_key(market, "CREATORS")
        return self._counts.record(marker, self._new_market_shards)

    def mark_absent(self, market: str, creator_ids: Sequence[str], last_seen: str) -> None:
        shards = self.shards(market)
        for creator_id in creator_ids:
            clients.dynamodb().update_item(
                TableName=self._table,
                Key=eligibility_key(market, creator_id, shards),
                UpdateExpression="SET absent = :t, last_seen = :d",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":t": {"BOOL": True}, ":d": {"S": last_seen}},
            )

    def current(self, market: str, creator_ids: Iterable[str]) -> dict[str, CurrentEligibility]:
        """Status and confirmation date of each creator (the ranking's `EligibilityReader`)."""
        latest = self.latest_snapshot(market)
        if latest is None:
            # No creators snapshot was applied to the market (a half-applied first one does not
            # count): nobody there is eligible, and a list of 40,000 creators needs no 400 reads.
            return {}
        shards = self.shards(market)
        keys = [eligibility_key(market, cid, shards) for cid in creator_ids]

        def read(chunk: Sequence[Item]) -> list[Item]:
            return list(batch_get(self._table, chunk, "sk, #s, as_of, absent, last_seen", {"#s": "status"}))

        found: dict[str, CurrentEligibility] = {}
        chunks = (keys[start : start + GET_BATCH] for start in range(0, len(keys), GET_BATCH))
        for items in bounded_map(read, chunks, self._read_workers):  # reads overlap: latency, not CPU
            for item in items:
                last_seen = item.get("last_seen", {}).get("S")
                confirmed = confirmed_on(item["as_of"]["S"], "absent" in item, last_seen, latest)
                status = cast(Status, item["status"]["S"])
                found[item["sk"]["S"]] = CurrentEligibility(item["sk"]["S"], status, confirmed)
        return found

    def get(self, market: str, creator_id: str) -> StoredRecord | None:
        """One creator's record as stored (the API reads it: one GetItem once the count is known)."""
        key = eligibility_key(market, creator_id, self.shards(market))
        item = clients.dynamodb().get_item(TableName=self._table, Key=key).get("Item")
        if item is None:
            return None
        return StoredRecord(
            creator_id=item["creator_id"]["S"],
            market=item["market"]["S"],
            status=cast(Status, item["status"]["S"]),
            reasons=json.loads(item["reasons"]["S"]),
            as_of=item["as_of"]["S"],
            rules_version=item["rules_version"]["S"],
            absent="absent" in item,
            last_seen=item.get("last_seen", {}).get("S"),
        )
