"""Hostile files and batches (issue 8), end to end on moto: S3 notification → ingest function.

Every batch of HOSTILE is uploaded into a folder of its own, for each dataset it applies to, and
its manifest's notification is delivered to that dataset's function as S3 would deliver it.
Whatever the batch holds, the function returns normally and the batch ends one of two ways (§3):

- rejected whole: report.json names the problem and the file at fault, an IngestBatchRejected
  event says so, and nothing is applied: the state table gains the batch's claim and nothing else,
  ReportsBucket the report and rejected.jsonl and nothing else;
- processed: each hostile row is rejected alone, with its file, line, field and reason in
  rejected.jsonl, and exactly the valid rows are applied (read back through the domain's stores).

Either way, delivering the same notification again changes nothing, and the value of an unknown
extra field (MARKER) is stored nowhere: not in the state table, not in ReportsBucket.

CASES lists every (hostile batch, dataset) pair delivered. One moto account per dataset runs all
of that dataset's batches, each batch a subtest (a fresh account costs about a second). Batches
do not see each other: each has its own folder, its own row ids and (for snapshots) a later
snapshot date than the one before.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import posixpath
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import pytest

from pulse.aws.dynamo import batch_get
from pulse.aws.eligibility_table import DynamoEligibilityStore
from pulse.aws.ledger_table import DynamoLedgerStore, entry_key
from pulse.aws.list_table import DynamoListStore
from pulse.aws.rankings import S3DynamoRankingStore
from pulse.core.rules import load_rules
from pulse.ingest.datasets import SPECS
from pulse.ingest.manifest import DATASETS, MANIFEST_MAX_BYTES, MANIFEST_NAME, Dataset
from pulse.ingest.parts import MAX_LINE_BYTES
from pulse_cli.template import Stack
from pulse_cli.uploads import Uploaded, put_bytes
from tests.factories import adjustment, creator, revenue, video

# The value of an unknown extra field or column: it must never be stored anywhere.
MARKER = "viewer-7f3a9c-never-stored"
UTF8_BOM = b"\xef\xbb\xbf"
FIRST_SNAPSHOT = dt.date(2026, 9, 1)
TOO_LONG = f"longer than {MAX_LINE_BYTES} bytes"
LONG = 120  # rows of the long files, with a huge line in their middle


# --- one dataset as the batches need it ---------------------------------------------------------


@cache
def _categories() -> tuple[str, ...]:
    return tuple(load_rules().categories)


@dataclass(frozen=True)
class Part:
    key: str
    body: bytes
    rows: int


@dataclass(frozen=True)
class Batch:
    parts: list[Part]
    manifest: bytes
    # Objects outside the batch folder (keys of the ingest bucket) that must never be read.
    decoys: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Kit:
    """Rows, folders and manifests of one dataset; `slot` makes each batch's folder and ids unique."""

    dataset: Dataset
    slot: int
    list_version: str = ""  # revenue rows are attributed through it

    @property
    def snapshot(self) -> str | None:
        if self.dataset not in ("creators", "videos"):
            return None
        return (FIRST_SNAPSHOT + dt.timedelta(days=self.slot)).isoformat()

    @property
    def folder_name(self) -> str:
        return f"snapshot={self.snapshot}" if self.snapshot else f"hostile-{self.slot:03d}"

    @property
    def folder(self) -> str:
        if self.dataset == "revenue":
            return f"revenue/market=US/date=2026-11-27/{self.folder_name}/"
        return f"{self.dataset}/market=US/{self.folder_name}/"

    @property
    def report_prefix(self) -> str:
        """Where §3 puts the batch's report, spelled out here rather than taken from the code."""
        return f"ingest-reports/{self.dataset}/market=US/{self.folder_name}/"

    @property
    def columns(self) -> list[str]:
        return list(SPECS[self.dataset].field_kinds)

    def row_id(self, n: int) -> str:
        return f"{self.dataset[0]}{self.slot:03d}_{n}"

    def row(self, n: int, **overrides: Any) -> dict[str, Any]:
        """Valid row number `n`; videos go round the categories, each scoring more than the last."""
        row_id = self.row_id(n)
        if self.dataset == "creators":
            return creator(row_id, **overrides)
        if self.dataset == "videos":
            categories = _categories()
            return video(row_id, "on1", categories[n % len(categories)], views=n + 1, **overrides)
        if self.dataset == "revenue":
            return revenue(row_id, "p0", self.list_version, 1_000 + n, **overrides)
        return adjustment(row_id, "on1", -(n + 1), **overrides)

    def bad_row(self, n: int, **extra: Any) -> dict[str, Any]:
        """Valid but for its market; a video would top its category if it slipped through."""
        if self.dataset == "videos":
            extra["views_24h"] = 10**9
        return self.row(n, market="GB", **extra)

    def rows(self, numbers: Iterable[int], **overrides: Any) -> list[dict[str, Any]]:
        return [self.row(n, **overrides) for n in numbers]

    def part(self, key: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = ()) -> Part:
        """A part file as its extension says (JSON Lines or CSV, gzip-compressed for .gz)."""
        body = to_csv(rows, columns or self.columns) if ".csv" in key else to_jsonl(rows)
        return Part(key, gz(body) if key.endswith(".gz") else body, len(rows))

    def good(self) -> Part:
        """Rows 900-902 in good.jsonl: in a batch rejected whole, they must stay unapplied."""
        return self.part("good.jsonl", self.rows(range(900, 903)))

    def manifest(self, parts: Iterable[Part] = (), **changes: Any) -> bytes:
        document: dict[str, Any] = {
            "dataset": self.dataset,
            "market": "US",
            "files": [{"key": p.key, "rows": p.rows} for p in parts],
        }
        if self.snapshot:
            document["snapshot"] = self.snapshot
        document.update(changes)
        return json.dumps(document).encode()

    def batch(self, *parts: Part, **manifest_changes: Any) -> Batch:
        return Batch(list(parts), self.manifest(parts, **manifest_changes))


def to_jsonl(rows: Iterable[Mapping[str, Any]], encoding: str = "utf-8") -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode(encoding)


def to_csv(
    rows: Iterable[Mapping[str, Any] | Sequence[str]], columns: Sequence[str], encoding: str = "utf-8"
) -> bytes:
    """A header and a line per row; a row given as a list of cells is written as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns] if isinstance(row, Mapping) else row)
    return out.getvalue().encode(encoding)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def padded_json_line(row: Mapping[str, Any], length: int) -> bytes:
    """The row as a JSON line of exactly `length` bytes (newline excluded), padded in an extra field."""
    base = len(json.dumps({"pad": MARKER, **row}))
    line = json.dumps({"pad": MARKER + "x" * (length - base), **row}).encode()
    assert len(line) == length
    return line


def padded_csv_line(row: Mapping[str, Any], columns: Sequence[str], length: int) -> bytes:
    """The row under `columns` + ["pad"] as a CSV line of exactly `length` bytes."""
    cells = [_cell(row.get(c)) for c in columns]
    base = len(",".join([*cells, MARKER]))
    line = ",".join([*cells, MARKER + "x" * (length - base)]).encode()
    assert len(line) == length
    return line


# --- what must happen ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    """The batch is rejected whole: `code`, the file at fault, and a fragment of the reason."""

    code: str
    file: str | None
    says: str


@dataclass(frozen=True)
class RowRejected:
    file: str
    line: int
    field: str | None
    reason: str
    says: str
    row: int | None = None  # the row number whose id must not be applied, when it has one


@dataclass(frozen=True)
class Processed:
    """The batch is applied: exactly rows `applied` (by number); each of `rejected` rejected alone."""

    applied: tuple[int, ...]
    rejected: tuple[RowRejected, ...] = ()


Outcome = Rejected | Processed


@dataclass(frozen=True)
class Hostile:
    name: str
    make: Callable[[Kit], tuple[Batch, Outcome]]
    datasets: tuple[Dataset, ...] = DATASETS


def _good_applied(kit: Kit) -> Processed:
    return Processed(applied=(900, 901, 902))


# --- the hostile batches ------------------------------------------------------------------------
# Truncated and broken gzip: the file is unreadable, so the batch is rejected whole (§3).


def _gzip_cut_mid_stream(key: str) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        part = kit.part(key, kit.rows(range(LONG)))
        assert len(part.body) > 200  # past its 10-byte header, half of it ends inside the deflate stream
        cut = replace(part, body=part.body[: len(part.body) // 2])
        return kit.batch(kit.good(), cut), Rejected("unreadable_file", key, "truncated gzip")

    return Hostile(f"gzip cut mid-stream ({key})", make)


def _gzip_spoiled(name: str, spoil: Callable[[bytes], bytes], says: str) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        part = kit.part("p.jsonl.gz", kit.rows(range(20)))
        bad = replace(part, body=spoil(part.body))
        return kit.batch(kit.good(), bad), Rejected("unreadable_file", "p.jsonl.gz", says)

    return Hostile(name, make)


def _bad_crc(body: bytes) -> bytes:
    return body[:-8] + b"\0\0\0\0" + body[-4:]


GZIP = [
    _gzip_cut_mid_stream("cut.jsonl.gz"),
    _gzip_cut_mid_stream("cut.csv.gz"),
    _gzip_spoiled("gzip cut inside its header", lambda body: body[:5], "truncated gzip"),
    _gzip_spoiled("a .gz file that is not gzip at all", gzip.decompress, "Not a gzipped file"),
    _gzip_spoiled("gzip whose checksum is wrong", _bad_crc, "CRC check failed"),
    _gzip_spoiled("gzip followed by garbage", lambda body: body + b"not gzip", "Not a gzipped file"),
]


# Encodings. Part files are UTF-8 (§3 says nothing else, and JSON is UTF-8, RFC 8259 §8.1). A file
# in another encoding is unreadable and rejects the batch whole: decoding it as UTF-8 would fail
# or, worse, turn its text into something else without a word. A UTF-8 byte order mark at the
# start of a file is accepted and dropped: it is no character of the data, only a signature that
# common tools write (Excel's "CSV UTF-8", Windows PowerShell), and RFC 8259 lets a parser ignore
# it. Refusing it would reject good data for a detail; keeping it would glue U+FEFF onto the first
# CSV column's name and make the header lack that column. The same goes for the manifest.


def _wrong_encoding(key: str, encoding: str, says: str) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        rows = kit.rows(range(5))
        rows[2]["note"] = "Café Müller"  # an extra field: ignored, but its bytes must decode
        in_csv = ".csv" in key
        part = Part(
            key, to_csv(rows, [*kit.columns, "note"], encoding) if in_csv else to_jsonl(rows, encoding), 5
        )
        return kit.batch(kit.good(), part), Rejected("unreadable_file", key, says)

    return Hostile(f"{encoding} text in {key}", make)


def _utf8_bom(key: str) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        rows = kit.rows(range(4))
        body = to_csv(rows, kit.columns) if ".csv" in key else to_jsonl(rows)
        body = UTF8_BOM + body
        part = Part(key, gz(body) if key.endswith(".gz") else body, len(rows))
        return kit.batch(part), Processed(applied=(0, 1, 2, 3))

    return Hostile(f"UTF-8 with a byte order mark ({key})", make)


def _manifest_with_bom(kit: Kit) -> tuple[Batch, Outcome]:
    good = kit.good()
    return Batch([good], UTF8_BOM + kit.manifest([good])), _good_applied(kit)


def _manifest_in_utf16(kit: Kit) -> tuple[Batch, Outcome]:
    good = kit.good()
    manifest = kit.manifest([good]).decode().encode("utf-16")
    return Batch([good], manifest), Rejected("bad_manifest", MANIFEST_NAME, "not UTF-8")


ENCODINGS = [
    _wrong_encoding("p.jsonl", "utf-16", "line 1 is not valid UTF-8"),
    _wrong_encoding("p.csv", "utf-16", "line 1 is not valid UTF-8"),
    _wrong_encoding("p.jsonl", "latin-1", "line 3 is not valid UTF-8"),
    _wrong_encoding("p.csv", "latin-1", "line 4 is not valid UTF-8"),
    _utf8_bom("p.jsonl"),
    _utf8_bom("p.csv"),
    _utf8_bom("p.csv.gz"),
    Hostile("a manifest with a UTF-8 byte order mark", _manifest_with_bom),
    Hostile("a manifest in UTF-16", _manifest_in_utf16),
]


# CSV columns and cells.


def _csv_missing_column(kit: Kit) -> tuple[Batch, Outcome]:
    columns = [c for c in kit.columns if c != "market"]
    part = kit.part("p.csv", kit.rows(range(3)), columns)
    return kit.batch(kit.good(), part), Rejected("bad_csv_header", "p.csv", "missing columns ['market']")


def _csv_column_twice(kit: Kit) -> tuple[Batch, Outcome]:
    part = kit.part("p.csv", kit.rows(range(3)), [*kit.columns, "market"])
    return kit.batch(kit.good(), part), Rejected("bad_csv_header", "p.csv", "'market' appears twice")


def _extra_field(key: str) -> Hostile:
    """An unknown column (field): ignored, its values stored nowhere, even for a rejected row."""

    def make(kit: Kit) -> tuple[Batch, Outcome]:
        rows = [
            *kit.rows(range(4), viewer_email=MARKER),
            kit.bad_row(4, viewer_email=MARKER),
            kit.row(0, viewer_email=MARKER),  # a duplicate: rejected, and kept without the field
        ]
        part = kit.part(key, rows, [*kit.columns, "viewer_email"])
        header = 1 if ".csv" in key else 0
        id_field = SPECS[kit.dataset].id_field
        rejected = (
            RowRejected(key, 5 + header, "market", "market_mismatch", "row is for GB", row=4),
            RowRejected(key, 6 + header, id_field, "duplicate_id", "appeared earlier in the batch"),
        )
        return kit.batch(part), Processed((0, 1, 2, 3), rejected)

    return Hostile(f"an unknown extra field ({key})", make)


def _csv_ragged_rows(kit: Kit) -> tuple[Batch, Outcome]:
    """A row with more cells than the header and one with fewer: each rejected alone."""
    width = len(kit.columns)
    cells = [[_cell(row[c]) for c in kit.columns] for row in kit.rows(range(5))]
    cells[1].append("surplus")  # no column of the header: the row is kept as read, as evidence
    cells[3].pop()
    part = Part("p.csv", to_csv(cells, kit.columns), 5)
    rejected = (
        RowRejected("p.csv", 3, None, "malformed_row", f"row has {width + 1} cells, header has {width}", 1),
        RowRejected("p.csv", 5, None, "malformed_row", f"row has {width - 1} cells, header has {width}", 3),
    )
    return kit.batch(part), Processed((0, 2, 4), rejected)


def _jsonl_rows_that_are_no_objects(kit: Kit) -> tuple[Batch, Outcome]:
    lone_surrogate = json.dumps({**kit.row(5), "note": "\ud800"})  # JSON can spell it; Unicode has none
    lines = [
        json.dumps(kit.row(0)),
        "{not json",
        "[1, 2]",
        '"text"',
        "[" * 100_000,
        lone_surrogate,
        json.dumps(kit.row(6)),
    ]
    part = Part("p.jsonl", ("\n".join(lines) + "\n").encode(), 7)
    rejected = (
        RowRejected("p.jsonl", 2, None, "malformed_row", "Invalid JSON"),
        RowRejected("p.jsonl", 3, None, "malformed_row", "row is not a JSON object"),
        RowRejected("p.jsonl", 4, None, "malformed_row", "row is not a JSON object"),
        RowRejected("p.jsonl", 5, None, "malformed_row", "recursion limit exceeded"),
        RowRejected("p.jsonl", 6, None, "malformed_row", "Invalid JSON", row=5),
    )
    return kit.batch(part), Processed((0, 6), rejected)


def _csv_unclosed_quote(kit: Kit) -> tuple[Batch, Outcome]:
    """A quote opened on line 4 and never closed swallows the rest of the file into one bad row:
    the file then holds fewer rows than its manifest says, so the batch is rejected whole."""
    cells: list[list[str]] = [[_cell(row[c]) for c in kit.columns] for row in kit.rows(range(5))]
    lines = to_csv(cells, kit.columns).decode().split("\n")
    lines[3] = '"' + lines[3]
    part = Part("p.csv", "\n".join(lines).encode(), 5)
    return kit.batch(kit.good(), part), Rejected(
        "row_count_mismatch", "p.csv", "manifest says 5 rows, the file has 3"
    )


CSV = [
    Hostile("a CSV header without a required column", _csv_missing_column),
    Hostile("a CSV header naming a column twice", _csv_column_twice),
    _extra_field("p.csv"),
    _extra_field("p.jsonl"),
    Hostile("CSV rows with more and fewer cells than the header", _csv_ragged_rows),
    Hostile("a CSV quote never closed", _csv_unclosed_quote),
    Hostile("JSON Lines rows that are no JSON object", _jsonl_rows_that_are_no_objects),
]


# Huge lines. A line over MAX_LINE_BYTES (1 MiB) is one invalid row: it is rejected alone and the
# other rows apply (§3: "within a readable batch, each invalid row is rejected on its own"); it
# still counts as a row of the file against the manifest. It is skipped, never held in memory.


def _huge_line_in_a_long_file(key: str) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        in_csv = ".csv" in key
        columns = [*kit.columns, "pad"]

        def line(n: int) -> bytes:
            if n == LONG // 2:
                length = 2 * MAX_LINE_BYTES + 17
                row = kit.row(n)
                return padded_csv_line(row, kit.columns, length) if in_csv else padded_json_line(row, length)
            return (
                to_csv([kit.row(n)], columns).split(b"\n")[1] if in_csv else json.dumps(kit.row(n)).encode()
            )

        header = [",".join(columns).encode()] if in_csv else []
        body = b"\n".join([*header, *map(line, range(LONG))]) + b"\n"
        part = Part(key, gz(body) if key.endswith(".gz") else body, LONG)
        huge = LONG // 2
        rejected = RowRejected(key, huge + 1 + len(header), None, "line_too_long", TOO_LONG, row=huge)
        return kit.batch(part), Processed(tuple(n for n in range(LONG) if n != huge), (rejected,))

    return Hostile(f"one huge line amid {LONG} rows ({key})", make)


def _line_lengths_at_the_cap(key: str) -> Hostile:
    """A line of exactly MAX_LINE_BYTES is read; one byte more and it is rejected."""

    def make(kit: Kit) -> tuple[Batch, Outcome]:
        if ".csv" in key:
            columns = [*kit.columns, "pad"]
            header = ",".join(columns).encode()
            lines = [
                header,
                to_csv([kit.row(0)], columns).split(b"\n")[1],
                padded_csv_line(kit.row(1), kit.columns, MAX_LINE_BYTES),
                padded_csv_line(kit.row(2), kit.columns, MAX_LINE_BYTES + 1),
                to_csv([kit.row(3)], columns).split(b"\n")[1],
            ]
        else:
            lines = [
                json.dumps(kit.row(0)).encode(),
                padded_json_line(kit.row(1), MAX_LINE_BYTES),
                padded_json_line(kit.row(2), MAX_LINE_BYTES + 1),
                json.dumps(kit.row(3)).encode(),
            ]
        part = Part(key, b"\n".join(lines) + b"\n", 4)
        line = 4 if ".csv" in key else 3
        rejected = RowRejected(key, line, None, "line_too_long", TOO_LONG, row=2)
        return kit.batch(part), Processed((0, 1, 3), (rejected,))

    return Hostile(f"lines of 1 MiB and of 1 MiB + 1 byte ({key})", make)


def _huge_last_line_without_newline(kit: Kit) -> tuple[Batch, Outcome]:
    body = to_jsonl(kit.rows(range(3))) + padded_json_line(kit.row(3), 3 * MAX_LINE_BYTES)
    part = Part("p.jsonl", body, 4)
    rejected = RowRejected("p.jsonl", 4, None, "line_too_long", TOO_LONG, row=3)
    return kit.batch(part), Processed((0, 1, 2), (rejected,))


def _huge_csv_header(kit: Kit) -> tuple[Batch, Outcome]:
    columns = [*kit.columns, "pad" + "x" * MAX_LINE_BYTES]
    part = kit.part("p.csv", kit.rows(range(3)), columns)
    return kit.batch(kit.good(), part), Rejected("bad_csv_header", "p.csv", TOO_LONG)


HUGE_LINES = [
    _huge_line_in_a_long_file("p.jsonl"),
    _huge_line_in_a_long_file("p.csv"),
    _huge_line_in_a_long_file("p.jsonl.gz"),
    _line_lengths_at_the_cap("p.jsonl"),
    _line_lengths_at_the_cap("p.csv"),
    Hostile("a huge last line without a newline", _huge_last_line_without_newline),
    Hostile("a CSV header longer than 1 MiB", _huge_csv_header),
]


# Empty files. A file with no rows is fine when its manifest says 0 rows, and a count mismatch
# otherwise. A 0-byte .gz is not a valid gzip file, but it is read as empty, like an empty gzip
# member: nothing can be lost that way, since the manifest's count is still checked.


def _empty(key: str, shown: str, body: Callable[[Kit], bytes], manifest_rows: int) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        batch = kit.batch(kit.good(), Part(key, body(kit), manifest_rows))
        if manifest_rows == 0:
            return batch, _good_applied(kit)
        says = f"manifest says {manifest_rows} rows, the file has 0"
        return batch, Rejected("row_count_mismatch", key, says)

    return Hostile(f"{key} of {shown}, manifest says {manifest_rows} rows", make)


def _header_only(kit: Kit) -> bytes:
    return to_csv([], kit.columns)


def _nothing_but_empty_files(kit: Kit) -> tuple[Batch, Outcome]:
    """A batch of empty files only: harmless for the ledger, but a snapshot with no row would mark
    every creator absent or empty every list, so it is refused and the last snapshot stays."""
    batch = kit.batch(Part("a.jsonl", b"", 0), Part("b.csv", _header_only(kit), 0))
    if kit.dataset in ("creators", "videos"):
        return batch, Rejected("empty_snapshot", None, "no valid row")
    return batch, Processed(applied=())


EMPTY = [
    Hostile("a batch of nothing but empty files", _nothing_but_empty_files),
    _empty("empty.jsonl", "0 bytes", lambda kit: b"", 0),
    _empty("empty.csv", "0 bytes", lambda kit: b"", 5),
    _empty("empty.jsonl.gz", "0 bytes", lambda kit: b"", 0),
    _empty("empty.csv.gz", "an empty gzip member", lambda kit: gz(b""), 0),
    _empty("header.csv", "only a header", _header_only, 0),
    _empty("header.csv", "only a header", _header_only, 2),
]


# Manifests that point outside their folder. Each key is refused before anything is read: decoys
# (valid parts with the rows the manifest promises) wait wherever a careless reader would look.


def _outside(key: str) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        decoy = to_jsonl(kit.rows(range(50, 52)))
        plain = key.split("\0", 1)[0]  # where a reader that stops at NUL would go
        targets = {kit.folder + plain, posixpath.normpath(kit.folder + plain), plain.lstrip("/")}
        decoys = {t: decoy for t in targets if not t.endswith(MANIFEST_NAME)}
        batch = Batch([], kit.manifest([Part(key, b"", 2)]), decoys)
        return batch, Rejected("bad_manifest", MANIFEST_NAME, repr(key))

    return Hostile(f"a manifest naming {key!r}", make)


OUTSIDE = [
    _outside(key)
    for key in (
        "../other/p.jsonl",
        "/abs/p.jsonl",
        "s3://bucket/x.jsonl",
        "sub/../../x.jsonl",
        "sub/p.jsonl",
        "..\\p.jsonl",
        "p.jsonl\0.csv",
        "_manifest.json",
    )
]


# Manifests that are no manifest, or not this folder's.


def _bad_manifest(
    name: str,
    document: Callable[[Kit, Part], bytes],
    code: str,
    says: str | Callable[[Kit], str],
    datasets: tuple[Dataset, ...] = DATASETS,
) -> Hostile:
    def make(kit: Kit) -> tuple[Batch, Outcome]:
        good = kit.good()
        reason = says(kit) if callable(says) else says
        return Batch([good], document(kit, good)), Rejected(code, MANIFEST_NAME, reason)

    return Hostile(name, make, datasets)


def _other_dataset(kit: Kit) -> str:
    return DATASETS[(DATASETS.index(kit.dataset) + 1) % len(DATASETS)]


def _with_rows(rows: object) -> Callable[[Kit, Part], bytes]:
    return lambda kit, good: kit.manifest(files=[{"key": good.key, "rows": rows}])


def _missing_file(kit: Kit) -> tuple[Batch, Outcome]:
    good = kit.good()
    manifest = kit.manifest([good, Part("absent.jsonl", b"", 1)])
    return Batch([good], manifest), Rejected("missing_file", "absent.jsonl", "not in the batch folder")


SNAPSHOTS: tuple[Dataset, ...] = ("creators", "videos")
MANIFESTS = [
    _bad_manifest(
        "a manifest that is not JSON", lambda kit, good: b"{not json", "bad_manifest", "Invalid JSON"
    ),
    _bad_manifest("a manifest of 0 bytes", lambda kit, good: b"", "bad_manifest", "Invalid JSON"),
    _bad_manifest(
        "a manifest nested 100,000 deep", lambda kit, good: b"[" * 100_000, "bad_manifest", "Invalid JSON"
    ),
    _bad_manifest(
        "a manifest that is an array", lambda kit, good: b"[]", "bad_manifest", "should be an object"
    ),
    _bad_manifest(
        "a manifest that is null", lambda kit, good: b"null", "bad_manifest", "should be an object"
    ),
    _bad_manifest(
        "a manifest naming another dataset",
        lambda kit, good: kit.manifest([good], dataset=_other_dataset(kit)),
        "manifest_mismatch",
        lambda kit: f"folder is {kit.dataset}/US",
    ),
    _bad_manifest(
        "a manifest naming an unknown dataset",
        lambda kit, good: kit.manifest([good], dataset="payouts"),
        "bad_manifest",
        "dataset:",
    ),
    _bad_manifest(
        "a manifest naming another market",
        lambda kit, good: kit.manifest([good], market="GB"),
        "manifest_mismatch",
        lambda kit: f"manifest says {kit.dataset}/GB",
    ),
    _bad_manifest(
        "a manifest naming its market in lower case",
        lambda kit, good: kit.manifest([good], market="us"),
        "manifest_mismatch",
        lambda kit: f"manifest says {kit.dataset}/us",
    ),
    _bad_manifest(
        "a manifest naming another snapshot",
        lambda kit, good: kit.manifest([good], snapshot="2020-01-01"),
        "manifest_mismatch",
        "'2020-01-01' differs from folder snapshot",
        SNAPSHOTS,
    ),
    _bad_manifest(
        "a manifest without its snapshot",
        lambda kit, good: kit.manifest([good], snapshot=None),
        "manifest_mismatch",
        "None differs from folder snapshot",
        SNAPSHOTS,
    ),
    _bad_manifest(
        "a manifest listing a file twice",
        lambda kit, good: kit.manifest([good, good]),
        "bad_manifest",
        "'good.jsonl' is listed twice",
    ),
    _bad_manifest("negative rows", _with_rows(-1), "bad_manifest", "files.0.rows: Input should be greater"),
    _bad_manifest(
        "fractional rows", _with_rows(2.5), "bad_manifest", "files.0.rows: Input should be a valid"
    ),
    _bad_manifest("rows as text", _with_rows("3"), "bad_manifest", "files.0.rows: Input should be a valid"),
    _bad_manifest("rows as a boolean", _with_rows(True), "bad_manifest", "files.0.rows: Input should be a"),
    _bad_manifest("rows as null", _with_rows(None), "bad_manifest", "files.0.rows: Input should be a valid"),
    _bad_manifest(
        "a file without rows",
        lambda kit, good: kit.manifest(files=[{"key": good.key}]),
        "bad_manifest",
        "files.0.rows: Field required",
    ),
    _bad_manifest(
        "a file entry that is not an object",
        lambda kit, good: kit.manifest(files=[good.key]),
        "bad_manifest",
        "files.0: Input should be",
    ),
    _bad_manifest(
        "an unknown extension (.parquet)",
        lambda kit, good: kit.manifest([replace(good, key="p.parquet")]),
        "bad_manifest",
        "'p.parquet': part files end in one of .jsonl, .jsonl.gz, .csv, .csv.gz",
    ),
    _bad_manifest(
        "an unknown extension (.jsonl.zst)",
        lambda kit, good: kit.manifest([replace(good, key="p.jsonl.zst")]),
        "bad_manifest",
        "'p.jsonl.zst': part files end in one of",
    ),
    _bad_manifest(
        "10,001 files",
        lambda kit, good: kit.manifest([good, *(Part(f"p{i}.jsonl", b"", 1) for i in range(10_000))]),
        "bad_manifest",
        "files: List should have at most 10000 items",
    ),
    _bad_manifest(
        "no files", lambda kit, good: kit.manifest([]), "bad_manifest", "files: List should have at least 1"
    ),
    _bad_manifest(
        "a manifest larger than 1 MiB",
        lambda kit, good: kit.manifest([good], comment="x" * MANIFEST_MAX_BYTES),
        "bad_manifest",
        f"larger than {MANIFEST_MAX_BYTES} bytes",
    ),
    Hostile("a manifest listing a file that is not there", _missing_file),
]

HOSTILE: list[Hostile] = [*GZIP, *ENCODINGS, *CSV, *HUGE_LINES, *EMPTY, *OUTSIDE, *MANIFESTS]
# Every (hostile batch, dataset) pair this module delivers.
CASES: list[tuple[Hostile, Dataset]] = [(h, d) for h in HOSTILE for d in h.datasets]


# --- driving the functions and reading back what they did --------------------------------------


# Every row number a batch holds: its own rows (up to LONG), its decoys' (50, 51) and good.jsonl's.
ALL_ROWS = (*range(LONG), 900, 901, 902)


@dataclass(frozen=True)
class World:
    """What the domain holds, read through its own stores, and what ReportsBucket holds.

    The state table is not scanned whole for each batch (moto takes a good second to serialise a
    few hundred items): its item count says whether anything was added, and the domain's read
    paths say whether anything the batch could have touched changed.
    """

    items: int
    claim: dict[str, Any] | None
    domain: dict[str, Any]
    objects: dict[str, str]  # ReportsBucket key → ETag


@dataclass
class Account:
    stack: Stack
    s3: Any
    dynamodb: Any
    deliver: Callable[..., list[Any]]
    bus_events: Callable[[], list[dict[str, Any]]]

    @property
    def table(self) -> str:
        return self.stack.name_of("StateTable")

    def world(self, kit: Kit) -> World:
        count = 0
        kwargs: dict[str, Any] = {"TableName": self.table, "Select": "COUNT", "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**kwargs)
            count += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        claim = self.dynamodb.get_item(
            TableName=self.table, Key={"pk": {"S": f"BATCH#{kit.folder}"}, "sk": {"S": "CLAIM"}}
        ).get("Item")
        reports = self.stack.name_of("ReportsBucket")
        domain = {
            "creators_snapshot": DynamoEligibilityStore(self.table).latest_snapshot("US"),
            "videos_snapshot": S3DynamoRankingStore(reports, self.table).latest_snapshot("US"),
            "list": DynamoListStore(self.table).current("US"),
            "totals": DynamoLedgerStore(self.table).totals("US", "2026-11", "on1"),
            "applied": self.applied(kit, ALL_ROWS),
        }
        objects: dict[str, str] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=reports):
            objects.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
        return World(count, claim, domain, objects)

    def all_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def report_object(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.stack.name_of("ReportsBucket"), Key=key)["Body"].read()
        return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body

    def upload(self, kit: Kit, batch: Batch) -> Uploaded:
        bucket = self.stack.name_of("IngestBucket")
        for key, body in batch.decoys.items():
            put_bytes(self.s3, bucket, key, body)
        for part in batch.parts:
            put_bytes(self.s3, bucket, kit.folder + part.key, part.body)
        return put_bytes(self.s3, bucket, kit.folder + MANIFEST_NAME, batch.manifest)

    def deliver_once(self, uploaded: Uploaded, sequencer: str) -> dict[str, Any]:
        """The notification, delivered to the one function it routes to; that run's summary."""
        (result,) = self.deliver(uploaded, sequencer)  # returns normally: the function did not raise
        (summary,) = result["batches"]
        return summary  # type: ignore[no-any-return]

    def applied(self, kit: Kit, numbers: Iterable[int]) -> set[int]:
        """Which of the rows `numbers` the domain holds, read back through its own stores."""
        by_id = {kit.row_id(n): n for n in numbers}
        if kit.dataset == "creators":
            found: Iterable[str] = DynamoEligibilityStore(self.table).current("US", list(by_id))
        elif kit.dataset == "videos":
            assert kit.snapshot is not None
            rankings = S3DynamoRankingStore(self.stack.name_of("ReportsBucket"), self.table)
            found = [
                e.video_id for entries in (rankings.load("US", kit.snapshot) or {}).values() for e in entries
            ]
        else:
            kind = "revenue" if kit.dataset == "revenue" else "adjustment"
            keys = [entry_key("US", kind, i) for i in by_id]
            found = [item["pk"]["S"].rsplit("#", 1)[1] for item in batch_get(self.table, keys, "pk", {})]
        return {by_id[i] for i in found if i in by_id}


def _publish_a_list(upload_snapshot: Callable[..., dict[str, Any]], stack: Stack) -> str:
    """A US list on which video p0 (creator on1) is placed: revenue rows are attributed through it."""
    upload_snapshot("creators", "2026-11-26", [creator("on1")])
    upload_snapshot("videos", "2026-11-27", [video("p0", "on1", "pets")])
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    return current.version


def _check_rejected_whole(
    kit: Kit,
    expected: Rejected,
    summary: dict[str, Any],
    report: dict[str, Any],
    events: list[dict[str, Any]],
) -> None:
    assert (summary["status"], summary.get("error", {}).get("code")) == ("rejected", expected.code), summary
    assert report["status"] == "rejected"
    error = report["error"]
    assert (error["code"], error["file"]) == (expected.code, expected.file), error
    assert expected.says in error["message"], error["message"]
    assert report["rows_accepted"] == 0
    assert report["rows_rejected"] == report["rows_read"]
    assert [(e["detail-type"], e["detail"]["error"]["code"]) for e in events] == [
        ("IngestBatchRejected", expected.code)
    ]
    detail = events[0]["detail"]
    assert (detail["dataset"], detail["batch"]) == (kit.dataset, kit.folder)
    assert (detail["report_key"], detail["error"]["file"]) == (report["report_key"], expected.file)


def _check_processed(
    kit: Kit,
    expected: Processed,
    summary: dict[str, Any],
    report: dict[str, Any],
    rejected: list[dict[str, Any]],
    events: list[dict[str, Any]],
    applied: set[int],
) -> None:
    assert summary["status"] == "processed", summary
    assert (report["status"], report["error"]) == ("processed", None), report["error"]
    assert [(r["file"], r["line"], r["field"], r["reason"]) for r in rejected] == [
        (r.file, r.line, r.field, r.reason) for r in expected.rejected
    ]
    for entry, want in zip(rejected, expected.rejected, strict=True):
        assert want.says in entry["message"], entry
    assert report["rows_rejected"] == len(expected.rejected)
    assert report["rows_accepted"] == len(expected.applied)
    assert report["rejected_by_reason"] == dict(Counter(r.reason for r in expected.rejected))
    if kit.dataset == "videos":
        # Only each category's top k is kept (k = 1 below 26 videos a category): every valid
        # video entered the ranking, and each category's best valid one leads it (a rejected
        # video would have led its category).
        assert sum(report["outcome"]["pool_sizes"].values()) == len(expected.applied)
        tops: dict[int, int] = {}
        for n in expected.applied:
            category = n % len(_categories())
            tops[category] = max(n, tops.get(category, n))
        assert applied == set(tops.values())
    else:
        assert applied == set(expected.applied)
    (processed,) = [e for e in events if e["detail-type"] == "IngestBatchProcessed"]
    assert (processed["detail"]["report_key"], processed["detail"]["rows_rejected"]) == (
        report["report_key"],
        len(expected.rejected),
    )
    assert not [e for e in events if e["detail-type"] == "IngestBatchRejected"]


def _run(hostile: Hostile, kit: Kit, account: Account) -> None:
    batch, expected = hostile.make(kit)
    events_before = len(account.bus_events())
    before = account.world(kit)
    uploaded = account.upload(kit, batch)
    sequencer = f"{0x5A000000 + kit.slot:016X}"
    summary = account.deliver_once(uploaded, sequencer)
    after = account.world(kit)
    report_key, rejected_key = kit.report_prefix + "report.json", kit.report_prefix + "rejected.jsonl"
    report = json.loads(account.report_object(report_key))
    rejected = [json.loads(line) for line in account.report_object(rejected_key).splitlines()]
    events = account.bus_events()[events_before:]

    assert report["rows_read"] == report["rows_accepted"] + report["rows_rejected"]
    assert (report["report_key"], report["rejected_key"]) == (report_key, rejected_key)
    assert (summary["duplicate"], summary["report_key"]) == (False, report_key)
    assert (before.claim, after.claim is not None) == (None, True)
    changed = {k for k, etag in after.objects.items() if before.objects.get(k) != etag}
    if isinstance(expected, Rejected):
        _check_rejected_whole(kit, expected, summary, report, events)
        # Nothing applied: one new item (the claim), the domain as it was, only the report written.
        assert after.items == before.items + 1
        assert after.domain == before.domain
        assert changed == {report_key, rejected_key}
    else:
        _check_processed(kit, expected, summary, report, rejected, events, after.domain["applied"])
    for key in changed:  # the value of an unknown extra field is stored nowhere
        assert MARKER.encode() not in account.report_object(key), key

    # S3 delivers notifications at least once: the same one again changes nothing.
    again = account.deliver_once(uploaded, sequencer)
    assert (again["duplicate"], again["status"], again["report_key"]) == (True, summary["status"], report_key)
    assert account.world(kit) == after
    assert len(account.bus_events()) == events_before + len(events)


@pytest.mark.parametrize("dataset", DATASETS)
def test_hostile_batches_end_in_a_clear_rejection_and_apply_only_valid_rows(
    dataset: Dataset,
    stack: Stack,
    s3: Any,
    dynamodb: Any,
    deliver: Callable[..., list[Any]],
    bus_events: Callable[[], list[dict[str, Any]]],
    upload_snapshot: Callable[..., dict[str, Any]],
    subtests: pytest.Subtests,
) -> None:
    version = _publish_a_list(upload_snapshot, stack) if dataset == "revenue" else ""
    account = Account(stack, s3, dynamodb, deliver, bus_events)
    cases = [hostile for hostile, d in CASES if d == dataset]
    for slot, hostile in enumerate(cases):
        with subtests.test(msg=hostile.name):
            _run(hostile, Kit(dataset, slot, version), account)
    # Nor does the state table hold the value of an unknown extra field (one scan for all batches).
    stored = [item for item in account.all_items() if MARKER in json.dumps(item)]
    assert stored == []
