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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter
from pathlib import Path
from typing import IO

from pulse.ingest.fast_records import VideoLike


def score(video: VideoLike) -> int:
    """Engagement and growth, in integers: views + 2 likes + 4 comments + 8 shares (24 h)."""
    return video.views_24h + 2 * video.likes_24h + 4 * video.comments_24h + 8 * video.shares_24h


def kth_largest(scores: array[int], k: int) -> int:
    """The k-th best score (1 <= k <= len): a heap of k in C, so memory holds k Python ints, not
    one per video (and it takes half the time of sorting them all)."""
    return heapq.nlargest(k, scores)[-1]


def top_k(pool_size: int, top_percent_bps: int) -> int:
    """ceil(N * bps / 10000) in integers (0 for an empty pool)."""
    return -(-pool_size * top_percent_bps // 10_000)


_VIDEO_ID = attrgetter("video_id")
_CREATOR_ID = attrgetter("creator_id")


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    video_id: str
    creator_id: str
    score: int


RankedBlock = dict[str, tuple["array[int]", str, str]]


def rank_block(videos: Sequence[VideoLike]) -> RankedBlock:
    """A block's brand-safe videos by category: their scores, and their video and creator ids
    one per line (ids match ^[A-Za-z0-9_-]{1,64}$: a newline never occurs inside one)."""
    by_category: dict[str, list[VideoLike]] = {}
    for video in videos:
        if video.brand_safe:
            by_category.setdefault(video.category, []).append(video)
    return {
        category: (
            array("q", map(score, pool)),
            "\n".join(map(_VIDEO_ID, pool)) + "\n",
            "\n".join(map(_CREATOR_ID, pool)) + "\n",
        )
        for category, pool in by_category.items()
    }


def _spilled_ids(path: Path) -> Iterator[str]:
    """A spill file's ids in order, read and split a megabyte at a time (in C, not line by line)."""
    with path.open(encoding="utf-8") as handle:
        carry = ""
        while chunk := handle.read(1 << 20):
            ids = (carry + chunk).split("\n")
            carry = ids.pop()
            yield from ids


class RankingSpill:
    """First pass: each category's brand-safe pool, as scores in a compact array (8 bytes a video)
    and ids in spill files on local disk; the second pass (`select`) needs only the rows whose
    score reaches the category's k-th best. A Collector of the read phase: a videos snapshot is
    scored while it is read, and this is its only spill."""

    def __init__(self, categories: list[str], workdir: str | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(dir=workdir, prefix="pulse-rank-")
        # Open for the whole first pass, closed by select() or close(). Video and creator ids go
        # to two files, one per line, so that a block is written with two joins (no per-row format).
        self._ids = {c: self._open(c, "ids") for c in categories}
        self._creators = {c: self._open(c, "creators") for c in categories}
        self._scores: dict[str, array[int]] = {c: array("q") for c in categories}
        self._pool_sizes: dict[str, int] | None = None  # kept by select(), which frees the scores
        self.rows_seen = 0

    def _open(self, category: str, kind: str) -> IO[str]:
        return Path(self._dir.name, f"{category}.{kind}").open("w", encoding="utf-8")

    @property
    def pool_sizes(self) -> dict[str, int]:
        """Each category's brand-safe videos (before and after `select`)."""
        if self._pool_sizes is not None:
            return dict(self._pool_sizes)
        return {category: len(scores) for category, scores in self._scores.items()}

    @property
    def reducer(self) -> Callable[[Sequence[VideoLike]], RankedBlock]:
        return rank_block

    def add_reduced(self, key: str, lines: Sequence[int], reduced: RankedBlock) -> None:
        """A block of the snapshot's valid rows, reduced by `rank_block` (a Collector)."""
        self.rows_seen += len(lines)
        for category, (scores, video_ids, creator_ids) in reduced.items():
            self._scores[category].extend(scores)
            self._ids[category].write(video_ids)
            self._creators[category].write(creator_ids)

    def add_many(self, videos: Sequence[VideoLike]) -> None:
        self.add_reduced("", range(len(videos)), rank_block(videos))

    def select(self, top_percent_bps: int) -> dict[str, list[Ranked]]:
        """Second pass: each category's top k, rank 1 first (score descending, then video_id)."""
        self._close_files()
        self._pool_sizes = self.pool_sizes
        ranked = {}
        for category in list(self._scores):
            ranked[category] = self._top(category, top_percent_bps)
            del self._scores[category]  # its 8 bytes a video are not needed any more
        return ranked

    def _top(self, category: str, top_percent_bps: int) -> list[Ranked]:
        scores = self._scores[category]
        k = top_k(len(scores), top_percent_bps)
        if k == 0:
            return []
        threshold = kth_largest(scores, k)
        # Every video at or above the k-th best score, ties included, then the order of §2.3. Only
        # those ids are kept while the spill files stream by (compress/map run in C).
        keep = list(map(threshold.__le__, scores))
        folder = Path(self._dir.name)
        candidates = sorted(
            zip(
                map(operator.neg, compress(scores, keep)),
                compress(_spilled_ids(folder / f"{category}.ids"), keep),
                compress(_spilled_ids(folder / f"{category}.creators"), keep),
                strict=True,
            )
        )[:k]
        return [
            Ranked(rank, video_id, creator_id, -negative)
            for rank, (negative, video_id, creator_id) in enumerate(candidates, 1)
        ]

    def _close_files(self) -> None:
        for handle in (*self._ids.values(), *self._creators.values()):
            handle.close()

    def close(self) -> None:
        self._close_files()
        self._dir.cleanup()

    def __enter__(self) -> RankingSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def published(ranked: dict[str, list[Ranked]], is_active: Callable[[str], bool]) -> dict[str, list[Ranked]]:
    """The published lists: the top k whose creator is active, each keeping its rank in the top k."""
    return {category: [r for r in entries if is_active(r.creator_id)] for category, entries in ranked.items()}
