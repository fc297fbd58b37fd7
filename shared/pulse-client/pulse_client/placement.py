"""The answer to "may an ad follow this video, and which?": what the client hands the ad server,
whether it came from a held snapshot or from the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["snapshot", "http"]


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign the API offers for a placement, in the API's order (highest priority first)."""

    campaign_id: str
    advertiser: str
    priority: int


@dataclass(frozen=True, slots=True)
class Placement:
    """One video's placement in one market, as of one list version.

    Every field but `campaigns` and `source` is what the HTTP API answers for the same video and
    list version, whichever the source. Campaigns change independently of list versions and are not
    in snapshots: an answer from a snapshot has `campaigns=None` ("not known here"); an answer over
    HTTP carries the tuple the API sent (empty for a video that is not placeable).
    """

    video_id: str
    market: str
    placeable: bool
    list_version: str | None
    category: str | None
    iab_categories: tuple[str, ...]
    rank: int | None
    creator_id: str | None
    campaigns: tuple[Campaign, ...] | None
    source: Source
