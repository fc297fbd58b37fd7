"""The latest snapshot applied per market and dataset: `pk = MARKET#<market>, sk = <KIND>`."""

from __future__ import annotations

from typing import Literal

from botocore.exceptions import ClientError

from pulse.aws import clients

Kind = Literal["CREATORS", "VIDEOS"]


def _key(market: str, kind: Kind) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"MARKET#{market}"}, "sk": {"S": kind}}


def latest_snapshot(table: str, market: str, kind: Kind) -> str | None:
    item = (
        clients.dynamodb().get_item(TableName=table, Key=_key(market, kind), ConsistentRead=True).get("Item")
    )
    return item["latest_snapshot"]["S"] if item else None


def advance_snapshot(table: str, market: str, kind: Kind, snapshot: str) -> None:
    """Record `snapshot` as the latest unless a later one is recorded already (never backwards)."""
    try:
        clients.dynamodb().update_item(
            TableName=table,
            Key=_key(market, kind),
            UpdateExpression="SET latest_snapshot = :s",
            ConditionExpression="attribute_not_exists(latest_snapshot) OR latest_snapshot <= :s",
            ExpressionAttributeValues={":s": {"S": snapshot}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
