"""Rows as producers send them, with sensible defaults (an eligible, enrolled US creator)."""

from __future__ import annotations

import datetime as dt
from typing import Any

# The day the tests' data describes: snapshots of 2026-11-26/27, revenue of October and November.
# Every test runs on a clock that starts here (tests/conftest.py), whatever the date of the run.
TEST_NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)

CREATOR_COLUMNS = (
    "creator_id",
    "market",
    "account_type",
    "followers",
    "age_verified_18",
    "videos_30d",
    "standing",
    "enrolled",
)


def creator(creator_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "creator_id": creator_id,
        "market": "US",
        "account_type": "creator",
        "followers": 250_000,
        "age_verified_18": True,
        "videos_30d": 12,
        "standing": "good",
        "enrolled": True,
    }
    row.update(overrides)
    return row


VIDEO_COLUMNS = (
    "video_id",
    "creator_id",
    "market",
    "category",
    "posted_at",
    "views_24h",
    "likes_24h",
    "comments_24h",
    "shares_24h",
    "brand_safe",
)


def video(
    video_id: str, creator_id: str, category: str = "pets", views: int = 100, **overrides: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "video_id": video_id,
        "creator_id": creator_id,
        "market": "US",
        "category": category,
        "posted_at": "2026-11-26T08:00:00Z",
        "views_24h": views,
        "likes_24h": 0,
        "comments_24h": 0,
        "shares_24h": 0,
        "brand_safe": True,
    }
    row.update(overrides)
    return row


REVENUE_COLUMNS = (
    "row_id",
    "served_date",
    "market",
    "video_id",
    "list_version",
    "campaign_id",
    "impressions",
    "revenue_micros",
    "currency",
)


def revenue(row_id: str, video_id: str, list_version: str, micros: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "row_id": row_id,
        "served_date": "2026-11-27",
        "market": "US",
        "video_id": video_id,
        "list_version": list_version,
        "campaign_id": "k1",
        "impressions": 1000,
        "revenue_micros": micros,
        "currency": "USD",
    }
    row.update(overrides)
    return row


def adjustment(adjustment_id: str, creator_id: str, micros: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "adjustment_id": adjustment_id,
        "market": "US",
        "creator_id": creator_id,
        "month": "2026-11",
        "revenue_micros": micros,
        "reason": "invalid traffic",
    }
    row.update(overrides)
    return row


def campaign(**overrides: Any) -> dict[str, Any]:
    """The body of `PUT /v1/campaigns/{id}`: a US pets campaign running from 2026 on."""
    body: dict[str, Any] = {
        "advertiser": "Acme Pet Food",
        "markets": ["US"],
        "categories": ["pets"],
        "start": "2026-01-01",
        "end": "2099-12-31",
        "priority": 50,
        "status": "active",
    }
    body.update(overrides)
    return body
