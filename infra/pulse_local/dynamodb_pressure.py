"""DynamoDB under pressure, on moto: a share of calls throttled, a share of batch items left
unprocessed, as a table at its partition's limits answers (for the reliability tests).

Throttled calls answer `ProvisionedThroughputExceededException` (HTTP 400), which botocore retries
and the code above it must survive once the retries run out. BatchWriteItem and BatchGetItem
apply only some of their items and hand the rest back as `UnprocessedItems` / `UnprocessedKeys`.
It changes the test double (moto's DynamoDB handler), never the code under test.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_THROTTLED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
)
_BATCHES = {"BatchWriteItem": ("UnprocessedItems", None), "BatchGetItem": ("UnprocessedKeys", "Keys")}


@dataclass
class Pressure:
    throttled: float  # the share of calls refused
    unprocessed: float  # the share of a batch's items handed back
    seed: int = 14
    calls: int = 0
    refused: int = 0
    held_back: int = 0
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self) -> float:
        with self._lock:
            return self._rng.random()


@contextlib.contextmanager
def dynamodb_pressure(throttled: float = 0.3, unprocessed: float = 0.3) -> Iterator[Pressure]:
    """Put moto's DynamoDB (in this process) under pressure for the block; yields the counts."""
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

    pressure = Pressure(throttled, unprocessed)
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        pressure.calls += 1
        if pressure.draw() < pressure.throttled:
            pressure.refused += 1
            return 400, {"Content-Type": "application/x-amz-json-1.0"}, _THROTTLED
        action = self._get_action()
        if action not in _BATCHES or not pressure.unprocessed:
            return original(self)
        leftover_name, keys_field = _BATCHES[action]
        leftover: dict[str, Any] = {}
        request_items = self.params["RequestItems"]  # the parsed request (moto's call_action reads it)
        for table, requests in request_items.items():
            items = requests[keys_field] if keys_field else requests
            kept = [item for item in items if pressure.draw() >= pressure.unprocessed] or items[:1]
            back = [item for item in items if item not in kept]
            pressure.held_back += len(back)
            if back:
                leftover[table] = {**requests, keys_field: back} if keys_field else back
            if keys_field:
                requests[keys_field] = kept
            else:
                request_items[table] = kept
        status, headers, body = original(self)
        if status == 200 and leftover:
            answer = json.loads(body)
            answer.setdefault(leftover_name, {}).update(leftover)
            body = json.dumps(answer)
            headers["x-amz-crc32"] = str(zlib.crc32(body.encode()))  # botocore checks it
        return status, headers, body

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield pressure
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
