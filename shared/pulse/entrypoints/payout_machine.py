"""The steps of the PayoutMachine state machine (docs/design.md, "Large month ends"): each step's
input, as the machine's definition (`infra/statemachines/payout.asl.json`) passes it, parsed
strictly; the step run; a small JSON result (the ranges and the summary: the states' data stays
far under Step Functions' 256 KiB)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from pulse.bootstrap import large_month_end
from pulse.core.types import IsoMonth, MarketCode
from pulse.money import large_month_end as steps
from pulse.money.large_month_end import CreatorRange, MachineRun
from pulse.observability import logger, metrics


class StepInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    market: MarketCode
    month: IsoMonth
    execution: str = Field(min_length=1, max_length=80)

    def run(self) -> MachineRun:
        return MachineRun(self.market, self.month, self.execution)


class RangeInput(StepInput):
    range: CreatorRange


class RangesInput(StepInput):
    ranges: list[CreatorRange]


def begin(event: dict[str, Any]) -> dict[str, Any]:
    step = StepInput.model_validate(event)
    begun = steps.begin(step.run(), large_month_end())
    logger.info(
        "payout machine begun",
        extra={
            "market": step.market,
            "month": step.month,
            "action": begun.action,
            "ranges": len(begun.ranges),
        },
    )
    return begun.model_dump(mode="json")


def compute_range(event: dict[str, Any]) -> dict[str, Any]:
    step = RangeInput.model_validate(event)
    counted = steps.compute_range(step.run(), step.range, large_month_end())
    return {"index": step.range.index, "creators": counted.creators}


def check(event: dict[str, Any]) -> dict[str, Any]:
    step = RangesInput.model_validate(event)
    summary = steps.check(step.run(), step.ranges, large_month_end())  # raises InvariantBroken
    return {"creators": summary.creators}


def publish_range(event: dict[str, Any]) -> dict[str, Any]:
    step = RangeInput.model_validate(event)
    steps.publish_range(step.run(), step.range, large_month_end())
    return {"index": step.range.index}


def finish(event: dict[str, Any]) -> dict[str, Any]:
    step = RangesInput.model_validate(event)
    summary = steps.finish(step.run(), step.ranges, large_month_end())
    logger.info(
        "payout run", extra={"market": step.market, "month": step.month, "creators": summary.creators}
    )
    metrics.add_metric(name="PayoutRuns", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="PayoutPayableMicros", unit=MetricUnit.Count, value=summary.totals.payable_micros)
    metrics.add_metric(name="PayoutStatements", unit=MetricUnit.Count, value=summary.creators)
    return summary.as_json()


def release(event: dict[str, Any]) -> dict[str, Any]:
    step = StepInput.model_validate({k: v for k, v in event.items() if k != "error"})
    logger.error(
        "payout machine failed",
        extra={"market": step.market, "month": step.month, "error": event.get("error")},
    )
    steps.release(step.run(), large_month_end())
    return {"released": True}
