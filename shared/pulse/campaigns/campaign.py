"""Campaigns (spec §4): what advertisers buy, and which of them run after a listed video.

A campaign is active on a day when its status is active and start <= day <= end (UTC dates);
a lookup offers the active campaigns of the video's market and category, priority descending
then campaign_id ascending, at most 10.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from pulse.core.clock import Clock, stamp
from pulse.core.types import DATE_PATTERN, CategorySlug, MarketCode

MAX_OFFERED = 10


def _calendar_day(value: Any) -> Any:
    """A date is written YYYY-MM-DD: not a timestamp, not a datetime that happens to be midnight."""
    if isinstance(value, str) and not DATE_PATTERN.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    if not isinstance(value, str | dt.date) or isinstance(value, dt.datetime):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


CalendarDay = Annotated[dt.date, BeforeValidator(_calendar_day)]


class CampaignSpec(BaseModel):
    """The body of `PUT /v1/campaigns/{campaign_id}`: every field required, nothing else accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Printable text: no control characters reach the ad server's logs or screens.
    advertiser: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=200, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]+$"
        ),
    ]
    markets: list[MarketCode] = Field(min_length=1, max_length=50)
    categories: list[CategorySlug] = Field(min_length=1, max_length=50)
    start: CalendarDay
    end: CalendarDay
    priority: StrictInt = Field(ge=0, le=100)  # not true, "50" or 50.0
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


@dataclass(frozen=True, slots=True)
class StoredCampaign:
    """A campaign as stored, with the revision its next write must find (0: none stored yet)."""

    campaign: Campaign | None
    revision: int


class CampaignStore(Protocol):
    def get(self, campaign_id: str) -> Campaign | None: ...

    def read(self, campaign_id: str) -> StoredCampaign: ...

    def write(self, campaign: Campaign, replacing: StoredCampaign) -> bool:
        """Store `campaign` if `replacing` is still what is stored; False if it changed meanwhile."""
        ...

    def in_market(self, market: str) -> list[Campaign]: ...


class CampaignConflict(RuntimeError):
    """The campaign kept changing under this PUT."""


PUT_ATTEMPTS = 3


def put_campaign(store: CampaignStore, campaign_id: str, spec: CampaignSpec, clock: Clock) -> Campaign:
    """`PUT /v1/campaigns/{id}`: each write is conditioned on the revision it read, so concurrent
    PUTs of one campaign cannot leave it and its market copies disagreeing; a PUT that lost the
    race reads again and retries, a few times."""
    for _ in range(PUT_ATTEMPTS):
        stored = store.read(campaign_id)
        campaign = Campaign(**spec.model_dump(), campaign_id=campaign_id, updated_at=stamp(clock))
        if store.write(campaign, replacing=stored):
            return campaign
    raise CampaignConflict(f"campaign {campaign_id} changed {PUT_ATTEMPTS} times during one PUT")
