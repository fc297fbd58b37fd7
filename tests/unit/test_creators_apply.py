"""Applying creators snapshots against an in-memory store: writes, events, order, absences."""

import tempfile
from typing import Any

import msgspec

from pulse.core.rules import load_rules
from pulse.eligibility.creators_snapshot import CreatorsApplier
from pulse.ingest.fast_records import FastCreator
from pulse.ingest.manifest import locate_batch
from tests.factories import creator
from tests.fakes import ListPublisher, MemoryEligibilityStore

RULES = load_rules()


def _apply(
    store: MemoryEligibilityStore, events: ListPublisher, snapshot: str, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    location = locate_batch(f"creators/market=US/snapshot={snapshot}/_manifest.json")
    applier = CreatorsApplier(store, store.rosters, events, RULES)
    with tempfile.TemporaryDirectory() as tmp:
        spill = applier.collector(location, tmp)
        parsed = msgspec.convert(rows, list[FastCreator])
        spill.add_reduced("p.jsonl", range(1, len(rows) + 1), spill.reducer(parsed))
        outcome = applier.apply(location, spill, lambda a, r: None)
        spill.close()
    return outcome.as_json()


def test_first_snapshot_writes_every_creator_and_announces_each_status() -> None:
    store, events = MemoryEligibilityStore(), ListPublisher()
    rows = [creator("a"), creator("b", enrolled=False), creator("c", followers=5)]
    outcome = _apply(store, events, "2026-11-26", rows)
    assert outcome["records_written"] == 3
    assert outcome["became"] == {"active": 1, "invited": 1, "ineligible": 1}
    assert [(d["creator_id"], d["old_status"], d["new_status"]) for _, d in events.events] == [
        ("a", None, "active"),
        ("b", None, "invited"),
        ("c", None, "ineligible"),
    ]
    assert events.events[2][1]["reasons"] == [
        {"code": "followers_below_minimum", "required": 100000, "actual": 5}
    ]
    assert store.latest == {"US": "2026-11-26"}


def test_next_snapshot_writes_only_what_changed_and_announces_only_status_changes() -> None:
    store, events = MemoryEligibilityStore(), ListPublisher()
    _apply(store, events, "2026-11-26", [creator("a"), creator("b"), creator("c")])
    events.events.clear()
    store.saves = 0
    outcome = _apply(
        store,
        events,
        "2026-11-27",
        [creator("a"), creator("b", followers=300_000), creator("c", standing="banned")],
    )
    assert store.saves == 2
    assert (outcome["records_written"], outcome["records_unchanged"], outcome["status_changes"]) == (2, 1, 1)
    assert [(d["creator_id"], d["old_status"], d["new_status"]) for _, d in events.events] == [
        ("c", "active", "ineligible")
    ]
    assert store.records[("US", "b")].followers == 300_000


def test_an_older_snapshot_arriving_late_changes_nothing() -> None:
    store, events = MemoryEligibilityStore(), ListPublisher()
    _apply(store, events, "2026-11-27", [creator("a")])
    events.events.clear()
    outcome = _apply(store, events, "2026-11-20", [creator("a", standing="banned"), creator("z")])
    assert outcome == {
        "snapshot": "2026-11-20",
        "superseded_by": "2026-11-27",
        "records_written": 0,
        "status_changes": 0,
    }
    assert store.records[("US", "a")].status == "active"
    assert ("US", "z") not in store.records
    assert events.events == []
    assert store.latest == {"US": "2026-11-27"}


def test_a_creator_missing_from_a_snapshot_is_marked_absent_and_rewritten_when_it_returns() -> None:
    store, events = MemoryEligibilityStore(), ListPublisher()
    _apply(store, events, "2026-11-25", [creator("a"), creator("b")])
    outcome = _apply(store, events, "2026-11-26", [creator("a")])
    assert outcome["marked_absent"] == 1
    assert store.absent == {("US", "b"): "2026-11-25"}
    store.saves = 0
    outcome = _apply(store, events, "2026-11-27", [creator("a"), creator("b")])
    assert store.saves == 1
    assert store.absent == {}
    assert outcome["marked_absent"] == 0


def test_a_markets_first_snapshot_reads_nothing_back_but_later_ones_compare() -> None:
    store, events = MemoryEligibilityStore(), ListPublisher()
    _apply(store, events, "2026-11-26", [creator(f"c{i}") for i in range(2500)])
    assert store.fetches == 0
    _apply(store, events, "2026-11-27", [creator(f"c{i}") for i in range(2500)])
    assert store.fetches == 3  # one per chunk of 1000 rows


def test_without_the_previous_roster_nobody_is_called_absent() -> None:
    store, events = MemoryEligibilityStore(), ListPublisher()
    _apply(store, events, "2026-11-26", [creator("a"), creator("b")])
    store.rosters.rosters.clear()
    outcome = _apply(store, events, "2026-11-27", [creator("a")])
    assert outcome["marked_absent"] == 0
    assert store.absent == {}
