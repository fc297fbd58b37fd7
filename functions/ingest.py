"""The four ingest functions (spec §3): a `_manifest.json` landed in IngestBucket.

One module, one handler per dataset (`ingest.creators`, `ingest.videos`, `ingest.revenue`,
`ingest.adjustments` in template.yaml): the S3 notification is parsed and the batch run the same
way for all; what differs is the dataset's apply phase.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.entrypoints.ingest import handle_manifest_notifications
from pulse.observability import S3_NOTIFICATION_CORRELATION, logger, metrics

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _handler_for(dataset: str) -> Handler:
    @logger.inject_lambda_context(correlation_id_path=S3_NOTIFICATION_CORRELATION)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Lambda's retries of an invocation keep its request id: a retry may take over its claim.
        return handle_manifest_notifications(event, expected_dataset=dataset, attempt=context.aws_request_id)

    return handler


creators = _handler_for("creators")
videos = _handler_for("videos")
revenue = _handler_for("revenue")
adjustments = _handler_for("adjustments")
