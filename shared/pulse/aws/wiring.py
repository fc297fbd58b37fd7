"""The real adapters behind each use case, built once per container from the function's settings."""

from __future__ import annotations

import datetime as dt
from functools import cache

from pulse.aws import clients
from pulse.aws.batch_claims import DynamoClaimStore
from pulse.aws.eligibility_table import DynamoEligibilityStore
from pulse.aws.event_bus import EventBridgePublisher
from pulse.aws.rosters import S3RosterStore
from pulse.aws.s3_batches import S3PartSource, S3ReportSink
from pulse.batch_runs import IngestContext
from pulse.creators import CreatorsApplier
from pulse.rules import load_rules
from pulse.settings import IngestSettings, ingest_settings
from pulse.settings import reset as reset_settings


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@cache
def ingest_context(ingest_bucket: str) -> IngestContext:
    settings: IngestSettings = ingest_settings()
    rules = load_rules()
    events = EventBridgePublisher(settings.event_bus_name)
    return IngestContext(
        source=S3PartSource(ingest_bucket),
        sink=S3ReportSink(settings.reports_bucket),
        events=events,
        claims=DynamoClaimStore(settings.state_table),
        rules=rules,
        appliers={
            "creators": CreatorsApplier(
                DynamoEligibilityStore(settings.state_table), S3RosterStore(settings.reports_bucket), events, rules
            )
        },
        now=_utcnow,
        workdir=settings.workdir,
    )


def reset() -> None:
    """Forget settings, clients and adapters (tests and the local stack start fresh backends)."""
    ingest_context.cache_clear()
    reset_settings()
    clients.reset()
