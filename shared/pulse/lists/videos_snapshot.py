"""Applying a videos snapshot: rank it, keep its top k, publish the market's lists (spec §2.3).

The ranked top k of a snapshot does not depend on eligibility (ranks are positions in the whole
top k), so it is kept (`RankingStore`) and the daily refresh re-publishes it with the eligibility
of that day, without reading the snapshot again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar, Protocol, TypedDict

from pydantic import ConfigDict

from pulse.core.events import EventPublisher
from pulse.core.rules import Rules
from pulse.core.summary import Summary
from pulse.ingest.batch import RejectRow
from pulse.ingest.manifest import BatchLocation
from pulse.ingest.report import Outcome
from pulse.lists.publication import (
    EligibilityReader,
    ListStore,
    PlacementObjectWriter,
    PreparedVersion,
    Publication,
    PublicationOutcome,
    commit_publication,
    prepare_publication,
    publish_lists,
)
from pulse.lists.ranking import Ranked, RankingSpill


class VideosOutcome(Outcome):
    """A videos snapshot ranked: the pools, the top k kept, and its publication. A late snapshot
    (older than the latest ranked) is kept but not published: `superseded_by` names the latest."""

    model_config = ConfigDict(extra="forbid")  # the outcome as the applier makes it: exactly these
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"superseded_by"})

    snapshot: str
    pool_sizes: dict[str, int]
    top_k: dict[str, int]
    superseded_by: str | None = None
    published: PublicationOutcome | None


class RefreshOutcome(Summary):
    """One market's daily refresh: its publication, or why there was nothing to publish."""

    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"reason"})

    market: str
    published: PublicationOutcome | None
    reason: str | None = None


class RankingStore(Protocol):
    """Each snapshot's ranked top k, and the latest snapshot ranked per market."""

    def save(self, market: str, snapshot: str, ranked: dict[str, list[Ranked]]) -> None: ...

    def load(self, market: str, snapshot: str) -> dict[str, list[Ranked]] | None: ...

    def latest_snapshot(self, market: str) -> str | None: ...

    def set_latest_snapshot(self, market: str, snapshot: str) -> None: ...


class PublicationParts(TypedDict):
    eligibility: EligibilityReader
    store: ListStore
    objects: PlacementObjectWriter
    events: EventPublisher
    rules: Rules


class ListPublisher:
    """Publishes ranked lists with today's eligibility: shared by videos ingest and the refresh."""

    def __init__(
        self,
        eligibility: EligibilityReader,
        lists: ListStore,
        *,
        objects: PlacementObjectWriter,
        events: EventPublisher,
        rules: Rules,
        now: Callable[[], dt.datetime],
    ) -> None:
        self._eligibility = eligibility
        self._lists = lists
        self._objects = objects
        self._events = events
        self._rules = rules
        self._now = now

    @property
    def events(self) -> EventPublisher:
        return self._events

    def publish(self, market: str, snapshot: str, ranked: dict[str, list[Ranked]]) -> Publication:
        return publish_lists(market, snapshot, ranked, now=self._now(), **self._parts())

    def prepare(
        self, market: str, snapshot: str, ranked: dict[str, list[Ranked]]
    ) -> Publication | PreparedVersion:
        """The first step of `publish` (for writers of many blocks): see `prepare_publication`."""
        return prepare_publication(market, snapshot, ranked, now=self._now(), **self._parts())

    def _parts(self) -> PublicationParts:
        return {
            "eligibility": self._eligibility,
            "store": self._lists,
            "objects": self._objects,
            "events": self._events,
            "rules": self._rules,
        }

    def commit(self, prepared: PreparedVersion) -> Publication:
        """The last step of `publish`, once every block of the version is written. Run again after
        the pointer moved (a retry), it announces the version if that had not happened."""
        publication = commit_publication(prepared, self._lists, self._events)
        current = self._lists.current(prepared.version.market)
        if (
            not publication.made_current
            and current is not None
            and current.version == prepared.version.version
        ):
            publication = Publication(current, True, prepared.excluded)
            if not current.announced:
                self._events.publish("TopListsPublished", [publication.event_detail()])
                self._lists.mark_announced(current)
        return publication


def superseded_by(rankings: RankingStore, market: str, snapshot: str) -> str | None:
    """The latest snapshot ranked, if it is newer: a late, older snapshot never replaces it."""
    latest = rankings.latest_snapshot(market)
    return latest if latest is not None and snapshot < latest else None


class VideosApplier:
    def __init__(self, rankings: RankingStore, publisher: ListPublisher, rules: Rules) -> None:
        self._rankings = rankings
        self._publisher = publisher
        self._rules = rules

    def collector(self, location: BatchLocation, workdir: str) -> RankingSpill:
        """A snapshot is scored while it is read: the ranking spill is the only one (§2.3)."""
        return RankingSpill(list(self._rules.categories), workdir)

    def apply(self, location: BatchLocation, collected: RankingSpill, reject: RejectRow) -> VideosOutcome:
        snapshot = location.snapshot
        assert snapshot is not None  # the videos folder layout always names its snapshot
        market = location.market
        ranked = collected.select(self._rules.top_percent_bps)
        pools = collected.pool_sizes
        self._rankings.save(market, snapshot, ranked)
        top_k = {category: len(entries) for category, entries in ranked.items()}
        latest = superseded_by(self._rankings, market, snapshot)
        if latest is not None:
            # A late, older snapshot is ranked and kept but never replaces newer lists.
            return VideosOutcome(
                snapshot=snapshot, pool_sizes=pools, top_k=top_k, superseded_by=latest, published=None
            )
        publication = self._publisher.publish(market, snapshot, ranked)
        self._rankings.set_latest_snapshot(market, snapshot)
        return VideosOutcome(
            snapshot=snapshot, pool_sizes=pools, top_k=top_k, published=publication.outcome()
        )


def refresh_market(market: str, rankings: RankingStore, publisher: ListPublisher) -> RefreshOutcome:
    """Re-publish the market's latest ranked snapshot with the current eligibility (daily)."""
    snapshot = rankings.latest_snapshot(market)
    if snapshot is None:
        return RefreshOutcome(market=market, published=None, reason="no videos snapshot yet")
    ranked = rankings.load(market, snapshot)
    if ranked is None:
        return RefreshOutcome(market=market, published=None, reason=f"ranking of {snapshot} is missing")
    return RefreshOutcome(market=market, published=publisher.publish(market, snapshot, ranked).outcome())
