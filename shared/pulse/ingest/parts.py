"""Streaming readers for part files: JSON Lines or CSV, each optionally gzip-compressed (spec §3).

A part is read line by line from a byte stream, so memory holds one line at a time whatever the
file's size; a line longer than `MAX_LINE_BYTES` is skipped (its row rejected) without being held.
Problems that make a whole file unreadable (bad gzip, bad UTF-8, a CSV header without the record's
fields) raise `BatchError`; problems of one row come out as a `RawRow` with an `error`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import queue
import re
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from pulse.ingest.manifest import BatchError

MAX_LINE_BYTES = 1_048_576
# What a rejected row keeps of its raw text, so that a hostile file cannot bloat the report.
RAW_TEXT_KEEP = 2_000
_READ_BUFFER = 1 << 20
_INT_CELL = re.compile(r"^[+-]?\d{1,20}$")


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as read: a JSON object to validate (`document` from JSON Lines, `values` from CSV
    cells), unless `error` says why not."""

    line: int
    document: bytes | None = None
    error: tuple[str, str] | None = None  # (reason, message)
    values: dict[str, object] | None = None

    @property
    def as_json(self) -> bytes | None:
        """The row as the JSON document pydantic validates (a CSV row as its JSON would be)."""
        if self.values is not None:
            return json.dumps(self.values).encode("utf-8")
        return self.document


def open_part(stream: BinaryIO, key: str) -> BinaryIO:
    """A buffered byte stream of the part's content, decompressed when the key ends in .gz."""
    if key.endswith(".gz"):
        return cast(
            BinaryIO, io.BufferedReader(gzip.GzipFile(fileobj=stream, mode="rb"), buffer_size=_READ_BUFFER)
        )
    return cast(BinaryIO, io.BufferedReader(cast(io.RawIOBase, stream), buffer_size=_READ_BUFFER))


def iter_rows(stream: BinaryIO, key: str, field_kinds: Mapping[str, type]) -> Iterator[RawRow]:
    """Rows of one part file; `field_kinds` maps the record's fields to int/bool/str for CSV cells."""
    content = open_part(stream, key)
    lines = _Lines(content, key)
    if key.endswith((".csv", ".csv.gz")):
        yield from _csv_rows(lines, key, field_kinds)
    else:
        yield from _jsonl_rows(lines)


class _Lines:
    """Decoded lines with their numbers; overlong lines are drained and reported, never held."""

    def __init__(self, content: BinaryIO, key: str) -> None:
        self._content = content
        self._key = key
        self.number = 0
        self.overlong: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        try:
            while True:
                chunk = self._content.readline(MAX_LINE_BYTES + 1)
                if not chunk:
                    return
                self.number += 1
                if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                    self.overlong.add(self.number)
                    while chunk and not chunk.endswith(b"\n"):
                        chunk = self._content.readline(MAX_LINE_BYTES)
                    yield "\n"
                    continue
                if self.number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
                    chunk = chunk[3:]
                yield chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BatchError(
                "unreadable_file", f"line {self.number} is not valid UTF-8 ({exc.reason})", self._key
            ) from exc
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise BatchError("unreadable_file", f"corrupt or truncated gzip data: {exc}", self._key) from exc


def _jsonl_rows(lines: _Lines) -> Iterator[RawRow]:
    for text in lines:
        number = lines.number
        if number in lines.overlong:
            yield RawRow(number, error=("line_too_long", f"line is longer than {MAX_LINE_BYTES} bytes"))
            continue
        stripped = text.strip()
        if not stripped:
            continue  # blank lines are not rows
        yield RawRow(number, document=stripped.encode("utf-8"))


def _csv_rows(lines: _Lines, key: str, field_kinds: Mapping[str, type]) -> Iterator[RawRow]:
    # A cell may be as long as a line: the csv module's default limit (128 KiB, process-wide) would
    # reject rows that JSON Lines reads, for a long unknown column that is ignored anyway.
    if csv.field_size_limit() < MAX_LINE_BYTES:
        csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.reader(iter(lines), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise BatchError("unreadable_file", f"CSV header cannot be read: {exc}", key) from exc
    if lines.overlong:
        raise BatchError("bad_csv_header", f"CSV header is longer than {MAX_LINE_BYTES} bytes", key)
    header = [name.strip() for name in header]
    missing = [name for name in field_kinds if name not in header]
    twice = [name for name, times in Counter(header).items() if times > 1]
    if missing or twice:
        problem = f"missing columns {missing}" if missing else f"column {twice[0][:100]!r} appears twice"
        raise BatchError("bad_csv_header", f"CSV header: {problem}", key)
    while True:
        start = lines.number + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRow(start, error=("malformed_row", f"CSV row cannot be parsed: {exc}"))
            continue
        end = lines.number
        if any(n in lines.overlong for n in range(start, end + 1)):
            yield RawRow(start, error=("line_too_long", f"line is longer than {MAX_LINE_BYTES} bytes"))
            continue
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != len(header):
            message = f"row has {len(cells)} cells, header has {len(header)}"
            yield RawRow(start, error=("malformed_row", message))
            continue
        yield RawRow(start, values=csv_cells_to_values(header, cells, field_kinds))


def csv_cells_to_values(
    header: list[str], cells: list[str], field_kinds: Mapping[str, type]
) -> dict[str, object]:
    """Turn CSV text cells into the JSON values the record would have had: ints, `true`/`false`
    booleans.

    A cell that does not look like its type stays a string, so strict validation rejects it with
    the same message a JSON row would get.
    """
    document: dict[str, object] = {}
    for name, cell in zip(header, cells, strict=True):
        kind = field_kinds.get(name)
        if kind is None:
            continue  # unknown extra columns are ignored, never stored
        value: object = cell
        if kind is bool and cell in ("true", "false"):
            value = cell == "true"
        elif kind is int and _INT_CELL.match(cell):
            value = int(cell)
        document[name] = value
    return document


def write_part(
    rows: Iterable[Mapping[str, object]], key: str, handle: BinaryIO, columns: Sequence[str] = ()
) -> int:
    """Write rows as the part file `key` names (.jsonl/.csv, optionally .gz); returns the row count.

    The writer of `pulse generate` and `pulse upload`; CSV needs `columns` for its header.
    """
    count = 0
    target: BinaryIO = handle
    gz: gzip.GzipFile | None = None
    if key.endswith(".gz"):
        gz = gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=6, mtime=0)
        target = gz  # type: ignore[assignment]
    text = io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=False)
    try:
        if key.endswith((".csv", ".csv.gz")):
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_csv_cell(row.get(c)) for c in columns])
                count += 1
        else:
            for row in rows:
                text.write(json.dumps(row, separators=(",", ":")))
                text.write("\n")
                count += 1
        text.flush()
    finally:
        text.detach()
        if gz is not None:
            gz.close()
    return count


def _csv_cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


_BLOCK_BYTES = 1 << 19  # below MAX_LINE_BYTES: most blocks cannot hold an overlong line
_OVERLONG = b"?" * (MAX_LINE_BYTES + 1)


def iter_jsonl_blocks(stream: BinaryIO, key: str) -> Iterator[tuple[int, int, bytes]]:
    """JSON Lines in blocks: (number of the block's first line, how many lines it has, whole lines
    joined by newlines).

    The fast path of large snapshots: gzip is inflated on a background thread (zlib releases the
    GIL, so inflating overlaps parsing), lines are split a block at a time in C, and each block is
    checked to be UTF-8 at once. Blank and overlong lines are passed through for the caller to
    skip or reject (they keep their line numbers); errors are the same BatchErrors as `iter_rows`.
    """
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
    worker = threading.Thread(target=_inflate, args=(stream, key, chunks), name="pulse-inflate", daemon=True)
    worker.start()
    carry = b""
    line_number = 1
    first = True
    overlong = False  # inside a line past the cap: its bytes are skipped up to its newline
    while True:
        item = chunks.get()
        if isinstance(item, BaseException):
            raise item
        if item is None:
            break
        if overlong:
            end = item.find(b"\n")
            if end < 0:
                continue
            # The line is passed on as a stand-in of its length, to be rejected for it: its own
            # bytes were never kept whole (a cut could split a character in two).
            item, overlong = _OVERLONG + item[end:], False
        data = carry + item
        if first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        first = False
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) <= MAX_LINE_BYTES:
                carry = data
            else:
                carry, overlong = b"", True
            continue
        block, carry = data[:cut], data[cut + 1 :]
        lines = block.count(b"\n") + 1
        yield from _utf8_lines(block, lines, key, line_number)
        line_number += lines
    if overlong:
        carry = _OVERLONG
    if carry:
        yield from _utf8_lines(carry, carry.count(b"\n") + 1, key, line_number)


def block_rows(first_line: int, block: bytes) -> Iterable[RawRow]:
    """A block's lines (`iter_jsonl_blocks`) as rows, by the rules of `iter_rows`: blank lines are
    not rows, overlong ones are rejected for it."""
    for offset, line in enumerate(block.split(b"\n")):
        if len(line) > MAX_LINE_BYTES:
            yield RawRow(
                first_line + offset, error=("line_too_long", f"line is longer than {MAX_LINE_BYTES} bytes")
            )
            continue
        text = line.decode("utf-8").strip()  # the block is valid UTF-8; str.strip as for any line
        if text:
            yield RawRow(first_line + offset, document=text.encode("utf-8"))


_GZIP_MAGIC = b"\x1f\x8b"
# zlib's words for a broken gzip trailer, in the gzip module's (which the CSV reader uses).
_ZLIB_SAYS = {
    "incorrect data check": "CRC check failed",
    "incorrect length check": "Incorrect length of data",
}


def _inflate(stream: BinaryIO, key: str, chunks: queue.Queue[bytes | BaseException | None]) -> None:
    """The reading thread: raw or gunzipped chunks into `chunks`, then None (or the error)."""
    try:
        if key.endswith(".gz"):
            _gunzip(stream, key, chunks)
        else:
            while data := stream.read(_BLOCK_BYTES):
                chunks.put(data)
        chunks.put(None)
    except zlib.error as exc:
        says = _ZLIB_SAYS.get(str(exc).removeprefix("Error -3 while decompressing data: "), str(exc))
        chunks.put(BatchError("unreadable_file", f"corrupt or truncated gzip data: {says} ({exc})", key))
    except BaseException as exc:  # handed to the consumer, which re-raises it
        chunks.put(exc)


def _gunzip(stream: BinaryIO, key: str, chunks: queue.Queue[bytes | BaseException | None]) -> None:
    """Every gzip member of the stream, inflated (gzip allows several, one after the other)."""
    member: Any = None  # the current member's decompressor; None between members
    pending = b""
    while True:
        data = stream.read(_BLOCK_BYTES)
        pending += data
        if member is None:
            if not pending:
                if not data:
                    return  # the end of the file, between members (an empty file has none)
                continue
            if len(pending) < len(_GZIP_MAGIC) and data:
                continue
            if not pending.startswith(_GZIP_MAGIC):
                raise BatchError(
                    "unreadable_file",
                    f"corrupt or truncated gzip data: Not a gzipped file ({pending[:2]!r})",
                    key,
                )
            member = zlib.decompressobj(wbits=31)
        feed, pending = pending, b""
        while feed and not member.eof:
            chunks.put(member.decompress(feed, _BLOCK_BYTES))
            feed = member.unconsumed_tail
        if member.eof:
            pending, member = member.unused_data, None
        elif not data:
            raise BatchError("unreadable_file", "corrupt or truncated gzip data: the stream ended early", key)


def _utf8_lines(block: bytes, lines: int, key: str, first_line: int) -> Iterator[tuple[int, int, bytes]]:
    """The block, checked to be UTF-8; when it is not, its lines before the bad one and then the
    error, so that the rows read before a file turns out unreadable are counted as read."""
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = block.rfind(b"\n", 0, exc.start)
        line = first_line + block.count(b"\n", 0, exc.start)
        if before >= 0:
            yield first_line, line - first_line, block[:before]
        raise BatchError("unreadable_file", f"line {line} is not valid UTF-8 ({exc.reason})", key) from exc
    yield first_line, lines, block
