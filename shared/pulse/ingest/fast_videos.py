"""The fast path of video rows, which the read phase judges a block at a time.

Pydantic (`VideoRow`) is the authority on what a valid row is, and it costs about 2.5 µs a row.
This path decodes a whole block of lines with msgspec in one C call (strict types, bounds), then
checks ids, timestamps, market and category for the whole block with a few regular expressions
run over joined strings. A row it can vouch for is accepted as is; any other row (or a whole block
that does not decode) is handed to `VIDEOS.validate_row`, whose verdict and message stand. So the
fast path accepts a subset of what pydantic accepts and never decides a rejection itself
(tests/unit/test_fast_videos.py checks that on generated hostile rows).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Protocol

import msgspec

from pulse.core.rules import Rules
from pulse.ingest.datasets import VIDEOS, Rejection
from pulse.ingest.manifest import BatchLocation
from pulse.ingest.records import INT64_MAX, RFC3339, VideoRow, real_day

_Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_IDS_OK = re.compile(r"(?:[A-Za-z0-9_-]{1,64}\n)*")
_TIMES_OK = re.compile(rf"(?:{RFC3339.pattern}\n)*")


class VideoLike(Protocol):
    """What ranking reads of a video row: both `VideoRow` and the fast path's struct have it."""

    @property
    def video_id(self) -> str: ...
    @property
    def creator_id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def views_24h(self) -> int: ...
    @property
    def likes_24h(self) -> int: ...
    @property
    def comments_24h(self) -> int: ...
    @property
    def shares_24h(self) -> int: ...
    @property
    def brand_safe(self) -> bool: ...


class FastVideo(msgspec.Struct, frozen=True, gc=False):
    video_id: _Id
    creator_id: _Id
    market: str
    category: str
    posted_at: str
    views_24h: _Count
    likes_24h: _Count
    comments_24h: _Count
    shares_24h: _Count
    brand_safe: bool


@cache
def _decoders() -> tuple[msgspec.json.Decoder[list[FastVideo]], msgspec.json.Decoder[FastVideo]]:
    return msgspec.json.Decoder(list[FastVideo]), msgspec.json.Decoder(FastVideo)


_LATE_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-(?:29|30|31)", re.MULTILINE)


def _real_days(times: str) -> bool:
    """`real_day` for each timestamp of a joined block; only days 29 to 31 can be wrong."""
    return all(real_day(match.group()) for match in _LATE_DAY.finditer(times))


def validate_block(lines: list[bytes], location: BatchLocation, rules: Rules) -> list[VideoLike | Rejection]:
    """A verdict for every non-blank line, in order: a row (valid) or a Rejection (from pydantic)."""
    block_decoder, line_decoder = _decoders()
    try:
        rows: list[FastVideo | None] = list(block_decoder.decode(b"[" + b",".join(lines) + b"]"))
    except (msgspec.ValidationError, msgspec.DecodeError):
        rows = []
        lines = [line for line in lines if line.strip()]  # blank lines are not rows
        for line in lines:
            try:
                rows.append(line_decoder.decode(line))
            except (msgspec.ValidationError, msgspec.DecodeError):
                rows.append(None)
    decoded = [r for r in rows if r is not None]
    ids = "".join([f"{r.video_id}\n{r.creator_id}\n" for r in decoded])
    times = "".join([f"{r.posted_at}\n" for r in decoded])
    # Counting the separators first: a value with a newline of its own must not pass as two.
    block_ok = (
        ids.count("\n") == 2 * len(decoded)
        and times.count("\n") == len(decoded)
        and _IDS_OK.fullmatch(ids) is not None
        and _TIMES_OK.fullmatch(times) is not None
        and _real_days(times)
    )
    market, categories = location.market, rules.categories
    if (
        block_ok
        and len(decoded) == len(lines)
        and all(r.market == market and r.category in categories for r in decoded)
    ):
        return list(decoded)  # the whole block vouched for: the common case
    verdicts: list[VideoLike | Rejection] = []
    for line, row in zip(lines, rows, strict=True):
        if (
            row is not None
            and row.market == market
            and row.category in categories
            and (block_ok or _vouch(row))
        ):
            verdicts.append(row)
        else:
            verdicts.append(VIDEOS.validate_row(line, location, rules))
    return verdicts


def _vouch(row: FastVideo) -> bool:
    """The per-row version of the block checks, for blocks where some row failed them."""
    ids = f"{row.video_id}\n{row.creator_id}\n"
    return (
        ids.count("\n") == 2
        and _IDS_OK.fullmatch(ids) is not None
        and RFC3339.fullmatch(row.posted_at) is not None
        and real_day(row.posted_at)
    )


def as_video_row(row: VideoLike) -> VideoRow:
    return row if isinstance(row, VideoRow) else VideoRow.model_validate(msgspec.structs.asdict(row))  # type: ignore[arg-type]
