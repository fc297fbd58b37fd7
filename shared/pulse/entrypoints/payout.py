"""The payout function's input: the schedule's `{}` (last month, every launched market) or a
direct `{"month": "YYYY-MM", "markets": [...]}` for a month before the current one.

Each market's month runs in this invocation, or, when it has more creators than
`PULSE_DISTRIBUTED_CREATORS`, on the PayoutMachine state machine (docs/design.md, "Large month
ends"): its run in `runs` then says which execution runs it, and once that execution succeeded,
a later invocation gets its summary back as a duplicate run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pulse.bootstrap import clock, large_month_ends, month_end
from pulse.core.types import IsoMonth, MarketCode, previous_month
from pulse.money.large_month_end import Started, creators_over, start
from pulse.money.month_end import run_month_end
from pulse.observability import logger, metrics


class PayoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    month: IsoMonth | None = None
    markets: list[MarketCode] | None = Field(default=None, min_length=1, max_length=50)


class PayoutInputError(ValueError):
    pass


def run_payouts(event: dict[str, Any], attempt: str = "") -> dict[str, Any]:
    try:
        request = PayoutRequest.model_validate(event)
    except ValidationError as exc:
        raise PayoutInputError(
            f'expected {{}} or {{"month": "YYYY-MM", "markets": [...]}}: {exc.errors()[0]["msg"]}'
        ) from exc
    current = clock()().strftime("%Y-%m")
    month = request.month or previous_month(current)
    if month >= current:
        raise PayoutInputError(f"{month} is not over yet: only months before {current} can be paid out")
    deps = month_end()
    last_day = dt.date.fromisoformat(f"{current}-01") - dt.timedelta(days=1)
    launched = deps.rules.launched_markets(min(last_day, dt.date.fromisoformat(f"{month}-28")))
    markets = request.markets if request.markets is not None else launched
    unknown = [m for m in markets if m not in launched]
    if unknown:
        raise PayoutInputError(f"not programme markets launched by {month}: {unknown}")
    logger.info("payout requested", extra={"month": month, "markets": markets})
    results = []
    large = large_month_ends()
    for market in markets:
        if large is not None and creators_over(deps.store, market, month, large.creators):
            results.append(_on_the_machine(market, month, start(market, month, deps.store, large.machine)))
            continue
        run = run_month_end(market, month, deps, attempt)
        summary = run.summary
        logger.info(
            "payout run",
            extra={
                "market": market,
                "month": month,
                "duplicate": run.duplicate,
                "creators": summary.creators,
            },
        )
        if not run.duplicate:
            metrics.add_metric(name="PayoutRuns", unit=MetricUnit.Count, value=1)
            metrics.add_metric(
                name="PayoutPayableMicros", unit=MetricUnit.Count, value=summary.totals.payable_micros
            )
            metrics.add_metric(name="PayoutStatements", unit=MetricUnit.Count, value=summary.creators)
        results.append(run.as_json())
    return {"month": month, "runs": results}


def _on_the_machine(market: str, month: str, started: Started) -> dict[str, Any]:
    logger.info(
        "payout run on the state machine",
        extra={"market": market, "month": month, "execution": started.execution, "started": started.started},
    )
    machine = {"execution": started.execution, "started": started.started, "status": started.status}
    if started.summary is not None:  # done: the first run's summary, as a duplicate run gets it
        return {**started.summary.as_json(), "duplicate": True, "state_machine": machine}
    if started.started:
        metrics.add_metric(name="PayoutMachineRuns", unit=MetricUnit.Count, value=1)
    return {"market": market, "month": month, "state_machine": machine}
