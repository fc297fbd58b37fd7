"""Per-market markers: the latest snapshot applied per dataset (`MARKET#<market>` / `<KIND>`) and
the last month closed by a payout run (`MARKET#<market>` / `CLOSED`). The creators marker also
records the market's eligibility shard count (`pulse.aws.shard_counts`), written before the first
snapshot's records, so it may exist before any snapshot is applied."""

from __future__ import annotations

from typing import Literal

from botocore.exceptions import ClientError

from pulse.aws import clients

Kind = Literal["CREATORS", "VIDEOS"]


def marker_key(market: str, kind: Kind) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"MARKET#{market}"}, "sk": {"S": kind}}


def latest_snapshot(table: str, market: str, kind: Kind) -> str | None:
    item = (
        clients.dynamodb()
        .get_item(TableName=table, Key=marker_key(market, kind), ConsistentRead=True)
        .get("Item", {})
    )
    return item.get("latest_snapshot", {}).get("S")


def advance_snapshot(table: str, market: str, kind: Kind, snapshot: str) -> None:
    """Record `snapshot` as the latest unless a later one is recorded already (never backwards)."""
    try:
        clients.dynamodb().update_item(
            TableName=table,
            Key=marker_key(market, kind),
            UpdateExpression="SET latest_snapshot = :s",
            ConditionExpression="attribute_not_exists(latest_snapshot) OR latest_snapshot <= :s",
            ExpressionAttributeValues={":s": {"S": snapshot}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def closed_key(market: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"MARKET#{market}"}, "sk": {"S": "CLOSED"}}


def last_closed(table: str, market: str) -> str | None:
    item = (
        clients.dynamodb().get_item(TableName=table, Key=closed_key(market), ConsistentRead=True).get("Item")
    )
    return item["last_closed"]["S"] if item else None
