"""The batch pipeline with in-memory ports: what is applied, rejected and reported."""

import datetime as dt
import io
import json
from typing import Any

from pulse.core.rules import load_rules
from pulse.ingest.batch import Accepted, RejectRow, ingest_batch
from pulse.ingest.datasets import CREATORS, Rejection
from pulse.ingest.fast_records import FastCreator
from pulse.ingest.manifest import BatchLocation, locate_batch
from pulse.ingest.parts import write_part
from pulse.ingest.report import Outcome
from pulse.ingest.row_spill import RowSpill
from tests.factories import CREATOR_COLUMNS, creator
from tests.fakes import MemoryPartSource, MemorySink

RULES = load_rules()
FOLDER = "creators/market=US/snapshot=2026-11-27/"
LOCATION = locate_batch(FOLDER + "_manifest.json")


def _now() -> dt.datetime:
    return dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)


class Applied(Outcome):
    applied: int


class RecordingApplier:
    """Applies nothing; remembers what it was given and rejects creators whose id starts with 'x'."""

    def __init__(self) -> None:
        self.rows: list[Accepted[FastCreator]] = []
        self.calls = 0

    def collector(self, location: BatchLocation, workdir: str) -> RowSpill[FastCreator]:
        return RowSpill(FastCreator, workdir)

    def apply(self, location: BatchLocation, collected: RowSpill[FastCreator], reject: RejectRow) -> Applied:
        self.calls += 1
        for accepted in collected.rows():
            if accepted.row.creator_id.startswith("x"):
                reject(accepted, Rejection("not_wanted", "creator_id", "starts with x"))
            else:
                self.rows.append(accepted)
        return Applied(applied=len(self.rows))


def _part(rows: list[dict[str, Any]], key: str) -> bytes:
    buffer = io.BytesIO()
    write_part(rows, key, buffer, CREATOR_COLUMNS)
    return buffer.getvalue()


def _run(
    files: dict[str, bytes], manifest_files: list[dict[str, Any]]
) -> tuple[RecordingApplier, MemorySink]:
    manifest = {"dataset": "creators", "market": "US", "snapshot": "2026-11-27", "files": manifest_files}
    source = MemoryPartSource(
        {FOLDER + k: v for k, v in files.items()} | {FOLDER + "_manifest.json": json.dumps(manifest).encode()}
    )
    applier, sink = RecordingApplier(), MemorySink()
    ingest_batch(LOCATION, CREATORS, source=source, applier=applier, sink=sink, rules=RULES, now=_now)
    return applier, sink


def test_valid_rows_are_applied_and_invalid_ones_rejected_with_file_line_field() -> None:
    jsonl = _part([creator("a"), creator("b", followers=-5), creator("a"), creator("x1")], "p0.jsonl.gz")
    csv = _part([creator("c"), creator("d", enrolled="maybe")], "p1.csv")
    applier, sink = _run(
        {"p0.jsonl.gz": jsonl, "p1.csv": csv},
        [{"key": "p0.jsonl.gz", "rows": 4}, {"key": "p1.csv", "rows": 2}],
    )
    (report,) = sink.reports
    assert [a.row.creator_id for a in applier.rows] == ["a", "c"]
    assert (report.status, report.rows_read, report.rows_accepted, report.rows_rejected) == (
        "processed",
        6,
        2,
        4,
    )
    assert report.rejected_by_reason == {"duplicate_id": 1, "invalid_value": 2, "not_wanted": 1}
    assert report.outcome == Applied(applied=2)
    rejected = [json.loads(line) for line in sink.rejected[0].splitlines()]
    assert [(r["file"], r["line"], r["field"], r["reason"]) for r in rejected] == [
        ("p0.jsonl.gz", 2, "followers", "invalid_value"),
        ("p0.jsonl.gz", 3, "creator_id", "duplicate_id"),
        ("p1.csv", 3, "enrolled", "invalid_value"),
        ("p0.jsonl.gz", 4, "creator_id", "not_wanted"),
    ]
    assert rejected[0]["message"] == "Input should be greater than or equal to 0"
    assert report.report_key == "ingest-reports/creators/market=US/snapshot=2026-11-27/report.json"


def test_a_row_count_that_differs_from_the_manifest_rejects_the_batch_and_applies_nothing() -> None:
    data = _part([creator("a"), creator("b")], "p0.jsonl")
    applier, sink = _run({"p0.jsonl": data}, [{"key": "p0.jsonl", "rows": 3}])
    (report,) = sink.reports
    assert applier.calls == 0
    assert report.status == "rejected"
    assert report.error is not None
    assert (report.error.code, report.error.file) == ("row_count_mismatch", "p0.jsonl")
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (2, 0, 2)
    assert report.event_type == "IngestBatchRejected"


def test_a_missing_part_rejects_the_batch_even_after_good_parts() -> None:
    data = _part([creator("a")], "p0.jsonl")
    applier, sink = _run({"p0.jsonl": data}, [{"key": "p0.jsonl", "rows": 1}, {"key": "p1.jsonl", "rows": 1}])
    assert applier.calls == 0
    assert sink.reports[0].error is not None
    assert sink.reports[0].error.code == "missing_file"


def test_an_unreadable_part_rejects_the_batch() -> None:
    data = _part([creator(f"c{i}") for i in range(500)], "p0.jsonl.gz")[:-30]
    applier, sink = _run({"p0.jsonl.gz": data}, [{"key": "p0.jsonl.gz", "rows": 500}])
    assert applier.calls == 0
    assert sink.reports[0].error is not None
    assert sink.reports[0].error.code == "unreadable_file"
    assert sink.reports[0].rows_accepted == 0
