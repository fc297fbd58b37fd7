"""The PayoutMachine state machine's steps (docs/design.md, "Large month ends"): one function per
step, each with only the permissions its step uses; every handler is this module's."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.entrypoints import payout_machine
from pulse.observability import logger, metrics


@logger.inject_lambda_context
def begin(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return payout_machine.begin(event)


@logger.inject_lambda_context
def compute_range(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return payout_machine.compute_range(event)


@logger.inject_lambda_context
def check(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return payout_machine.check(event)


@logger.inject_lambda_context
def publish_range(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return payout_machine.publish_range(event)


@logger.inject_lambda_context
@metrics.log_metrics
def finish(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return payout_machine.finish(event)


@logger.inject_lambda_context
def release(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return payout_machine.release(event)
