"""ApiFunction: the HTTP API of spec §4 behind API Gateway (REST, IAM-authorised)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.entrypoints.api.routes import handle
from pulse.observability import logger


# No per-request metrics flush: lookups are counted and published once a minute (LookupCounter).
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway's request id as correlation id, read directly (a JMESPath search costs more).
    logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
    return handle(event, context)
