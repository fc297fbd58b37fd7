"""What the API's routes call, built once per container from the function's settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from pulse.lookups import PlacementLookups
from pulse.rules import Rules, load_rules

if TYPE_CHECKING:
    from pulse.aws.campaign_table import DynamoCampaignStore
    from pulse.aws.eligibility_table import DynamoEligibilityStore
    from pulse.aws.list_table import DynamoListStore
    from pulse.aws.payout_table import DynamoPayoutStore


class ApiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    state_table: str = Field(alias="STATE_TABLE", min_length=1)
    cache_seconds: float = Field(default=10.0, alias="PULSE_LOOKUP_CACHE_SECONDS", ge=0, le=300)


@dataclass(frozen=True)
class ApiServices:
    rules: Rules
    lookups: PlacementLookups
    lists: DynamoListStore
    eligibility: DynamoEligibilityStore
    campaigns: DynamoCampaignStore
    payouts: DynamoPayoutStore


@cache
def api_services() -> ApiServices:
    # The adapters (and botocore with them) load on the first request, not at cold import.
    from pulse.aws.campaign_table import DynamoCampaignStore  # noqa: PLC0415
    from pulse.aws.eligibility_table import DynamoEligibilityStore  # noqa: PLC0415
    from pulse.aws.list_table import DynamoListStore  # noqa: PLC0415
    from pulse.aws.payout_table import DynamoPayoutStore  # noqa: PLC0415

    settings = ApiSettings.model_validate(dict(os.environ))
    rules = load_rules()
    lists = DynamoListStore(settings.state_table)
    campaigns = DynamoCampaignStore(settings.state_table)
    return ApiServices(
        rules=rules,
        lookups=PlacementLookups(lists, campaigns, rules, cache_seconds=settings.cache_seconds),
        lists=lists,
        eligibility=DynamoEligibilityStore(settings.state_table),
        campaigns=campaigns,
        payouts=DynamoPayoutStore(settings.state_table),
    )
