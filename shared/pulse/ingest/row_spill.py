"""The accepted rows of a batch kept on local disk between the read and the apply phase.

Creators, revenue and adjustments are applied after the whole batch was read (a batch that turns
out unreadable applies nothing), so their valid rows wait on disk: a block at a time, as the
structs of `pulse.ingest.fast_records` in MessagePack (one C call to write a block, possibly on a
block worker, and one to read it back), with the file and line of each row. Nothing is validated
twice or rebuilt field by field on the way back.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from pulse.ingest.batch import Accepted
from pulse.ingest.fast_records import FastRow

F = TypeVar("F", bound=FastRow)
_LENGTH = struct.Struct("<II")  # the sizes of a frame's header (file, lines) and rows
_ENCODER = msgspec.msgpack.Encoder()


def encode_rows(rows: Sequence[Any]) -> bytes:
    """The reducer of a row spill: a block of rows as MessagePack."""
    return _ENCODER.encode(rows)


class RowSpill(Generic[F]):
    def __init__(self, row_type: type[F], directory: str) -> None:
        self._path = Path(directory, "accepted.msgpack")
        self._handle = self._path.open("wb")
        self._headers = msgspec.msgpack.Decoder(tuple[str, list[int]])
        self._rows = msgspec.msgpack.Decoder(list[row_type])  # type: ignore[valid-type]
        self.count = 0

    @property
    def reducer(self) -> Callable[[Sequence[F]], bytes]:
        return encode_rows

    def add_reduced(self, key: str, lines: Sequence[int], reduced: bytes) -> None:
        header = _ENCODER.encode((key, list(lines)))
        self._handle.write(_LENGTH.pack(len(header), len(reduced)))
        self._handle.write(header)
        self._handle.write(reduced)
        self.count += len(lines)

    def rows(self) -> Iterator[Accepted[F]]:
        """Every accepted row in the order it was read."""
        self._handle.close()
        with self._path.open("rb") as handle:
            while sizes := handle.read(_LENGTH.size):
                header_size, rows_size = _LENGTH.unpack(sizes)
                key, lines = self._headers.decode(handle.read(header_size))
                rows = self._rows.decode(handle.read(rows_size))
                for line, row in zip(lines, rows, strict=True):
                    yield Accepted(key, line, row)

    def close(self) -> None:
        self._handle.close()
        self._path.unlink(missing_ok=True)
