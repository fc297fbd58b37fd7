"""Each videos snapshot's ranked top k, kept in ReportsBucket beside its ingest report
(`rankings/market=<m>/snapshot=<d>/top.jsonl.gz`), and the latest ranked snapshot per market in
the state table (`MARKET#<m>` / `VIDEOS`).
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.ranking import Ranked


def ranking_key(market: str, snapshot: str) -> str:
    return f"rankings/market={market}/snapshot={snapshot}/top.jsonl.gz"


class S3DynamoRankingStore:
    def __init__(self, bucket: str, table: str) -> None:
        self._bucket = bucket
        self._table = table

    def save(self, market: str, snapshot: str, ranked: dict[str, list[Ranked]]) -> None:
        with tempfile.TemporaryFile() as spool:
            with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as zipped:
                for category, entries in ranked.items():
                    for e in entries:
                        line = {
                            "category": category,
                            "rank": e.rank,
                            "video_id": e.video_id,
                            "creator_id": e.creator_id,
                            "score": e.score,
                        }
                        zipped.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            spool.seek(0)
            clients.s3().upload_fileobj(spool, self._bucket, ranking_key(market, snapshot))

    def load(self, market: str, snapshot: str) -> dict[str, list[Ranked]] | None:
        try:
            body = clients.s3().get_object(Bucket=self._bucket, Key=ranking_key(market, snapshot))["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        ranked: dict[str, list[Ranked]] = {}
        with body, gzip.GzipFile(fileobj=body, mode="rb") as unzipped:
            for line in io.TextIOWrapper(unzipped, encoding="utf-8"):
                e = json.loads(line)
                ranked.setdefault(e["category"], []).append(
                    Ranked(e["rank"], e["video_id"], e["creator_id"], e["score"])
                )
        return ranked

    def latest_snapshot(self, market: str) -> str | None:
        item = (
            clients.dynamodb()
            .get_item(TableName=self._table, Key=_marker(market), ConsistentRead=True)
            .get("Item")
        )
        return item["latest_snapshot"]["S"] if item else None

    def set_latest_snapshot(self, market: str, snapshot: str) -> None:
        try:
            clients.dynamodb().update_item(
                TableName=self._table,
                Key=_marker(market),
                UpdateExpression="SET latest_snapshot = :s",
                ConditionExpression="attribute_not_exists(latest_snapshot) OR latest_snapshot <= :s",
                ExpressionAttributeValues={":s": {"S": snapshot}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _marker(market: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"MARKET#{market}"}, "sk": {"S": "VIDEOS"}}
