"""When to try a request again, and after how long.

An ad decision has a latency budget, so a call's retries are bounded twice: by a deadline
(`budget_seconds` from the call's start, which also caps each attempt's timeouts) and by an attempt
cap. Between attempts the wait is capped exponential backoff with full jitter (a uniform draw in
[0, min(cap, base * 2**n))), which spreads a fleet's retries instead of synchronising them; a
`Retry-After` from the server is honoured when it fits the remaining budget, and ends the call at
once when it does not (waiting less than the server asked would only be refused again).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# 429 from API Gateway's throttling, 502/504 from its integration, 503 from the API itself when a
# dependency is overloaded. Other statuses, 4xx above all, would only be answered the same again.
RETRIED_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    budget_seconds: float = 0.25
    max_attempts: int = 3
    backoff_base_seconds: float = 0.01
    backoff_cap_seconds: float = 0.1
    retried_statuses: frozenset[int] = RETRIED_STATUSES

    def __post_init__(self) -> None:
        if not self.budget_seconds > 0:
            raise ValueError("budget_seconds must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base_seconds < 0 or self.backoff_cap_seconds < 0:
            raise ValueError("backoff times must not be negative")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1 for the first retry): full jitter."""
        ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2.0 ** min(retry - 1, 62))
        return rng.uniform(0.0, ceiling)

    def wait_before_retry(
        self, attempts: int, retry_after: float | None, remaining: float, rng: random.Random
    ) -> float | None:
        """How long to wait before another attempt, or None when the call must stop: the attempt cap
        is reached, or the wait (the server's `Retry-After`, else the backoff) leaves no time for
        the attempt within the budget."""
        if attempts >= self.max_attempts:
            return None
        wait = retry_after if retry_after is not None else self.backoff(attempts, rng)
        return wait if wait < remaining else None


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (the form API Gateway and the API send). The HTTP-date form is
    ignored, like anything unreadable: the backoff applies instead."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
