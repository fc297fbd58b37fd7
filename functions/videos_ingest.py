"""VideosIngestFunction: a `videos/…/_manifest.json` landed in IngestBucket (spec §3, §2.3)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.aws.manifest_events import handle_manifest_notifications
from pulse.observability import S3_NOTIFICATION_CORRELATION, logger, metrics


@logger.inject_lambda_context(correlation_id_path=S3_NOTIFICATION_CORRELATION)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_manifest_notifications(event, expected_dataset="videos")
