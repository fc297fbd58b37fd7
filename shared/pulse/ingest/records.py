"""The four inbound record shapes of spec §3, defined once and used by every reader of them.

Rows are validated strictly (no silent coercion of "12" into 12 in JSON); CSV cells are turned into
JSON scalars first (see `parts.csv_cells_to_values`). Unknown extra fields are ignored, never stored.
Checks that need the rules or the batch (market, category, currency) live in `datasets.py`. The
read phase's structs (`fast_records.py`) have these fields, in this order (a test checks), and
these models stay the authority on what a valid row is.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pulse.core.types import CurrencyCode, Id, IsoDate, IsoMonth, MarketCode

# RFC 3339 date-time with its ranges spelled out; only the length of each month is left to
# `real_day`. The fast path runs the same pattern over a whole block (pulse/ingest/fast_path.py).
RFC3339 = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# DynamoDB numbers hold 38 digits; money and counts stay far below a signed 64-bit integer.
INT64_MAX = 2**63 - 1


def real_day(timestamp: str) -> bool:
    """Whether the day of a timestamp that matches RFC3339 exists (no 30 February)."""
    if timestamp[8:10] <= "28":
        return True
    try:
        dt.date.fromisoformat(timestamp[:10])
    except ValueError:
        return False
    return True


def _real_timestamp(value: str) -> str:
    if not RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-11-27T10:00:00Z")
    if not real_day(value):
        raise ValueError(f"{value[:10]} is not a day of the calendar")
    return value


Timestamp = Annotated[str, AfterValidator(_real_timestamp)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
Micros = Annotated[int, Field(ge=-INT64_MAX, le=INT64_MAX)]
AccountType = Literal["creator", "public_figure", "publisher"]
Standing = Literal["good", "warning", "restricted", "banned"]


class _Row(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class CreatorRow(_Row):
    creator_id: Id
    market: MarketCode
    account_type: AccountType
    followers: Count
    age_verified_18: bool
    videos_30d: Count
    standing: Standing
    enrolled: bool


class VideoRow(_Row):
    video_id: Id
    creator_id: Id
    market: MarketCode
    category: str
    posted_at: Timestamp
    views_24h: Count
    likes_24h: Count
    comments_24h: Count
    shares_24h: Count
    brand_safe: bool


class RevenueRow(_Row):
    row_id: Id
    served_date: IsoDate
    market: MarketCode
    video_id: Id
    list_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    campaign_id: Id
    impressions: Annotated[int, Field(ge=1, le=INT64_MAX)]
    revenue_micros: Count
    currency: CurrencyCode


class AdjustmentRow(_Row):
    adjustment_id: Id
    market: MarketCode
    creator_id: Id
    month: IsoMonth
    revenue_micros: Micros
    reason: Annotated[str, StringConstraints(max_length=200)]


Row = CreatorRow | VideoRow | RevenueRow | AdjustmentRow
