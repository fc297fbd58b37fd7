"""`PulseClient`, what the ad server holds: placements answered in-process from a held snapshot when
there is one for the market, over HTTP otherwise, and the background thread that keeps the held
snapshots current. One client is meant to be shared by every thread of the process."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Iterable
from types import TracebackType

from botocore.credentials import Credentials

from pulse_client.api import BATCH_LIMIT, PulseApi
from pulse_client.errors import ClientClosedError, PulseError
from pulse_client.placement import Placement
from pulse_client.retry import RetryPolicy
from pulse_client.signing import RequestSigner, default_credentials
from pulse_client.snapshot_holder import OnLoaded, RefreshOutcome, SnapshotHolder
from pulse_client.stats import ClientStats, Counters
from pulse_client.transport import Transport

log = logging.getLogger("pulse_client")

# An ad decision waits for a lookup: a quarter of a second in all, retries included.
LOOKUP_RETRY = RetryPolicy(
    budget_seconds=0.25, max_attempts=3, backoff_base_seconds=0.01, backoff_cap_seconds=0.1
)
# Nothing waits for a refresh: it may take its time, and another comes `refresh_seconds` later.
REFRESH_RETRY = RetryPolicy(
    budget_seconds=20.0, max_attempts=4, backoff_base_seconds=0.2, backoff_cap_seconds=2.0
)


class PulseClient:
    """The Pulse placements API, for the ad server.

    `markets` are the markets whose snapshots `start()` holds and refreshes every `refresh_seconds`
    (with ±10% jitter, so that a fleet's polls spread). Without `start()`, or for another market, or
    while no snapshot of the market could be loaded, every placement is an HTTP lookup.
    """

    def __init__(
        self,
        base_url: str,
        *,
        region: str,
        markets: Iterable[str] = (),
        credentials: Credentials | None = None,
        refresh_seconds: float = 10.0,
        retry: RetryPolicy = LOOKUP_RETRY,
        refresh_retry: RetryPolicy = REFRESH_RETRY,
        connect_timeout_seconds: float = 1.0,
        read_timeout_seconds: float = 2.0,
        pool_maxsize: int = 10,
        on_snapshot_loaded: OnLoaded | None = None,
    ) -> None:
        if refresh_seconds <= 0:
            raise ValueError("refresh_seconds must be positive")
        self._refresh_seconds = refresh_seconds
        self._closed = threading.Event()
        self._counters = Counters()
        transport = Transport(
            RequestSigner(credentials if credentials is not None else default_credentials(), region),
            self._counters,
            self._closed,
            pool_maxsize=pool_maxsize,
            connect_timeout_seconds=connect_timeout_seconds,
            read_timeout_seconds=read_timeout_seconds,
        )
        self._transport = transport
        self._api = PulseApi(base_url, transport, retry, refresh_retry)
        self._holder = SnapshotHolder(
            self._api, dict.fromkeys(markets), self._counters, self._closed, on_snapshot_loaded
        )
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()

    # -- lookups ------------------------------------------------------------------------------

    def placement(self, video_id: str, market: str) -> Placement:
        """The placement of `video_id` in `market`: in-process when a snapshot of the market is
        held, else `GET /v1/placements/{video_id}`. Raises a `PulseError` (HTTP only)."""
        index = self._holder.index(market)
        if index is not None:
            found = index.answer(video_id)
            if found is not None:  # None: an id the API refuses, which it is left to say (a 400)
                self._counters.add("snapshot_answers")
                return found
        answer = self._api.placement(video_id, market)
        self._counters.add("http_lookups")
        return answer

    def placements(self, video_ids: Iterable[str], market: str) -> list[Placement]:
        """The placements of `video_ids`, in their order (a repeated id is answered each time). From
        a held snapshot, all from one version; else `POST /v1/placements/batch` for each 100
        distinct ids, each request from the version current when the API answered it."""
        wanted = list(video_ids)
        index = self._holder.index(market)
        if index is not None:
            found = [index.answer(v) for v in wanted]
            if None not in found:  # else an id the API refuses: it is left to say so (a 400)
                self._counters.add("snapshot_answers", len(found))
                return [p for p in found if p is not None]
        distinct = list(dict.fromkeys(wanted))  # the API refuses a batch with a repeated id
        answered: dict[str, Placement] = {}
        for start in range(0, len(distinct), BATCH_LIMIT):
            chunk = distinct[start : start + BATCH_LIMIT]
            answered.update(zip(chunk, self._api.batch(chunk, market), strict=True))
            self._counters.add("http_lookups", len(chunk))
        return [answered[v] for v in wanted]

    # -- snapshots ----------------------------------------------------------------------------

    def start(self) -> None:
        """Load every market's snapshot now (a failure is logged, and the market answered over HTTP
        until a later refresh succeeds), then refresh them in a background thread. Idempotent."""
        with self._start_lock:
            if self._closed.is_set():
                raise ClientClosedError
            if self._thread is not None:
                return
            for market in self._holder.markets:
                # A failure is logged and counted by the holder, and retried at the next round.
                with contextlib.suppress(PulseError):
                    self._holder.refresh(market)
            if self._holder.markets and not self._closed.is_set():  # close() may have come meanwhile
                self._thread = threading.Thread(
                    target=self._refresh_forever, name="pulse-client-refresh", daemon=True
                )
                self._thread.start()

    def refresh_now(self, market: str) -> RefreshOutcome:
        """One synchronous refresh of `market` (one of `markets`): "loaded" when a new version was
        swapped in, "unchanged", or "no_list" (nothing held). Raises the `PulseError` of a failed
        refresh, which leaves what was held in place."""
        return self._holder.refresh(market)

    def snapshot_version(self, market: str) -> str | None:
        """The list version of the snapshot held for `market`, None when none is held."""
        index = self._holder.index(market)
        return None if index is None else index.list_version

    def stats(self) -> ClientStats:
        return self._counters.read()

    def _refresh_forever(self) -> None:
        while not self._closed.wait(self._refresh_seconds * self._rng.uniform(0.9, 1.1)):
            for market in self._holder.markets:
                if self._closed.is_set():
                    return
                try:
                    self._holder.refresh(market)
                except PulseError:
                    pass  # logged and counted by the holder
                except Exception:  # a bug must not end the refreshes of every market for good
                    log.exception("pulse snapshot refresh of %s failed unexpectedly", market)

    # -- lifetime -----------------------------------------------------------------------------

    def close(self, timeout_seconds: float = 5.0) -> None:
        """Stop the refresh thread (waiting up to `timeout_seconds` for a request in flight), drop
        the held snapshots and the connections. Idempotent; the client is unusable afterwards."""
        self._closed.set()
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_seconds)
        self._holder.clear()
        self._transport.close()

    def __enter__(self) -> PulseClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
