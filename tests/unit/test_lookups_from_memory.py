"""Lookups from the version held in memory (issue 14): a warm lookup reads no storage, a version
is loaded once, every answer comes from one whole version, and a failing dependency is felt by
nobody that the held version can answer."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import pytest

from pulse.campaigns.campaign import Campaign
from pulse.core.clock import system_clock
from pulse.core.rules import load_rules
from pulse.lists import placements_object as po
from pulse.lists.lookups import Lookup, PlacementLookups
from pulse.lists.publication import ListVersion, Placement
from pulse.lists.ranking import Ranked

RULES = load_rules()
IAB = {slug: category.iab_ids for slug, category in RULES.categories.items()}


def _version(number: int, entries: dict[str, list[Ranked]], market: str = "US") -> tuple[ListVersion, bytes]:
    name = f"{number:010d}"
    data = po.encode(
        po.Header(market, name, "2026-11-26", "2026-11-27T03:00:00+00:00"),
        IAB,
        {c: po.columns_of(v) for c, v in entries.items()},
    )
    version = ListVersion(
        market,
        name,
        "2026-11-26",
        "2026-11-27T03:00:00+00:00",
        {c: len(v) for c, v in entries.items()},
        placements_key=po.placements_key(market, name),
        placements_sha256=po.sha256_hex(data),
        placements_bytes=len(data),
    )
    return version, data


class Store:
    """The state table and ListsBucket: a current pointer, its placements, and the objects."""

    def __init__(self) -> None:
        self.pointer: ListVersion | None = None
        self.table: dict[tuple[str, str], Placement] = {}  # (version, video) -> placement
        self.objects: dict[str, bytes] = {}
        self.calls: Counter[str] = Counter()
        self.failing: set[str] = set()

    def publish(self, number: int, entries: dict[str, list[Ranked]]) -> ListVersion:
        version, data = _version(number, entries)
        self.objects[version.placements_key] = data
        for category, ranked in entries.items():
            for e in ranked:
                self.table[(version.version, e.video_id)] = Placement(
                    e.video_id, category, e.rank, e.creator_id, e.score
                )
        self.pointer = version
        return version

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.failing:
            raise RuntimeError(f"{name}: ProvisionedThroughputExceededException")

    # ListReader
    def current(self, market: str) -> ListVersion | None:
        self._call("current")
        return self.pointer

    def placement(self, market: str, version: str, video_id: str) -> Placement | None:
        self._call("placement")
        return self.table.get((version, video_id))

    def placements(self, market: str, version: str, video_ids: Sequence[str]) -> dict[str, Placement]:
        self._call("placements")
        return {v: p for v in video_ids if (p := self.table.get((version, v))) is not None}

    def entries(
        self, market: str, version: str, category: str, after_rank: int = 0, limit: int | None = None
    ) -> Iterator[Ranked]:
        raise AssertionError("lookups never page a list")

    # PlacementObjectReader
    def read(self, key: str) -> bytes:
        self._call("read")
        return self.objects[key]

    # CampaignReader
    def in_market(self, market: str) -> list[Campaign]:
        self._call("in_market")
        return []


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> Store:
    return Store()


def _lookups(store: Store, ticks: Ticks) -> PlacementLookups:
    return PlacementLookups(
        store, store, RULES, objects=store, clock=system_clock, cache_seconds=10, ticks=ticks
    )


def _entries(prefix: str, n: int = 30) -> dict[str, list[Ranked]]:
    return {
        "pets": [Ranked(r, f"{prefix}p{r}", f"c{r % 4}", 1_000 - r) for r in range(1, n + 1)],
        "music": [Ranked(r * 2, f"{prefix}m{r}", "c9", 500 - r) for r in range(1, n + 1)],
    }


def test_warm_lookups_and_batches_read_no_storage_and_a_version_is_loaded_once(store: Store) -> None:
    ticks = Ticks()
    store.publish(1, _entries("a"))
    lookups = _lookups(store, ticks)
    assert lookups.one("US", "ap3").rank == 3
    assert store.calls == Counter({"current": 1, "read": 1, "in_market": 1})
    store.calls.clear()
    for i in range(1, 31):
        assert lookups.one("US", f"am{i}") == Lookup(
            f"am{i}", "US", True, "0000000001", "music", IAB["music"], 2 * i, "c9", ()
        )
        assert lookups.one("US", f"nobody{i}").placeable is False
    version, batch = lookups.many("US", [f"ap{i}" for i in range(1, 101)])
    assert (version, sum(lk.placeable for lk in batch)) == ("0000000001", 30)
    assert store.calls == Counter()  # within the cache period: nothing at all
    ticks.now = 10.5  # the pointer and the campaigns are read again; the same version is not
    lookups.one("US", "ap1")
    assert store.calls == Counter({"current": 1, "in_market": 1})


def test_answers_from_memory_equal_the_tables_for_every_video(store: Store) -> None:
    store.publish(1, _entries("a"))
    from_memory = _lookups(store, Ticks())
    without_object = _lookups(store, Ticks())
    assert store.pointer is not None
    store.pointer = dataclasses.replace(store.pointer, placements_key="")  # as published before objects
    videos = [f"a{k}{i}" for k in "pm" for i in range(1, 32)] + ["zz", "a"]
    table_answers = [without_object.one("US", v) for v in videos]
    assert store.calls["placement"] == len(videos)
    store.pointer = dataclasses.replace(store.pointer, placements_key=po.placements_key("US", "0000000001"))
    assert [from_memory.one("US", v) for v in videos] == table_answers
    assert from_memory.many("US", videos[:100]) == without_object.many("US", videos[:100])


def test_a_new_version_is_loaded_once_when_the_pointer_names_it(store: Store) -> None:
    ticks = Ticks()
    store.publish(1, _entries("a"))
    lookups = _lookups(store, ticks)
    assert lookups.one("US", "ap1").list_version == "0000000001"
    store.publish(2, _entries("b"))
    assert lookups.one("US", "bp1").placeable is False  # the pointer is cached for 10 s
    ticks.now = 11
    answers = [lookups.one("US", v) for v in ("bp1", "bp2", "ap1")]
    assert [(a.list_version, a.placeable) for a in answers] == [("0000000002", True)] * 2 + [
        ("0000000002", False)
    ]
    assert store.calls["read"] == 2
    assert lookups.objects_loaded == 2


def test_a_lookup_racing_publications_answers_from_one_whole_version(store: Store) -> None:
    """Threads look up while the pointer moves between versions whose lists share no video: every
    batch names one version and holds exactly that version's answers."""
    versions = {n: _entries(f"v{n}-", 20) for n in range(1, 6)}
    store.publish(1, versions[1])
    ticks = Ticks()
    lookups = PlacementLookups(
        store, store, RULES, objects=store, clock=system_clock, cache_seconds=0, ticks=ticks
    )
    everyone = [e.video_id for v in versions.values() for entries in v.values() for e in entries][:100]
    stop = threading.Event()
    mixed: list[str] = []

    def look() -> None:
        while not stop.is_set():
            version, answers = lookups.many("US", everyone)
            assert version is not None
            prefix = f"v{int(version)}-"
            if any(a.placeable != a.video_id.startswith(prefix) for a in answers):
                mixed.append(version)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in (2, 3, 4, 5, 1, 2, 3, 4, 5):
        store.publish(n, versions[n])
        seen = lookups.objects_loaded
        while lookups.objects_loaded == seen and lookups.many("US", ["x"])[0] != f"{n:010d}":
            pass  # until a lookup has seen this version
    stop.set()
    for thread in threads:
        thread.join()
    assert not mixed


def test_a_failing_pointer_read_is_not_felt_by_lookups_that_hold_a_version(store: Store) -> None:
    ticks = Ticks()
    store.publish(1, _entries("a"))
    lookups = _lookups(store, ticks)
    lookups.one("US", "ap1")
    store.failing = {"current", "in_market"}  # the table throttles everything
    for step in range(40):
        ticks.now = 11 + step * 0.5
        answer = lookups.one("US", "ap2")
        assert (answer.placeable, answer.rank) == (True, 2)
    # Asked again once a second while failing (RETRY_AFTER_ERROR), not on every lookup.
    assert 15 <= store.calls["current"] <= 22
    store.failing = set()
    store.publish(2, _entries("b"))
    ticks.now = 40
    assert lookups.one("US", "bp1").list_version == "0000000002"


def test_with_nothing_held_a_failing_pointer_read_is_the_callers_error(store: Store) -> None:
    store.publish(1, _entries("a"))
    store.failing = {"current"}
    with pytest.raises(RuntimeError, match="ProvisionedThroughput"):
        _lookups(store, Ticks()).one("US", "ap1")


@pytest.mark.parametrize("damage", ["missing", "corrupt", "another version"])
def test_an_unreadable_object_is_answered_from_the_table_and_tried_again_later(
    store: Store, damage: str
) -> None:
    ticks = Ticks()
    version = store.publish(1, _entries("a"))
    good = store.objects[version.placements_key]
    if damage == "missing":
        del store.objects[version.placements_key]
    elif damage == "corrupt":
        store.objects[version.placements_key] = good[:-20]
    else:  # the bytes of version 2 under version 1's key, with its digest recorded
        _, other = _version(2, _entries("a"))
        store.objects[version.placements_key] = other
        store.pointer = dataclasses.replace(version, placements_sha256=po.sha256_hex(other))
    lookups = _lookups(store, ticks)
    assert lookups.one("US", "ap1").rank == 1
    assert lookups.many("US", ["ap2", "zz"])[1][0].rank == 2
    assert (store.calls["placement"], store.calls["placements"], store.calls["read"]) == (1, 1, 1)
    store.objects[version.placements_key] = good
    store.pointer = version
    ticks.now = 11  # the object is tried again after the cache period, and then held
    assert lookups.one("US", "ap1").rank == 1
    lookups.one("US", "ap3")
    assert (store.calls["placement"], store.calls["read"]) == (1, 2)


class _SlowPointer(Store):
    """A pointer read that waits until the test lets it go, as a dependency under pressure."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.Event()
        self.release = threading.Event()
        self.slow = False

    def current(self, market: str) -> ListVersion | None:
        if self.slow:
            self.reading.set()
            assert self.release.wait(10)
        return super().current(market)


def test_one_request_refreshes_at_a_time_the_others_answer_from_what_is_held() -> None:
    store = _SlowPointer()
    ticks = Ticks()
    store.publish(1, _entries("a"))
    lookups = _lookups(store, ticks)
    lookups.one("US", "ap1")
    ticks.now = 11  # the pointer is due again
    store.slow = True
    refreshing = threading.Thread(target=lookups.one, args=("US", "ap1"))
    refreshing.start()
    assert store.reading.wait(10)
    answers = [lookups.one("US", f"ap{n}") for n in range(1, 31)]  # while the read is stuck
    assert [a.rank for a in answers] == list(range(1, 31))
    assert store.calls["current"] == 1  # only the first: the stuck one has not counted yet
    store.release.set()
    refreshing.join(10)
    assert store.calls["current"] == 2


def test_a_version_larger_than_the_container_holds_is_answered_from_the_table(store: Store) -> None:
    """Memory bounds what a container holds: a version past `max_held_entries` is never loaded
    (it would take the container down), and is answered exactly as from memory."""
    ticks = Ticks()
    store.publish(1, _entries("a"))  # 60 entries
    small = _lookups(store, ticks)
    large = PlacementLookups(
        store, store, RULES, objects=store, clock=system_clock, max_held_entries=59, ticks=ticks
    )
    wanted = ["ap1", "am30", "nope"]
    assert [large.one("US", v) for v in wanted] == [small.one("US", v) for v in wanted]
    assert large.many("US", wanted) == small.many("US", wanted)
    assert (small.objects_loaded, large.objects_loaded, store.calls["read"]) == (1, 0, 1)
    assert store.calls["placement"] == 3


class _TwoMarkets(Store):
    def __init__(self) -> None:
        super().__init__()
        self.pointers: dict[str, ListVersion] = {}

    def publish_in(self, market: str, number: int, entries: dict[str, list[Ranked]]) -> None:
        version, data = _version(number, entries, market)
        self.objects[version.placements_key] = data
        for category, ranked in entries.items():
            for e in ranked:
                self.table[(version.version, e.video_id)] = Placement(
                    e.video_id, category, e.rank, e.creator_id, e.score
                )
        self.pointers[market] = version

    def current(self, market: str) -> ListVersion | None:
        self._call("current")
        return self.pointers.get(market)


def test_the_bound_on_held_entries_is_the_container_s_every_market_together() -> None:
    store = _TwoMarkets()
    store.publish_in("US", 1, _entries("u"))  # 60 entries
    store.publish_in("GB", 1, _entries("g"))  # 60 more
    lookups = PlacementLookups(store, store, RULES, objects=store, clock=system_clock, max_held_entries=100)
    assert lookups.one("US", "up1").rank == 1
    assert lookups.one("GB", "gp1").rank == 1  # answered from the table: 120 would not fit
    assert (lookups.objects_loaded, store.calls["placement"]) == (1, 1)


class _RefreshedMeanwhile:
    """The refresh lock, as seen by a request that another one beat to it: by the time the lock is
    had, the other has put a fresh value in the cache."""

    def __init__(self, on_acquire: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._on_acquire = on_acquire

    def acquire(self, blocking: bool = True) -> bool:
        self._on_acquire()
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()


def test_a_request_that_got_the_lock_late_keeps_the_newer_value_another_one_read(store: Store) -> None:
    ticks = Ticks()
    store.publish(1, _entries("a"))
    lookups = _lookups(store, ticks)
    assert lookups.one("US", "ap1").list_version == "0000000001"
    newer = store.publish(2, _entries("b"))
    ticks.now = 11  # version 1 is due again
    lookups._refreshing = _RefreshedMeanwhile(  # type: ignore[assignment]
        lambda: lookups._versions.__setitem__("US", (ticks.now + 10, newer))
    )
    store.failing = {"current"}  # this request's own read would fail, and serve what it held
    assert lookups.one("US", "bp1").list_version == "0000000002"
    assert store.calls["current"] == 1  # it did not read again: the other request had
