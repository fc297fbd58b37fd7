"""Placement lookups (spec §4): the ad server's call, on every ad decision.

A warm lookup makes no storage request. The container holds each market's current list version
in memory, decoded from the version's one object (`placements_object`), loaded once per version:
on a cold start or when the pointer names a new version. The market's current version pointer
and its campaigns are cached for `cache_seconds` (10 by default): a new publication or a campaign
change reaches every lookup within that time. A lookup takes the version once and answers from
its index only, so one that raced a publication still answers from one whole version.

When the pointer cannot be read (DynamoDB throttling, say), lookups go on answering from the
version they hold, and ask again a second later. A version with no object (published before
objects existed), or whose object cannot be read, is answered item by item from the state table
as before, and its object is tried again after `cache_seconds`. So is a version larger than the
container may hold (`max_held_entries`): memory, not the object, bounds what is held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

from pulse.campaigns.campaign import Campaign, OfferedCampaign, offered
from pulse.core.clock import Clock
from pulse.core.rules import Rules
from pulse.lists.placements_object import PlacementIndex, decode
from pulse.lists.publication import ListVersion, Placement
from pulse.lists.ranking import Ranked

_log = logging.getLogger(__name__)
RETRY_AFTER_ERROR = 1.0  # seconds a stale pointer or campaign list is served after a failed refresh
T = TypeVar("T")


class ListReader(Protocol):
    def current(self, market: str) -> ListVersion | None: ...

    def placement(self, market: str, version: str, video_id: str) -> Placement | None: ...

    def placements(self, market: str, version: str, video_ids: Sequence[str]) -> dict[str, Placement]: ...

    def entries(
        self, market: str, version: str, category: str, after_rank: int = 0, limit: int | None = None
    ) -> Iterator[Ranked]: ...


class CampaignReader(Protocol):
    def in_market(self, market: str) -> list[Campaign]: ...


class PlacementObjectReader(Protocol):
    def read(self, key: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class _Held:
    """A market's version as this container holds it: its index, or None (answered from the
    table) until `retry_at` when its object could not be had."""

    version: str
    index: PlacementIndex | None
    retry_at: float


class Lookup(NamedTuple):  # built on every lookup: a named tuple costs a third of a frozen dataclass
    video_id: str
    market: str
    placeable: bool
    list_version: str | None
    category: str | None
    iab_categories: tuple[str, ...]
    rank: int | None
    creator_id: str | None
    campaigns: tuple[OfferedCampaign, ...]


class PlacementLookups:
    def __init__(
        self,
        lists: ListReader,
        campaigns: CampaignReader,
        rules: Rules,
        *,
        objects: PlacementObjectReader,
        clock: Clock,
        cache_seconds: float = 10.0,
        max_held_entries: int = 1_000_000,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` says what day it is (campaigns run on UTC days); `ticks` times the caches. A
        version that would take the container's held entries, every market's together, past
        `max_held_entries` is not held (memory bounds it): it is answered from the table."""
        self._lists = lists
        self._campaigns = campaigns
        self._objects = objects
        self._held: dict[str, _Held] = {}
        self._loading = threading.Lock()  # one load per version, however many requests wait for it
        self._refreshing = threading.Lock()  # one refresh of a pointer or campaigns at a time
        self.objects_loaded = 0
        self._max_held = max_held_entries
        self._rules = rules
        self._iab = {slug: category.iab_ids for slug, category in rules.categories.items()}
        self._ttl = cache_seconds
        self._clock = clock
        self._ticks = ticks
        self._versions: dict[str, tuple[float, ListVersion | None]] = {}
        self._offers: dict[tuple[str, str], tuple[float, tuple[OfferedCampaign, ...]]] = {}
        self._market_campaigns: dict[str, tuple[float, list[Campaign]]] = {}

    def current_version(self, market: str) -> ListVersion | None:
        return self._cached(self._versions, market, lambda: self._lists.current(market))

    def _cached(self, cache: dict[str, tuple[float, T]], market: str, read: Callable[[], T]) -> T:
        """The cached value while fresh; else read again. One request refreshes at a time: the
        others go on with the value in hand instead of piling onto a slow dependency. A failed
        read with a value in hand keeps serving it for RETRY_AFTER_ERROR (lookups never feel a
        throttled table)."""
        cached = cache.get(market)
        if cached is not None and cached[0] > self._ticks():
            return cached[1]
        if cached is not None:
            if not self._refreshing.acquire(blocking=False):
                return cached[1]
        else:
            self._refreshing.acquire()  # nothing to serve meanwhile: wait for the one reading
        # Another request may have refreshed between the look and the lock: never overwrite its
        # value with the older one in hand (a failed read would serve it again).
        cached = cache.get(market)
        if cached is not None and cached[0] > self._ticks():
            self._refreshing.release()
            return cached[1]
        try:
            return self._refresh(cache, market, read, cached)
        finally:
            self._refreshing.release()

    def _refresh(
        self,
        cache: dict[str, tuple[float, T]],
        market: str,
        read: Callable[[], T],
        cached: tuple[float, T] | None,
    ) -> T:
        now = self._ticks()
        try:
            value = read()
        except Exception:
            if cached is None:
                raise
            _log.warning("refresh failed; serving what is held", extra={"market": market}, exc_info=True)
            cache[market] = (now + RETRY_AFTER_ERROR, cached[1])
            return cached[1]
        cache[market] = (self._ticks() + self._ttl, value)
        return value

    def held_index(self, version: ListVersion) -> PlacementIndex | None:
        """The version's index, loaded on first use; None to answer from the table instead."""
        held = self._held.get(version.market)
        fresh = held is not None and held.version == version.version
        if fresh and held is not None and (held.index is not None or held.retry_at > self._ticks()):
            return held.index
        # The bound is the container's: every market's held index together, this one's new size.
        others = sum(
            len(h.index) for m, h in self._held.items() if m != version.market and h.index is not None
        )
        if not version.placements_key or others + version.entries > self._max_held:
            if version.placements_key:
                _log.warning(
                    "list version larger than this container holds; answering from the table",
                    extra={
                        "market": version.market,
                        "list_version": version.version,
                        "entries": version.entries,
                    },
                )
            self._held[version.market] = _Held(version.version, None, float("inf"))
            return None
        with self._loading:
            held = self._held.get(version.market)
            if held is None or held.version != version.version or held.retry_at <= self._ticks():
                index = self._load(version)
                # A loaded version is held for good; a failed load is tried again after the TTL.
                retry_at = float("inf") if index is not None else self._ticks() + self._ttl
                held = _Held(version.version, index, retry_at)
                self._held[version.market] = held
        return held.index

    def _load(self, version: ListVersion) -> PlacementIndex | None:
        try:
            index = decode(self._objects.read(version.placements_key), version.placements_sha256)
        except Exception:
            _log.warning(
                "list version object unavailable; answering from the table",
                extra={"market": version.market, "list_version": version.version},
                exc_info=True,
            )
            return None
        if (index.header.market, index.header.list_version) != (version.market, version.version):
            _log.error("list version object names another version", extra={"key": version.placements_key})
            return None
        self.objects_loaded += 1
        return index

    def one(self, market: str, video_id: str) -> Lookup:
        version = self.current_version(market)
        if version is None:
            return self._not_listed(market, video_id, None)
        index = self.held_index(version)
        if index is not None:
            placement = index.get(video_id)
        else:
            placement = self._lists.placement(market, version.version, video_id)
        return self._answer(market, video_id, version.version, placement)

    def many(self, market: str, video_ids: Sequence[str]) -> tuple[str | None, list[Lookup]]:
        """Lookups of up to 100 videos, all from one list version, in request order."""
        version = self.current_version(market)
        if version is None:
            return None, [self._not_listed(market, v, None) for v in video_ids]
        index = self.held_index(version)
        if index is not None:
            found = {v: p for v in video_ids if (p := index.get(v)) is not None}
        else:
            found = self._lists.placements(market, version.version, video_ids)
        return version.version, [self._answer(market, v, version.version, found.get(v)) for v in video_ids]

    def _answer(self, market: str, video_id: str, version: str, placement: Placement | None) -> Lookup:
        if placement is None:
            return self._not_listed(market, video_id, version)
        category = placement.category
        return Lookup(  # positional: the hot path's cheapest way to build one
            video_id,
            market,
            True,
            version,
            category,
            self._iab[category],
            placement.rank,
            placement.creator_id,
            self._offers_for(market, category),
        )

    @staticmethod
    def _not_listed(market: str, video_id: str, version: str | None) -> Lookup:
        return Lookup(video_id, market, False, version, None, (), None, None, ())

    def _offers_for(self, market: str, category: str) -> tuple[OfferedCampaign, ...]:
        cached = self._offers.get((market, category))
        now = self._ticks()
        if cached is not None and cached[0] > now:
            return cached[1]
        running = self._cached(self._market_campaigns, market, lambda: self._campaigns.in_market(market))
        offers = tuple(offered(running, market, category, self._clock().date()))
        self._offers[(market, category)] = (now + self._ttl, offers)
        return offers
