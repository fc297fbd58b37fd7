"""Runs that happen once: a batch, a market's month end.

S3 delivers notifications at least once and Lambda retries failed invocations, so each run is
claimed first under its run id: a second delivery of a completed run gets the first one's summary
back without touching anything, a concurrent one fails (`RunInProgress`) and is retried later.
`run_once` is that sequence, written once: claim, run, complete; release the claim if anything
failed, so that Lambda's prompt retry runs it again instead of waiting out the lease.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pulse.core.summary import Summary

S = TypeVar("S", bound=Summary)


class RunInProgress(RuntimeError):
    """Another invocation holds this run right now; this one fails so that it is retried later."""


class ClaimStore(Protocol):
    """Claims on runs, so that each happens once (the state table in production)."""

    def claim(self, run_id: str, token: str, lease_seconds: int, attempt: str = "") -> dict[str, Any] | None:
        """None when this run now owns `run_id`; the stored summary when it already completed.

        `attempt` names the invocation (Lambda's request id, which its retries keep): a claim that
        an earlier attempt of the same invocation still holds is taken over at once, because
        Lambda retries only after that attempt ended, however it died (out of memory, a crash).
        """
        ...

    def complete(self, run_id: str, token: str, summary: dict[str, Any]) -> None: ...

    def release(self, run_id: str, token: str, attempt: str = "") -> None:
        """Free a claim in progress; with `attempt`, only a claim that attempt holds (a step of a
        state machine releases its own execution's claim, never another's)."""
        ...


@dataclass(frozen=True, slots=True)
class RunResult(Generic[S]):
    """A run's summary, and whether an earlier run with the same token had already done it."""

    summary: S
    duplicate: bool

    def as_json(self) -> dict[str, Any]:
        return {**self.summary.as_json(), "duplicate": self.duplicate}


def run_once(
    claims: ClaimStore,
    run_id: str,
    token: str,
    work: Callable[[], S],
    summary_type: type[S],
    *,
    lease_seconds: int,
    attempt: str = "",
) -> RunResult[S]:
    """Claim, run and complete `run_id`; a completed run's stored summary comes back as `summary_type`."""
    earlier = claims.claim(run_id, token, lease_seconds, attempt)
    if earlier is not None:
        return RunResult(summary_type.model_validate(earlier), duplicate=True)
    try:
        summary = work()
        claims.complete(run_id, token, summary.as_json())
    except BaseException:
        # Lambda's retry can then run it again at once (the run is idempotent), instead of
        # waiting out the lease; a claim that did complete is not released.
        claims.release(run_id, token)
        raise
    return RunResult(summary, duplicate=False)
