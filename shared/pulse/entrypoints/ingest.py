"""S3 `ObjectCreated` notifications of manifests → batch runs, shared by the four ingest functions."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event

from pulse.bootstrap import ingest_context, large_snapshots
from pulse.ingest.batch_run import run_batch
from pulse.ingest.manifest import BatchError, BatchLocation, locate_batch
from pulse.ingest.read_phase import PartSource
from pulse.lists.snapshot_machine import BatchRef, manifest_rows
from pulse.observability import logger, metrics


def handle_manifest_notifications(
    event: dict[str, Any], expected_dataset: str, attempt: str = ""
) -> dict[str, Any]:
    """Run every batch the notification names; returns a summary per manifest key. `attempt` is
    the invocation's request id (see `ClaimStore.claim`)."""
    metrics.add_dimension("dataset", expected_dataset)
    results: list[dict[str, Any]] = []
    for record in S3Event(event).records:
        bucket = record.s3.bucket.name
        obj = record.s3.get_object
        key = unquote_plus(obj.key)  # S3 notifications carry the key URL-encoded (market%3DUS)
        try:
            location = locate_batch(key)
            if location.dataset != expected_dataset:
                raise BatchError(
                    "wrong_function", f"{key} is a {location.dataset} batch, not {expected_dataset}"
                )
        except BatchError as problem:
            # Nothing can be read from a key outside the layout: say so loudly and go on.
            logger.error(
                "manifest key rejected", extra={"key": key, "code": problem.code, "reason": problem.message}
            )
            metrics.add_metric(name="BatchesRejected", unit=MetricUnit.Count, value=1)
            results.append({"manifest_key": key, "status": "rejected", "error": problem.code})
            continue
        ctx = ingest_context(bucket)
        token = f"{obj.etag}:{obj.sequencer or ''}"
        started = _start_large_snapshot(location, ctx.source, BatchRef.of(bucket, key, token))
        if started is not None:
            results.append(started)
            continue
        run = run_batch(location, token, ctx, attempt)
        summary = run.summary
        logger.info(
            "batch done",
            extra={
                "manifest_key": key,
                "status": summary.status,
                "duplicate": run.duplicate,
                "rows_read": summary.rows_read,
                "rows_rejected": summary.rows_rejected,
            },
        )
        if run.duplicate:
            metrics.add_metric(name="DuplicateNotifications", unit=MetricUnit.Count, value=1)
        else:
            metrics.add_metric(name="RowsProcessed", unit=MetricUnit.Count, value=summary.rows_read)
            metrics.add_metric(name="RowsAccepted", unit=MetricUnit.Count, value=summary.rows_accepted)
            metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=summary.rows_rejected)
            name = "BatchesProcessed" if summary.status == "processed" else "BatchesRejected"
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        results.append({"manifest_key": key, **run.as_json()})
    return {"batches": results}


def _start_large_snapshot(
    location: BatchLocation, source: PartSource, batch: BatchRef
) -> dict[str, Any] | None:
    """A videos snapshot larger than one invocation takes runs on VideosSnapshotMachine, under an
    execution name derived from the notification: a re-delivery starts nothing new."""
    large = large_snapshots()
    if location.dataset != "videos" or large is None:
        return None
    try:
        rows = manifest_rows(source.read_manifest(location), location)
    except BatchError:
        return None  # the batch run reports a missing or unreadable manifest
    if rows is None or rows <= large.threshold_rows:
        return None
    fresh = large.machine.start(batch.execution_name, {"batch": batch.model_dump()})
    logger.info("large snapshot started", extra={"manifest_key": batch.manifest_key, "duplicate": not fresh})
    metrics.add_metric(
        name="DuplicateNotifications" if not fresh else "LargeSnapshotsStarted",
        unit=MetricUnit.Count,
        value=1,
    )
    return {
        "manifest_key": batch.manifest_key,
        "status": "started",
        "execution": batch.execution_name,
        "duplicate": not fresh,
    }
