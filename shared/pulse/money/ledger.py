"""The revenue ledger (spec §2.4): attributed revenue and adjustments, each counted exactly once.

Every revenue row and adjustment becomes one append-only ledger entry, keyed by its id, booked
into the UTC month of its date, or into the market's next open month when that one is already
closed (late revenue is never lost). Each entry adds to its creator's totals for the booked month
in the same transaction that creates the entry, so totals always equal the sum of their entries
and a replayed row, finding its entry, adds nothing. See docs/design.md ("Ledger").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import ConfigDict

from pulse.core.concurrency import bounded_map
from pulse.core.types import next_month
from pulse.ingest.batch import Accepted, RejectRow
from pulse.ingest.datasets import Rejection
from pulse.ingest.fast_records import FastAdjustment, FastRevenue
from pulse.ingest.manifest import BatchLocation
from pulse.ingest.report import Outcome
from pulse.ingest.row_spill import RowSpill

Kind = Literal["revenue", "adjustment"]
CHUNK = 500  # rows per unit of work: attribution reads for them, then their transactions


def booking_month(month: str, last_closed: str | None) -> str:
    """The month an entry is booked into: its own, or the first open one after the last closed."""
    if last_closed is None or month > last_closed:
        return month
    return next_month(last_closed)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One revenue row or adjustment, attributed and booked."""

    kind: Kind
    entry_id: str  # the row_id or adjustment_id
    market: str
    creator_id: str
    month: str  # the month it is booked into
    own_month: str  # the month it belongs to (differs for late entries)
    revenue_micros: int
    impressions: int
    source: str  # the batch folder it came from
    detail: dict[str, Any]

    @property
    def gross_micros(self) -> int:
        return self.revenue_micros if self.kind == "revenue" else 0

    @property
    def adjustments_micros(self) -> int:
        return self.revenue_micros if self.kind == "adjustment" else 0

    @property
    def late_micros(self) -> int:
        """The revenue of a row booked into a later month than its own (spec §2.4, §8.2)."""
        return self.gross_micros if self.month != self.own_month else 0


@dataclass(frozen=True, slots=True)
class Totals:
    """A creator's month: the sums of its entries (or of some of them: totals add up)."""

    gross_micros: int = 0
    adjustments_micros: int = 0
    impressions: int = 0
    entries: int = 0

    @classmethod
    def of(cls, entry: LedgerEntry) -> Totals:
        return cls(entry.gross_micros, entry.adjustments_micros, entry.impressions, 1)

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.gross_micros + other.gross_micros,
            self.adjustments_micros + other.adjustments_micros,
            self.impressions + other.impressions,
            self.entries + other.entries,
        )


class RevenueOutcome(Outcome):
    """A revenue batch booked: entries recorded (and their sum), repeats, unattributable rows."""

    model_config = ConfigDict(extra="forbid")

    entries_recorded: int
    duplicates: int  # rows an earlier batch counted (rejected as duplicate_row)
    not_on_list: int
    revenue_micros_recorded: int
    booked_late: int  # booked into the next open month because their own was closed
    last_closed_month: str | None


class AdjustmentsOutcome(Outcome):
    """An adjustments batch booked."""

    model_config = ConfigDict(extra="forbid")

    entries_recorded: int
    duplicates: int
    booked_late: int
    last_closed_month: str | None


class Attribution(NamedTuple):
    """Whom a revenue row is attributed to, and the category its video was listed under."""

    creator_id: str
    category: str


class Placements(Protocol):
    def creators_of(self, market: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Attribution]:
        """The creator (and category) of each (list_version, video_id) on that list version."""
        ...


class LedgerStore(Protocol):
    def last_closed(self, market: str) -> str | None: ...

    def record(
        self, entries: Sequence[LedgerEntry], writer: str = ""
    ) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
        """Record new entries and their totals atomically; returns (recorded, already there).

        Entries already there that `writer` wrote count as recorded: a retried invocation of the
        same batch upload finds what its failed attempt booked, and reports it as its own.
        """
        ...


def _book(
    ledger: LedgerStore,
    location: BatchLocation,
    entries: list[LedgerEntry],
    by_id: dict[str, Accepted[Any]],
    *,
    id_field: str,
    reject: RejectRow,
) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
    """Record the entries as written by this batch upload (every attempt at running it writes as
    the same writer); each entry an earlier batch counted is rejected as `duplicate_row`."""
    writer = f"{location.folder}@{location.upload}" if location.upload else ""
    recorded, repeated = ledger.record(entries, writer)
    for entry in repeated:
        message = f"{entry.entry_id} was counted by an earlier batch"
        reject(by_id[entry.entry_id], Rejection("duplicate_row", id_field, message))
    return recorded, repeated


def _added(chunks: Iterator[Counter[str]], fields: Iterable[str]) -> dict[str, int]:
    """The chunks' counts, field by field; every field is there, at 0 for an empty batch."""
    counts = dict.fromkeys(fields, 0)
    for chunk in chunks:
        for name, value in chunk.items():
            counts[name] += value
    return counts


def _counted(outcome: type[Outcome]) -> list[str]:
    """The count fields of an outcome: all but the month it reports."""
    return [name for name in outcome.model_fields if name != "last_closed_month"]


def _chunks(rows: Iterator[Accepted[Any]]) -> Iterator[list[Accepted[Any]]]:
    return iter(lambda: list(islice(rows, CHUNK)), [])


class RevenueApplier:
    def __init__(self, placements: Placements, ledger: LedgerStore, workers: int = 8) -> None:
        self._placements = placements
        self._ledger = ledger
        self._workers = workers

    def collector(self, location: BatchLocation, workdir: str) -> RowSpill[FastRevenue]:
        return RowSpill(FastRevenue, workdir)

    def apply(
        self,
        location: BatchLocation,
        collected: RowSpill[FastRevenue],
        reject: RejectRow,
    ) -> RevenueOutcome:
        market = location.market
        last_closed = self._ledger.last_closed(market)

        def apply_chunk(chunk: list[Accepted[FastRevenue]]) -> Counter[str]:
            keys = sorted({(a.row.list_version, a.row.video_id) for a in chunk})
            creators = self._placements.creators_of(market, keys)
            entries, by_id = [], {}
            for accepted in chunk:
                row = accepted.row
                attributed = creators.get((row.list_version, row.video_id))
                if attributed is None:
                    reject(
                        accepted,
                        Rejection(
                            "not_on_list",
                            "video_id",
                            f"{row.video_id} is not on list version {row.list_version} of {market}",
                        ),
                    )
                    continue
                entry = LedgerEntry(
                    kind="revenue",
                    entry_id=row.row_id,
                    market=market,
                    creator_id=attributed.creator_id,
                    month=booking_month(row.served_date[:7], last_closed),
                    own_month=row.served_date[:7],
                    revenue_micros=row.revenue_micros,
                    impressions=row.impressions,
                    source=location.folder,
                    detail={
                        "served_date": row.served_date,
                        "video_id": row.video_id,
                        "list_version": row.list_version,
                        "campaign_id": row.campaign_id,
                        "category": attributed.category,
                    },
                )
                entries.append(entry)
                by_id[row.row_id] = accepted
            recorded, repeated = _book(
                self._ledger, location, entries, by_id, id_field="row_id", reject=reject
            )
            return Counter(
                entries_recorded=len(recorded),
                duplicates=len(repeated),
                not_on_list=len(chunk) - len(entries),
                revenue_micros_recorded=sum(e.revenue_micros for e in recorded),
                booked_late=sum(e.month != e.own_month for e in recorded),
            )

        chunks = bounded_map(apply_chunk, _chunks(collected.rows()), self._workers)
        return RevenueOutcome(**_added(chunks, _counted(RevenueOutcome)), last_closed_month=last_closed)


class AdjustmentsApplier:
    def __init__(self, ledger: LedgerStore, workers: int = 4) -> None:
        self._ledger = ledger
        self._workers = workers

    def collector(self, location: BatchLocation, workdir: str) -> RowSpill[FastAdjustment]:
        return RowSpill(FastAdjustment, workdir)

    def apply(
        self,
        location: BatchLocation,
        collected: RowSpill[FastAdjustment],
        reject: RejectRow,
    ) -> AdjustmentsOutcome:
        market = location.market
        last_closed = self._ledger.last_closed(market)

        def apply_chunk(chunk: list[Accepted[FastAdjustment]]) -> Counter[str]:
            entries = [
                LedgerEntry(
                    kind="adjustment",
                    entry_id=a.row.adjustment_id,
                    market=market,
                    creator_id=a.row.creator_id,
                    month=booking_month(a.row.month, last_closed),
                    own_month=a.row.month,
                    revenue_micros=a.row.revenue_micros,
                    impressions=0,
                    source=location.folder,
                    detail={"reason": a.row.reason},
                )
                for a in chunk
            ]
            by_id = {a.row.adjustment_id: a for a in chunk}
            recorded, repeated = _book(
                self._ledger, location, entries, by_id, id_field="adjustment_id", reject=reject
            )
            return Counter(
                entries_recorded=len(recorded),
                duplicates=len(repeated),
                booked_late=sum(e.month != e.own_month for e in recorded),
            )

        chunks = bounded_map(apply_chunk, _chunks(collected.rows()), self._workers)
        return AdjustmentsOutcome(
            **_added(chunks, _counted(AdjustmentsOutcome)), last_closed_month=last_closed
        )
