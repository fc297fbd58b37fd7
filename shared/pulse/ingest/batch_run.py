"""One S3 notification of a manifest, end to end: claim, ingest, report, announce, complete.

Every batch is run once (`pulse.core.runs`), keyed by its manifest and the S3 event's identity
(ETag + sequencer): a re-delivered notification finds the completed claim and returns its result
without touching anything; a new upload of the manifest (a new sequencer) is a new batch run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pulse.core.clock import Clock
from pulse.core.events import EventPublisher
from pulse.core.rules import Rules
from pulse.core.runs import ClaimStore, run_once
from pulse.ingest.batch import Applier, ReportSink, ingest_batch
from pulse.ingest.datasets import SPECS
from pulse.ingest.manifest import BatchLocation
from pulse.ingest.read_phase import PartSource


@dataclass(frozen=True)
class IngestContext:
    source: PartSource
    sink: ReportSink
    events: EventPublisher
    claims: ClaimStore
    rules: Rules
    appliers: dict[str, Applier[Any]]
    now: Clock
    lease_seconds: int = 900
    workdir: str | None = None


def run_batch(location: BatchLocation, token: str, ctx: IngestContext, attempt: str = "") -> dict[str, Any]:
    """Process the batch once; returns the run's summary (the event detail plus `duplicate`)."""

    def work() -> dict[str, Any]:
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
        ctx.events.publish(report.event_type, [report.event_detail()])
        return {**report.event_detail(), "status": report.status, "outcome": report.outcome}

    return run_once(
        ctx.claims, f"BATCH#{location.folder}", token, work, lease_seconds=ctx.lease_seconds, attempt=attempt
    )
