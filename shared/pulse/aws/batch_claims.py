"""Run claims in the state table: `pk = <run id>, sk = CLAIM` (see pulse.core.runs): `BATCH#<folder>`
for a batch, `PAYOUT#<market>#<month>` for a month end."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.core.clock import Clock, epoch_seconds, system_clock
from pulse.core.runs import RunInProgress

# Claims are the audit trail of what was ingested; they outlive any replay window by far.
_CLAIM_TTL_SECONDS = 400 * 86_400


def _key(run_id: str) -> dict[str, Any]:
    return {"pk": {"S": run_id}, "sk": {"S": "CLAIM"}}


class DynamoClaimStore:
    def __init__(self, table: str, clock: Clock = system_clock) -> None:
        self._table = table
        self._clock = clock

    def claim(self, run_id: str, token: str, lease_seconds: int, attempt: str = "") -> dict[str, Any] | None:
        now = epoch_seconds(self._clock)
        # Free, or completed by another upload, or held by a run whose lease ran out (it crashed).
        condition = "attribute_not_exists(pk) OR (#st = :done AND #tk <> :tk) OR lease_until < :now"
        values: dict[str, Any] = {":done": {"S": "done"}, ":tk": {"S": token}, ":now": {"N": str(now)}}
        if attempt:
            # ... or held by an earlier attempt of this invocation, which Lambda retries only once
            # that attempt has ended: the retry takes over without waiting out the lease.
            condition += " OR (#st = :ip AND #tk = :tk AND attempt = :at)"
            values |= {":ip": {"S": "in_progress"}, ":at": {"S": attempt}}
        try:
            clients.dynamodb().put_item(
                TableName=self._table,
                Item={
                    **_key(run_id),
                    "token": {"S": token},
                    "state": {"S": "in_progress"},
                    "attempt": {"S": attempt},
                    "lease_until": {"N": str(now + lease_seconds)},
                    "claimed_at": {"N": str(now)},
                    "expires_at": {"N": str(now + _CLAIM_TTL_SECONDS)},
                },
                ConditionExpression=condition,
                ExpressionAttributeNames={"#st": "state", "#tk": "token"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        else:
            return None
        item = (
            clients.dynamodb()
            .get_item(TableName=self._table, Key=_key(run_id), ConsistentRead=True)
            .get("Item", {})
        )
        if item.get("state", {}).get("S") == "done" and item.get("token", {}).get("S") == token:
            return json.loads(item["summary"]["S"])  # type: ignore[no-any-return]
        raise RunInProgress(f"{run_id} is being run by another invocation")

    def complete(self, run_id: str, token: str, summary: dict[str, Any]) -> None:
        clients.dynamodb().update_item(
            TableName=self._table,
            Key=_key(run_id),
            UpdateExpression="SET #st = :done, summary = :s, completed_at = :now REMOVE lease_until",
            ConditionExpression="#tk = :tk",
            ExpressionAttributeNames={"#st": "state", "#tk": "token"},
            ExpressionAttributeValues={
                ":done": {"S": "done"},
                ":s": {"S": json.dumps(summary, separators=(",", ":"))},
                ":now": {"N": str(epoch_seconds(self._clock))},
                ":tk": {"S": token},
            },
        )

    def release(self, run_id: str, token: str, attempt: str = "") -> None:
        condition = "#tk = :tk AND #st = :ip"
        values: dict[str, Any] = {":tk": {"S": token}, ":ip": {"S": "in_progress"}}
        if attempt:
            condition += " AND attempt = :at"
            values[":at"] = {"S": attempt}
        try:
            clients.dynamodb().delete_item(
                TableName=self._table,
                Key=_key(run_id),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#tk": "token", "#st": "state"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
