"""Athena as the state machines' query engine: a SELECT over the work tables, its rows written by
UNLOAD as gzip JSON Lines under a prefix of WorkBucket, in the stack's work group (which sets
where Athena keeps its own results)."""

from __future__ import annotations

from pulse.aws import clients


class AthenaQueries:
    def __init__(self, workgroup: str, database: str, bucket: str) -> None:
        self._workgroup = workgroup
        self._database = database
        self._bucket = bucket

    def start(self, sql: str, output_prefix: str, partition: dict[str, str]) -> str:
        # The table's partitions are projected (`injected`): the SQL's own WHERE names the run.
        unload = (
            f"UNLOAD ({sql})\nTO 's3://{self._bucket}/{output_prefix}'\n"
            "WITH (format = 'JSON', compression = 'GZIP')"
        )
        started = clients.athena().start_query_execution(
            QueryString=unload,
            QueryExecutionContext={"Database": self._database},
            WorkGroup=self._workgroup,
        )
        return str(started["QueryExecutionId"])

    def state(self, query_id: str) -> str:
        status = clients.athena().get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        state = status["State"]
        if state in ("QUEUED", "RUNNING"):
            return "RUNNING"
        if state == "SUCCEEDED":
            return "SUCCEEDED"
        return f"FAILED {state}: {status.get('StateChangeReason', '')}"
