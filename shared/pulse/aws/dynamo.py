"""DynamoDB batch calls with their unprocessed leftovers retried, shared by every table adapter."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pulse.aws import clients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesTypeDef, WriteRequestTypeDef

Item = dict[str, Any]
WRITE_BATCH = 25
GET_BATCH = 100
_ATTEMPTS = 8


class Throttled(RuntimeError):
    """DynamoDB kept returning unprocessed items; the invocation fails and is retried whole."""


def _backoff(attempt: int) -> None:
    # Full jitter, capped: unprocessed items mean the table is throttling this partition right now.
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))


def batch_write(table: str, requests: Sequence[WriteRequestTypeDef]) -> int:
    """Write every request, 25 per call; returns the number of BatchWriteItem calls made."""
    calls = 0
    for start in range(0, len(requests), WRITE_BATCH):
        pending: list[Any] = list(requests[start : start + WRITE_BATCH])
        for attempt in range(_ATTEMPTS):
            calls += 1
            response = clients.dynamodb().batch_write_item(RequestItems={table: pending})
            pending = list(response.get("UnprocessedItems", {}).get(table, []))
            if not pending:
                break
            _backoff(attempt)
        else:
            raise Throttled(f"{len(pending)} writes to {table} stayed unprocessed")
    return calls


def batch_get(
    table: str, keys: Sequence[Item], projection: str, names: dict[str, str], *, consistent: bool = False
) -> Iterator[Item]:
    """Every item that exists among `keys` (100 per BatchGetItem), in no particular order."""
    for start in range(0, len(keys), GET_BATCH):
        request: KeysAndAttributesTypeDef | Any = {
            "Keys": list(keys[start : start + GET_BATCH]),
            "ProjectionExpression": projection,
            "ConsistentRead": consistent,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        for attempt in range(_ATTEMPTS):
            response = clients.dynamodb().batch_get_item(RequestItems={table: request})
            yield from response["Responses"].get(table, [])
            leftover = response.get("UnprocessedKeys", {}).get(table)
            if not leftover or not leftover.get("Keys"):
                break
            request = leftover
            _backoff(attempt)
        else:
            raise Throttled(f"reads from {table} stayed unprocessed")


def query_all(**kwargs: Any) -> Iterator[Item]:
    """Every item of a Query, following LastEvaluatedKey."""
    while True:
        response = clients.dynamodb().query(**kwargs)
        yield from response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last
