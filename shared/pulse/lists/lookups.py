"""Placement lookups (spec §4): the ad server's call, on every ad decision.

A warm lookup makes one storage request: the placement item of the current list version. The
market's current version and its campaigns are cached per container for `cache_seconds` (10 by
default): a new publication or a campaign change reaches every lookup within that time, and
a lookup that raced a publication still answers from one whole version.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from pulse.campaigns.campaign import Campaign, OfferedCampaign, offered
from pulse.core.clock import Clock
from pulse.core.rules import Rules
from pulse.lists.publication import ListVersion, Placement
from pulse.lists.ranking import Ranked


class ListReader(Protocol):
    def current(self, market: str) -> ListVersion | None: ...

    def placement(self, market: str, version: str, video_id: str) -> Placement | None: ...

    def placements(self, market: str, version: str, video_ids: Sequence[str]) -> dict[str, Placement]: ...

    def entries(
        self, market: str, version: str, category: str, after_rank: int = 0, limit: int | None = None
    ) -> Iterator[Ranked]: ...


class CampaignReader(Protocol):
    def in_market(self, market: str) -> list[Campaign]: ...


@dataclass(frozen=True, slots=True)
class Lookup:
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
        clock: Clock,
        cache_seconds: float = 10.0,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` says what day it is (campaigns run on UTC days); `ticks` times the caches."""
        self._lists = lists
        self._campaigns = campaigns
        self._rules = rules
        self._ttl = cache_seconds
        self._clock = clock
        self._ticks = ticks
        self._versions: dict[str, tuple[float, ListVersion | None]] = {}
        self._offers: dict[tuple[str, str], tuple[float, tuple[OfferedCampaign, ...]]] = {}
        self._market_campaigns: dict[str, tuple[float, list[Campaign]]] = {}

    def current_version(self, market: str) -> ListVersion | None:
        now = self._ticks()
        cached = self._versions.get(market)
        if cached is not None and cached[0] > now:
            return cached[1]
        version = self._lists.current(market)
        self._versions[market] = (now + self._ttl, version)
        return version

    def one(self, market: str, video_id: str) -> Lookup:
        version = self.current_version(market)
        if version is None:
            return self._not_listed(market, video_id, None)
        placement = self._lists.placement(market, version.version, video_id)
        return self._answer(market, video_id, version.version, placement)

    def many(self, market: str, video_ids: Sequence[str]) -> tuple[str | None, list[Lookup]]:
        """Lookups of up to 100 videos, all from one list version, in request order."""
        version = self.current_version(market)
        if version is None:
            return None, [self._not_listed(market, v, None) for v in video_ids]
        found = self._lists.placements(market, version.version, video_ids)
        return version.version, [self._answer(market, v, version.version, found.get(v)) for v in video_ids]

    def _answer(self, market: str, video_id: str, version: str, placement: Placement | None) -> Lookup:
        if placement is None:
            return self._not_listed(market, video_id, version)
        return Lookup(
            video_id=video_id,
            market=market,
            placeable=True,
            list_version=version,
            category=placement.category,
            iab_categories=self._rules.categories[placement.category].iab_ids,
            rank=placement.rank,
            creator_id=placement.creator_id,
            campaigns=self._offers_for(market, placement.category),
        )

    @staticmethod
    def _not_listed(market: str, video_id: str, version: str | None) -> Lookup:
        return Lookup(video_id, market, False, version, None, (), None, None, ())

    def _offers_for(self, market: str, category: str) -> tuple[OfferedCampaign, ...]:
        now = self._ticks()
        cached = self._offers.get((market, category))
        if cached is not None and cached[0] > now:
            return cached[1]
        stored = self._market_campaigns.get(market)
        if stored is None or stored[0] <= now:
            stored = (now + self._ttl, self._campaigns.in_market(market))
            self._market_campaigns[market] = stored
        offers = tuple(offered(stored[1], market, category, self._clock().date()))
        self._offers[(market, category)] = (now + self._ttl, offers)
        return offers
