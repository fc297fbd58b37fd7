"""One S3 notification of a manifest, end to end: claim, ingest, report, announce, complete.

Every batch is run once (`pulse.core.runs`), keyed by its manifest and the S3 event's identity
(ETag + sequencer): a re-delivered notification finds the completed claim and returns its result
without touching anything; a new upload of the manifest (a new sequencer) is a new batch run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from pydantic import SerializeAsAny

from pulse.core.clock import Clock
from pulse.core.events import EventPublisher
from pulse.core.rules import Rules
from pulse.core.runs import ClaimStore, RunResult, run_once
from pulse.core.summary import Summary
from pulse.ingest.batch import Applier, ReportSink, ingest_batch
from pulse.ingest.datasets import SPECS
from pulse.ingest.manifest import BatchLocation, Dataset
from pulse.ingest.read_phase import PartSource
from pulse.ingest.report import BatchProblem, IngestReport, Outcome


class BatchRunSummary(Summary):
    """A batch run's summary: the event's detail (spec §6), the report's status and the outcome."""

    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"error"})

    dataset: Dataset
    market: str
    batch: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    report_key: str
    error: BatchProblem | None = None
    status: Literal["processed", "rejected"]
    outcome: SerializeAsAny[Outcome]

    @classmethod
    def of(cls, report: IngestReport) -> BatchRunSummary:
        return cls(**report.event_detail(), status=report.status, outcome=report.outcome)


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
    read_workers: int = 1


def run_batch(
    location: BatchLocation, token: str, ctx: IngestContext, attempt: str = ""
) -> RunResult[BatchRunSummary]:
    """Process the batch once (a redelivery gets the first run's summary back, as a duplicate)."""

    def work() -> BatchRunSummary:
        report = ingest_batch(
            replace(location, upload=token),
            SPECS[location.dataset],
            source=ctx.source,
            applier=ctx.appliers[location.dataset],
            sink=ctx.sink,
            rules=ctx.rules,
            now=ctx.now,
            workdir=ctx.workdir,
            read_workers=ctx.read_workers,
        )
        ctx.events.publish(report.event_type, [report.event_detail()])
        return BatchRunSummary.of(report)

    return run_once(
        ctx.claims,
        f"BATCH#{location.folder}",
        token,
        work,
        BatchRunSummary,
        lease_seconds=ctx.lease_seconds,
        attempt=attempt,
    )
