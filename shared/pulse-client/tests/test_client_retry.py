"""The retry policy: full-jitter backoff under its cap, Retry-After within the budget, the attempt
cap, and what a Retry-After header can say."""

from __future__ import annotations

import random

import pytest
from pulse_client import RetryPolicy
from pulse_client.retry import parse_retry_after

POLICY = RetryPolicy(budget_seconds=10.0, max_attempts=5, backoff_base_seconds=0.01, backoff_cap_seconds=0.05)


@pytest.mark.parametrize(
    ("retry", "ceiling"), [(1, 0.01), (2, 0.02), (3, 0.04), (4, 0.05), (60, 0.05), (500, 0.05)]
)
def test_backoff_is_full_jitter_under_a_capped_exponential(retry: int, ceiling: float) -> None:
    rng = random.Random(7)
    waits = [POLICY.backoff(retry, rng) for _ in range(2000)]
    assert all(0.0 <= wait <= ceiling for wait in waits)
    # full jitter: the draws cover the whole range, not a band near the ceiling
    assert min(waits) < 0.05 * ceiling
    assert max(waits) > 0.95 * ceiling


def test_retry_after_is_the_wait_when_it_fits_the_budget() -> None:
    assert POLICY.wait_before_retry(1, 0.5, remaining=1.0, rng=random.Random(1)) == 0.5
    assert POLICY.wait_before_retry(1, 0.0, remaining=1.0, rng=random.Random(1)) == 0.0


def test_a_wait_that_does_not_fit_the_budget_ends_the_call() -> None:
    assert POLICY.wait_before_retry(1, 2.0, remaining=1.0, rng=random.Random(1)) is None
    assert (
        POLICY.wait_before_retry(1, 1.0, remaining=1.0, rng=random.Random(1)) is None
    )  # no time left to try
    tight = RetryPolicy(budget_seconds=1.0, backoff_base_seconds=5.0, backoff_cap_seconds=5.0)
    waits = [tight.wait_before_retry(1, None, remaining=0.001, rng=random.Random(seed)) for seed in range(50)]
    assert None in waits  # a backoff past the deadline ends the call too
    assert all(wait is None or wait < 0.001 for wait in waits)


def test_the_attempt_cap_ends_the_call() -> None:
    assert POLICY.wait_before_retry(4, 0.0, remaining=5.0, rng=random.Random(1)) == 0.0
    assert POLICY.wait_before_retry(5, 0.0, remaining=5.0, rng=random.Random(1)) is None
    assert RetryPolicy(max_attempts=1).wait_before_retry(1, 0.0, remaining=5.0, rng=random.Random(1)) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), (" 1.5 ", 1.5), ("0", 0.0), ("-1", None), ("nan", None), ("inf", None), (None, None),
     ("Wed, 21 Oct 2026 07:28:00 GMT", None), ("soon", None)],
)  # fmt: skip
def test_retry_after_is_read_in_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


@pytest.mark.parametrize(
    "arguments",
    [
        {"budget_seconds": 0.0},
        {"max_attempts": 0},
        {"backoff_base_seconds": -1.0},
        {"backoff_cap_seconds": -1.0},
    ],
)
def test_a_policy_that_cannot_work_is_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**arguments)  # type: ignore[arg-type]
