"""Publish ranked lists straight into a stack with every creator active: a benchmark's setup,
through the same publication code and stores as VideosIngestFunction."""

from __future__ import annotations

from collections.abc import Iterable

from pulse import bootstrap
from pulse.aws.event_bus import EventBridgePublisher
from pulse.aws.list_table import DynamoListStore
from pulse.aws.placement_objects import S3PlacementObjects
from pulse.core.rules import load_rules
from pulse.eligibility.evaluation import CurrentEligibility
from pulse.lists.publication import Publication, publish_lists
from pulse.lists.ranking import Ranked
from pulse_cli.template import Stack


class _EveryoneActive:
    def current(self, market: str, creator_ids: Iterable[str]) -> dict[str, CurrentEligibility]:
        return {c: CurrentEligibility(c, "active", "2026-11-27") for c in creator_ids}


def publish_all_active(stack: Stack, market: str, ranked: dict[str, list[Ranked]]) -> Publication:
    return publish_lists(
        market,
        "2026-11-27",
        ranked,
        eligibility=_EveryoneActive(),
        store=DynamoListStore(stack.name_of("StateTable")),
        objects=S3PlacementObjects(stack.name_of("ListsBucket")),
        events=EventBridgePublisher(stack.name_of("EventBus")),
        rules=load_rules(),
        now=bootstrap.clock()(),
    )
