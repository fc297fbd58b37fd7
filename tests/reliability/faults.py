"""Faults injected into the functions' own AWS clients, and a clock for the claims' leases."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pulse.aws import batch_claims, clients

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
    """Fails the n-th write the functions make (1-based, counted over DynamoDB, S3 and EventBridge),
    with the error botocore raises once its own retries are spent; every other call goes through."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.writes = 0
        self.failed: str | None = None
        self._lock = threading.Lock()  # the functions write from worker threads too

    def __call__(self, model: Any, **_: Any) -> None:
        if model.name not in WRITES.get(model.service_model.service_name, ()):
            return
        with self._lock:
            self.writes += 1
            if self.writes != self.n:
                return
            self.failed = f"{model.service_model.service_name}:{model.name}"
        raise ClientError(
            {"Error": {"Code": "InternalFailure", "Message": f"injected fault at write {self.n}"}},
            model.name,
        )


@contextlib.contextmanager
def injected(fault: FaultAt) -> Iterator[FaultAt]:
    """`fault` armed on the clients the functions use, for the duration of the block."""
    hooked = [clients.dynamodb(), clients.s3(), clients.events()]
    for client in hooked:
        client.meta.events.register("before-call", fault)
    try:
        yield fault
    finally:
        for client in hooked:
            client.meta.events.unregister("before-call", fault)


class LeaseClock:
    """The claims' clock, moved past a lease: a run that died holding its claim (here, when the
    release itself failed) is retried once the lease runs out, as a redrive from the DLQ would be."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        clock = self

        class _Time:
            @staticmethod
            def time() -> float:
                return time.time() + clock.offset

        monkeypatch.setattr(batch_claims, "time", _Time)

    def pass_lease(self, seconds: int = 900) -> None:
        self.offset += seconds + 1
