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
from operator import attrgetter
from typing import Any

import msgspec

from pulse.ingest.fast_records import FastRow, FastShape


@cache
def _block_decoder(struct: type[FastRow]) -> msgspec.json.Decoder[list[Any]]:
    return msgspec.json.Decoder(list[struct])  # type: ignore[valid-type]


@cache
def _row_decoder(struct: type[FastRow]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(struct)


@cache
def _joined_patterns(shape: FastShape) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each pattern as a regex over many values, one per line (each line ends with a newline)."""
    return tuple(
        (name, re.compile(f"(?:{pattern.removeprefix('^').removesuffix('$')}\n)*"))
        for name, pattern in shape.patterns.items()
    )


def decode_jsonl_block(shape: FastShape, block: bytes, lines: int) -> list[FastRow] | None:
    """The rows of a block of `lines` whole JSON lines, one per line; None unless every line
    decodes as one row (a blank line, a malformed one or one holding two values sends the block
    row by row)."""
    try:
        rows: list[FastRow] = _block_decoder(shape.struct).decode(b"[" + block.replace(b"\n", b",") + b"]")
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return rows if len(rows) == lines else None


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


@cache
def _id_check(shape: FastShape) -> tuple[tuple[attrgetter[str], ...], dict[int, int | None]]:
    return tuple(map(attrgetter, shape.ids)), str.maketrans("", "", shape.id_characters)


# A day that is not plainly one (a month 01-12 and a day 01-28), at the start of a joined value:
# only those, about one in ten, are asked of the calendar.
_UNSURE_DAY = re.compile(
    r"^[0-9]{4}-(?!(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8]))[0-9]{2}-[0-9]{2}", re.MULTILINE
)


def vouched(shape: FastShape, rows: Sequence[FastRow], allowed: Mapping[str, frozenset[str]]) -> str | None:
    """The ids of the rows (`shape.ids[0]`, joined by newlines) if pydantic would accept every one
    of these decoded rows and the batch's checks pass; None otherwise."""
    getters, delete_id_characters = _id_check(shape)
    ids = ""
    for getter in getters:
        joined = "\n".join(map(getter, rows)) + "\n"
        # Deleting every id character must leave the newlines alone, one per id: a value with a
        # character of its own (a newline included) leaves it behind.
        if joined.translate(delete_id_characters) != "\n" * len(rows):
            return None
        ids = ids or joined
    for name, joined_pattern in _joined_patterns(shape):
        joined = "\n".join(map(attrgetter(name), rows)) + "\n"
        # Counting the separators first: a value with a newline of its own must not pass as two.
        if joined.count("\n") != len(rows) or joined_pattern.fullmatch(joined) is None:
            return None
        if name in shape.days and not all(map(_real_day, set(_UNSURE_DAY.findall(joined)))):
            return None
    for name, values_allowed in allowed.items():
        if not set(map(attrgetter(name), rows)) <= values_allowed:
            return None
    return ids if rows else ""


def _real_day(day: str) -> bool:
    """A YYYY-MM-DD (that matched its pattern) that is a day of the calendar (no 30 February)."""
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        return False
    return True
