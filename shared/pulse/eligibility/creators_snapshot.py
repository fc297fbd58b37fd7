"""Applying a creators snapshot: eligibility records, status-change events, absences (spec §2.2).

A creators batch is the market's full snapshot of that day. Storage is touched only where a
record's content changes; the market remembers the latest snapshot applied, which is what keeps an
unchanged creator's record fresh without rewriting it every day (see docs/design.md):
- a snapshot older than the market's latest changes nothing (snapshots can arrive out of order);
- a creator missing from a snapshot is marked absent, with the last snapshot it was seen in, so its
  eligibility goes stale after `eligibility_max_age_days` instead of staying fresh for ever.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal, Protocol

from pydantic import ConfigDict

from pulse.core.concurrency import bounded_map
from pulse.core.events import EventPublisher
from pulse.core.rules import Rules
from pulse.eligibility.evaluation import Eligibility, Status, evaluate
from pulse.ingest.batch import RejectRow
from pulse.ingest.fast_records import FastCreator
from pulse.ingest.manifest import BatchLocation
from pulse.ingest.report import Outcome
from pulse.ingest.row_spill import RowSpill

CHUNK = 1000  # rows per unit of work: 10 BatchGetItem calls, and writes that fill whole batches


class CreatorsOutcome(Outcome):
    """A creators snapshot applied: what was written, what changed status, who went absent."""

    model_config = ConfigDict(extra="forbid")

    snapshot: str
    records_written: int
    records_unchanged: int
    status_changes: int
    became: dict[Status, int]
    marked_absent: int


class CreatorsSuperseded(Outcome):
    """A snapshot older than the market's latest: nothing is written."""

    model_config = ConfigDict(extra="forbid")

    snapshot: str
    superseded_by: str
    records_written: Literal[0] = 0
    status_changes: Literal[0] = 0


@dataclass(frozen=True, slots=True)
class StoredEligibility:
    """What the apply phase needs to know of a stored record to decide whether to write."""

    creator_id: str
    fingerprint: str
    status: Status
    absent: bool = False


@dataclass(frozen=True, slots=True)
class StatusChange:
    creator_id: str
    market: str
    old_status: Status | None
    new_status: Status
    eligibility: Eligibility

    def event_detail(self) -> dict[str, Any]:
        return {
            "creator_id": self.creator_id,
            "market": self.market,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "reasons": [r.as_dict() for r in self.eligibility.reasons],
            "as_of": self.eligibility.as_of,
            "rules_version": self.eligibility.rules_version,
        }


@dataclass
class Plan:
    writes: list[Eligibility] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)
    unchanged: int = 0


def plan_chunk(
    rows: Sequence[FastCreator], snapshot: str, rules: Rules, stored: dict[str, StoredEligibility]
) -> Plan:
    """Which records to write and which status changes to announce, for one chunk of rows."""
    plan = Plan()
    for row in rows:
        record = evaluate(row, snapshot, rules)
        before = stored.get(row.creator_id)
        if before is not None and before.fingerprint == record.fingerprint and not before.absent:
            plan.unchanged += 1
            continue
        plan.writes.append(record)
        old = before.status if before else None
        if old != record.status:
            plan.changes.append(StatusChange(row.creator_id, row.market, old, record.status, record))
    return plan


class EligibilityStore(Protocol):
    def latest_snapshot(self, market: str) -> str | None: ...

    def set_latest_snapshot(self, market: str, snapshot: str) -> None: ...

    def fetch(self, market: str, creator_ids: Sequence[str]) -> dict[str, StoredEligibility]: ...

    def save(self, records: Sequence[Eligibility]) -> None: ...

    def mark_absent(self, market: str, creator_ids: Sequence[str], last_seen: str) -> None: ...


class RosterStore(Protocol):
    """The creator ids each applied snapshot held, kept beside its report."""

    def read(self, market: str, snapshot: str) -> Iterator[str] | None:
        """None when that snapshot's roster is not there."""
        ...

    def write(self, market: str, snapshot: str, creator_ids: Iterable[str]) -> None: ...


class CreatorsApplier:
    def __init__(
        self,
        store: EligibilityStore,
        rosters: RosterStore,
        events: EventPublisher,
        rules: Rules,
        workers: int = 8,
    ) -> None:
        self._store = store
        self._rosters = rosters
        self._events = events
        self._rules = rules
        self._workers = workers

    def collector(self, location: BatchLocation, workdir: str) -> RowSpill[FastCreator]:
        return RowSpill(FastCreator, workdir)

    def apply(
        self, location: BatchLocation, collected: RowSpill[FastCreator], reject: RejectRow
    ) -> CreatorsOutcome | CreatorsSuperseded:
        snapshot = location.snapshot
        assert snapshot is not None  # the creators folder layout always names its snapshot
        market = location.market
        latest = self._store.latest_snapshot(market)
        if latest is not None and snapshot < latest:
            return CreatorsSuperseded(snapshot=snapshot, superseded_by=latest)

        def apply_chunk(chunk: list[FastCreator]) -> Plan:
            # A market's first snapshot has nothing stored to compare with: skip the reads.
            stored = self._store.fetch(market, [r.creator_id for r in chunk]) if latest else {}
            plan = plan_chunk(chunk, snapshot, self._rules, stored)
            # Announce before writing: a crash in between re-announces on retry rather than never.
            self._events.publish("CreatorEligibilityChanged", [c.event_detail() for c in plan.changes])
            self._store.save(plan.writes)
            return plan

        # Each creator appears once in a batch, so chunks touch disjoint records and can overlap.
        # The snapshot's ids, to tell who went absent (the roster): the one thing held per row.
        accepted_ids: set[str] = set()
        rows = (accepted.row for accepted in collected.rows())

        def next_chunk() -> list[FastCreator]:
            chunk = list(islice(rows, CHUNK))
            accepted_ids.update(row.creator_id for row in chunk)
            return chunk

        chunks = iter(next_chunk, [])
        totals: Counter[str] = Counter()
        for plan in bounded_map(apply_chunk, chunks, self._workers):
            totals["records_written"] += len(plan.writes)
            totals["status_changes"] += len(plan.changes)
            totals["unchanged"] += plan.unchanged
            totals.update(f"became_{change.new_status}" for change in plan.changes)
        absent = self._absent_since(market, latest, accepted_ids)
        if absent and latest is not None:
            self._store.mark_absent(market, absent, last_seen=latest)
        self._rosters.write(market, snapshot, accepted_ids)
        if latest is None or snapshot > latest:
            self._store.set_latest_snapshot(market, snapshot)
        return CreatorsOutcome(
            snapshot=snapshot,
            records_written=totals["records_written"],
            records_unchanged=totals["unchanged"],
            status_changes=totals["status_changes"],
            became={s: totals[f"became_{s}"] for s in ("active", "invited", "ineligible")},
            marked_absent=len(absent),
        )

    def _absent_since(self, market: str, latest: str | None, accepted_ids: set[str]) -> list[str]:
        """Creators of the latest applied snapshot that this one no longer holds."""
        if latest is None:
            return []
        previous = self._rosters.read(market, latest)
        if previous is None:
            return []  # no roster to compare with (it expired): nobody can be called absent
        return [cid for cid in previous if cid not in accepted_ids]
