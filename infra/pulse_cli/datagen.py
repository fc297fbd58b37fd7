"""Deterministic synthetic data in the formats of spec §3 (the demo, `pulse generate`, benchmarks).

Every value derives from (seed, index) through a fast hash, so any row can be regenerated alone,
a second snapshot can change exactly the creators it means to, and nothing is held in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

STANDINGS = ("good",) * 92 + ("warning",) * 5 + ("restricted",) * 2 + ("banned",)
ACCOUNT_TYPES = ("creator",) * 8 + ("public_figure", "publisher")


def _draw(seed: str, index: int, salt: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{index}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def creator_id(index: int) -> str:
    return f"cr{index:08d}"


def creators(
    market: str, count: int, seed: str = "pulse", changed_every: int = 0, change_seed: str = ""
) -> Iterator[dict[str, Any]]:
    """`count` creators of `market`; with `changed_every = N`, one creator in N differs from the
    base snapshot (more followers for most, a worse standing for every fifth of them)."""
    for i in range(count):
        draw = _draw(seed, i, market)
        followers = 20_000 + (draw % 1_000_000)
        row: dict[str, Any] = {
            "creator_id": creator_id(i),
            "market": market,
            "account_type": ACCOUNT_TYPES[(draw >> 20) % len(ACCOUNT_TYPES)],
            "followers": followers,
            "age_verified_18": (draw >> 24) % 50 != 0,
            "videos_30d": (draw >> 30) % 40,
            "standing": STANDINGS[(draw >> 36) % len(STANDINGS)],
            "enrolled": (draw >> 44) % 3 != 0,
        }
        if changed_every and _draw(change_seed or seed, i, "change") % changed_every == 0:
            if (draw >> 50) % 5 == 0:
                row["standing"] = "banned"
            else:
                row["followers"] = followers + 1 + (draw >> 52) % 5_000
        yield row


def video_id(index: int) -> str:
    return f"vd{index:09d}"


def videos(
    market: str, count: int, creators_count: int, categories: list[str], seed: str = "pulse"
) -> Iterator[dict[str, Any]]:
    """`count` videos of `market` by `creators_count` creators, with heavy-tailed engagement so that
    scores tie often at the bottom and rarely at the top, as real ones do."""
    for i in range(count):
        draw = _draw(seed, i, market)
        scale = 1 << ((draw >> 8) % 16)  # 1 .. 32768: a few videos get most of the views
        views = (draw % 1000) * scale // 64
        yield {
            "video_id": video_id(i),
            "creator_id": creator_id((draw >> 24) % creators_count),
            "market": market,
            "category": categories[(draw >> 40) % len(categories)],
            "posted_at": f"2026-11-{1 + (draw >> 48) % 26:02d}T{(draw >> 56) % 24:02d}:00:00Z",
            "views_24h": views,
            "likes_24h": views // (8 + (draw >> 12) % 24),
            "comments_24h": views // (60 + (draw >> 17) % 200),
            "shares_24h": views // (150 + (draw >> 21) % 400),
            "brand_safe": (draw >> 33) % 20 != 0,
        }


def revenue(
    market: str, count: int, list_version: str, listed_videos: int, seed: str = "pulse"
) -> Iterator[dict[str, Any]]:
    """`count` revenue rows for videos `vd000000000 ..` of one list version; about 1 in 200 rows
    names a video that was not listed (the ad server's mistakes happen)."""
    currency = {"US": "USD", "GB": "GBP"}.get(market, "EUR")
    for i in range(count):
        draw = _draw(seed, i, "revenue")
        video = draw % (listed_videos + listed_videos // 200)
        yield {
            "row_id": f"rv{i:010d}",
            "served_date": f"2026-11-{1 + (draw >> 20) % 27:02d}",
            "market": market,
            "video_id": video_id(video),
            "list_version": list_version,
            "campaign_id": f"k{(draw >> 30) % 40:03d}",
            "impressions": 1 + (draw >> 36) % 5_000,
            "revenue_micros": (draw >> 24) % 20_000_000,
            "currency": currency,
        }


def revenue_for(
    market: str, videos: list[str], list_version: str, month: str, count: int, *, seed: str = "pulse"
) -> Iterator[dict[str, Any]]:
    """`count` revenue rows served in `month` for `videos` of one list version."""
    currency = {"US": "USD", "GB": "GBP"}.get(market, "EUR")
    for i in range(count):
        draw = _draw(seed, i, f"revenue-{market}-{month}")
        yield {
            "row_id": f"rv-{market}-{month}-{i:08d}",
            "served_date": f"{month}-{1 + (draw >> 20) % 28:02d}",
            "market": market,
            "video_id": videos[draw % len(videos)],
            "list_version": list_version,
            "campaign_id": f"k{(draw >> 30) % 12:03d}",
            "impressions": 1 + (draw >> 36) % 5_000,
            "revenue_micros": (draw >> 24) % 40_000_000,
            "currency": currency,
        }
