"""The read phase of a batch, written once: the ingest functions and `pulse rank` read through it.

Each part file is streamed (`parts.iter_rows`: JSON Lines or CSV, gzip by extension, one line in
memory at a time). Its rows are judged a block at a time: video rows by the fast path of
`fast_videos.validate_block` (one msgspec call per block, pydantic arbitrating every row it does
not vouch for), other datasets row by row with pydantic. A row that passes is accepted unless its
id was accepted before in the batch (the first occurrence wins, §3). Rejections go to a
`RejectLog` in row order, with file, line, field and reason; accepted rows go to `accept`, which
is the caller's: the ingest spills them for its apply phase, `pulse rank` ranks them at once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Generic, Protocol

from pulse.core.rules import Rules
from pulse.ingest.datasets import DatasetSpec, R, Rejection
from pulse.ingest.fast_videos import validate_block
from pulse.ingest.manifest import BatchError, BatchLocation, Manifest
from pulse.ingest.parts import RAW_TEXT_KEEP, RawRow, iter_rows
from pulse.ingest.report import FileCount

BLOCK_ROWS = 4096  # rows judged together: large enough for one C call to pay, small in memory


class PartSource(Protocol):
    """Reads a batch's files (S3 in production)."""

    def read_manifest(self, location: BatchLocation) -> bytes: ...

    def open_part(self, location: BatchLocation, key: str) -> AbstractContextManager[BinaryIO]:
        """The raw bytes of a part; raises BatchError(`missing_file`) when it is not there."""
        ...


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

    @property
    def count(self) -> int:
        return sum(self.by_reason.values())


Accept = Callable[[str, int, Any], None]  # (file, line, the valid row)
BlockJudge = Callable[[list[bytes], BatchLocation, Rules], Sequence[Any]]


def _row_by_row(spec: DatasetSpec[Any]) -> BlockJudge:
    def judge(documents: list[bytes], location: BatchLocation, rules: Rules) -> list[Any]:
        return [spec.validate_row(document, location, rules) for document in documents]

    return judge


@dataclass
class ReadPhase(Generic[R]):
    spec: DatasetSpec[R]
    location: BatchLocation
    rules: Rules
    rejects: RejectLog
    accept: Accept
    accepted_ids: set[str] = field(default_factory=set)
    rows_read: int = 0
    files: list[FileCount] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._judge_block: BlockJudge = (
            validate_block if self.spec.name == "videos" else _row_by_row(self.spec)
        )

    def read(self, manifest: Manifest, source: PartSource) -> None:
        """Every part the manifest lists; raises BatchError when a file's rows differ from it."""
        for part in manifest.files:
            with source.open_part(self.location, part.key) as stream:
                rows_in_file = self.read_part(part.key, stream)
            self.files.append(FileCount(key=part.key, rows_expected=part.rows, rows_read=rows_in_file))
            if rows_in_file != part.rows:
                raise BatchError(
                    "row_count_mismatch",
                    f"manifest says {part.rows} rows, the file has {rows_in_file}",
                    part.key,
                )

    def read_part(self, key: str, stream: BinaryIO) -> int:
        """One part file's rows; returns how many it has."""
        rows = 0
        pending: list[RawRow] = []
        try:
            for raw in iter_rows(stream, key, self.spec.field_kinds):
                rows += 1
                self.rows_read += 1
                pending.append(raw)
                if len(pending) >= BLOCK_ROWS:
                    self._judge(key, pending)
                    pending = []
        finally:
            # Rows read before a file turns out unreadable are judged too, as they were read.
            self._judge(key, pending)
        return rows

    def _judge(self, key: str, raws: list[RawRow]) -> None:
        documents = [raw.document for raw in raws if raw.document is not None]
        verdicts = iter(self._judge_block(documents, self.location, self.rules) if documents else ())
        kinds = self.spec.field_kinds
        for raw in raws:
            if raw.document is None:
                reason, message = raw.error or ("malformed_row", "row cannot be read")
                # A row that cannot be split into fields may hold anything, unknown fields included,
                # and those are never stored (§3): the report gives its file and line, not its text.
                self.rejects.add(key, raw.line, Rejection(reason, None, message), None)
                continue
            verdict = next(verdicts)
            if isinstance(verdict, Rejection):
                self.rejects.add(key, raw.line, verdict, known_fields(raw.document, kinds))
                continue
            row_id = self.spec.row_id(verdict)
            if row_id in self.accepted_ids:
                self.rejects.add(
                    key,
                    raw.line,
                    Rejection("duplicate_id", self.spec.id_field, f"{row_id} appeared earlier in the batch"),
                    known_fields(raw.document, kinds),
                )
                continue
            self.accepted_ids.add(row_id)
            self.accept(key, raw.line, verdict)


def known_fields(document: bytes, kinds: Mapping[str, type]) -> dict[str, Any] | None:
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
