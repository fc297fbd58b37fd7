"""The snapshot each market holds, and one refresh of it.

A refresh polls the snapshot answer with the held ETag (If-None-Match). A 304, or a 200 naming the
held version and sha256, keeps what is held; a 200 naming anything else downloads the object,
checks and indexes it, then swaps the new index in with one assignment. A lookup reads the held
index once, so it always answers from one whole version, old or new, never a mix. A refresh that
fails for any reason (the API, the download, a refused object) keeps what is held, and the next
one tries again: the ETag is only ever that of an index actually held, so a version that failed
to load is not mistaken for one that is current.

404 `no_list` is not a failure but the API's answer: nothing is held then, and lookups go to HTTP,
which answers exactly what the API answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pulse_client import snapshot_format
from pulse_client.api import Poll, PulseApi
from pulse_client.errors import ClientClosedError, PulseError, PulseProtocolError, SnapshotRefusedError
from pulse_client.snapshot_format import SnapshotIndex
from pulse_client.stats import Counters

log = logging.getLogger("pulse_client")

RefreshOutcome = Literal["loaded", "unchanged", "no_list"]
OnLoaded = Callable[[str, str], None]  # (market, list_version), after a new index is swapped in


@dataclass(frozen=True, slots=True)
class _Held:
    index: SnapshotIndex
    etag: str | None


class SnapshotHolder:
    def __init__(
        self,
        api: PulseApi,
        markets: Iterable[str],
        counters: Counters,
        closed: threading.Event,
        on_loaded: OnLoaded | None = None,
    ) -> None:
        self._api = api
        self._counters = counters
        self._closed = closed
        self._on_loaded = on_loaded
        self._held: dict[str, _Held] = {}
        # One refresh of a market at a time (the background thread and refresh_now may overlap).
        self._refreshing = {market: threading.Lock() for market in markets}
        # Swaps and clear() exclude each other, so that nothing is swapped in after close().
        self._swap = threading.Lock()

    @property
    def markets(self) -> tuple[str, ...]:
        return tuple(self._refreshing)

    def index(self, market: str) -> SnapshotIndex | None:
        held = self._held.get(market)
        return None if held is None else held.index

    def clear(self) -> None:
        with self._swap:
            self._held.clear()

    def refresh(self, market: str) -> RefreshOutcome:
        """One refresh of `market`; raises the `PulseError` that made it fail (logged and counted)."""
        lock = self._refreshing.get(market)
        if lock is None:
            raise ValueError(f"{market} is not one of the markets this client holds: {self.markets}")
        with lock:
            try:
                outcome, loaded = self._refresh(market)
            except ClientClosedError:
                raise
            except PulseError as exc:
                self._counters.add("refresh_failures")
                if isinstance(exc, SnapshotRefusedError):
                    self._counters.add("snapshot_refusals")
                held = self.index(market)
                log.warning(
                    "pulse snapshot refresh of %s failed, keeping %s: %s",
                    market,
                    f"version {held.list_version}" if held else "no snapshot (lookups use HTTP)",
                    exc,
                )
                raise
        if loaded is not None and self._on_loaded is not None:
            try:
                self._on_loaded(market, loaded)
            except Exception:
                log.exception("on_snapshot_loaded raised for %s %s", market, loaded)
        return outcome

    def _refresh(self, market: str) -> tuple[RefreshOutcome, str | None]:
        held = self._held.get(market)
        polled = self._api.snapshot(market, held.etag if held else None)
        if polled is Poll.NOT_MODIFIED:
            if held is None:  # no If-None-Match was sent: a 304 cannot be an answer to this request
                raise PulseProtocolError("malformed_answer", "304 to a snapshot poll without If-None-Match")
            self._counters.add("snapshot_unchanged")
            return "unchanged", None
        if polled is Poll.NO_LIST:
            if held is not None:
                log.warning(
                    "pulse market %s has no list any more: dropping version %s",
                    market,
                    held.index.list_version,
                )
                self._put(market, None)
            return "no_list", None
        if held is not None and (held.index.list_version, held.index.sha256) == (
            polled.list_version,
            polled.sha256,
        ):
            self._put(market, _Held(held.index, polled.etag))
            self._counters.add("snapshot_unchanged")
            return "unchanged", None
        index = snapshot_format.decode(self._api.download(polled), polled)
        self._put(market, _Held(index, polled.etag))
        self._counters.add("snapshot_loads")
        log.info(
            "pulse snapshot %s version %s loaded: %d listed videos",
            market,
            index.list_version,
            len(index.placements),
        )
        return "loaded", index.list_version

    def _put(self, market: str, held: _Held | None) -> None:
        with self._swap:
            if self._closed.is_set():
                raise ClientClosedError
            if held is None:
                self._held.pop(market, None)
            else:
                self._held[market] = held  # one assignment: a lookup sees the old index or the new
