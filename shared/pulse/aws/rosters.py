"""Snapshot rosters in ReportsBucket: the creator ids a creators snapshot held, one per line, gzip.

Kept beside the snapshot's ingest report (`.../snapshot=<date>/roster.txt.gz`), so that the next
snapshot finds who disappeared by streaming one object instead of reading the whole market back
from DynamoDB.
"""

from __future__ import annotations

import gzip
import io
import tempfile
from collections.abc import Iterable, Iterator

from botocore.exceptions import ClientError

from pulse.aws import clients


def roster_key(market: str, snapshot: str) -> str:
    return f"ingest-reports/creators/market={market}/snapshot={snapshot}/roster.txt.gz"


class S3RosterStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def read(self, market: str, snapshot: str) -> Iterator[str] | None:
        try:
            body = clients.s3().get_object(Bucket=self._bucket, Key=roster_key(market, snapshot))["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

        def lines() -> Iterator[str]:
            with body, gzip.GzipFile(fileobj=body, mode="rb") as unzipped:
                for line in io.TextIOWrapper(unzipped, encoding="utf-8"):
                    if stripped := line.strip():
                        yield stripped

        return lines()

    def write(self, market: str, snapshot: str, creator_ids: Iterable[str]) -> None:
        with tempfile.TemporaryFile() as spool:
            with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as zipped:
                for creator_id in sorted(creator_ids):
                    zipped.write(creator_id.encode() + b"\n")
            spool.seek(0)
            clients.s3().upload_fileobj(spool, self._bucket, roster_key(market, snapshot))
