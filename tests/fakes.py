"""In-memory implementations of the domain's ports, for unit tests that need no AWS at all."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from pulse.eligibility.creators_snapshot import StoredEligibility
from pulse.eligibility.evaluation import Eligibility
from pulse.ingest.manifest import BatchError, BatchLocation
from pulse.ingest.report import IngestReport


class MemoryPartSource:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files  # keys relative to the bucket

    def read_manifest(self, location: BatchLocation) -> bytes:
        return self.files[location.manifest_key]

    @contextmanager
    def open_part(self, location: BatchLocation, key: str) -> Iterator[BinaryIO]:
        data = self.files.get(location.part_key(key))
        if data is None:
            raise BatchError("missing_file", "not there", key)
        yield io.BytesIO(data)


class MemorySink:
    def __init__(self) -> None:
        self.reports: list[IngestReport] = []
        self.rejected: list[str] = []

    def write(self, report: IngestReport, rejected_rows: Path) -> None:
        self.reports.append(report)
        self.rejected.append(rejected_rows.read_text())


class ListPublisher:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, details: list[dict[str, Any]]) -> None:
        self.events.extend((detail_type, d) for d in details)


class MemoryEligibilityStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Eligibility] = {}
        self.absent: dict[tuple[str, str], str] = {}
        self.latest: dict[str, str] = {}
        self.saves = 0
        self.fetches = 0
        self.rosters = MemoryRosterStore()

    def latest_snapshot(self, market: str) -> str | None:
        return self.latest.get(market)

    def set_latest_snapshot(self, market: str, snapshot: str) -> None:
        self.latest[market] = snapshot

    def fetch(self, market: str, creator_ids: Sequence[str]) -> dict[str, StoredEligibility]:
        self.fetches += 1
        found = {}
        for cid in creator_ids:
            record = self.records.get((market, cid))
            if record is not None:
                found[cid] = StoredEligibility(
                    cid, record.fingerprint, record.status, (market, cid) in self.absent
                )
        return found

    def save(self, records: Sequence[Eligibility]) -> None:
        for record in records:
            self.saves += 1
            self.records[(record.market, record.creator_id)] = record
            self.absent.pop((record.market, record.creator_id), None)

    def mark_absent(self, market: str, creator_ids: Sequence[str], last_seen: str) -> None:
        for cid in creator_ids:
            self.absent[(market, cid)] = last_seen


class MemoryRosterStore:
    def __init__(self) -> None:
        self.rosters: dict[tuple[str, str], list[str]] = {}

    def read(self, market: str, snapshot: str) -> Iterator[str] | None:
        roster = self.rosters.get((market, snapshot))
        return None if roster is None else iter(roster)

    def write(self, market: str, snapshot: str, creator_ids: Iterable[str]) -> None:
        self.rosters[(market, snapshot)] = sorted(creator_ids)
