"""ApiFunction: the HTTP API of spec §4 behind API Gateway (REST, IAM-authorised)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.entrypoints.api.routes import handle
from pulse.observability import InvocationKeys, logger

# Lambda's keys go on the log lines written, not on every invocation (the hot path's budget), and
# no per-request metrics flush: lookups are counted and published once a minute (LookupCounter).
_keys = InvocationKeys()
logger.registered_handler.addFilter(_keys)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway's request id is the correlation id.
    _keys.invoked(context, (event.get("requestContext") or {}).get("requestId"))
    return handle(event, context)
