"""Counters for observability: how placements were answered, what the API was asked, what the
snapshot refreshes did. Incremented under one lock (a bare `+= 1` from several threads can lose
counts); read as one consistent `ClientStats`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import Literal

Counter = Literal[
    "snapshot_answers",
    "http_lookups",
    "http_requests",
    "retries",
    "snapshot_loads",
    "snapshot_unchanged",
    "snapshot_refusals",
    "refresh_failures",
]


@dataclass(frozen=True, slots=True)
class ClientStats:
    snapshot_answers: int = 0  # placements answered in-process from a held snapshot
    http_lookups: int = 0  # placements answered over HTTP (one per video, a batch counts each)
    http_requests: int = 0  # requests sent, every attempt (lookups, snapshot polls, object downloads)
    retries: int = 0  # attempts that were retries of a failed one
    snapshot_loads: int = 0  # list versions downloaded, verified and swapped in
    snapshot_unchanged: int = 0  # polls that found the held version current (304, or the same sha256)
    snapshot_refusals: int = 0  # objects refused: unknown format, size or sha256 mismatch, bad content
    refresh_failures: int = 0  # refreshes that failed for any reason (what was held is kept)


_NAMES = tuple(f.name for f in fields(ClientStats))


class Counters:
    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(_NAMES, 0)

    def add(self, name: Counter, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def read(self) -> ClientStats:
        with self._lock:
            return ClientStats(**self._counts)
