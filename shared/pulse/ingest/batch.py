"""Batch ingestion, written once for the four datasets (spec §3).

A batch is applied in two phases so that "rejected whole, with nothing applied" holds:
1. read: stream every part file, validate each row, spill the valid rows to a local file and the
   rejected ones to `rejected.jsonl`, and compare each file's row count with the manifest;
2. apply: only when every file was readable and every count matched, hand the spilled rows to the
   dataset's `Applier`, which may reject more rows (for example `not_on_list`).
Memory holds one row at a time plus the set of ids seen (for `duplicate_id`).

This module talks to storage only through the ports below; `pulse.aws` implements them.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Generic, Protocol, cast

from pulse.core.rules import Rules
from pulse.ingest.datasets import DatasetSpec, R, Rejection
from pulse.ingest.manifest import MANIFEST_NAME, BatchError, BatchLocation, Manifest, parse_manifest
from pulse.ingest.parts import RAW_TEXT_KEEP, iter_rows
from pulse.ingest.report import BatchProblem, FileCount, IngestReport


class PartSource(Protocol):
    """Reads a batch's files (S3 in production)."""

    def read_manifest(self, location: BatchLocation) -> bytes: ...

    def open_part(self, location: BatchLocation, key: str) -> AbstractContextManager[BinaryIO]:
        """The raw bytes of a part; raises BatchError(`missing_file`) when it is not there."""
        ...


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
    ) -> dict[str, Any]: ...


class RejectLog:
    """`rejected.jsonl`, written as rows are rejected, with counts per reason."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self.by_reason: Counter[str] = Counter()

    def add(self, file: str, line: int, rejection: Rejection, raw: Any) -> None:
        self.by_reason[rejection.reason] += 1
        entry = {
            "file": file,
            "line": line,
            "field": rejection.field,
            "reason": rejection.reason,
            "message": rejection.message,
            "row": raw,
        }
        self._handle.write(json.dumps(entry, separators=(",", ":")) + "\n")

    @property
    def count(self) -> int:
        return sum(self.by_reason.values())


@dataclass
class _ReadPhase(Generic[R]):
    spec: DatasetSpec[R]
    location: BatchLocation
    rules: Rules
    rejects: RejectLog
    spill: IO[str]
    accepted_ids: set[str] = field(default_factory=set)
    rows_read: int = 0
    files: list[FileCount] = field(default_factory=list)

    def read(self, manifest: Manifest, source: PartSource) -> None:
        kinds = self.spec.field_kinds
        for part in manifest.files:
            rows_in_file = 0
            with source.open_part(self.location, part.key) as stream:
                for raw in iter_rows(stream, part.key, kinds):
                    rows_in_file += 1
                    self.rows_read += 1
                    self._judge(part.key, raw.line, raw.document, raw.error)
            self.files.append(FileCount(key=part.key, rows_expected=part.rows, rows_read=rows_in_file))
            if rows_in_file != part.rows:
                raise BatchError(
                    "row_count_mismatch",
                    f"manifest says {part.rows} rows, the file has {rows_in_file}",
                    part.key,
                )

    def _judge(self, key: str, line: int, document: bytes | None, error: tuple[str, str] | None) -> None:
        if document is None:
            reason, message = error or ("malformed_row", "row cannot be read")
            # A row that cannot be split into fields may hold anything, unknown fields included,
            # and those are never stored (§3): the report gives its file and line, not its text.
            self.rejects.add(key, line, Rejection(reason, None, message), None)
            return
        verdict = self.spec.validate_row(document, self.location, self.rules)
        if isinstance(verdict, Rejection):
            self.rejects.add(key, line, verdict, _known_fields(document, self.spec.field_kinds))
            return
        row_id = self.spec.row_id(verdict)
        if row_id in self.accepted_ids:
            field_name = self.spec.id_field
            self.rejects.add(
                key,
                line,
                Rejection("duplicate_id", field_name, f"{row_id} appeared earlier in the batch"),
                _known_fields(document, self.spec.field_kinds),
            )
            return
        self.accepted_ids.add(row_id)
        self.spill.write(
            json.dumps([key, line, verdict.model_dump(mode="json")], separators=(",", ":")) + "\n"
        )


def _known_fields(document: bytes, kinds: Mapping[str, type]) -> dict[str, Any] | None:
    """A rejected row as rejected.jsonl keeps it: only its known fields, since unknown extra fields
    are never stored (§3), each cut to RAW_TEXT_KEEP characters of JSON. A row that is no JSON
    object has no fields to tell apart: not kept."""
    try:
        values = json.loads(document)
    except (ValueError, RecursionError):
        return None
    if not isinstance(values, dict):
        return None
    return {name: _cut(value) for name, value in values.items() if name in kinds}


def _cut(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | None) and len(str(value)) <= RAW_TEXT_KEEP:
        return value
    return json.dumps(value, ensure_ascii=False)[:RAW_TEXT_KEEP]


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
                phase = _ReadPhase(spec, location, rules, rejects, spill)
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
            outcome: dict[str, Any] = {}
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
    phase: _ReadPhase[Any],
    rejects: RejectLog,
    *,
    problem: BatchProblem | None,
    outcome: dict[str, Any],
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
