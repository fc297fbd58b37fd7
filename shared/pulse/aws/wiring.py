"""The real adapters behind each use case, built once per container from the function's settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from pulse.aws import clients
from pulse.aws.batch_claims import DynamoClaimStore
from pulse.aws.eligibility_table import DynamoEligibilityStore
from pulse.aws.event_bus import EventBridgePublisher
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.aws.list_table import DynamoListStore
from pulse.aws.rankings import S3DynamoRankingStore
from pulse.aws.rosters import S3RosterStore
from pulse.aws.s3_batches import S3PartSource, S3ReportSink
from pulse.batch_runs import IngestContext
from pulse.creators import CreatorsApplier
from pulse.ledger import AdjustmentsApplier, RevenueApplier
from pulse.rules import Rules, load_rules
from pulse.settings import pipeline_settings
from pulse.settings import reset as reset_settings
from pulse.videos import ListPublisher, RankingStore, VideosApplier


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ListPublication:
    rules: Rules
    rankings: RankingStore
    publisher: ListPublisher


@cache
def list_publication() -> ListPublication:
    settings = pipeline_settings()
    rules = load_rules()
    publisher = ListPublisher(
        DynamoEligibilityStore(settings.state_table),
        DynamoListStore(settings.state_table),
        EventBridgePublisher(settings.event_bus_name),
        rules,
        _utcnow,
    )
    return ListPublication(
        rules, S3DynamoRankingStore(settings.reports_bucket, settings.state_table), publisher
    )


@cache
def ingest_context(ingest_bucket: str) -> IngestContext:
    settings = pipeline_settings()
    rules = load_rules()
    events = EventBridgePublisher(settings.event_bus_name)
    publication = list_publication()
    return IngestContext(
        source=S3PartSource(ingest_bucket),
        sink=S3ReportSink(settings.reports_bucket),
        events=events,
        claims=DynamoClaimStore(settings.state_table),
        rules=rules,
        appliers={
            "creators": CreatorsApplier(
                DynamoEligibilityStore(settings.state_table),
                S3RosterStore(settings.reports_bucket),
                events,
                rules,
            ),
            "videos": VideosApplier(publication.rankings, publication.publisher, rules, settings.workdir),
            "revenue": RevenueApplier(
                DynamoListStore(settings.state_table), DynamoLedgerStore(settings.state_table)
            ),
            "adjustments": AdjustmentsApplier(DynamoLedgerStore(settings.state_table)),
        },
        now=_utcnow,
        workdir=settings.workdir,
    )


def reset() -> None:
    """Forget settings, clients and adapters (tests and the local stack start fresh backends)."""
    ingest_context.cache_clear()
    list_publication.cache_clear()
    reset_settings()
    clients.reset()
