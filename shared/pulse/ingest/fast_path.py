"""The fast path of the read phase: whole blocks of rows decoded and vouched for at C speed.

A block of JSON Lines becomes a list of structs in one msgspec call (`decode_jsonl_block`); a
block of CSV rows, already split by the csv module, in one `msgspec.convert` call. `vouched`
then checks a whole block with a few operations over all of its rows (see `FastShape`): each
pattern once over the block's values joined by newlines, each allowed value set once over the
set of values the block holds, the calendar once per distinct day. Nothing here rejects a row:
a block that is not vouched for whole is judged row by row, and a row that is not vouched for
on its own is judged by pydantic, whose verdict and message stand (`pulse.ingest.read_phase`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from functools import cache
from operator import attrgetter, itemgetter
from typing import Any

import msgspec

from pulse.ingest.fast_records import FastRow, FastShape

_DAY = itemgetter(slice(0, 10))


@cache
def _block_decoder(struct: type[FastRow]) -> msgspec.json.Decoder[list[Any]]:
    return msgspec.json.Decoder(list[struct])  # type: ignore[valid-type]


@cache
def _row_decoder(struct: type[FastRow]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(struct)


@cache
def _joined_patterns(shape: FastShape) -> tuple[tuple[attrgetter[str], re.Pattern[str]], ...]:
    """Each pattern as a regex over many values, one per line (each line ends with a newline)."""
    return tuple(
        (attrgetter(name), re.compile(f"(?:{pattern.removeprefix('^').removesuffix('$')}\n)*"))
        for name, pattern in shape.patterns.items()
    )


def decode_jsonl_block(shape: FastShape, block: bytes) -> list[FastRow] | None:
    """The rows of a block of whole JSON lines, one per line; None unless every line decodes as
    one row (a blank line, a malformed one or one holding two values sends the block row by row)."""
    try:
        rows: list[FastRow] = _block_decoder(shape.struct).decode(b"[" + block.replace(b"\n", b",") + b"]")
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return rows if len(rows) == block.count(b"\n") + 1 else None


def decode_line(shape: FastShape, line: bytes) -> FastRow | None:
    try:
        return _row_decoder(shape.struct).decode(line)  # type: ignore[no-any-return]
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def convert_rows(shape: FastShape, values: list[dict[str, Any]]) -> list[FastRow] | None:
    """CSV rows (cells already typed as their JSON would be) as structs; None if any is not one."""
    try:
        return msgspec.convert(values, list[shape.struct], strict=True)  # type: ignore[name-defined]
    except msgspec.ValidationError:
        return None


def convert_row(shape: FastShape, values: dict[str, Any]) -> FastRow | None:
    try:
        return msgspec.convert(values, shape.struct, strict=True)
    except msgspec.ValidationError:
        return None


def vouched(shape: FastShape, rows: Sequence[FastRow], allowed: Mapping[str, frozenset[str]]) -> bool:
    """Whether pydantic would accept every one of these decoded rows (and the batch's checks)."""
    for getter, joined_pattern in _joined_patterns(shape):
        values = list(map(getter, rows))
        joined = "\n".join(values) + "\n" if values else ""
        # Counting the separators first: a value with a newline of its own must not pass as two.
        if joined.count("\n") != len(values) or joined_pattern.fullmatch(joined) is None:
            return False
    for name, values_allowed in allowed.items():
        if not set(map(attrgetter(name), rows)) <= values_allowed:
            return False
    days = (set(map(_DAY, map(attrgetter(name), rows))) for name in shape.days)
    return all(all(map(_real_day, distinct)) for distinct in days)


def _real_day(day: str) -> bool:
    """A YYYY-MM-DD (that matched its pattern) that is a day of the calendar (no 30 February)."""
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        return False
    return True
