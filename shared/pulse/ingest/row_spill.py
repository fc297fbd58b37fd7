"""The accepted rows of a batch kept on local disk between the read and the apply phase.

Creators, revenue and adjustments are applied after the whole batch was read (a batch that turns
out unreadable applies nothing), so their valid rows wait on disk: a block at a time, as the
structs of `pulse.ingest.fast_records` in MessagePack (one C call to write a block and one to
read it back), with the file and line of each row. Nothing is validated twice or rebuilt field by
field on the way back.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import msgspec

from pulse.ingest.batch import Accepted
from pulse.ingest.fast_records import FastRow

F = TypeVar("F", bound=FastRow)
_LENGTH = struct.Struct("<I")


class RowSpill(Generic[F]):
    def __init__(self, row_type: type[F], directory: str) -> None:
        self._path = Path(directory, "accepted.msgpack")
        self._handle = self._path.open("wb")
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(tuple[str, list[int], list[row_type]])  # type: ignore[valid-type]
        self.count = 0

    def add(self, key: str, lines: Sequence[int], rows: Sequence[F]) -> None:
        if rows:
            frame = self._encoder.encode((key, list(lines), rows))
            self._handle.write(_LENGTH.pack(len(frame)))
            self._handle.write(frame)
            self.count += len(rows)

    def rows(self) -> Iterator[Accepted[F]]:
        """Every accepted row in the order it was read."""
        self._handle.close()
        with self._path.open("rb") as handle:
            while header := handle.read(_LENGTH.size):
                (size,) = _LENGTH.unpack(header)
                key, lines, rows = self._decoder.decode(handle.read(size))
                for line, row in zip(lines, rows, strict=True):
                    yield Accepted(key, line, row)

    def close(self) -> None:
        self._handle.close()
        self._path.unlink(missing_ok=True)
