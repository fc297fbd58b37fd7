"""The composition root: every adapter of every function is built here, and only here.

Each function's entrypoint asks for what it runs (`ingest_context`, `list_publication`,
`month_end`, `api_services`); each is built once per container from that function's settings
(the environment the template sets) and cached. Adapters, and botocore with them, are imported on
first use, not at cold import. Tests and the local stack swap the clock with `use_clock` and
forget every built object with one `reset()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from pulse.core.clock import Clock, system_clock
from pulse.core.rules import Rules, load_rules
from pulse.settings import api_settings, payout_machine_settings, pipeline_settings, videos_machine_settings
from pulse.settings import reset as reset_settings

if TYPE_CHECKING:
    from pulse.aws.campaign_table import DynamoCampaignStore
    from pulse.aws.eligibility_table import DynamoEligibilityStore
    from pulse.aws.ledger_table import DynamoLedgerStore
    from pulse.aws.list_table import DynamoListStore
    from pulse.aws.payout_table import DynamoPayoutStore, S3PayoutReports
    from pulse.aws.placement_objects import S3PlacementObjects
    from pulse.aws.state_machines import StepFunctionsMachine
    from pulse.ingest.batch_run import IngestContext
    from pulse.lists.lookups import PlacementLookups
    from pulse.lists.snapshot_machine import PartReader, QueryEngine, RankingQueries, SnapshotSteps
    from pulse.lists.videos_snapshot import ListPublisher, RankingStore
    from pulse.money.large_month_end import LargeMonthEnd, PayoutMachine
    from pulse.money.month_end import MonthEnd
    from pulse.settings import PayoutMachineSettings, PipelineSettings

_clock: Clock = system_clock


def clock() -> Clock:
    """The clock every use case and adapter reads the time from."""
    return _clock


def use_clock(new: Clock | None) -> None:
    """Run on `new` from now on (None: the system clock again); built objects are forgotten."""
    global _clock  # noqa: PLW0603  # the one process-wide setting of the composition root
    _clock = new or system_clock
    reset()


@dataclass(frozen=True)
class ListPublication:
    rules: Rules
    rankings: RankingStore
    publisher: ListPublisher


@cache
def list_publication() -> ListPublication:
    from pulse.aws.eligibility_table import DynamoEligibilityStore  # noqa: PLC0415
    from pulse.aws.event_bus import EventBridgePublisher  # noqa: PLC0415
    from pulse.aws.list_table import DynamoListStore  # noqa: PLC0415
    from pulse.aws.placement_objects import S3PlacementObjects  # noqa: PLC0415
    from pulse.aws.rankings import S3DynamoRankingStore  # noqa: PLC0415
    from pulse.lists.videos_snapshot import ListPublisher  # noqa: PLC0415

    settings = pipeline_settings()
    if not settings.lists_bucket:
        raise RuntimeError("LISTS_BUCKET is not set: this function cannot publish lists")
    rules = load_rules()
    publisher = ListPublisher(
        DynamoEligibilityStore(settings.state_table, _clock),
        DynamoListStore(settings.state_table),
        objects=S3PlacementObjects(settings.lists_bucket),
        events=EventBridgePublisher(settings.event_bus_name),
        rules=rules,
        now=_clock,
    )
    return ListPublication(
        rules, S3DynamoRankingStore(settings.reports_bucket, settings.state_table), publisher
    )


@cache
def ingest_context(ingest_bucket: str) -> IngestContext:
    from pulse.aws.batch_claims import DynamoClaimStore  # noqa: PLC0415
    from pulse.aws.eligibility_table import DynamoEligibilityStore  # noqa: PLC0415
    from pulse.aws.event_bus import EventBridgePublisher  # noqa: PLC0415
    from pulse.aws.ledger_table import DynamoLedgerStore  # noqa: PLC0415
    from pulse.aws.list_table import DynamoListStore  # noqa: PLC0415
    from pulse.aws.rosters import S3RosterStore  # noqa: PLC0415
    from pulse.aws.s3_batches import S3PartSource, S3ReportSink  # noqa: PLC0415
    from pulse.eligibility.creators_snapshot import CreatorsApplier  # noqa: PLC0415
    from pulse.ingest.batch_run import IngestContext  # noqa: PLC0415
    from pulse.lists.videos_snapshot import VideosApplier  # noqa: PLC0415
    from pulse.money.ledger import AdjustmentsApplier, RevenueApplier  # noqa: PLC0415

    settings = pipeline_settings()
    rules = load_rules()
    events = EventBridgePublisher(settings.event_bus_name)
    publication = list_publication()
    ledger = DynamoLedgerStore(settings.state_table, _clock)
    return IngestContext(
        source=S3PartSource(ingest_bucket),
        sink=S3ReportSink(settings.reports_bucket),
        events=events,
        claims=DynamoClaimStore(settings.state_table, _clock),
        rules=rules,
        appliers={
            "creators": CreatorsApplier(
                DynamoEligibilityStore(
                    settings.state_table, _clock, new_market_shards=settings.eligibility_shards
                ),
                S3RosterStore(settings.reports_bucket),
                events,
                rules,
            ),
            "videos": VideosApplier(publication.rankings, publication.publisher, rules),
            "revenue": RevenueApplier(DynamoListStore(settings.state_table), ledger),
            "adjustments": AdjustmentsApplier(ledger),
        },
        now=_clock,
        workdir=settings.workdir,
        read_workers=settings.read_workers,
    )


@cache
def month_end() -> MonthEnd:
    return _month_end_of(pipeline_settings())


def _month_end_of(settings: PipelineSettings | PayoutMachineSettings) -> MonthEnd:
    """The month end's adapters, for PayoutFunction and for PayoutMachine's steps alike."""
    from pulse.aws.batch_claims import DynamoClaimStore  # noqa: PLC0415
    from pulse.aws.event_bus import EventBridgePublisher  # noqa: PLC0415
    from pulse.aws.ledger_table import DynamoLedgerStore  # noqa: PLC0415
    from pulse.aws.payout_table import DynamoPayoutStore, S3PayoutReports  # noqa: PLC0415
    from pulse.money.month_end import MonthEnd  # noqa: PLC0415

    reports = S3PayoutReports(settings.reports_bucket)
    return MonthEnd(
        store=DynamoPayoutStore(settings.state_table, new_month_shards=settings.statement_shards),
        claims=DynamoClaimStore(settings.state_table, _clock),
        reports=reports,
        events=EventBridgePublisher(settings.event_bus_name),
        rules=load_rules(),
        lines=DynamoLedgerStore(settings.state_table),
        documents=reports,
        workdir=settings.workdir,
    )


@dataclass(frozen=True)
class LargeMonthEnds:
    """PayoutFunction's way to a large month: the state machine, above `creators` creators."""

    machine: PayoutMachine
    creators: int


@cache
def large_month_ends() -> LargeMonthEnds | None:
    """None when the function has no state machine (every month runs in the invocation)."""
    from pulse.aws.state_machines import StepFunctionsMachine  # noqa: PLC0415

    settings = pipeline_settings()
    if not settings.payout_machine:
        return None
    return LargeMonthEnds(StepFunctionsMachine(settings.payout_machine), settings.distributed_creators)


@cache
def large_month_end() -> LargeMonthEnd:
    """The PayoutMachine's steps: the month end's adapters and the work location."""
    from pulse.aws.payout_work import S3RangeWork  # noqa: PLC0415
    from pulse.money.large_month_end import LargeMonthEnd  # noqa: PLC0415

    settings = payout_machine_settings()
    return LargeMonthEnd(
        _month_end_of(settings), S3RangeWork(settings.work_bucket), range_creators=settings.range_creators
    )


# ---------------------------------------------------------------- VideosSnapshotMachine
QueryEngineType = Callable[[str, str, str], "QueryEngine"]  # (work group, database, bucket)
_query_engine: QueryEngineType | None = None


def use_query_engine(engine: QueryEngineType | None) -> None:
    """Run the state machines' SQL on `engine` (the local stack's DuckDB, built as Athena's
    adapter is) instead of Athena; None: Athena again."""
    global _query_engine  # noqa: PLW0603  # the local stack's one stand-in, set like the clock
    _query_engine = engine
    reset()


@dataclass(frozen=True)
class LargeSnapshots:
    machine: StepFunctionsMachine
    threshold_rows: int


def large_snapshots() -> LargeSnapshots | None:
    """None when VideosIngestFunction has no state machine (every snapshot runs in the invocation).
    Read from this invocation's environment: the four ingest functions share the ingest context's
    other settings, not these (and share a process on the local stack)."""
    from pulse.aws.state_machines import StepFunctionsMachine  # noqa: PLC0415
    from pulse.settings import PipelineSettings  # noqa: PLC0415

    settings = PipelineSettings.model_validate(dict(os.environ))
    if not settings.videos_machine:
        return None
    return LargeSnapshots(StepFunctionsMachine(settings.videos_machine), settings.distributed_video_rows)


@cache
def snapshot_parts() -> PartReader:
    from pulse.aws.s3_batches import S3PartSource  # noqa: PLC0415
    from pulse.aws.work_bucket import S3WorkStore  # noqa: PLC0415
    from pulse.lists.snapshot_machine import PartReader  # noqa: PLC0415

    settings = videos_machine_settings()
    return PartReader(
        S3PartSource(settings.ingest_bucket),
        S3WorkStore(settings.work_bucket),
        load_rules(),
        settings.workdir,
    )


@cache
def snapshot_ranking() -> RankingQueries:
    from pulse.aws.athena_queries import AthenaQueries  # noqa: PLC0415
    from pulse.aws.work_bucket import S3WorkStore  # noqa: PLC0415
    from pulse.lists.snapshot_machine import RankingQueries  # noqa: PLC0415

    settings = videos_machine_settings()
    engine = (_query_engine or AthenaQueries)(
        settings.athena_workgroup, settings.work_database, settings.work_bucket
    )
    return RankingQueries(
        S3WorkStore(settings.work_bucket),
        engine,
        settings.work_database,
        settings.videos_rows_table,
        load_rules(),
        poll_seconds=0 if _query_engine is not None else 10,
    )


@cache
def snapshot_steps() -> SnapshotSteps:
    from pulse.aws.batch_claims import DynamoClaimStore  # noqa: PLC0415
    from pulse.aws.list_table import DynamoListStore  # noqa: PLC0415
    from pulse.aws.s3_batches import S3PartSource, S3ReportSink  # noqa: PLC0415
    from pulse.aws.work_bucket import S3WorkStore  # noqa: PLC0415
    from pulse.lists.snapshot_machine import SnapshotSteps  # noqa: PLC0415

    settings = videos_machine_settings()
    publication = list_publication()
    return SnapshotSteps(
        source=S3PartSource(settings.ingest_bucket),
        work=S3WorkStore(settings.work_bucket),
        claims=DynamoClaimStore(settings.state_table, _clock),
        sink=S3ReportSink(settings.reports_bucket),
        events=publication.publisher.events,
        rankings=publication.rankings,
        publisher=publication.publisher,
        versions=DynamoListStore(settings.state_table),
        rules=publication.rules,
        now=_clock,
        workdir=settings.workdir,
    )


@dataclass(frozen=True)
class ApiServices:
    rules: Rules
    clock: Clock
    lookups: PlacementLookups
    lists: DynamoListStore
    eligibility: DynamoEligibilityStore
    campaigns: DynamoCampaignStore
    payouts: DynamoPayoutStore
    ledger: DynamoLedgerStore
    snapshots: S3PlacementObjects
    snapshot_link_seconds: int
    statement_documents: S3PayoutReports
    overloaded: Callable[[BaseException], bool]  # a dependency's failure that deserves a 503


@cache
def api_services() -> ApiServices:
    # Built on the first request, not at cold import (the routes import nothing of AWS).
    from pulse.aws.campaign_table import DynamoCampaignStore  # noqa: PLC0415
    from pulse.aws.eligibility_table import DynamoEligibilityStore  # noqa: PLC0415
    from pulse.aws.ledger_table import DynamoLedgerStore  # noqa: PLC0415
    from pulse.aws.list_table import DynamoListStore  # noqa: PLC0415
    from pulse.aws.overload import is_overloaded  # noqa: PLC0415
    from pulse.aws.payout_table import DynamoPayoutStore, S3PayoutReports  # noqa: PLC0415
    from pulse.aws.placement_objects import S3PlacementObjects  # noqa: PLC0415
    from pulse.lists.lookups import PlacementLookups  # noqa: PLC0415

    settings = api_settings()
    rules = load_rules()
    lists = DynamoListStore(settings.state_table)
    campaigns = DynamoCampaignStore(settings.state_table)
    objects = S3PlacementObjects(settings.lists_bucket)
    now = _clock
    return ApiServices(
        rules=rules,
        clock=now,
        lookups=PlacementLookups(
            lists,
            campaigns,
            rules,
            objects=objects,
            clock=now,
            cache_seconds=settings.cache_seconds,
            max_held_entries=settings.max_held_entries,
        ),
        lists=lists,
        eligibility=DynamoEligibilityStore(settings.state_table, _clock),
        campaigns=campaigns,
        payouts=DynamoPayoutStore(settings.state_table),
        ledger=DynamoLedgerStore(settings.state_table, _clock),
        snapshots=objects,
        statement_documents=S3PayoutReports(settings.reports_bucket),
        snapshot_link_seconds=settings.snapshot_link_seconds,
        overloaded=is_overloaded,
    )


def api_budget() -> Callable[[], None]:
    """AWS calls from this invocation on retry within the API's budget (3 attempts, short
    timeouts: a 503 within the function's timeout); the returned function restores the budget."""
    from pulse.aws import clients  # noqa: PLC0415  # light: no botocore at import

    token = clients.use_budget("api")
    return lambda: clients.restore_budget(token)


def reset() -> None:
    """Forget settings, clients and every built adapter (tests and the local stack start fresh
    backends); the clock stays as set."""
    from pulse.aws import clients  # noqa: PLC0415

    for built in (
        ingest_context,
        list_publication,
        month_end,
        large_month_ends,
        large_month_end,
        snapshot_parts,
        snapshot_ranking,
        snapshot_steps,
        api_services,
    ):
        built.cache_clear()
    reset_settings()
    clients.reset()
