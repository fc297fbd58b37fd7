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


def creators(market: str, count: int, seed: str = "pulse", changed_every: int = 0, change_seed: str = "") -> Iterator[dict[str, Any]]:
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
