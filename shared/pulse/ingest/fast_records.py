"""The four datasets' rows as the read phase hands them on: msgspec structs, decoded a block at a time.

Pydantic (`pulse.ingest.records`) is the authority on what a valid row is, and it costs a few
microseconds a row. A struct here has the same fields, with the checks msgspec makes while it
decodes (strict types, integer bounds, lengths, literals). What msgspec cannot check cheaply
value by value is described by a `FastShape` and checked once per block of rows by
`pulse.ingest.fast_path`: the patterns of ids, markets, dates and months over the joined values
of the whole block, the days of the calendar, and the values the batch allows (its market, the
rules' categories, the market's currency).

Every row after the read phase is one of these structs (a row pydantic vouched for is turned
into one), so the apply phase holds 100-odd bytes a row and not a pydantic model.
tests/unit/test_fast_path.py checks, on generated hostile rows of every dataset, that the fast
path accepts exactly what pydantic accepts, with the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

import msgspec

from pulse.core.rules import Rules
from pulse.core.types import DATE, ID_CHARACTERS, MONTH
from pulse.ingest.manifest import BatchLocation
from pulse.ingest.records import INT64_MAX, RFC3339

_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
_Micros = Annotated[int, msgspec.Meta(ge=-INT64_MAX, le=INT64_MAX)]


class FastCreator(msgspec.Struct, frozen=True, gc=False):
    creator_id: _Id
    market: str
    account_type: Literal["creator", "public_figure", "publisher"]
    followers: _Count
    age_verified_18: bool
    videos_30d: _Count
    standing: Literal["good", "warning", "restricted", "banned"]
    enrolled: bool


class VideoLike(Protocol):
    """What ranking reads of a video row: `FastVideo` and the tests' plain rows have it."""

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


class FastRevenue(msgspec.Struct, frozen=True, gc=False):
    row_id: _Id
    served_date: str
    market: str
    video_id: _Id
    list_version: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    campaign_id: _Id
    impressions: Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
    revenue_micros: _Count
    currency: str


class FastAdjustment(msgspec.Struct, frozen=True, gc=False):
    adjustment_id: _Id
    market: str
    creator_id: _Id
    month: str
    revenue_micros: _Micros
    reason: Annotated[str, msgspec.Meta(max_length=200)]


FastRow = FastCreator | FastVideo | FastRevenue | FastAdjustment


Allowed = Callable[[BatchLocation, Rules], Mapping[str, frozenset[str]]]


def _market(location: BatchLocation, rules: Rules) -> dict[str, frozenset[str]]:
    return {"market": frozenset({location.market})}


def _video_context(location: BatchLocation, rules: Rules) -> dict[str, frozenset[str]]:
    return {**_market(location, rules), "category": frozenset(rules.categories)}


def _revenue_context(location: BatchLocation, rules: Rules) -> dict[str, frozenset[str]]:
    return {**_market(location, rules), "currency": frozenset({rules.currency_of(location.market)})}


@dataclass(frozen=True, eq=False)  # hashed by identity: one shape per dataset
class FastShape:
    """What the fast path checks of a dataset's rows beyond what msgspec checks while decoding."""

    struct: type[FastRow]
    ids: tuple[str, ...]  # id fields: only ID_CHARACTERS (their length the struct checks)
    patterns: Mapping[str, str]  # field -> the regular expression its whole value must match
    days: tuple[str, ...]  # fields (dates, timestamps) whose day must be a day of the calendar
    allowed: Allowed  # field -> the values the batch and the rules allow (market, category...)
    id_characters: str = ID_CHARACTERS


# Ids together are `^[A-Za-z0-9_-]{1,64}$` (core/types.ID): the struct checks the length, the
# fast path the characters. The market, category and currency are checked against the values
# the batch allows, which match their patterns (a batch folder's market is a MARKET, the rules'
# currencies CURRENCY codes), so they need no pattern of their own here.
CREATORS_SHAPE = FastShape(FastCreator, ("creator_id",), {}, (), _market)
VIDEOS_SHAPE = FastShape(
    FastVideo, ("video_id", "creator_id"), {"posted_at": RFC3339.pattern}, ("posted_at",), _video_context
)
REVENUE_SHAPE = FastShape(
    FastRevenue,
    ("row_id", "video_id", "campaign_id"),
    {"served_date": DATE},
    ("served_date",),
    _revenue_context,
)
ADJUSTMENTS_SHAPE = FastShape(FastAdjustment, ("adjustment_id", "creator_id"), {"month": MONTH}, (), _market)
