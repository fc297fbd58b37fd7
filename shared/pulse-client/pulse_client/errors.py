"""What the client raises: one base class, `PulseError`, so that an ad server can catch everything
this package raises in one `except` and still tell an answer it may not retry (a 4xx) from an API
that is unavailable within the call's budget, or an answer that makes no sense."""

from __future__ import annotations


class PulseError(Exception):
    """Base of every error of this package.

    `status` is the HTTP status the error comes from (None when there was no answer: a connection
    error, a timeout, a refused snapshot object), `code` a snake_case reason (the API's own
    `error.code` when it sent one) and `message` what to tell a person.
    """

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" if status is not None else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class PulseRequestError(PulseError):
    """The API refused the request (400, 404, 405, or another status that is not retried): sending it
    again would get the same answer."""


class PulseUnavailableError(PulseError):
    """No usable answer within the call's retry budget or attempt cap: the last failure's status
    (None for a connection error or timeout), code and message, and how many attempts were made."""

    def __init__(self, code: str, message: str, *, status: int | None = None, attempts: int) -> None:
        super().__init__(code, message, status=status)
        self.attempts = attempts


class PulseProtocolError(PulseError):
    """An answer that is not what the API promises: not JSON, or JSON of the wrong shape."""


class SnapshotRefusedError(PulseError):
    """A snapshot object that must not be used: an unknown format, a size or sha256 that differs from
    the snapshot answer's, or content that does not decode to a whole, consistent list version."""


class ClientClosedError(PulseError):
    """The client was closed: it makes no more requests and holds no more snapshots."""

    def __init__(self) -> None:
        super().__init__("client_closed", "the PulseClient was closed")
