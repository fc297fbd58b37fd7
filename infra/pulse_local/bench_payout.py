"""The month-end section of `make bench` (issue 6).

- against moto: a month end for N creators (their totals written straight into the ledger's
  items), the PayoutFunction handler in its own process: time and DynamoDB requests;
- pure computation: `python -m pulse_local.bench_payout pure N` computes and summarizes N
  statements streaming, as the run does, in its own process: time and peak RSS.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator

from pulse.core.rules import load_rules
from pulse.money.ledger import Totals
from pulse.money.month_end import terms_for
from pulse.money.payout import Statement, statement, summarize


def _statements(creators: int) -> Iterator[Statement]:
    terms = terms_for("US", load_rules())
    rng = random.Random(7)
    for i in range(creators):
        totals = Totals(
            rng.randrange(0, 400_000_000), -rng.randrange(0, 2_000_000), rng.randrange(1, 10**6), 3
        )
        yield statement(f"cr{i:08d}", "2026-10", totals, rng.randrange(-1_000_000, 60_000_000), terms)


def pure(creators: int) -> None:
    started = time.perf_counter()
    summary = summarize(_statements(creators), "US", "2026-10", terms_for("US", load_rules()))
    elapsed = time.perf_counter() - started
    print(f"{elapsed:.2f} {summary.creators}")


if __name__ == "__main__":
    pure(int(sys.argv[2]))
