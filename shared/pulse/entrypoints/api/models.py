"""Request and response bodies of the HTTP API (spec §4): one pydantic model each, which is what
the OpenAPI document is generated from."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pulse.campaigns.campaign import OfferedCampaign
from pulse.core.types import Id, MarketCode

VideoId = Id


class ErrorBody(BaseModel):
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]  # snake_case
    message: Annotated[str, StringConstraints(min_length=1)]


class ErrorResponse(BaseModel):
    error: ErrorBody


class PlacementResponse(BaseModel):
    video_id: str
    market: str
    placeable: bool
    list_version: str | None
    category: str | None
    iab_categories: list[str]
    rank: int | None
    creator_id: str | None
    campaigns: list[OfferedCampaign]


class SnapshotResponse(BaseModel):
    """Spec §8.1: the market's current list version as one object, and a short-lived link to it."""

    market: str
    list_version: str
    entries: int
    bytes: int
    sha256: str
    url: str
    expires_in: int


class DocumentResponse(BaseModel):
    """A statement's document (the statement itemised, with the payout explained), as a
    short-lived link to it."""

    creator_id: str
    market: str
    month: str
    url: str
    expires_in: int


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    market: MarketCode
    video_ids: list[VideoId] = Field(min_length=1, max_length=100)


class BatchResponse(BaseModel):
    market: str
    list_version: str | None
    results: list[PlacementResponse]


class TopListEntry(BaseModel):
    rank: int
    video_id: str
    creator_id: str
    score: int


class TopListResponse(BaseModel):
    market: str
    category: str
    list_version: str | None
    entries: list[TopListEntry]
    next_cursor: str | None


class ReasonBody(BaseModel):
    code: str
    required: Any
    actual: Any


class CreatorResponse(BaseModel):
    creator_id: str
    market: str
    status: str
    reasons: list[ReasonBody]
    as_of: str
    rules_version: str


class CampaignResponse(BaseModel):
    campaign_id: str
    advertiser: str
    markets: list[str]
    categories: list[str]
    start: str
    end: str
    priority: int
    status: str
    updated_at: str
