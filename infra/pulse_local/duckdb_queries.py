"""The state machines' query engine on the local stack: DuckDB runs the very SQL text that
Athena runs on AWS (`pulse.lists.ranking_sql`), over the same objects.

moto's Athena executes nothing, and DuckDB cannot reach moto's S3 by itself (its httpfs extension
is downloaded, and this machine has no network), so this stand-in does what Athena does around the
SQL: the Glue table of template.yaml becomes a DuckDB view of the same name and columns over the
partition's objects (copied from moto's S3 to a local folder), and the result is written where
UNLOAD would write it (gzip JSON Lines under the output prefix). A query runs to its end in
`start`, so `state` answers SUCCEEDED at once.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import duckdb

from pulse.aws import clients
from pulse_cli.template import Stack

_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "boolean": "BOOLEAN"}


class DuckDBQueries:
    def __init__(self, stack: Stack, table_logical: str = "VideosRowsTable") -> None:
        props = stack.resolve(stack.resources[table_logical]["Properties"])
        table = props["TableInput"]
        self.database = str(props["DatabaseName"])
        self.table = str(table["Name"])
        location = str(table["StorageDescriptor"]["Location"]).removeprefix("s3://")
        self._bucket, _, self._prefix = location.partition("/")
        self._columns = {c["Name"]: _TYPES[c["Type"]] for c in table["StorageDescriptor"]["Columns"]}
        self._partition_keys = [key["Name"] for key in table["PartitionKeys"]]
        self._states: dict[str, str] = {}

    def start(self, sql: str, output_prefix: str, partition: dict[str, str]) -> str:
        query_id = uuid.uuid4().hex
        try:
            self._run(sql, output_prefix, partition)
        except duckdb.Error as problem:
            self._states[query_id] = f"FAILED {problem}"
        else:
            self._states[query_id] = "SUCCEEDED"
        return query_id

    def state(self, query_id: str) -> str:
        return self._states.get(query_id, "FAILED unknown query")

    def _run(self, sql: str, output_prefix: str, partition: dict[str, str]) -> None:
        s3: Any = clients.s3()
        folder = "/".join(f"{key}={partition[key]}" for key in self._partition_keys)
        prefix = f"{self._prefix}{folder}/"
        with tempfile.TemporaryDirectory(prefix="pulse-duckdb-") as tmp:
            rows = Path(tmp, "rows")
            rows.mkdir()
            paginator = s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    s3.download_file(self._bucket, entry["Key"], str(rows / entry["Key"].rsplit("/", 1)[-1]))
            columns = ", ".join(f"'{name}': '{kind}'" for name, kind in self._columns.items())
            constants = ", ".join(f"'{partition[key]}' AS {key}" for key in self._partition_keys)
            out = Path(tmp, "result.json.gz")
            with duckdb.connect() as db:
                db.execute(f'CREATE SCHEMA "{self.database}"')
                db.execute(
                    f'CREATE VIEW "{self.database}"."{self.table}" AS SELECT *, {constants} '
                    f"FROM read_json('{rows}/*', format = 'newline_delimited', columns = {{{columns}}})"
                )
                db.execute(f"COPY ({sql}) TO '{out}' (FORMAT JSON, COMPRESSION GZIP)")
            s3.upload_file(str(out), self._bucket, f"{output_prefix}000000.json.gz")
