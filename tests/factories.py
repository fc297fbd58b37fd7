"""Rows as producers send them, with sensible defaults (an eligible, enrolled US creator)."""

from __future__ import annotations

from typing import Any

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
