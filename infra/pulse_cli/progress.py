"""A plain progress bar on standard error for the long steps of `pulse` and the local run."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_WIDTH = 30


class Progress:
    """`done` out of `total` (or a running count when the total is unknown), redrawn at most 10
    times a second, finished with a newline."""

    def __init__(self, label: str, total: int | None = None, unit: str = "rows") -> None:
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self._started = self._drawn = time.monotonic()

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self._draw()

    def finish(self) -> None:
        self._draw()
        sys.stderr.write("\n")

    def _draw(self) -> None:
        elapsed = time.monotonic() - self._started
        if self.total:
            filled = int(_WIDTH * min(self.done, self.total) / self.total)
            bar = "#" * filled + "." * (_WIDTH - filled)
            sys.stderr.write(
                f"\r{self.label} [{bar}] {self.done:,}/{self.total:,} {self.unit} {elapsed:.0f}s"
            )
        else:
            sys.stderr.write(f"\r{self.label}: {self.done:,} {self.unit} {elapsed:.0f}s")
        sys.stderr.flush()


def tracked(items: Iterable[T], label: str, total: int | None = None, unit: str = "rows") -> Iterator[T]:
    """`items`, drawing a progress bar while they are consumed."""
    bar = Progress(label, total, unit)
    for item in items:
        bar.advance()
        yield item
    bar.finish()
