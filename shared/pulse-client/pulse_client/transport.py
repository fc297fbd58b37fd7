"""HTTP for every call the client makes: one `urllib3.PoolManager`, so connections are kept alive and
reused across calls and threads, and one retry loop, bounded by a `RetryPolicy`.

Each attempt is signed anew (a fresh X-Amz-Date, credentials read again) and its timeouts are cut
to what is left of the call's budget, so that the budget is a deadline and not only a limit on
the waits between attempts. Waits between attempts end early when the client is closed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import urllib3
from urllib3 import exceptions as http_errors

from pulse_client import answers
from pulse_client.errors import ClientClosedError, PulseUnavailableError
from pulse_client.retry import RetryPolicy, parse_retry_after
from pulse_client.signing import RequestSigner
from pulse_client.stats import Counters

USER_AGENT = "pulse-client/0.1.0"
# API answers are small (a batch of 100 with campaigns is well under 1 MiB): anything far larger is
# not an answer of this API, and is not read into memory.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
_CHUNK = 256 * 1024

# Failures that another attempt may not meet: no connection, a timeout, a connection reset or
# closed before the whole answer. (NewConnectionError is a ConnectTimeoutError in some urllib3
# versions and not in others: both are named.)
_TRANSIENT: tuple[type[Exception], ...] = (
    http_errors.TimeoutError,
    http_errors.NewConnectionError,
    http_errors.ProtocolError,
    ConnectionError,
)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive (urllib3's HTTPHeaderDict)
    body: bytes


class _TooLarge(Exception):
    pass


class Transport:
    def __init__(
        self,
        signer: RequestSigner,
        counters: Counters,
        closed: threading.Event,
        *,
        pool_maxsize: int,
        connect_timeout_seconds: float,
        read_timeout_seconds: float,
        rng: random.Random | None = None,
    ) -> None:
        self._signer = signer
        self._counters = counters
        self._closed = closed
        self._connect_timeout = connect_timeout_seconds
        self._read_timeout = read_timeout_seconds
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()  # random.Random is not documented as thread-safe
        # retries=False: urllib3 makes one attempt and raises its own error; the loop below retries.
        # block=False: a burst beyond maxsize opens extra connections instead of queueing for one.
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=pool_maxsize,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout_seconds, read=read_timeout_seconds),
        )

    def close(self) -> None:
        self._pool.clear()

    def request(
        self,
        method: str,
        url: str,
        policy: RetryPolicy,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        signed: bool = True,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> Reply:
        """The first answer that is not retried (any status: the caller judges it), or
        `PulseUnavailableError` when the budget or the attempt cap runs out first."""
        deadline = time.monotonic() + policy.budget_seconds
        attempts = 0
        while True:
            if self._closed.is_set():
                raise ClientClosedError
            attempts += 1
            self._counters.add("http_requests")
            if attempts > 1:
                self._counters.add("retries")
            remaining = deadline - time.monotonic()
            try:
                reply = self._attempt(
                    method, url, headers or {}, body, signed=signed, remaining=remaining, max_bytes=max_bytes
                )
            except _TRANSIENT as exc:
                status, code, message, retry_after = None, _code_of(exc), _describe(exc), None
            except _TooLarge:
                raise PulseUnavailableError(
                    "answer_too_large",
                    f"{method} {_safe(url)}: the answer is over {max_bytes} bytes",
                    attempts=attempts,
                ) from None
            except http_errors.HTTPError as exc:  # TLS, proxy, a malformed URL: not worth another attempt
                raise PulseUnavailableError("connection_error", _describe(exc), attempts=attempts) from exc
            else:
                if reply.status not in policy.retried_statuses:
                    return reply
                status, retry_after = reply.status, parse_retry_after(reply.headers.get("Retry-After"))
                code, message = answers.error(reply.body, reply.status)
            with self._rng_lock:
                wait = policy.wait_before_retry(attempts, retry_after, deadline - time.monotonic(), self._rng)
            if wait is None:
                raise PulseUnavailableError(
                    code, f"{message} (gave up after {attempts} attempt(s))", status=status, attempts=attempts
                )
            if wait > 0 and self._closed.wait(wait):
                raise ClientClosedError

    def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        signed: bool,
        remaining: float,
        max_bytes: int,
    ) -> Reply:
        sent = self._signer.sign(method, url, headers, body) if signed else dict(headers)
        sent["User-Agent"] = USER_AGENT  # never signed (SigV4 leaves User-Agent out), so set after
        timeout = urllib3.Timeout(
            connect=max(0.001, min(self._connect_timeout, remaining)),
            read=max(0.001, min(self._read_timeout, remaining)),
        )
        # decode_content=False: bytes exactly as sent, so that a stored object's sha256 can be checked
        # even when the store labels it Content-Encoding: gzip.
        response = self._pool.request(
            method,
            url,
            body=body,
            headers=sent,
            timeout=timeout,
            retries=False,
            redirect=False,
            preload_content=False,
            decode_content=False,
        )
        try:
            data = bytearray()
            for chunk in response.stream(_CHUNK, decode_content=False):
                data += chunk
                if len(data) > max_bytes:
                    response.close()  # the rest is never read: this connection cannot be reused
                    raise _TooLarge
            return Reply(response.status, response.headers, bytes(data))
        finally:
            response.release_conn()


def _code_of(exc: Exception) -> str:
    if isinstance(exc, http_errors.NewConnectionError):  # refused or unresolvable, whatever its base class
        return "connection_error"
    return "timeout" if isinstance(exc, http_errors.TimeoutError) else "connection_error"


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _safe(url: str) -> str:
    """A URL for messages and logs, without its query (a presigned URL's query is a credential)."""
    return url.split("?", 1)[0]
