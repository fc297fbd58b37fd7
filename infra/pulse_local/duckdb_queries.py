"""The state machines' query engine on the local stack: DuckDB runs the very SQL text that
Athena runs on AWS (`pulse.lists.ranking_sql`), over the same objects, and the calls Athena's
caller makes go to moto as they would go to AWS.

moto's Athena records a query and executes nothing, and DuckDB cannot reach moto's S3 by itself
(its httpfs extension is downloaded, and this machine has no network). So this stand-in does what
Athena does around the SQL, as the calling function: it starts the UNLOAD on moto's Athena in the
stack's work group, reads the tables the query names from moto's Glue catalog (created from
template.yaml), makes each a DuckDB view of the same name and columns over the partition's objects
(copied from moto's S3 to a local folder), runs the SELECT, and writes the rows where UNLOAD would
(gzip JSON Lines under the output prefix). A query runs to its end in `start`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from pulse.aws import clients


def _tables_read(sql: str) -> list[str]:
    """The catalog tables a query reads (Athena looks up each in Glue), its own CTEs aside."""
    tree = sqlglot.parse_one(sql, read="athena")
    ctes = {cte.alias for cte in tree.find_all(sqlglot.exp.CTE)}
    return sorted({table.name for table in tree.find_all(sqlglot.exp.Table) if table.name not in ctes})


_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "boolean": "BOOLEAN"}


class DuckDBQueries:
    """Built like `pulse.aws.athena_queries.AthenaQueries` (bootstrap.use_query_engine)."""

    def __init__(self, workgroup: str, database: str, bucket: str) -> None:
        self._workgroup = workgroup
        self._database = database
        self._bucket = bucket
        self._failed: dict[str, str] = {}

    def start(self, sql: str, output_prefix: str, partition: dict[str, str]) -> str:
        athena: Any = clients.athena()
        started = athena.start_query_execution(
            QueryString=f"UNLOAD ({sql})\nTO 's3://{self._bucket}/{output_prefix}'\n"
            "WITH (format = 'JSON', compression = 'GZIP')",
            QueryExecutionContext={"Database": self._database},
            WorkGroup=self._workgroup,
        )
        query_id = str(started["QueryExecutionId"])
        try:
            self._run(query_id, sql, output_prefix, partition)
        except duckdb.Error as problem:
            self._failed[query_id] = f"FAILED {problem}"
        return query_id

    def state(self, query_id: str) -> str:
        clients.athena().get_query_execution(QueryExecutionId=query_id)
        return self._failed.get(query_id, "SUCCEEDED")

    def _run(self, query_id: str, sql: str, output_prefix: str, partition: dict[str, str]) -> None:
        s3: Any = clients.s3()
        glue: Any = clients.session().client("glue")
        glue.get_database(Name=self._database)
        s3.get_bucket_location(Bucket=self._bucket)  # Athena checks where its output goes
        with tempfile.TemporaryDirectory(prefix="pulse-duckdb-") as tmp, duckdb.connect() as db:
            db.execute(f'CREATE SCHEMA "{self._database}"')
            for name in _tables_read(sql):
                db.execute(self._view(s3, glue, name, partition, Path(tmp)))
            out = Path(tmp, "result.json.gz")
            db.execute(f"COPY ({sql}) TO '{out}' (FORMAT JSON, COMPRESSION GZIP)")
            key = f"{output_prefix}000000.json.gz"
            s3.upload_file(str(out), self._bucket, key)
        # UNLOAD's manifest, in the work group's output location: the files the query wrote.
        s3.put_object(
            Bucket=self._bucket, Key=f"athena/{query_id}-manifest.csv", Body=f"s3://{self._bucket}/{key}\n"
        )

    def _view(self, s3: Any, glue: Any, name: str, partition: dict[str, str], tmp: Path) -> str:
        """The table as a view over its partition's objects, copied here (Athena's projection)."""
        table = glue.get_table(DatabaseName=self._database, Name=name)["Table"]
        keys = [key["Name"] for key in table.get("PartitionKeys", [])]
        bucket, _, prefix = table["StorageDescriptor"]["Location"].removeprefix("s3://").partition("/")
        prefix += "".join(f"{key}={partition[key]}/" for key in keys)
        folder = tmp / name
        folder.mkdir()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                s3.download_file(bucket, entry["Key"], str(folder / entry["Key"].rsplit("/", 1)[-1]))
        columns = ", ".join(
            f"'{c['Name']}': '{_TYPES[c['Type']]}'" for c in table["StorageDescriptor"]["Columns"]
        )
        constants = "".join(f", '{partition[key]}' AS {key}" for key in keys)
        return (
            f'CREATE VIEW "{self._database}"."{name}" AS SELECT *{constants} '  # noqa: S608  # nosec B608
            f"FROM read_json('{folder}/*', format = 'newline_delimited', columns = {{{columns}}})"
        )
