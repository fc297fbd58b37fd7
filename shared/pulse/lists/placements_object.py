"""A list version as one immutable object (spec §8.1): what ApiFunction and the ad server hold in
memory instead of asking storage on every lookup.

The object is gzip-compressed UTF-8 JSON, format `pulse.placements/1` (README, "The snapshot
object"): the version's header, the IAB ids of each category, and each category's entries as
columns (`video_ids`, `ranks`, `creator_ids`, `scores`, entry i of each). Columns, not one object
per entry, because they are a third of the size and decode in one pass. It is written with a zero
gzip timestamp, so the same version always has the same bytes and the same SHA-256.

`PlacementIndex` is the decoded object: one dict from video id to its position, and the columns
as compact arrays (about 150 bytes per entry in all, measured by `make bench`).
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import zlib
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import msgspec

from pulse.lists.ranking import Ranked

FORMAT = "pulse.placements/1"
# At most what one decode may inflate to: a version of 40M entries is about 3 GB of JSON, far past
# what ApiFunction holds; a larger object is refused before it is read into memory.
MAX_INFLATED_BYTES = 4 << 30


class BadPlacementsObject(ValueError):
    """The bytes are not a whole, consistent `pulse.placements/1` object."""


class Columns(msgspec.Struct, forbid_unknown_fields=True):
    video_ids: list[str]
    ranks: list[int]
    creator_ids: list[str]
    scores: list[int]


class _Document(msgspec.Struct):
    format: str
    market: str
    list_version: str
    snapshot: str
    published_at: str
    iab_categories: dict[str, list[str]]
    lists: dict[str, Columns]


@dataclass(frozen=True, slots=True)
class Header:
    market: str
    list_version: str
    snapshot: str
    published_at: str


def placements_key(market: str, version: str) -> str:
    """Where a version's object lives in ListsBucket: one key per version, never overwritten."""
    return f"placements/market={market}/version={version}.json.gz"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def columns_of(entries: Sequence[Ranked]) -> Columns:
    return Columns(
        video_ids=[e.video_id for e in entries],
        ranks=[e.rank for e in entries],
        creator_ids=[e.creator_id for e in entries],
        scores=[e.score for e in entries],
    )


def encode(header: Header, iab: Mapping[str, Sequence[str]], lists: Mapping[str, Columns]) -> bytes:
    """The object's bytes: every category of `iab` is present, empty or not, in that order."""
    document = _Document(
        format=FORMAT,
        market=header.market,
        list_version=header.list_version,
        snapshot=header.snapshot,
        published_at=header.published_at,
        iab_categories={category: list(ids) for category, ids in iab.items()},
        lists={category: lists.get(category) or Columns([], [], [], []) for category in iab},
    )
    # Level 6: within 10% of level 9's size at a third of its time (measured on a 4M-entry version).
    return gzip.compress(msgspec.json.encode(document), compresslevel=6, mtime=0)


class Placement(NamedTuple):
    """A listed video in one list version: what a lookup answers and revenue is attributed by.
    (A named tuple: built on every lookup, in a third of a frozen dataclass's time.)"""

    video_id: str
    category: str
    rank: int
    creator_id: str
    score: int


class PlacementIndex:
    """A decoded version: `get(video_id)` in one dict lookup, all from this one version."""

    __slots__ = (
        "_categories",
        "_creators",
        "_offsets",
        "_positions",
        "_ranks",
        "_scores",
        "counts",
        "header",
    )

    def __init__(self, header: Header, lists: Mapping[str, Columns]) -> None:
        self.header = header
        self._categories: list[str] = []
        self._offsets: list[int] = []  # the position of each category's first entry
        self._creators: list[str] = []
        self._ranks = array("l")
        self._scores = array("q")
        video_ids: list[str] = []
        self.counts: dict[str, int] = {}
        # One string per creator, not per entry: a creator has many listed videos, and the decoder
        # makes a string of each occurrence (a third of a 4M-entry index's memory).
        creators: dict[str, str] = {}
        for category, columns in lists.items():
            n = len(columns.video_ids)
            if not (len(columns.ranks) == len(columns.creator_ids) == len(columns.scores) == n):
                raise BadPlacementsObject(f"the columns of {category} differ in length")
            self._categories.append(category)
            self._offsets.append(len(video_ids))
            video_ids.extend(columns.video_ids)
            self._creators.extend([creators.setdefault(c, c) for c in columns.creator_ids])
            self._ranks.extend(columns.ranks)
            self._scores.extend(columns.scores)
            self.counts[category] = n
        self._positions = dict(zip(video_ids, range(len(video_ids)), strict=True))
        if len(self._positions) != len(video_ids):
            raise BadPlacementsObject("a video is listed twice")

    def __len__(self) -> int:
        return len(self._positions)

    def get(self, video_id: str) -> Placement | None:
        position = self._positions.get(video_id)
        if position is None:
            return None
        category = self._categories[bisect.bisect_right(self._offsets, position) - 1]
        return Placement(
            video_id, category, self._ranks[position], self._creators[position], self._scores[position]
        )


def decode(data: bytes, sha256: str | None = None) -> PlacementIndex:
    """The index of an object's bytes, checked against the SHA-256 recorded with its version."""
    if sha256 is not None and sha256_hex(data) != sha256:
        raise BadPlacementsObject("the object's SHA-256 is not the one recorded with its version")
    try:
        inflater = zlib.decompressobj(wbits=31)  # gzip
        raw = inflater.decompress(data, MAX_INFLATED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise BadPlacementsObject("the object is truncated or inflates past the size it may have")
        document = msgspec.json.decode(raw, type=_Document)
    except (zlib.error, msgspec.DecodeError) as exc:
        raise BadPlacementsObject(f"not a {FORMAT} object: {exc}") from exc
    if document.format != FORMAT:
        raise BadPlacementsObject(f"format {document.format!r}, not {FORMAT}")
    header = Header(document.market, document.list_version, document.snapshot, document.published_at)
    return PlacementIndex(header, document.lists)
