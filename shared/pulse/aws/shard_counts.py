"""Shard counts recorded in the state table: how many partition keys a key space was written over.

A market's eligibility records and a market-month's statements are spread over `shards` partition
keys; the count is recorded once, on an item every reader reads (the market's creators marker, the
month's statement layout), before the first record is written, and never changes after. An item
that exists without a count was written before counts were recorded: its key space has
`UNRECORDED` (16) shards. An item that does not exist yet records nothing: readers take
`UNRECORDED` for now and ask again next time, since the first writer may still record another
count. So a count is cached for good once its item is seen, and a warm reader makes no request.
"""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.aws.dynamo import Item

UNRECORDED = 16  # the one count there was before counts were recorded
ATTRIBUTE = "shards"


def count_of(item: Item) -> int:
    """The count an existing item records (`UNRECORDED` if it predates counts)."""
    return int(item[ATTRIBUTE]["N"]) if ATTRIBUTE in item else UNRECORDED


class ShardCounts:
    """The counts of one table's key spaces, each read once per container (a count never changes)."""

    def __init__(self, table: str) -> None:
        self._table = table
        self._known: dict[tuple[str, str], int] = {}
        self._recording = threading.Lock()

    def read(self, key: Item) -> int | None:
        """The recorded count, or None while the item does not exist (not cached)."""
        where = (key["pk"]["S"], key["sk"]["S"])
        known = self._known.get(where)
        if known is not None:
            return known
        item = clients.dynamodb().get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            return None
        self._known[where] = count_of(item)
        return self._known[where]

    def count(self, key: Item) -> int:
        """The count to read a key space with: `UNRECORDED` while nothing is recorded."""
        found = self.read(key)
        return UNRECORDED if found is None else found

    def record(self, key: Item, shards: int) -> int:
        """The count to write a key space with: the one recorded, or `shards`, recorded now by
        creating the item (never on an item that exists: it keeps the count it has, or none)."""
        with self._recording:  # a writer's threads record once, then all read the cache
            found = self.read(key)
            if found is not None:
                return found
            try:
                clients.dynamodb().put_item(
                    TableName=self._table,
                    Item={**key, ATTRIBUTE: {"N": str(shards)}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                return self.count(key)  # another writer created it first: its count holds
            self._known[(key["pk"]["S"], key["sk"]["S"])] = shards
            return shards
