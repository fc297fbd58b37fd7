"""What time it is, from one place: the composition root hands every use case and adapter its clock.

Production runs on `system_clock`. Tests and the local demo set a `RunningClock` that starts at a
chosen instant and then runs at the wall clock's pace, so that "the month before", "launched by
today" and "confirmed within seven days" mean the same on any date the suite runs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

Clock = Callable[[], dt.datetime]
"""Now, as an aware UTC datetime."""


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RunningClock:
    """Starts at `start` (aware) and advances with the monotonic clock, which no date setting moves."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock starts at an aware datetime")
        self._start = start.astimezone(dt.UTC)
        self._origin = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._origin)


def epoch_seconds(clock: Clock) -> int:
    return int(clock().timestamp())


def stamp(clock: Clock) -> str:
    """The stamp stored records carry (`updated_at`, `recorded_at`): ISO 8601, to the second."""
    return clock().isoformat(timespec="seconds")
