"""The month-end payout run (spec §2.5, §5): one market, one month, once.

1. claim the run (`PAYOUT#<market>#<month>`): a second invocation returns the first's summary, a
   concurrent one fails and is retried;
2. close the month, in order (the previous month must be the last closed one, unless none is):
   from then on late revenue is booked into the next month, so the month's totals are final;
3. compute every statement from the month's totals and the previous month's closing balances,
   in creator order, into local files, and check the invariants: if one fails, the run fails
   loudly and publishes nothing (the month stays closed);
4. store the statements, write each statement's document (`statement_document.py`), then
   `statements.csv` and `summary.json`, and announce `PayoutRunCompleted`.
"""

from __future__ import annotations

import csv
import heapq
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pulse.core.events import EventPublisher
from pulse.core.rules import Rules
from pulse.core.runs import ClaimStore, RunResult, run_once
from pulse.core.types import next_month, previous_month
from pulse.money.ledger import Totals
from pulse.money.payout import CSV_FIELDS, PayoutSummary, PayoutTerms, Statement, statement, summarize
from pulse.money.statement_document import DocumentStore, LinesSource, write_documents


class MonthOrderError(RuntimeError):
    """Months close in order: this one cannot close yet (or closed long ago)."""


class PayoutStore(Protocol):
    def last_closed(self, market: str) -> str | None: ...

    def close(self, market: str, month: str) -> None:
        """Record `month` as closed if it is next in order (or already closed by this run)."""
        ...

    def month_totals(
        self, market: str, month: str, first: str | None = None, until: str | None = None
    ) -> Iterator[tuple[str, Totals]]:
        """Every creator's totals of the month, in creator order (only creators from `first` and
        before `until`, when given)."""
        ...

    def closing_balances(
        self, market: str, month: str, first: str | None = None, until: str | None = None
    ) -> Iterator[tuple[str, int]]:
        """Non-zero closing balances of the month's statements, in creator order (only creators
        from `first` and before `until`, when given)."""
        ...

    def save_statements(self, market: str, month: str, statements: Iterable[Statement]) -> None:
        """Store the month's statements (however the store lays them out, it records how first)."""
        ...

    def statement(self, market: str, month: str, creator_id: str) -> Statement | None: ...


class PayoutReports(Protocol):
    def write(self, market: str, month: str, statements_csv: Path, summary: PayoutSummary) -> None: ...


@dataclass(frozen=True)
class MonthEnd:
    store: PayoutStore
    claims: ClaimStore
    reports: PayoutReports
    events: EventPublisher
    rules: Rules
    lines: LinesSource  # the ledger's lines of each creator-month, for the statement documents
    documents: DocumentStore
    workdir: str | None = None
    lease_seconds: int = 900


def terms_for(market: str, rules: Rules) -> PayoutTerms:
    return PayoutTerms(
        market=market,
        currency=rules.currency_of(market),
        creator_share_bps=rules.creator_share_bps,
        minimum_micros=rules.payout_minimum_micros,
        minor_unit_micros=rules.minor_unit_micros(market),
        rules_version=rules.version,
    )


def merged(
    totals: Iterator[tuple[str, Totals]], balances: Iterator[tuple[str, int]]
) -> Iterator[tuple[str, Totals, int]]:
    """(creator, this month's totals, opening balance) for every creator with either, in order."""
    tagged = heapq.merge(
        ((c, 0, t) for c, t in totals), ((c, 1, b) for c, b in balances), key=lambda x: x[:2]
    )
    current: str | None = None
    month_totals, opening = Totals(), 0
    for creator, tag, value in tagged:
        if creator != current:
            if current is not None:
                yield current, month_totals, opening
            current, month_totals, opening = creator, Totals(), 0
        if tag == 0:
            month_totals = value  # type: ignore[assignment]
        else:
            opening = value  # type: ignore[assignment]
    if current is not None:
        yield current, month_totals, opening


def run_month_end(market: str, month: str, deps: MonthEnd, attempt: str = "") -> RunResult[PayoutSummary]:
    return run_once(
        deps.claims,
        f"PAYOUT#{market}#{month}",
        "month-end",
        lambda: _run(market, month, deps),
        PayoutSummary,
        lease_seconds=deps.lease_seconds,
        attempt=attempt,
    )


def close_in_order(market: str, month: str, store: PayoutStore) -> None:
    """Close the month, which must be the next one to close (or closed by this run already)."""
    last = store.last_closed(market)
    if last is not None and last not in (month, previous_month(month)):
        expected = next_month(last)
        raise MonthOrderError(
            f"{market}: months close in order; the next one to close is {expected}, not {month}"
        )
    store.close(market, month)


def _run(market: str, month: str, deps: MonthEnd) -> PayoutSummary:
    close_in_order(market, month, deps.store)
    terms = terms_for(market, deps.rules)
    with tempfile.TemporaryDirectory(dir=deps.workdir, prefix="pulse-payout-") as tmp:
        spill, csv_path = Path(tmp, "statements.jsonl"), Path(tmp, "statements.csv")
        write_statements(market, month, deps.store, terms, spill, csv_path, header=True)
        summary = summarize(
            read_statements(spill), market, month, terms
        )  # raises before anything is published
        deps.store.save_statements(market, month, read_statements(spill))
        write_documents(read_statements(spill), terms, deps.lines, deps.documents)
        deps.reports.write(market, month, csv_path, summary)
    deps.events.publish("PayoutRunCompleted", [summary.as_json()])
    return summary


def write_statements(  # noqa: PLR0917  # where from, and the two files it writes
    market: str,
    month: str,
    store: PayoutStore,
    terms: PayoutTerms,
    spill: Path,
    csv_path: Path,
    *,
    header: bool,
    first: str | None = None,
    until: str | None = None,
) -> None:
    """Compute the statements of the month's creators (those from `first` and before `until`, when
    given) in creator order, into a JSON Lines spill and `statements.csv`'s rows."""
    with (
        spill.open("w", encoding="utf-8") as out,
        csv_path.open("w", encoding="utf-8", newline="") as sheet,
    ):
        writer = csv.writer(sheet, lineterminator="\n")
        if header:
            writer.writerow(CSV_FIELDS)
        rows = merged(
            store.month_totals(market, month, first, until),
            store.closing_balances(market, previous_month(month), first, until),
        )
        for creator, totals, opening in rows:
            s = statement(creator, month, totals, opening, terms)
            out.write(json.dumps(s.as_dict(), separators=(",", ":")) + "\n")
            writer.writerow([getattr(s, name) for name in CSV_FIELDS])


def read_statements(spill: Path) -> Iterator[Statement]:
    with spill.open(encoding="utf-8") as handle:
        for line in handle:
            yield Statement(**json.loads(line))
