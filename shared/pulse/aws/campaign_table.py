"""Campaigns in the state table.

- `CAMPAIGN#<id>` / `C`: the campaign (GET and PUT by id);
- `CAMPAIGNS#<market>` / `<id>`: a copy per market it runs in, so a lookup reads a market's
  campaigns with one Query (then caches them).
A PUT writes the campaign and its market copies, and deletes the copies of markets it left, in
one transaction, conditioned on the revision it read: concurrent PUTs of one campaign cannot leave
copies that disagree.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.aws.dynamo import query_all
from pulse.campaigns.campaign import Campaign, CampaignSpec
from pulse.core.clock import Clock, stamp, system_clock

_ATTEMPTS = 3


class CampaignConflict(RuntimeError):
    """The campaign kept changing under this PUT."""


def _primary(campaign_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CAMPAIGN#{campaign_id}"}, "sk": {"S": "C"}}


def _copy(market: str, campaign_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CAMPAIGNS#{market}"}, "sk": {"S": campaign_id}}


class DynamoCampaignStore:
    def __init__(self, table: str, clock: Clock = system_clock) -> None:
        self._table = table
        self._clock = clock

    def get(self, campaign_id: str) -> Campaign | None:
        item = (
            clients.dynamodb()
            .get_item(TableName=self._table, Key=_primary(campaign_id), ConsistentRead=True)
            .get("Item")
        )
        return Campaign.model_validate_json(item["doc"]["S"]) if item else None

    def put(self, campaign_id: str, spec: CampaignSpec) -> Campaign:
        for _ in range(_ATTEMPTS):
            item = (
                clients.dynamodb()
                .get_item(TableName=self._table, Key=_primary(campaign_id), ConsistentRead=True)
                .get("Item")
            )
            revision = int(item["rev"]["N"]) if item else 0
            old_markets = set(Campaign.model_validate_json(item["doc"]["S"]).markets) if item else set()
            campaign = Campaign(
                **spec.model_dump(),
                campaign_id=campaign_id,
                updated_at=stamp(self._clock),
            )
            doc = {"S": campaign.model_dump_json()}
            writes: list[Any] = [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**_primary(campaign_id), "doc": doc, "rev": {"N": str(revision + 1)}},
                        "ConditionExpression": "attribute_not_exists(pk) OR rev = :rev",
                        "ExpressionAttributeValues": {":rev": {"N": str(revision)}},
                    }
                }
            ]
            writes += [
                {"Put": {"TableName": self._table, "Item": {**_copy(m, campaign_id), "doc": doc}}}
                for m in campaign.markets
            ]
            writes += [
                {"Delete": {"TableName": self._table, "Key": _copy(m, campaign_id)}}
                for m in sorted(old_markets - set(campaign.markets))
            ]
            try:
                clients.dynamodb().transact_write_items(TransactItems=writes)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                continue
            return campaign
        raise CampaignConflict(f"campaign {campaign_id} changed {_ATTEMPTS} times during one PUT")

    def in_market(self, market: str) -> list[Campaign]:
        items = query_all(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"CAMPAIGNS#{market}"}},
        )
        return [Campaign.model_validate_json(item["doc"]["S"]) for item in items]
