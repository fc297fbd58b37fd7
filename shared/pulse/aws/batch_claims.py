"""Batch claims in the state table: `pk = BATCH#<batch folder>, sk = CLAIM` (see batch_runs)."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.batch_runs import BatchInProgress
from pulse.manifest import BatchLocation

# Claims are the audit trail of what was ingested; they outlive any replay window by far.
_CLAIM_TTL_SECONDS = 400 * 86_400


def _key(location: BatchLocation) -> dict[str, Any]:
    return {"pk": {"S": f"BATCH#{location.folder}"}, "sk": {"S": "CLAIM"}}


class DynamoClaimStore:
    def __init__(self, table: str) -> None:
        self._table = table

    def claim(self, location: BatchLocation, token: str, lease_seconds: int) -> dict[str, Any] | None:
        now = int(time.time())
        try:
            clients.dynamodb().put_item(
                TableName=self._table,
                Item={
                    **_key(location),
                    "token": {"S": token},
                    "state": {"S": "in_progress"},
                    "lease_until": {"N": str(now + lease_seconds)},
                    "claimed_at": {"N": str(now)},
                    "expires_at": {"N": str(now + _CLAIM_TTL_SECONDS)},
                },
                # Free, or completed by another upload, or held by a run whose lease ran out (it crashed).
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#st = :done AND #tk <> :tk) OR lease_until < :now"
                ),
                ExpressionAttributeNames={"#st": "state", "#tk": "token"},
                ExpressionAttributeValues={
                    ":done": {"S": "done"},
                    ":tk": {"S": token},
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        else:
            return None
        item = (
            clients.dynamodb()
            .get_item(TableName=self._table, Key=_key(location), ConsistentRead=True)
            .get("Item", {})
        )
        if item.get("state", {}).get("S") == "done" and item.get("token", {}).get("S") == token:
            return json.loads(item["summary"]["S"])  # type: ignore[no-any-return]
        raise BatchInProgress(f"{location.folder} is being processed by another invocation")

    def complete(self, location: BatchLocation, token: str, summary: dict[str, Any]) -> None:
        clients.dynamodb().update_item(
            TableName=self._table,
            Key=_key(location),
            UpdateExpression="SET #st = :done, summary = :s, completed_at = :now REMOVE lease_until",
            ConditionExpression="#tk = :tk",
            ExpressionAttributeNames={"#st": "state", "#tk": "token"},
            ExpressionAttributeValues={
                ":done": {"S": "done"},
                ":s": {"S": json.dumps(summary, separators=(",", ":"))},
                ":now": {"N": str(int(time.time()))},
                ":tk": {"S": token},
            },
        )

    def release(self, location: BatchLocation, token: str) -> None:
        try:
            clients.dynamodb().delete_item(
                TableName=self._table,
                Key=_key(location),
                ConditionExpression="#tk = :tk AND #st = :ip",
                ExpressionAttributeNames={"#tk": "token", "#st": "state"},
                ExpressionAttributeValues={":tk": {"S": token}, ":ip": {"S": "in_progress"}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
