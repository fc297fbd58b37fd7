"""Ranking against a straightforward reference on generated snapshots (spec §2.3)."""

from __future__ import annotations

import math
import random
from array import array
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.core.rules import load_rules
from pulse.ingest.records import VideoRow
from pulse.lists import ranking
from pulse.lists.ranking import Ranked, RankingSpill, published, score, top_k

RULES = load_rules()
CATEGORIES = list(RULES.categories)


def video(
    video_id: str, category: str = "pets", creator_id: str = "c1", safe: bool = True, **counts: int
) -> VideoRow:
    values: dict[str, Any] = {"views_24h": 0, "likes_24h": 0, "comments_24h": 0, "shares_24h": 0, **counts}
    return VideoRow(
        video_id=video_id,
        creator_id=creator_id,
        market="US",
        category=category,
        posted_at="2026-11-26T08:00:00Z",
        brand_safe=safe,
        **values,
    )


def reference(videos: list[VideoRow], bps: int) -> dict[str, list[Ranked]]:
    """The rules of §2.3 written as plainly as possible."""
    lists: dict[str, list[Ranked]] = {}
    for category in CATEGORIES:
        pool = [v for v in videos if v.category == category and v.brand_safe]
        pool.sort(key=lambda v: (-score(v), v.video_id))
        k = math.ceil(len(pool) * bps / 10000)
        lists[category] = [Ranked(i + 1, v.video_id, v.creator_id, score(v)) for i, v in enumerate(pool[:k])]
    return lists


def rank(videos: list[VideoRow], bps: int = 400) -> dict[str, list[Ranked]]:
    with RankingSpill(CATEGORIES) as spill:
        for v in videos:
            spill.add_many([v])
        return spill.select(bps)


def test_score_weights_engagement() -> None:
    assert score(video("v", views_24h=1, likes_24h=1, comments_24h=1, shares_24h=1)) == 15


@pytest.mark.parametrize(
    ("pool", "k"), [(0, 0), (1, 1), (25, 1), (26, 2), (50, 2), (51, 3), (1_000_000, 40_000)]
)
def test_k_is_the_ceiling_of_four_percent(pool: int, k: int) -> None:
    assert top_k(pool, 400) == k


def test_ties_are_broken_by_video_id_and_unsafe_videos_never_count() -> None:
    videos = [video("b", views_24h=10), video("a", views_24h=10), video("c", views_24h=99, safe=False)]
    assert rank(videos, bps=10_000)["pets"] == [Ranked(1, "a", "c1", 10), Ranked(2, "b", "c1", 10)]


@pytest.mark.parametrize("pool", [0, 1, 25, 26, 27, 51, 250])
def test_tiny_categories_match_the_reference(pool: int) -> None:
    rng = random.Random(pool)
    videos = [video(f"v{i:04d}", views_24h=rng.randint(0, 5)) for i in range(pool)]
    videos += [video(f"u{i}", safe=False, views_24h=1000) for i in range(10)]
    assert rank(videos) == reference(videos, 400)


def test_a_generated_snapshot_with_ties_matches_the_reference() -> None:
    rng = random.Random(7)
    videos = [
        video(
            f"v{i:05d}",
            rng.choice(CATEGORIES),
            f"c{rng.randint(0, 300)}",
            rng.random() > 0.1,
            views_24h=rng.randint(0, 50),
            likes_24h=rng.randint(0, 5),
            comments_24h=rng.randint(0, 2),
            shares_24h=rng.randint(0, 1),
        )
        for i in range(20_000)
    ]
    assert rank(videos) == reference(videos, 400)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(CATEGORIES[:3]), st.integers(0, 20), st.integers(0, 3), st.booleans()),
        max_size=120,
    ),
    st.integers(1, 10_000),
)
def test_any_snapshot_and_any_percentage_match_the_reference(
    rows: list[tuple[str, int, int, bool]], bps: int
) -> None:
    videos = [
        video(f"v{i:03d}", c, "c1", safe, views_24h=views, shares_24h=shares)
        for i, (c, views, shares, safe) in enumerate(rows)
    ]
    assert rank(videos, bps) == reference(videos, bps)


def test_published_lists_keep_the_rank_of_the_top_k() -> None:
    ranked = {"pets": [Ranked(1, "a", "c-off", 9), Ranked(2, "b", "c-on", 8)]}
    assert published(ranked, lambda creator: creator == "c-on") == {"pets": [Ranked(2, "b", "c-on", 8)]}


def test_the_kth_best_score() -> None:
    scores = array("q", (random.Random(3).randrange(50) for _ in range(100)))
    for k in (1, 3, 7, 8, 50, 100):
        assert ranking.kth_largest(scores, k) == sorted(scores, reverse=True)[k - 1]
