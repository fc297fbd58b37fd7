"""Published lists in the state table (keys in docs/design.md, "Lists").

- `LISTS#<m>` / `SEQUENCE`: the market's version counter;
- `LISTS#<m>` / `CURRENT`: the pointer readers follow (version, snapshot, counts);
- `LISTS#<m>` / `VERSION#<v>`: one record per version (writing -> complete);
- `LIST#<m>#<v>#<category>#<block>` / `<rank>`: entries in rank order, for the toplists
  endpoint, RANKS_PER_KEY ranks to a partition key (block = (rank - 1) // RANKS_PER_KEY), so that
  a category of millions of entries is written at the table's throughput, not one partition's
  1,000 writes a second; the version record says how many blocks each category has. A version
  written before blocks existed (its record has no `ranks_per_key`) keeps one key per category,
  `LIST#<m>#<v>#<category>`;
- `PLACE#<m>#<v>#<video_id>` / `P`: one item per listed video, for placement lookups and revenue
  attribution; a key per video spreads the ad server's reads over many partitions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.aws.dynamo import Item, batch_get, batch_write, query_all
from pulse.core.concurrency import bounded_map
from pulse.lists.publication import ListVersion, Placement
from pulse.lists.ranking import Ranked
from pulse.money.ledger import Attribution

VERSION_WIDTH = 10
_PLACEMENT_SK = "P"
# 10,000 entries of about 150 bytes: 1.5 MB and 10 s of one partition's writes (1,000 WCU/s) a key.
RANKS_PER_KEY = 10_000


def _lists_key(market: str, sk: str) -> Item:
    return {"pk": {"S": f"LISTS#{market}"}, "sk": {"S": sk}}


def placement_key(market: str, version: str, video_id: str) -> Item:
    return {"pk": {"S": f"PLACE#{market}#{version}#{video_id}"}, "sk": {"S": _PLACEMENT_SK}}


def _entries_pk(market: str, version: str, category: str, block: int | None) -> str:
    unsharded = f"LIST#{market}#{version}#{category}"
    return unsharded if block is None else f"{unsharded}#{block}"


@dataclass(frozen=True)
class _Layout:
    """How a version's entries are keyed: RANKS_PER_KEY ranks a key, and each category's last
    block; `ranks_per_key` 0 for a version with one key per category."""

    ranks_per_key: int
    last_blocks: dict[str, int]

    def blocks(self, category: str, after_rank: int) -> Iterator[int | None]:
        if not self.ranks_per_key:
            yield None
            return
        yield from range(after_rank // self.ranks_per_key, self.last_blocks.get(category, -1) + 1)


def _layout_of(lists: dict[str, list[Ranked]], ranks_per_key: int) -> _Layout:
    return _Layout(
        ranks_per_key,
        {c: (max(e.rank for e in entries) - 1) // ranks_per_key for c, entries in lists.items() if entries},
    )


def _version_from(item: Item) -> ListVersion:
    return ListVersion(
        market=item["market"]["S"],
        version=item["version"]["S"],
        snapshot=item["snapshot"]["S"],
        published_at=item["published_at"]["S"],
        counts=json.loads(item["counts"]["S"]),
        digest=item.get("digest", {}).get("S", ""),
        announced=item.get("announced", {}).get("BOOL", False),
        placements_key=item.get("placements_key", {}).get("S", ""),
        placements_sha256=item.get("placements_sha256", {}).get("S", ""),
        placements_bytes=int(item.get("placements_bytes", {}).get("N", "0")),
    )


def _version_attributes(version: ListVersion) -> Item:
    return {
        "market": {"S": version.market},
        "version": {"S": version.version},
        "snapshot": {"S": version.snapshot},
        "published_at": {"S": version.published_at},
        "counts": {"S": json.dumps(version.counts, sort_keys=True)},
        "digest": {"S": version.digest},
        "placements_key": {"S": version.placements_key},
        "placements_sha256": {"S": version.placements_sha256},
        "placements_bytes": {"N": str(version.placements_bytes)},
    }


class DynamoListStore:
    def __init__(self, table: str, workers: int = 8, ranks_per_key: int = RANKS_PER_KEY) -> None:
        if ranks_per_key < 1:
            raise ValueError("ranks_per_key must be at least 1")
        self._table = table
        self._workers = workers
        self._ranks_per_key = ranks_per_key
        self._layouts: dict[tuple[str, str], _Layout] = {}  # versions are immutable once complete

    # ------------------------------------------------------------------ publication
    def next_version(self, market: str) -> str:
        response = clients.dynamodb().update_item(
            TableName=self._table,
            Key=_lists_key(market, "SEQUENCE"),
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return f"{int(response['Attributes']['n']['N']):0{VERSION_WIDTH}d}"

    def write_version(self, version: ListVersion, lists: dict[str, list[Ranked]], expires_at: int) -> None:
        """The whole version from one writer: its requests taken from every list key in turn, so
        that the batches in flight write to as many partitions (one key's 1,000 writes a second
        would bind otherwise), then the record completed."""
        self.begin_version(version, _layout_of(lists, self._ranks_per_key), expires_at)
        per_key = [
            self._chunks(
                self._items(version, category, entries[start : start + self._ranks_per_key], expires_at)
            )
            for category, entries in lists.items()
            for start in range(0, len(entries), self._ranks_per_key)
        ]
        interleaved = (chunk for turn in zip_longest(*per_key) for chunk in turn if chunk is not None)
        self._put(interleaved)
        self.complete_version(version)

    @property
    def ranks_per_key(self) -> int:
        return self._ranks_per_key

    def layout_of(self, lists: dict[str, list[Ranked]]) -> _Layout:
        return _layout_of(lists, self._ranks_per_key)

    def begin_version(self, version: ListVersion, layout: _Layout, expires_at: int) -> None:
        """The version's record, `writing`: its items are written next, by one or many writers."""
        clients.dynamodb().put_item(
            TableName=self._table,
            Item={
                **_lists_key(version.market, f"VERSION#{version.version}"),
                **_version_attributes(version),
                "ranks_per_key": {"N": str(layout.ranks_per_key)},
                "last_blocks": {"S": json.dumps(layout.last_blocks, sort_keys=True)},
                "state": {"S": "writing"},
                "expires_at": {"N": str(expires_at)},
            },
        )

    def write_entries(
        self, version: ListVersion, category: str, entries: Sequence[Ranked], expires_at: int
    ) -> None:
        """Entries of one category (any slice of its ranks) and their placements; idempotent."""
        self._put(self._chunks(self._items(version, category, entries, expires_at)))

    def _items(
        self, version: ListVersion, category: str, entries: Sequence[Ranked], expires_at: int
    ) -> list[Item]:
        ttl = {"N": str(expires_at)}
        items: list[Item] = []
        for e in entries:
            pk = _entries_pk(version.market, version.version, category, (e.rank - 1) // self._ranks_per_key)
            common = {
                "video_id": {"S": e.video_id},
                "creator_id": {"S": e.creator_id},
                "rank": {"N": str(e.rank)},
                "score": {"N": str(e.score)},
                "expires_at": ttl,
            }
            items.append({"pk": {"S": pk}, "sk": {"S": f"{e.rank:08d}"}, **common})
            items.append(
                {
                    **placement_key(version.market, version.version, e.video_id),
                    "category": {"S": category},
                    **common,
                }
            )
        return items

    @staticmethod
    def _chunks(items: list[Item]) -> list[list[Item]]:
        return [items[i : i + 25] for i in range(0, len(items), 25)]

    def _put(self, chunks: Iterable[list[Item]]) -> None:
        for _ in bounded_map(
            lambda chunk: batch_write(self._table, [{"PutRequest": {"Item": item}} for item in chunk]),
            chunks,
            self._workers,
        ):
            pass

    def complete_version(self, version: ListVersion) -> None:
        clients.dynamodb().update_item(
            TableName=self._table,
            Key=_lists_key(version.market, f"VERSION#{version.version}"),
            UpdateExpression="SET #st = :complete",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={":complete": {"S": "complete"}},
        )

    def make_current(self, version: ListVersion) -> bool:
        try:
            clients.dynamodb().put_item(
                TableName=self._table,
                Item={**_lists_key(version.market, "CURRENT"), **_version_attributes(version)},
                # Versions only move forward, whatever order two publications finish in.
                ConditionExpression="attribute_not_exists(version) OR version < :v",
                ExpressionAttributeValues={":v": {"S": version.version}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_announced(self, version: ListVersion) -> None:
        try:
            clients.dynamodb().update_item(
                TableName=self._table,
                Key=_lists_key(version.market, "CURRENT"),
                UpdateExpression="SET announced = :t",
                ConditionExpression="version = :v",  # a newer version may be current by now
                ExpressionAttributeValues={":t": {"BOOL": True}, ":v": {"S": version.version}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------------ reading
    def current(self, market: str) -> ListVersion | None:
        item = (
            clients.dynamodb()
            .get_item(TableName=self._table, Key=_lists_key(market, "CURRENT"), ConsistentRead=True)
            .get("Item")
        )
        return _version_from(item) if item else None

    def placement(self, market: str, version: str, video_id: str) -> Placement | None:
        item = (
            clients.dynamodb()
            .get_item(
                TableName=self._table, Key=placement_key(market, version, video_id), ConsistentRead=True
            )
            .get("Item")
        )
        return _placement_from(item) if item else None

    def placements(self, market: str, version: str, video_ids: Sequence[str]) -> dict[str, Placement]:
        keys = [placement_key(market, version, v) for v in dict.fromkeys(video_ids)]
        found = batch_get(
            self._table, keys, "video_id, category, #r, creator_id, score", {"#r": "rank"}, consistent=True
        )
        return {p.video_id: p for p in map(_placement_from, found)}

    def creators_of(self, market: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Attribution]:
        """Revenue attribution: the creator (and the category) of each (list_version, video_id)
        listed in that version."""
        found = batch_get(
            self._table,
            [placement_key(market, v, video) for v, video in keys],
            "pk, creator_id, category",
            {},
        )
        creators: dict[tuple[str, str], Attribution] = {}
        for item in found:
            _, _, version, video_id = item["pk"]["S"].split("#", 3)
            creators[(version, video_id)] = Attribution(item["creator_id"]["S"], item["category"]["S"])
        return creators

    def _layout(self, market: str, version: str) -> _Layout:
        known = self._layouts.get((market, version))
        if known is None:
            item = (
                clients.dynamodb()
                .get_item(
                    TableName=self._table,
                    Key=_lists_key(market, f"VERSION#{version}"),
                    ProjectionExpression="ranks_per_key, last_blocks",
                    ConsistentRead=True,
                )
                .get("Item", {})
            )
            known = _Layout(
                int(item.get("ranks_per_key", {}).get("N", "0")),
                json.loads(item.get("last_blocks", {}).get("S", "{}")),
            )
            if item:  # no record (a version gone with its retention): asked again next time
                self._layouts[(market, version)] = known
        return known

    def entries(
        self, market: str, version: str, category: str, after_rank: int = 0, limit: int | None = None
    ) -> Iterator[Ranked]:
        """The category's entries after `after_rank`, in rank order, across the version's keys."""
        count = 0
        for block in self._layout(market, version).blocks(category, after_rank):
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk > :after",
                "ExpressionAttributeValues": {
                    ":pk": {"S": _entries_pk(market, version, category, block)},
                    ":after": {"S": f"{after_rank:08d}"},
                },
                "ConsistentRead": True,
            }
            if limit is not None:
                kwargs["Limit"] = limit - count
            for item in query_all(**kwargs):
                yield Ranked(
                    int(item["rank"]["N"]),
                    item["video_id"]["S"],
                    item["creator_id"]["S"],
                    int(item["score"]["N"]),
                )
                count += 1
                if limit is not None and count >= limit:
                    return


def _placement_from(item: Item) -> Placement:
    return Placement(
        video_id=item["video_id"]["S"],
        category=item["category"]["S"],
        rank=int(item["rank"]["N"]),
        creator_id=item["creator_id"]["S"],
        score=int(item["score"]["N"]),
    )
