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
from pulse.campaigns.campaign import Campaign, StoredCampaign


def _primary(campaign_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CAMPAIGN#{campaign_id}"}, "sk": {"S": "C"}}


def _copy(market: str, campaign_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CAMPAIGNS#{market}"}, "sk": {"S": campaign_id}}


class DynamoCampaignStore:
    def __init__(self, table: str) -> None:
        self._table = table

    def get(self, campaign_id: str) -> Campaign | None:
        item = (
            clients.dynamodb()
            .get_item(TableName=self._table, Key=_primary(campaign_id), ConsistentRead=True)
            .get("Item")
        )
        return Campaign.model_validate_json(item["doc"]["S"]) if item else None

    def read(self, campaign_id: str) -> StoredCampaign:
        item = (
            clients.dynamodb()
            .get_item(TableName=self._table, Key=_primary(campaign_id), ConsistentRead=True)
            .get("Item")
        )
        if item is None:
            return StoredCampaign(None, 0)
        return StoredCampaign(Campaign.model_validate_json(item["doc"]["S"]), int(item["rev"]["N"]))

    def write(self, campaign: Campaign, replacing: StoredCampaign) -> bool:
        """The campaign and its market copies, and the removal of the copies of markets it left,
        in one transaction conditioned on the revision read."""
        campaign_id, revision = campaign.campaign_id, replacing.revision
        old_markets = set(replacing.campaign.markets) if replacing.campaign else set()
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
            return False
        return True

    def in_market(self, market: str) -> list[Campaign]:
        items = query_all(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"CAMPAIGNS#{market}"}},
        )
        return [Campaign.model_validate_json(item["doc"]["S"]) for item in items]
