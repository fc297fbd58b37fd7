"""The composition root: every adapter of every function is built here, and only here.

Each function's entrypoint asks for what it runs (`ingest_context`, `list_publication`,
`month_end`, `api_services`); each is built once per container from that function's settings
(the environment the template sets) and cached. Adapters, and botocore with them, are imported on
first use, not at cold import. Tests and the local stack swap the clock with `use_clock` and
forget every built object with one `reset()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from pulse.core.clock import Clock, system_clock
from pulse.core.rules import Rules, load_rules
from pulse.settings import api_settings, payout_machine_settings, pipeline_settings
from pulse.settings import reset as reset_settings

if TYPE_CHECKING:
    from pulse.aws.campaign_table import DynamoCampaignStore
    from pulse.aws.eligibility_table import DynamoEligibilityStore
    from pulse.aws.list_table import DynamoListStore
    from pulse.aws.payout_table import DynamoPayoutStore
    from pulse.aws.placement_objects import S3PlacementObjects
    from pulse.ingest.batch_run import IngestContext
    from pulse.lists.lookups import PlacementLookups
    from pulse.lists.videos_snapshot import ListPublisher, RankingStore
    from pulse.money.large_month_end import LargeMonthEnd, PayoutMachine
    from pulse.money.month_end import MonthEnd

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
    from pulse.aws.batch_claims import DynamoClaimStore  # noqa: PLC0415
    from pulse.aws.event_bus import EventBridgePublisher  # noqa: PLC0415
    from pulse.aws.payout_table import DynamoPayoutStore, S3PayoutReports  # noqa: PLC0415
    from pulse.money.month_end import MonthEnd  # noqa: PLC0415

    settings = pipeline_settings()
    return MonthEnd(
        store=DynamoPayoutStore(settings.state_table, new_month_shards=settings.statement_shards),
        claims=DynamoClaimStore(settings.state_table, _clock),
        reports=S3PayoutReports(settings.reports_bucket),
        events=EventBridgePublisher(settings.event_bus_name),
        rules=load_rules(),
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
    from pulse.aws.payout_machine import StepFunctionsPayoutMachine  # noqa: PLC0415

    settings = pipeline_settings()
    if not settings.payout_machine:
        return None
    return LargeMonthEnds(StepFunctionsPayoutMachine(settings.payout_machine), settings.distributed_creators)


@cache
def large_month_end() -> LargeMonthEnd:
    """The PayoutMachine's steps: the month end's adapters and the work location."""
    from pulse.aws.batch_claims import DynamoClaimStore  # noqa: PLC0415
    from pulse.aws.event_bus import EventBridgePublisher  # noqa: PLC0415
    from pulse.aws.payout_table import DynamoPayoutStore, S3PayoutReports  # noqa: PLC0415
    from pulse.aws.payout_work import S3RangeWork  # noqa: PLC0415
    from pulse.money.large_month_end import LargeMonthEnd  # noqa: PLC0415
    from pulse.money.month_end import MonthEnd  # noqa: PLC0415

    settings = payout_machine_settings()
    return LargeMonthEnd(
        MonthEnd(
            store=DynamoPayoutStore(settings.state_table),
            claims=DynamoClaimStore(settings.state_table, _clock),
            reports=S3PayoutReports(settings.reports_bucket),
            events=EventBridgePublisher(settings.event_bus_name),
            rules=load_rules(),
            workdir=settings.workdir,
        ),
        S3RangeWork(settings.work_bucket),
        range_creators=settings.range_creators,
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
    snapshots: S3PlacementObjects
    snapshot_link_seconds: int
    overloaded: Callable[[BaseException], bool]  # a dependency's failure that deserves a 503


@cache
def api_services() -> ApiServices:
    # Built on the first request, not at cold import (the routes import nothing of AWS).
    from pulse.aws.campaign_table import DynamoCampaignStore  # noqa: PLC0415
    from pulse.aws.eligibility_table import DynamoEligibilityStore  # noqa: PLC0415
    from pulse.aws.list_table import DynamoListStore  # noqa: PLC0415
    from pulse.aws.overload import is_overloaded  # noqa: PLC0415
    from pulse.aws.payout_table import DynamoPayoutStore  # noqa: PLC0415
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
        snapshots=objects,
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
        api_services,
    ):
        built.cache_clear()
    reset_settings()
    clients.reset()
