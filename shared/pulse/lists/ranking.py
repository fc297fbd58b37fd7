"""The top 4% of each category (spec §2.3): pure ranking, in bounded memory.

`k = ceil(N * top_percent_bps / 10000)` depends on the pool size N, which is only known at the end
of a snapshot, so ranking takes two passes: the first validates rows and appends each brand-safe
video's (score, video_id, creator_id) to a compact per-category spill file while counting N; the
second selects each category's top k. Memory holds 8 bytes per brand-safe video (its score, in
an array, not a Python object) and, during selection, the candidates of one category (its top k
and the ties at the k-th score); the rows themselves are never held.
"""

from __future__ import annotations

import heapq
import operator
import tempfile
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import IO

from pulse.ingest.fast_records import VideoLike


def score(video: VideoLike) -> int:
    """Engagement and growth, in integers: views + 2 likes + 4 comments + 8 shares (24 h)."""
    return video.views_24h + 2 * video.likes_24h + 4 * video.comments_24h + 8 * video.shares_24h


def top_k(pool_size: int, top_percent_bps: int) -> int:
    """ceil(N * bps / 10000) in integers (0 for an empty pool)."""
    return -(-pool_size * top_percent_bps // 10_000)


_ID_LINE = "{0.video_id}\t{0.creator_id}\n".format


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    video_id: str
    creator_id: str
    score: int


class RankingSpill:
    """First pass: each category's brand-safe pool, as scores in a compact array (8 bytes a video)
    and ids in a spill file on local disk; the second pass (`select`) needs only the rows whose
    score reaches the category's k-th best."""

    def __init__(self, categories: list[str], workdir: str | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(dir=workdir, prefix="pulse-rank-")
        # Open for the whole first pass, closed by select() or close().
        self._ids: dict[str, IO[str]] = {
            c: Path(self._dir.name, f"{c}.ids").open("w", encoding="utf-8")  # noqa: SIM115
            for c in categories
        }
        self._scores: dict[str, array[int]] = {c: array("q") for c in categories}
        self.rows_seen = 0

    @property
    def pool_sizes(self) -> dict[str, int]:
        return {category: len(scores) for category, scores in self._scores.items()}

    def add(self, key: str, lines: Sequence[int], rows: Sequence[VideoLike]) -> None:
        """A block of the snapshot's valid rows, as the read phase hands them on (a Collector)."""
        self.add_many(rows)

    def add_many(self, videos: Iterable[VideoLike]) -> None:
        by_category: dict[str, list[VideoLike]] = {}
        seen = 0
        for video in videos:
            seen += 1
            if video.brand_safe:
                by_category.setdefault(video.category, []).append(video)
        self.rows_seen += seen
        for category, pool in by_category.items():
            self._scores[category].extend(map(score, pool))
            # Ids match ^[A-Za-z0-9_-]{1,64}$: a tab never occurs inside one, and sorts first.
            self._ids[category].write("".join(map(_ID_LINE, pool)))

    def select(self, top_percent_bps: int) -> dict[str, list[Ranked]]:
        """Second pass: each category's top k, rank 1 first (score descending, then video_id)."""
        for handle in self._ids.values():
            handle.close()
        return {category: self._top(category, top_percent_bps) for category in self._scores}

    def _top(self, category: str, top_percent_bps: int) -> list[Ranked]:
        scores = self._scores[category]
        k = top_k(len(scores), top_percent_bps)
        if k == 0:
            return []
        threshold = heapq.nlargest(k, scores)[-1]
        # Every video at or above the k-th best score, ties included, then the order of §2.3. Only
        # those lines are kept while the spill file streams by (compress/map run in C).
        keep = list(map(threshold.__le__, scores))
        with Path(self._dir.name, f"{category}.ids").open(encoding="utf-8") as handle:
            candidates = sorted(
                zip(map(operator.neg, compress(scores, keep)), compress(handle, keep), strict=True)
            )[:k]
        ranked = []
        for rank, (negative, line) in enumerate(candidates, 1):
            video_id, creator_id = line.rstrip("\n").split("\t")
            ranked.append(Ranked(rank, video_id, creator_id, -negative))
        return ranked

    def close(self) -> None:
        for handle in self._ids.values():
            handle.close()
        self._dir.cleanup()

    def __enter__(self) -> RankingSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def published(ranked: dict[str, list[Ranked]], is_active: Callable[[str], bool]) -> dict[str, list[Ranked]]:
    """The published lists: the top k whose creator is active, each keeping its rank in the top k."""
    return {category: [r for r in entries if is_active(r.creator_id)] for category, entries in ranked.items()}
