"""Publishing a market's 12 lists as one list version, atomically (spec §2.3).

A version is written completely under its own keys before one conditional write moves the
market's `current` pointer to it: a reader that follows the pointer sees the whole previous
version or the whole new one, never a mix, and a publication that fails half-way leaves the
pointer where it was and its half-written items unreachable (their TTL removes them). The
version's placements are also written as one immutable object (`placements_object`), before the
version record that names it: lookups and the ad server hold it in memory.

A publication that would change nothing (the current version holds the same snapshot's same
lists, published less than `REPUBLISH_AFTER` ago) is skipped: a schedule or S3 notification
delivered twice publishes once. Unchanged lists are still republished once that long has passed,
so the current version never nears the end of its TTL.
See docs/design.md for the keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pulse.core.events import EventPublisher
from pulse.core.rules import Rules
from pulse.core.summary import Summary
from pulse.eligibility.evaluation import CurrentEligibility, placement_block
from pulse.lists import placements_object
from pulse.lists.placements_object import Placement
from pulse.lists.ranking import Ranked, published

__all__ = [
    "ListVersion",
    "Placement",
    "PreparedVersion",
    "commit_publication",
    "prepare_publication",
    "publish_lists",
]


@dataclass(frozen=True, slots=True)
class ListVersion:
    market: str
    version: str
    snapshot: str
    published_at: str
    counts: dict[str, int]
    digest: str = ""  # of the snapshot and every entry: two versions alike have the same digest
    announced: bool = False  # TopListsPublished went out (a retry sends it if a crash stopped it)
    # The version as one immutable object in ListsBucket (placements_object), written before the
    # version record: empty for a version published before objects existed.
    placements_key: str = ""
    placements_sha256: str = ""
    placements_bytes: int = 0

    @property
    def entries(self) -> int:
        return sum(self.counts.values())


class ListStore(Protocol):
    def next_version(self, market: str) -> str:
        """A new version string, unique for the market and greater than every earlier one."""
        ...

    def write_version(self, version: ListVersion, lists: dict[str, list[Ranked]], expires_at: int) -> None:
        """Every entry and placement of the version; nothing points at it yet."""
        ...

    def make_current(self, version: ListVersion) -> bool:
        """Point the market at `version` unless a greater one is current already; True if it moved."""
        ...

    def current(self, market: str) -> ListVersion | None: ...

    def mark_announced(self, version: ListVersion) -> None:
        """Record that TopListsPublished went out for the current `version`."""
        ...


class PlacementObjectWriter(Protocol):
    def write(self, key: str, data: bytes) -> None:
        """Store a version's object under its own key (never overwritten: the key names the version)."""
        ...


class EligibilityReader(Protocol):
    def current(self, market: str, creator_ids: Iterable[str]) -> dict[str, CurrentEligibility]: ...


class PublicationOutcome(Summary):
    """What a publication reports: the event's detail, and whether it was skipped as unchanged."""

    market: str
    list_version: str
    snapshot: str
    entries: dict[str, int]
    excluded: dict[str, int]
    unchanged: bool


@dataclass(frozen=True)
class Publication:
    version: ListVersion
    made_current: bool
    excluded: dict[str, int]  # top-k entries left out, by reason (creator_invited, eligibility_stale, ...)
    unchanged: bool = False  # the current version already held these lists: nothing was written

    def event_detail(self) -> dict[str, Any]:
        return {
            "market": self.version.market,
            "list_version": self.version.version,
            "snapshot": self.version.snapshot,
            "entries": self.version.counts,
            "excluded": self.excluded,
        }

    def outcome(self) -> PublicationOutcome:
        return PublicationOutcome(**self.event_detail(), unchanged=self.unchanged)


REPUBLISH_AFTER = dt.timedelta(hours=12)


def lists_digest(snapshot: str, lists: dict[str, list[Ranked]]) -> str:
    content = [
        snapshot,
        sorted((c, [(e.rank, e.video_id, e.creator_id, e.score) for e in v]) for c, v in lists.items()),
    ]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def _still_current(current: ListVersion, digest: str, now: dt.datetime) -> bool:
    """The current version holds these very lists, and recently enough not to republish them."""
    return (
        current.digest == digest and now - dt.datetime.fromisoformat(current.published_at) < REPUBLISH_AFTER
    )


@dataclass(frozen=True)
class PreparedVersion:
    """A version ready to be written: its object stored, its items not yet (see `publish_lists`)."""

    version: ListVersion
    lists: dict[str, list[Ranked]]
    excluded: dict[str, int]
    expires_at: int


def prepare_publication(
    market: str,
    snapshot: str,
    ranked: dict[str, list[Ranked]],
    *,
    eligibility: EligibilityReader,
    store: ListStore,
    objects: PlacementObjectWriter,
    events: EventPublisher,
    rules: Rules,
    now: dt.datetime,
) -> Publication | PreparedVersion:
    """Filter the ranked top k to active creators and give the new version to write, with its
    object already stored; or the publication itself when the lists are unchanged."""
    ranked = {category: ranked.get(category, []) for category in rules.categories}  # all 12, even empty
    creators = {entry.creator_id for entries in ranked.values() for entry in entries}
    current = eligibility.current(market, sorted(creators))
    blocks = {cid: placement_block(current.get(cid), snapshot, rules) for cid in creators}
    excluded: Counter[str] = Counter()
    for entries in ranked.values():
        excluded.update(reason for e in entries if (reason := blocks[e.creator_id]) is not None)
    lists = published(ranked, lambda cid: blocks[cid] is None)
    digest = lists_digest(snapshot, lists)
    current_version = store.current(market)
    if current_version is not None and _still_current(current_version, digest, now):
        publication = Publication(current_version, False, dict(sorted(excluded.items())), unchanged=True)
        if not current_version.announced:  # the run that published it died before announcing it
            _announce(publication, store, events)
        return publication
    version = _with_object(
        ListVersion(
            market=market,
            version=store.next_version(market),
            snapshot=snapshot,
            published_at=now.isoformat(timespec="seconds"),
            counts={category: len(entries) for category, entries in lists.items()},
            digest=digest,
        ),
        lists,
        objects,
        rules,
    )
    # Old versions stay readable for list_retention_days after they stop being current. A version
    # is current for at most a day and a half (the daily refresh republishes unchanged lists once
    # REPUBLISH_AFTER has passed), so two days of margin cover it.
    expires_at = int(now.timestamp()) + (rules.list_retention_days + 2) * 86_400
    return PreparedVersion(version, lists, dict(sorted(excluded.items())), expires_at)


def commit_publication(prepared: PreparedVersion, store: ListStore, events: EventPublisher) -> Publication:
    """Move the market's pointer to the written version (once), and announce it if it moved."""
    moved = store.make_current(prepared.version)
    publication = Publication(prepared.version, moved, prepared.excluded)
    if moved:
        _announce(publication, store, events)
    return publication


def publish_lists(
    market: str,
    snapshot: str,
    ranked: dict[str, list[Ranked]],
    *,
    eligibility: EligibilityReader,
    store: ListStore,
    objects: PlacementObjectWriter,
    events: EventPublisher,
    rules: Rules,
    now: dt.datetime,
) -> Publication:
    """Publish the ranked top k of active creators as the market's new version, in one invocation
    (a large snapshot's state machine runs the same three steps, writing blocks in parallel)."""
    prepared = prepare_publication(
        market,
        snapshot,
        ranked,
        eligibility=eligibility,
        store=store,
        objects=objects,
        events=events,
        rules=rules,
        now=now,
    )
    if isinstance(prepared, Publication):
        return prepared
    store.write_version(prepared.version, prepared.lists, prepared.expires_at)
    return commit_publication(prepared, store, events)


def _with_object(
    version: ListVersion, lists: dict[str, list[Ranked]], objects: PlacementObjectWriter, rules: Rules
) -> ListVersion:
    """Write the version's object, and record its key, digest and size with the version: the
    object exists before anything can point at it, as the version's items do."""
    header = placements_object.Header(version.market, version.version, version.snapshot, version.published_at)
    data = placements_object.encode(
        header,
        {category: rules.categories[category].iab_ids for category in rules.categories},
        {category: placements_object.columns_of(entries) for category, entries in lists.items()},
    )
    key = placements_object.placements_key(version.market, version.version)
    objects.write(key, data)
    return dataclasses.replace(
        version,
        placements_key=key,
        placements_sha256=placements_object.sha256_hex(data),
        placements_bytes=len(data),
    )


def _announce(publication: Publication, store: ListStore, events: EventPublisher) -> None:
    events.publish("TopListsPublished", [publication.event_detail()])
    store.mark_announced(publication.version)
