"""ListsRefreshFunction: the daily schedule re-publishes every launched market's lists (spec §2.3).

Invoked by EventBridge Scheduler with `{}` (every market launched today) or directly with
`{"markets": ["US", ...]}`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.entrypoints.lists_refresh import refresh_lists
from pulse.observability import logger, metrics


# Not log_event: an invocation's input may hold anything; the request is logged once validated.
@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return refresh_lists(event)
