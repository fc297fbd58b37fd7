"""PayoutFunction: month end (spec §5), from the monthly schedule or invoked directly."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.entrypoints.payout import run_payouts
from pulse.observability import logger, metrics


# Not log_event: an invocation's input may hold anything; the request is logged once validated.
@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_payouts(event, attempt=context.aws_request_id)  # its retries keep the request id
