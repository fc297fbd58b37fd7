"""A campaign PUT, on an in-memory store: each write finds the revision it read, or reads again."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse.campaigns.campaign import (
    PUT_ATTEMPTS,
    Campaign,
    CampaignConflict,
    CampaignSpec,
    StoredCampaign,
    put_campaign,
)
from pulse.core.clock import RunningClock
from tests.factories import TEST_NOW, campaign

CLOCK = RunningClock(TEST_NOW)


class MemoryCampaigns:
    def __init__(self, races: int = 0) -> None:
        self.stored = StoredCampaign(None, 0)
        self.races = races  # writes that another PUT beats, before this one's go through
        self.writes = 0

    def get(self, campaign_id: str) -> Campaign | None:
        return self.stored.campaign

    def read(self, campaign_id: str) -> StoredCampaign:
        return self.stored

    def write(self, campaign: Campaign, replacing: StoredCampaign) -> bool:
        self.writes += 1
        if self.races:
            self.races -= 1
            self.stored = StoredCampaign(self.stored.campaign, self.stored.revision + 1)
        if replacing != self.stored:
            return False
        self.stored = StoredCampaign(campaign, replacing.revision + 1)
        return True

    def in_market(self, market: str) -> list[Campaign]:
        return []


def test_a_put_stores_the_next_revision_stamped_by_the_clock() -> None:
    store = MemoryCampaigns()
    first = put_campaign(store, "cmp1", CampaignSpec.model_validate(campaign()), CLOCK)
    assert (store.stored.revision, first.campaign_id) == (1, "cmp1")
    assert dt.datetime.fromisoformat(first.updated_at) >= TEST_NOW
    put_campaign(store, "cmp1", CampaignSpec.model_validate(campaign(priority=7)), CLOCK)
    assert store.stored.revision == 2
    assert store.stored.campaign is not None
    assert store.stored.campaign.priority == 7


def test_a_put_that_loses_a_race_reads_again_and_wins() -> None:
    store = MemoryCampaigns(races=PUT_ATTEMPTS - 1)
    put_campaign(store, "cmp1", CampaignSpec.model_validate(campaign()), CLOCK)
    assert store.writes == PUT_ATTEMPTS


def test_a_campaign_that_keeps_changing_is_a_conflict() -> None:
    store = MemoryCampaigns(races=PUT_ATTEMPTS)
    with pytest.raises(CampaignConflict):
        put_campaign(store, "cmp1", CampaignSpec.model_validate(campaign()), CLOCK)
    assert store.stored.campaign is None
