"""Each videos snapshot's ranked top k, kept in ReportsBucket beside its ingest report
(`rankings/market=<m>/snapshot=<d>/top.jsonl.gz`), and the latest ranked snapshot per market in
the state table (`MARKET#<m>` / `VIDEOS`).
"""

from __future__ import annotations

import json

from pulse.aws import market_markers
from pulse.aws.s3_lines import read_lines, write_lines
from pulse.lists.ranking import Ranked


def ranking_key(market: str, snapshot: str) -> str:
    return f"rankings/market={market}/snapshot={snapshot}/top.jsonl.gz"


class S3DynamoRankingStore:
    def __init__(self, bucket: str, table: str) -> None:
        self._bucket = bucket
        self._table = table

    def save(self, market: str, snapshot: str, ranked: dict[str, list[Ranked]]) -> None:
        # Ids match ^[A-Za-z0-9_-]{1,64}$ and categories their slug: nothing in them needs escaping.
        lines = (
            f'{{"category":"{category}","rank":{e.rank},"video_id":"{e.video_id}",'
            f'"creator_id":"{e.creator_id}","score":{e.score}}}'
            for category, entries in ranked.items()
            for e in entries
        )
        write_lines(self._bucket, ranking_key(market, snapshot), lines)

    def load(self, market: str, snapshot: str) -> dict[str, list[Ranked]] | None:
        lines = read_lines(self._bucket, ranking_key(market, snapshot))
        if lines is None:
            return None
        ranked: dict[str, list[Ranked]] = {}
        for line in lines:
            e = json.loads(line)
            ranked.setdefault(e["category"], []).append(
                Ranked(e["rank"], e["video_id"], e["creator_id"], e["score"])
            )
        return ranked

    def latest_snapshot(self, market: str) -> str | None:
        return market_markers.latest_snapshot(self._table, market, "VIDEOS")

    def set_latest_snapshot(self, market: str, snapshot: str) -> None:
        market_markers.advance_snapshot(self._table, market, "VIDEOS", snapshot)
