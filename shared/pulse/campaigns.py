"""Campaigns (spec §4): what advertisers buy, and which of them run after a listed video.

A campaign is active on a day when its status is active and start <= day <= end (UTC dates);
a lookup offers the active campaigns of the video's market and category, priority descending
then campaign_id ascending, at most 10.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_OFFERED = 10


class CampaignSpec(BaseModel):
    """The body of `PUT /v1/campaigns/{campaign_id}`: every field required, nothing else accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    advertiser: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    markets: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]] = Field(
        min_length=1, max_length=50
    )
    categories: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        min_length=1, max_length=50
    )
    start: dt.date
    end: dt.date
    priority: int = Field(ge=0, le=100)
    status: Literal["active", "paused"]

    @model_validator(mode="after")
    def _dates_in_order(self) -> CampaignSpec:
        if self.end < self.start:
            raise ValueError("end must be on or after start")
        if len(set(self.markets)) != len(self.markets) or len(set(self.categories)) != len(self.categories):
            raise ValueError("markets and categories must not repeat")
        return self


class Campaign(CampaignSpec):
    campaign_id: str
    updated_at: str

    def active_on(self, day: dt.date) -> bool:
        return self.status == "active" and self.start <= day <= self.end


class OfferedCampaign(BaseModel):
    campaign_id: str
    advertiser: str
    priority: int


def offered(campaigns: Iterable[Campaign], market: str, category: str, day: dt.date) -> list[OfferedCampaign]:
    """The campaigns a lookup offers, in the order of §4, at most 10."""
    running = [c for c in campaigns if c.active_on(day) and market in c.markets and category in c.categories]
    running.sort(key=lambda c: (-c.priority, c.campaign_id))
    return [
        OfferedCampaign(campaign_id=c.campaign_id, advertiser=c.advertiser, priority=c.priority)
        for c in running[:MAX_OFFERED]
    ]
