"""A state machine of the stack (Step Functions Standard), as a function starts its executions and
finds them by name: PayoutFunction's PayoutMachine, VideosIngestFunction's VideosSnapshotMachine."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.money.large_month_end import Execution


class StepFunctionsMachine:
    def __init__(self, state_machine_arn: str) -> None:
        self._arn = state_machine_arn

    def _execution_arn(self, name: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def start(self, name: str, request: dict[str, Any]) -> bool:
        """False when an execution of that name has ended already (Step Functions answers a
        running one's start with that same execution, so that is True)."""
        try:
            clients.stepfunctions().start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(request, separators=(",", ":"))
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def execution(self, name: str) -> Execution:
        described = clients.stepfunctions().describe_execution(executionArn=self._execution_arn(name))
        output = described.get("output")
        return Execution(described["status"], json.loads(output) if output else None)
