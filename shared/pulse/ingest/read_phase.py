"""The read phase of a batch, written once: the ingest functions and `pulse rank` read through it.

JSON Lines parts are read a block of whole lines at a time (`parts.iter_jsonl_blocks`: gzip
inflated on a thread of its own), and each block is decoded and vouched for whole by the fast path
(`pulse.ingest.fast_path`: one msgspec call, a few checks over all of its rows). CSV parts are
split by the csv module and their rows converted a block at a time the same way. A block the
fast path cannot vouch for whole is judged row by row, and a row it cannot vouch for is judged
by pydantic, whose verdict and message stand.

A valid row is accepted unless its id was accepted before in the batch (the first occurrence
wins, §3). The ids go to local disk (`SeenIds`), not to memory; when some repeat, the batch is
read a second time, from the start, watching only those ids (exact, and only then paid for).
Rejections go to a `RejectLog` in row order, with file, line, field and reason. Accepted rows
go, a block at a time, to the `Collector` the caller gives: the ingest of videos ranks them as
they come, the other ingests spill them for their apply phase, `pulse rank` ranks or judges them.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import IO, Any, BinaryIO, Generic, Protocol, TypeVar

import msgspec

from pulse.core.rules import Rules
from pulse.ingest.block_workers import Block, BlockJudge, BlockWorkers, Verdict
from pulse.ingest.datasets import DatasetSpec, Rejection
from pulse.ingest.fast_path import convert_row, convert_rows, decode_line, vouched
from pulse.ingest.fast_records import FastRow
from pulse.ingest.manifest import BatchError, BatchLocation
from pulse.ingest.parts import RAW_TEXT_KEEP, RawRow, block_rows, iter_jsonl_blocks, iter_rows
from pulse.ingest.report import FileCount
from pulse.ingest.seen_ids import SeenIds

F = TypeVar("F", bound=FastRow)
F_contra = TypeVar("F_contra", bound=FastRow, contravariant=True)
C = TypeVar("C", bound="Collector[Any]")
CSV_BLOCK_ROWS = 4096  # CSV rows converted together: enough for one C call to pay, small in memory
PARALLEL_ROWS = 100_000  # a part this large pays for forking block workers (about 0.1 s)


class PartSource(Protocol):
    """Reads a batch's files (S3 in production)."""

    def read_manifest(self, location: BatchLocation) -> bytes: ...

    def open_part(self, location: BatchLocation, key: str) -> AbstractContextManager[BinaryIO]:
        """The raw bytes of a part; raises BatchError(`missing_file`) when it is not there."""
        ...


class Collector(Protocol[F_contra]):
    """Where accepted rows go while the batch is read: local disk or memory, never the system's
    state (a batch found unreadable later must have applied nothing).

    A block of rows is first reduced (`reducer`, a module-level function, so that it can run on
    a worker process: see `block_workers`), then added where the reading process keeps it."""

    @property
    def reducer(self) -> Callable[[Sequence[F_contra]], Any]: ...

    def add_reduced(self, key: str, lines: Sequence[int], reduced: Any) -> None: ...

    def close(self) -> None: ...


def keep_rows(rows: Sequence[Any]) -> list[Any]:
    """The reducer of a collector that wants the rows themselves."""
    return list(rows)


class RejectLog:
    """Rejected rows with counts per reason; written as `rejected.jsonl` when given a handle."""

    def __init__(self, handle: IO[str] | None = None) -> None:
        self._handle = handle
        self.by_reason: Counter[str] = Counter()

    def add(self, file: str, line: int, rejection: Rejection, raw: Any) -> None:
        self.by_reason[rejection.reason] += 1
        if self._handle is None:
            return
        entry = {
            "file": file,
            "line": line,
            "field": rejection.field,
            "reason": rejection.reason,
            "message": rejection.message,
            "row": raw,
        }
        self._handle.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def restart(self) -> None:
        """Forget every rejection so far (the batch is read again from its start)."""
        self.by_reason.clear()
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()

    @property
    def count(self) -> int:
        return sum(self.by_reason.values())


PartRef = tuple[str, int | None]  # a part's key and the rows its manifest says it has (None: unchecked)
OpenPart = Callable[[str], AbstractContextManager[BinaryIO]]


@dataclass
class ReadPhase(Generic[F, C]):
    spec: DatasetSpec[Any, F]
    location: BatchLocation
    rules: Rules
    rejects: RejectLog
    open_collector: Callable[[], C]
    workdir: str | None = None
    workers: int = 1  # processes that judge blocks, for parts of at least PARALLEL_ROWS rows
    rows_read: int = 0
    rows_accepted: int = 0
    files: list[FileCount] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._allowed = self.spec.fast.allowed(self.location, self.rules)
        self._id_of = attrgetter(self.spec.id_field)
        self.collector: C = self.open_collector()
        self._seen: SeenIds | None = None
        self._watch: frozenset[str] = frozenset()  # ids that repeat: only those are tracked
        self._watched: set[str] = set()
        self._pool: BlockWorkers | None = None
        self.worker_processes = 0  # block workers the last read started

    def read(self, parts: Sequence[PartRef], open_part: OpenPart) -> None:
        """Every part, in order; raises BatchError when a file's rows differ from its manifest."""
        if self.workers > 1 and any(rows is None or rows >= PARALLEL_ROWS for _, rows in parts):
            # Forked before any reading thread starts (see block_workers).
            judge = BlockJudge(self.spec.fast, self._allowed, self.collector.reducer)
            self._pool = BlockWorkers(judge, self.workers)
            self.worker_processes = self.workers
        try:
            with tempfile.TemporaryDirectory(dir=self.workdir, prefix="pulse-ids-") as ids_dir:
                self._seen = SeenIds(ids_dir)
                self._read_parts(parts, open_part)
                repeated = self._seen.duplicates()
                self._seen = None
        finally:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
        if repeated:
            self._restart(repeated)
            self._read_parts(parts, open_part)

    def read_part(self, key: str, stream: BinaryIO) -> int:
        """One part file's rows (ids not checked for repeats: for one-off reads); returns how many."""
        if key.endswith((".csv", ".csv.gz")):
            return self._read_csv(key, stream)
        return self._read_jsonl(key, stream)

    def close(self) -> None:
        self.collector.close()

    def _read_parts(self, parts: Sequence[PartRef], open_part: OpenPart) -> None:
        for key, expected in parts:
            with open_part(key) as stream:
                rows_in_file = self.read_part(key, stream)
            self.files.append(
                FileCount(
                    key=key,
                    rows_expected=rows_in_file if expected is None else expected,
                    rows_read=rows_in_file,
                )
            )
            if expected is not None and rows_in_file != expected:
                raise BatchError(
                    "row_count_mismatch", f"manifest says {expected} rows, the file has {rows_in_file}", key
                )

    def _restart(self, repeated: frozenset[str]) -> None:
        self.collector.close()
        self.rejects.restart()
        self.rows_read = self.rows_accepted = 0
        self.files = []
        self._watch, self._watched = repeated, set()
        self.collector = self.open_collector()

    def _read_jsonl(self, key: str, stream: BinaryIO) -> int:
        rows_in_file = 0
        try:
            for (first_line, lines, block), verdict in self._judged(iter_jsonl_blocks(stream, key)):
                if verdict is not None:  # the common case: the whole block vouched for
                    rows_in_file += lines
                    ids, reduced = verdict
                    if self._watch:
                        self._accept(key, range(first_line, first_line + lines), reduced)
                    else:
                        self._add_reduced(key, range(first_line, first_line + lines), ids, reduced)
                    continue
                raws = list(block_rows(first_line, block))
                rows_in_file += len(raws)
                self._judge(key, raws)
        finally:
            self.rows_read += rows_in_file  # rows read before a file turns out unreadable count too
        return rows_in_file

    def _judged(self, blocks: Iterator[Block]) -> Iterator[tuple[Block, Verdict]]:
        if self._pool is not None:
            yield from self._pool.judged(blocks)
            return
        # While ids repeat (the second reading), rows are filtered one by one: not reduced.
        judge = BlockJudge(
            self.spec.fast, self._allowed, keep_rows if self._watch else self.collector.reducer
        )
        for block in blocks:
            yield block, judge(block[2], block[1])

    def _read_csv(self, key: str, stream: BinaryIO) -> int:
        rows_in_file, pending = 0, []
        try:
            for raw in iter_rows(stream, key, self.spec.field_kinds):
                rows_in_file += 1
                pending.append(raw)
                if len(pending) >= CSV_BLOCK_ROWS:
                    self._judge_csv(key, pending)
                    pending = []
        finally:
            # Rows read before a file turns out unreadable are judged too, as they were read.
            self._judge_csv(key, pending)
            self.rows_read += rows_in_file
        return rows_in_file

    def _judge_csv(self, key: str, raws: list[RawRow]) -> None:
        if all(raw.values is not None for raw in raws):
            rows: Any = convert_rows(self.spec.fast, [raw.values or {} for raw in raws])
            if rows is not None and vouched(self.spec.fast, rows, self._allowed) is not None:
                self._accept(key, [raw.line for raw in raws], rows)
                return
        self._judge(key, raws)

    def _judge(self, key: str, raws: list[RawRow]) -> None:
        """Row by row, in order: the fast path's verdict where it vouches, pydantic's otherwise."""
        shape = self.spec.fast
        lines: list[int] = []
        rows: list[F] = []
        for raw in raws:
            if raw.error is not None or (raw.document is None and raw.values is None):
                reason, message = raw.error or ("malformed_row", "row cannot be read")
                # A row that cannot be split into fields may hold anything, unknown fields included,
                # and those are never stored (§3): the report gives its file and line, not its text.
                self.rejects.add(key, raw.line, Rejection(reason, None, message), None)
                continue
            row: Any = (
                decode_line(shape, raw.document)
                if raw.document is not None
                else convert_row(shape, raw.values or {})
            )
            if row is None or vouched(shape, [row], self._allowed) is None:
                verdict = self.spec.validate_row(raw.as_json or b"", self.location, self.rules)
                if isinstance(verdict, Rejection):
                    self.rejects.add(key, raw.line, verdict, _known_fields(raw, self.spec.field_kinds))
                    continue
                row = self.spec.to_fast(verdict)
            if self._watch and self._repeats(key, raw.line, row):
                continue
            lines.append(raw.line)
            rows.append(row)
        self._add(key, lines, rows)

    def _accept(self, key: str, lines: Sequence[int], rows: list[F]) -> None:
        """A block of valid rows: the first occurrence of each id goes on."""
        if self._watch and not self._watch.isdisjoint(map(self._id_of, rows)):
            kept = [
                (line, row)
                for line, row in zip(lines, rows, strict=True)
                if not self._repeats(key, line, row)
            ]
            lines, rows = [line for line, _ in kept], [row for _, row in kept]
        self._add(key, lines, rows)

    def _repeats(self, key: str, line: int, row: F) -> bool:
        """Whether the row's id was accepted earlier in the batch (then it is rejected)."""
        row_id = self._id_of(row)
        if row_id not in self._watch:
            return False
        if row_id not in self._watched:
            self._watched.add(row_id)
            return False
        self.rejects.add(key, line, duplicate_id(self.spec, row_id), stored_row(msgspec.structs.asdict(row)))
        return True

    def _add(self, key: str, lines: Sequence[int], rows: list[F]) -> None:
        if rows:
            ids = "\n".join(map(self._id_of, rows)) + "\n"
            self._add_reduced(key, lines, ids, self.collector.reducer(rows))

    def _add_reduced(self, key: str, lines: Sequence[int], ids: str, reduced: Any) -> None:
        if self._seen is not None:
            self._seen.add(ids, len(lines))
        self.rows_accepted += len(lines)
        self.collector.add_reduced(key, lines, reduced)


def duplicate_id(spec: DatasetSpec[Any, Any], row_id: str) -> Rejection:
    """A valid row whose id was accepted earlier in the batch (the first occurrence wins, §3)."""
    return Rejection("duplicate_id", spec.id_field, f"{row_id} appeared earlier in the batch")


def stored_row(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A valid row's fields as rejected.jsonl keeps them (each cut to RAW_TEXT_KEEP characters)."""
    return {name: _cut(value) for name, value in fields.items()}


def _known_fields(raw: RawRow, kinds: Mapping[str, type]) -> dict[str, Any] | None:
    """A rejected row as rejected.jsonl keeps it: only its known fields, since unknown extra fields
    are never stored (§3), each cut to RAW_TEXT_KEEP characters of JSON. A row that is no JSON
    object has no fields to tell apart: not kept."""
    if raw.values is not None:
        values: Any = raw.values
    else:
        try:
            values = json.loads(raw.document or b"")
        except (ValueError, RecursionError):
            return None
    if not isinstance(values, dict):
        return None
    return stored_row({name: value for name, value in values.items() if name in kinds})


def _cut(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | None) and len(str(value)) <= RAW_TEXT_KEEP:
        return value
    return json.dumps(value, ensure_ascii=False)[:RAW_TEXT_KEEP]
