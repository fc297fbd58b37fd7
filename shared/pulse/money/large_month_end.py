"""A large month end (docs/design.md, "Large month ends"): the run of `month_end.py`, in steps of
the `PayoutMachine` state machine, for a market's month with more creators than one invocation
writes in time.

- `start`: PayoutFunction starts one execution per market and month (a second invocation starts
  nothing new and, once it succeeded, gets its summary back);
- `begin`: claim `PAYOUT#<market>#<month>` (the single invocation's claim, so either path runs a
  month once), close the month in order, plan ranges of creators;
- `compute_range`: the statements of one range, by the single invocation's code, with their tally,
  to the work location;
- `check`: the tallies added up, every invariant of §2.5 checked on the sum: raises before anything
  is published;
- `publish_range`, `finish`: the statements to the table and their documents a range at a time,
  then `statements.csv` (the ranges' rows in creator order), `summary.json`, `PayoutRunCompleted`,
  the claim completed;
- `release`: a failed execution frees the claim it holds, so that the month can run again.

The results are the single invocation's for the same data: the same statement function over the
same creators in the same order, and a summary made by the same `summary_of` from a tally that
adds up to the single run's.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pulse.core.runs import RunInProgress
from pulse.core.types import next_month, previous_month
from pulse.money.month_end import (
    MonthEnd,
    MonthOrderError,
    PayoutStore,
    close_in_order,
    merged,
    read_statements,
    terms_for,
    write_statements,
)
from pulse.money.payout import CSV_FIELDS, PayoutSummary, Tally, summary_of, tally
from pulse.money.statement_document import write_documents

MONTH_END = "month-end"  # the claims' token, as the single invocation's: done by either is done


class CreatorRange(BaseModel):
    """Creators from `first` (included) to `until` (excluded; None: to the last), the `index`-th."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    index: int = Field(ge=0)
    first: str
    until: str | None


class Begun(BaseModel):
    """What `begin` found: a month to run over `ranges`, or one already done with its summary."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["run", "done"]
    ranges: list[CreatorRange] = []
    summary: dict[str, Any] | None = None


@dataclass(frozen=True)
class MachineRun:
    """One execution's run of a market's month: where its steps put their work."""

    market: str
    month: str
    execution: str

    @property
    def run_id(self) -> str:
        return f"PAYOUT#{self.market}#{self.month}"


class RangeWork(Protocol):
    """The ranges' results between steps (an execution's own place: retries overwrite them)."""

    def save(self, run: MachineRun, index: int, statements: Path, rows: Path, counted: Tally) -> None:
        """Store a range's statements (JSON Lines), its `statements.csv` rows and its tally."""
        ...

    def tally(self, run: MachineRun, index: int) -> Tally: ...

    def fetch(
        self, run: MachineRun, index: int, name: Literal["statements.jsonl", "statements.csv"], dest: Path
    ) -> None: ...


@dataclass(frozen=True)
class Execution:
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
    output: dict[str, Any] | None = None


class PayoutMachine(Protocol):
    def start(self, name: str, request: dict[str, Any]) -> bool:
        """Start an execution named `name`; False if one of that name exists already."""
        ...

    def execution(self, name: str) -> Execution: ...


@dataclass(frozen=True)
class LargeMonthEnd:
    month_end: MonthEnd
    work: RangeWork
    range_creators: int = 100_000
    # The claim's lease: the machine's own timeout (an execution that dies unreleased, by timing
    # out, is taken over after it; the steps' retries take their own claim over at once).
    lease_seconds: int = 6 * 3600


@dataclass(frozen=True)
class Started:
    """What PayoutFunction did for a large month: the execution, new or found."""

    execution: str
    started: bool
    status: str
    summary: PayoutSummary | None = None  # the execution's, once it succeeded


# Executions that ended without completing the month: the next attempt takes the next name.
_ENDED_UNDONE = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
MAX_EXECUTIONS = 100


def creators_over(store: PayoutStore, market: str, month: str, limit: int) -> bool:
    """Whether the month has more than `limit` creators (totals or an opening balance); reads at
    most `limit + 1` of them, in the order the run reads them all."""
    creators = merged(
        store.month_totals(market, month), store.closing_balances(market, previous_month(month))
    )
    return any(count > limit for count, _ in enumerate(creators, start=1))


def execution_name(market: str, month: str, attempt: int) -> str:
    return f"{market}-{month}-{attempt}"


def start(market: str, month: str, store: PayoutStore, machine: PayoutMachine) -> Started:
    """Start the month's execution, unless one is running or succeeded: `<market>-<month>-<n>`,
    the next n after each execution that ended without completing the month (Step Functions keeps
    a name for 90 days, so a failed month runs again under a new one)."""
    last = store.last_closed(market)
    if last is not None and month > next_month(last):  # the begin step checks again, authoritatively
        raise MonthOrderError(
            f"{market}: months close in order; the next one to close is {next_month(last)}, not {month}"
        )
    for attempt in range(1, MAX_EXECUTIONS + 1):
        name = execution_name(market, month, attempt)
        if machine.start(name, {"market": market, "month": month}):
            return Started(name, started=True, status="RUNNING")
        found = machine.execution(name)
        if found.status in _ENDED_UNDONE:
            continue
        summary = None
        if found.status == "SUCCEEDED" and found.output is not None:
            summary = PayoutSummary.model_validate(found.output)
        return Started(name, started=False, status=found.status, summary=summary)
    raise RunInProgress(f"{market} {month}: {MAX_EXECUTIONS} executions ended without completing it")


def begin(run: MachineRun, deps: LargeMonthEnd) -> Begun:
    """Claim the month for this execution, close it in order, plan its ranges. A claim this
    execution already holds (the step's retry) is taken over at once; a failure after the claim
    is released by the machine's Release step."""
    me = deps.month_end
    earlier = me.claims.claim(run.run_id, MONTH_END, deps.lease_seconds, attempt=run.execution)
    if earlier is not None:
        return Begun(action="done", summary=PayoutSummary.model_validate(earlier).as_json())
    close_in_order(run.market, run.month, me.store)
    return Begun(action="run", ranges=plan(me.store, run.market, run.month, deps.range_creators))


def plan(store: PayoutStore, market: str, month: str, size: int) -> list[CreatorRange]:
    """Ranges of `size` creators (the last one shorter) over the month's creators, in order."""
    firsts: list[str] = []
    for i, (creator, _, _) in enumerate(
        merged(store.month_totals(market, month), store.closing_balances(market, previous_month(month)))
    ):
        if i % size == 0:
            firsts.append(creator)
    return [
        CreatorRange(index=i, first=first, until=firsts[i + 1] if i + 1 < len(firsts) else None)
        for i, first in enumerate(firsts)
    ]


def compute_range(run: MachineRun, creators: CreatorRange, deps: LargeMonthEnd) -> Tally:
    """The range's statements, `statements.csv` rows and tally, to the work location."""
    me = deps.month_end
    terms = terms_for(run.market, me.rules)
    with tempfile.TemporaryDirectory(dir=me.workdir, prefix="pulse-payout-range-") as tmp:
        spill, rows = Path(tmp, "statements.jsonl"), Path(tmp, "statements.csv")
        write_statements(
            run.market,
            run.month,
            me.store,
            terms,
            spill,
            rows,
            header=False,
            first=creators.first,
            until=creators.until,
        )
        counted = tally(read_statements(spill), terms)
        deps.work.save(run, creators.index, spill, rows, counted)
    return counted


def check(run: MachineRun, ranges: Sequence[CreatorRange], deps: LargeMonthEnd) -> PayoutSummary:
    """The month's summary from the ranges' tallies, every invariant of §2.5 checked on the sum;
    raises InvariantBroken (nothing is published) when one does not hold."""
    total = Tally()
    for creators in ranges:
        total += deps.work.tally(run, creators.index)
    return summary_of(total, run.market, run.month, terms_for(run.market, deps.month_end.rules))


def publish_range(run: MachineRun, creators: CreatorRange, deps: LargeMonthEnd) -> None:
    """The range's statements to the table and their documents (the single invocation's)."""
    me = deps.month_end
    with tempfile.TemporaryDirectory(dir=me.workdir, prefix="pulse-payout-publish-") as tmp:
        spill = Path(tmp, "statements.jsonl")
        deps.work.fetch(run, creators.index, "statements.jsonl", spill)
        me.store.save_statements(run.market, run.month, read_statements(spill))
        terms = terms_for(run.market, me.rules)
        write_documents(read_statements(spill), terms, me.lines, me.documents)


def finish(run: MachineRun, ranges: Sequence[CreatorRange], deps: LargeMonthEnd) -> PayoutSummary:
    """`statements.csv` and `summary.json`, PayoutRunCompleted, then the claim completed: the
    single invocation's order. The summary is made again from the tallies (as `check` made it)."""
    me = deps.month_end
    summary = check(run, ranges, deps)
    with tempfile.TemporaryDirectory(dir=me.workdir, prefix="pulse-payout-finish-") as tmp:
        sheet, part = Path(tmp, "statements.csv"), Path(tmp, "part.csv")
        with sheet.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerow(CSV_FIELDS)  # as the single run writes it
            for creators in ranges:
                deps.work.fetch(run, creators.index, "statements.csv", part)
                with part.open(encoding="utf-8", newline="") as rows:
                    shutil.copyfileobj(rows, out)
        me.reports.write(run.market, run.month, sheet, summary)
    me.events.publish("PayoutRunCompleted", [summary.as_json()])
    me.claims.complete(run.run_id, MONTH_END, summary.as_json())
    return summary


def release(run: MachineRun, deps: LargeMonthEnd) -> None:
    """Free the claim if this execution holds it (never another's, nor a completed one)."""
    deps.month_end.claims.release(run.run_id, MONTH_END, attempt=run.execution)
