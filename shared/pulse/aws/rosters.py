"""Snapshot rosters in ReportsBucket: the creator ids a creators snapshot held, one per line, gzip.

Kept beside the snapshot's ingest report (`.../snapshot=<date>/roster.txt.gz`), so that the next
snapshot finds who disappeared by streaming one object instead of reading the whole market back
from DynamoDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pulse.aws.s3_lines import read_lines, write_lines


def roster_key(market: str, snapshot: str) -> str:
    return f"ingest-reports/creators/market={market}/snapshot={snapshot}/roster.txt.gz"


class S3RosterStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def read(self, market: str, snapshot: str) -> Iterator[str] | None:
        return read_lines(self._bucket, roster_key(market, snapshot))

    def write(self, market: str, snapshot: str, creator_ids: Iterable[str]) -> None:
        write_lines(self._bucket, roster_key(market, snapshot), sorted(creator_ids))
