"""Faults injected into the functions' own AWS clients."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from pulse.aws import clients

# Every call that changes state, per service: the points where a crash leaves work half done.
WRITES = {
    "dynamodb": frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}),
    "s3": frozenset(
        {
            "PutObject",
            "CopyObject",
            "DeleteObject",
            "DeleteObjects",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
        }
    ),
    "events": frozenset({"PutEvents"}),
}


class FaultAt:
    """Fails the k-th call of one write operation (`dynamodb:TransactWriteItems`, 3) with the error
    botocore raises once its own retries are spent; every other call goes through. Without a
    target it fails nothing and records the writes in order: the plan of a sweep.

    Writes are named by operation and occurrence, not by position, because a run's worker threads
    interleave their writes differently from one run to the next."""

    def __init__(self, operation: str = "", occurrence: int = 0) -> None:
        self.target = (operation, occurrence)
        self.writes: list[str] = []
        self.failed: str | None = None
        self._lock = threading.Lock()  # the functions write from worker threads too

    def __call__(self, model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if model.name not in WRITES.get(service, ()):
            return
        operation = f"{service}:{model.name}"
        with self._lock:
            self.writes.append(operation)
            if (operation, self.writes.count(operation)) != self.target:
                return
            self.failed = f"{operation} #{self.target[1]}"
        raise ClientError(
            {"Error": {"Code": "InternalFailure", "Message": f"injected fault at {self.failed}"}},
            model.name,
        )

    def plan(self, longest_run: int | None = None) -> list[tuple[str, int]]:
        """Every write recorded, as the (operation, occurrence) targets of faults to come. With
        `longest_run`, a longer run of one operation in a row (a month end's hundreds of statement
        documents, each its own PutObject and alike) is faulted at its first two writes, its middle
        one and its last two, instead of at every one."""
        targets = [(op, self.writes[: i + 1].count(op)) for i, op in enumerate(self.writes)]
        if longest_run is None:
            return targets
        kept: list[tuple[str, int]] = []
        for _, run in itertools.groupby(targets, key=lambda target: target[0]):
            writes = list(run)
            if len(writes) > longest_run:
                writes = [
                    writes[i] for i in sorted({0, 1, len(writes) // 2, len(writes) - 2, len(writes) - 1})
                ]
            kept += writes
        return kept


Hook = TypeVar("Hook", bound=Callable[..., None])


@contextlib.contextmanager
def injected(fault: Hook) -> Iterator[Hook]:
    """`fault` (a botocore `before-call` hook) armed on the functions' clients during the block."""
    hooked = [clients.dynamodb(), clients.s3(), clients.events()]
    for client in hooked:
        client.meta.events.register("before-call", fault)
    try:
        yield fault
    finally:
        for client in hooked:
            client.meta.events.unregister("before-call", fault)
