"""One S3 notification of a manifest, end to end: claim, ingest, report, announce, complete.

S3 delivers notifications at least once, and Lambda retries failed invocations, so every batch is
claimed first, keyed by its manifest and the S3 event's identity (ETag + sequencer): a re-delivered
notification finds the completed claim and returns its result without touching anything; a new
upload of the manifest (a new sequencer) is a new batch run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pulse.core.rules import Rules
from pulse.ingest.batch import Applier, EventPublisher, PartSource, ReportSink, ingest_batch
from pulse.ingest.datasets import SPECS
from pulse.ingest.manifest import BatchLocation


class RunInProgress(RuntimeError):
    """Another invocation holds this run right now; this one fails so that it is retried later."""


class ClaimStore(Protocol):
    """Claims on runs (a batch, a market's month end), so that each happens once."""

    def claim(self, run_id: str, token: str, lease_seconds: int, attempt: str = "") -> dict[str, Any] | None:
        """None when this run now owns `run_id`; the stored summary when it already completed.

        `attempt` names the invocation (Lambda's request id, which its retries keep): a claim that
        an earlier attempt of the same invocation still holds is taken over at once, because
        Lambda retries only after that attempt ended, however it died (out of memory, a crash).
        """
        ...

    def complete(self, run_id: str, token: str, summary: dict[str, Any]) -> None: ...

    def release(self, run_id: str, token: str) -> None: ...


@dataclass(frozen=True)
class IngestContext:
    source: PartSource
    sink: ReportSink
    events: EventPublisher
    claims: ClaimStore
    rules: Rules
    appliers: dict[str, Applier[Any]]
    now: Callable[[], dt.datetime]
    lease_seconds: int = 900
    workdir: str | None = None


def run_batch(location: BatchLocation, token: str, ctx: IngestContext, attempt: str = "") -> dict[str, Any]:
    """Process the batch once; returns the run's summary (the event detail plus `duplicate`)."""
    run_id = f"BATCH#{location.folder}"
    earlier = ctx.claims.claim(run_id, token, ctx.lease_seconds, attempt)
    if earlier is not None:
        return {**earlier, "duplicate": True}
    try:
        report = ingest_batch(
            replace(location, upload=token),
            SPECS[location.dataset],
            source=ctx.source,
            applier=ctx.appliers[location.dataset],
            sink=ctx.sink,
            rules=ctx.rules,
            now=ctx.now,
            workdir=ctx.workdir,
        )
        summary = {**report.event_detail(), "status": report.status, "outcome": report.outcome}
        ctx.events.publish(report.event_type, [report.event_detail()])
        ctx.claims.complete(run_id, token, summary)
    except BaseException:
        # Lambda's retry can then run it again at once (the run is idempotent), instead of
        # waiting out the lease; a claim that did complete is not released.
        ctx.claims.release(run_id, token)
        raise
    return {**summary, "duplicate": False}
