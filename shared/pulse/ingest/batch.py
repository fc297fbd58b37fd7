"""Batch ingestion, written once for the four datasets (spec §3).

A batch is applied in two phases so that "rejected whole, with nothing applied" holds:
1. read (`pulse.ingest.read_phase`): stream every part file, validate each row, hand the valid
   rows to the applier's collector (local disk: the ranking spill of a videos snapshot, the
   compact row spill of the other datasets) and the rejected ones to `rejected.jsonl`, and
   compare each file's row count with the manifest;
2. apply: only when every file was readable and every count matched, the applier turns what it
   collected into state, and may reject more rows (for example `not_on_list`).
Memory holds a block of rows at a time, whatever the batch's size.

This module talks to storage only through the ports below; `pulse.aws` implements them.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from pulse.core.rules import Rules
from pulse.ingest.datasets import DatasetSpec, Rejection
from pulse.ingest.manifest import MANIFEST_NAME, BatchError, BatchLocation, parse_manifest
from pulse.ingest.read_phase import Collector, PartSource, ReadPhase, RejectLog
from pulse.ingest.report import BatchProblem, FileCount, IngestReport, Outcome

T = TypeVar("T")
C = TypeVar("C", bound=Collector[Any])


class ReportSink(Protocol):
    """Stores the report and the rejected rows (ReportsBucket in production)."""

    def write(self, report: IngestReport, rejected_rows: Path) -> None: ...


@dataclass(frozen=True, slots=True)
class Accepted(Generic[T]):
    """A valid row with where it came from, so the apply phase can still reject it precisely."""

    file: str
    line: int
    row: T


RejectRow = Callable[[Accepted[Any], Rejection], None]


class Applier(Protocol[C]):
    """A dataset's apply phase: where its valid rows wait while the batch is read (`collector`),
    then turning them into state (`apply`) and saying what it did."""

    def collector(self, location: BatchLocation, workdir: str) -> C: ...

    def apply(self, location: BatchLocation, collected: C, reject: RejectRow) -> Outcome: ...


def ingest_batch(
    location: BatchLocation,
    spec: DatasetSpec[Any, Any],
    *,
    source: PartSource,
    applier: Applier[Any],
    sink: ReportSink,
    rules: Rules,
    now: Callable[[], dt.datetime],
    workdir: str | None = None,
    read_workers: int = 1,
) -> IngestReport:
    """Read, validate and apply one batch; always leaves a report, whatever the batch holds."""
    started = now()
    with tempfile.TemporaryDirectory(dir=workdir, prefix="pulse-batch-") as tmp:
        rejected_path = Path(tmp, "rejected.jsonl")
        with rejected_path.open("w", encoding="utf-8") as rejected_handle:
            rejects = RejectLog(rejected_handle)
            phase = ReadPhase(
                spec, location, rules, rejects, lambda: applier.collector(location, tmp), tmp, read_workers
            )
            try:
                problem_report: BatchProblem | None = None
                try:
                    manifest = parse_manifest(source.read_manifest(location), location)
                    phase.read(
                        [(part.key, part.rows) for part in manifest.files],
                        lambda key: source.open_part(location, key),
                    )
                    if location.snapshot is not None and not phase.rows_accepted:
                        # A snapshot is the market's whole state: one with no valid row would mark
                        # every creator absent or empty every list. A producer's fault, not news.
                        raise BatchError(
                            "empty_snapshot",
                            f"the {location.dataset} snapshot has no valid row; the last one stays in force",
                        )
                except BatchError as problem:
                    problem_report = BatchProblem(
                        code=problem.code, message=problem.message, file=problem.file
                    )
                outcome = Outcome()
                if problem_report is None:

                    def reject(accepted: Accepted[Any], rejection: Rejection) -> None:
                        rejects.add(
                            accepted.file, accepted.line, rejection, msgspec.structs.asdict(accepted.row)
                        )

                    outcome = applier.apply(location, phase.collector, reject)
            finally:
                phase.close()
        report = _report(
            location,
            rules,
            phase,
            rejects,
            problem=problem_report,
            outcome=outcome,
            started=started,
            finished=now(),
        )
        sink.write(report, rejected_path)
    return report


def _report(
    location: BatchLocation,
    rules: Rules,
    phase: ReadPhase[Any, Any],
    rejects: RejectLog,
    *,
    problem: BatchProblem | None,
    outcome: Outcome,
    started: dt.datetime,
    finished: dt.datetime,
) -> IngestReport:
    return batch_report(
        location,
        rules,
        rows_read=phase.rows_read,
        rejected_by_reason=rejects.by_reason,
        files=phase.files,
        problem=problem,
        outcome=outcome,
        started_at=started.isoformat(),
        finished_at=finished.isoformat(),
    )


def batch_report(
    location: BatchLocation,
    rules: Rules,
    *,
    rows_read: int,
    rejected_by_reason: Mapping[str, int],
    files: list[FileCount],
    problem: BatchProblem | None,
    outcome: Outcome,
    started_at: str,
    finished_at: str,
) -> IngestReport:
    """A batch's report from what its read and apply phases counted (one invocation's, or a large
    snapshot's state machine's)."""
    if problem is None:
        rejected = sum(rejected_by_reason.values())
        by_reason = dict(sorted(rejected_by_reason.items()))
    else:
        # A rejected batch applies nothing: every row read counts as rejected, under the batch's reason.
        rejected = rows_read
        by_reason = {problem.code: rows_read} if rows_read else {}
    return IngestReport(
        dataset=location.dataset,
        market=location.market,
        batch=location.folder,
        manifest_key=location.folder + MANIFEST_NAME,
        status="processed" if problem is None else "rejected",
        rows_read=rows_read,
        rows_accepted=rows_read - rejected,
        rows_rejected=rejected,
        rejected_by_reason=by_reason,
        error=problem,
        files=files,
        outcome=outcome,
        rules_version=rules.version,
        started_at=started_at,
        finished_at=finished_at,
        report_key=location.report_prefix + "report.json",
        rejected_key=location.report_prefix + "rejected.jsonl",
    )
