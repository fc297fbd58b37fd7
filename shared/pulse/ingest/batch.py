"""Batch ingestion, written once for the four datasets (spec §3).

A batch is applied in two phases so that "rejected whole, with nothing applied" holds:
1. read (`pulse.ingest.read_phase`): stream every part file, validate each row, spill the valid
   rows to a local file and the rejected ones to `rejected.jsonl`, and compare each file's row
   count with the manifest;
2. apply: only when every file was readable and every count matched, hand the spilled rows to the
   dataset's `Applier`, which may reject more rows (for example `not_on_list`).
Memory holds one row at a time plus the set of ids seen (for `duplicate_id`).

This module talks to storage only through the ports below; `pulse.aws` implements them.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, cast

import msgspec
from pydantic import BaseModel

from pulse.core.rules import Rules
from pulse.ingest.datasets import DatasetSpec, R, Rejection
from pulse.ingest.manifest import MANIFEST_NAME, BatchError, BatchLocation, parse_manifest
from pulse.ingest.read_phase import PartSource, ReadPhase, RejectLog
from pulse.ingest.report import BatchProblem, IngestReport, Outcome


class ReportSink(Protocol):
    """Stores the report and the rejected rows (ReportsBucket in production)."""

    def write(self, report: IngestReport, rejected_rows: Path) -> None: ...


@dataclass(frozen=True, slots=True)
class Accepted(Generic[R]):
    """A valid row with where it came from, so the apply phase can still reject it precisely."""

    file: str
    line: int
    row: R


RejectRow = Callable[[Accepted[Any], Rejection], None]


class Applier(Protocol[R]):
    """A dataset's apply phase: turns the accepted rows into state and returns what it did."""

    def apply(
        self, location: BatchLocation, rows: Iterator[Accepted[R]], accepted_ids: set[str], reject: RejectRow
    ) -> Outcome: ...


def _values(row: Any) -> dict[str, Any]:
    """A valid row's fields as JSON values: a pydantic record, or the fast path's struct."""
    if isinstance(row, BaseModel):
        return row.model_dump(mode="json")
    return msgspec.structs.asdict(row)


def _spilled(path: Path, record: type[R]) -> Iterator[Accepted[R]]:
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            key, line, values = json.loads(text)
            # Already validated in the read phase: rebuild without validating twice.
            yield Accepted(key, line, cast(R, record.model_construct(**values)))


def ingest_batch(
    location: BatchLocation,
    spec: DatasetSpec[R],
    *,
    source: PartSource,
    applier: Applier[R],
    sink: ReportSink,
    rules: Rules,
    now: Callable[[], dt.datetime],
    workdir: str | None = None,
) -> IngestReport:
    """Read, validate and apply one batch; always leaves a report, whatever the batch holds."""
    started = now()
    with tempfile.TemporaryDirectory(dir=workdir, prefix="pulse-batch-") as tmp:
        rejected_path = Path(tmp, "rejected.jsonl")
        spill_path = Path(tmp, "accepted.jsonl")
        with rejected_path.open("w", encoding="utf-8") as rejected_handle:
            rejects = RejectLog(rejected_handle)
            with spill_path.open("w", encoding="utf-8") as spill:

                def spill_row(key: str, line: int, row: Any) -> None:
                    spill.write(json.dumps([key, line, _values(row)], separators=(",", ":")) + "\n")

                phase = ReadPhase(spec, location, rules, rejects, spill_row)
                problem_report: BatchProblem | None
                try:
                    manifest = parse_manifest(source.read_manifest(location), location)
                    phase.read(manifest, source)
                    if location.snapshot is not None and not phase.accepted_ids:
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
                else:
                    problem_report = None
            outcome = Outcome()
            if problem_report is None:

                def reject(accepted: Accepted[Any], rejection: Rejection) -> None:
                    rejects.add(accepted.file, accepted.line, rejection, accepted.row.model_dump(mode="json"))

                outcome = applier.apply(
                    location, _spilled(spill_path, spec.record), phase.accepted_ids, reject
                )
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
    phase: ReadPhase[Any],
    rejects: RejectLog,
    *,
    problem: BatchProblem | None,
    outcome: Outcome,
    started: dt.datetime,
    finished: dt.datetime,
) -> IngestReport:
    if problem is None:
        rejected = rejects.count
        by_reason = dict(sorted(rejects.by_reason.items()))
    else:
        # A rejected batch applies nothing: every row read counts as rejected, under the batch's reason.
        rejected = phase.rows_read
        by_reason = {problem.code: phase.rows_read} if phase.rows_read else {}
    return IngestReport(
        dataset=location.dataset,
        market=location.market,
        batch=location.folder,
        manifest_key=location.folder + MANIFEST_NAME,
        status="processed" if problem is None else "rejected",
        rows_read=phase.rows_read,
        rows_accepted=phase.rows_read - rejected,
        rows_rejected=rejected,
        rejected_by_reason=by_reason,
        error=problem,
        files=phase.files,
        outcome=outcome,
        rules_version=rules.version,
        started_at=started.isoformat(),
        finished_at=finished.isoformat(),
        report_key=location.report_prefix + "report.json",
        rejected_key=location.report_prefix + "rejected.jsonl",
    )
