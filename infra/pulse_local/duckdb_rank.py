"""The reference side of `make bench`'s ranking: the ranking of spec §2.3 in SQL, DuckDB on 1 thread.

`python -m pulse_local.duckdb_rank FILE MARKET OUT` writes the lists as `pulse rank` does (without
the envelope), so the benchmark can check that both agree. It applies the same row checks as
the ingest (ids, market, category, timestamp, counts, first occurrence of an id wins), so both
sides do the same work. Imports only DuckDB and the rules, to time DuckDB and not our imports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pulse.core.rules import load_rules

RANKING_SQL = """
WITH raw AS (
  SELECT *, row_number() OVER () AS line
  FROM read_json('{path}', format='newline_delimited', compression='gzip', columns={{
    video_id: 'VARCHAR', creator_id: 'VARCHAR', market: 'VARCHAR', category: 'VARCHAR',
    posted_at: 'VARCHAR', views_24h: 'BIGINT', likes_24h: 'BIGINT', comments_24h: 'BIGINT',
    shares_24h: 'BIGINT', brand_safe: 'BOOLEAN'}})
), valid AS (
  SELECT * FROM raw
  WHERE regexp_full_match(video_id, '[A-Za-z0-9_-]{{1,64}}')
    AND regexp_full_match(creator_id, '[A-Za-z0-9_-]{{1,64}}')
    AND market = '{market}' AND category IN ({categories})
    AND try_strptime(posted_at, '%Y-%m-%dT%H:%M:%SZ') IS NOT NULL
    AND views_24h >= 0 AND likes_24h >= 0 AND comments_24h >= 0 AND shares_24h >= 0 AND brand_safe IS NOT NULL
  QUALIFY row_number() OVER (PARTITION BY video_id ORDER BY line) = 1
), pool AS (
  SELECT category, video_id, creator_id,
         views_24h + 2 * likes_24h + 4 * comments_24h + 8 * shares_24h AS score
  FROM valid WHERE brand_safe
), ranked AS (
  SELECT *, row_number() OVER (PARTITION BY category ORDER BY score DESC, video_id) AS rank,
         count(*) OVER (PARTITION BY category) AS n
  FROM pool
)
SELECT category, rank, video_id, creator_id, score FROM ranked
WHERE rank <= (n * {bps} + 9999) // 10000 ORDER BY category, rank
"""


def duckdb_rank(path: Path, market: str) -> dict[str, list[dict[str, Any]]]:
    """The same ranking (with the same row checks and first-id-wins) in SQL, DuckDB on 1 thread."""
    import duckdb  # noqa: PLC0415  # a dev-only dependency of the benchmark

    rules = load_rules()
    connection = duckdb.connect()
    connection.execute("SET threads = 1")
    sql = RANKING_SQL.format(
        path=path,
        market=market,
        bps=rules.top_percent_bps,
        categories=", ".join(f"'{c}'" for c in rules.categories),
    )
    lists: dict[str, list[dict[str, Any]]] = {c: [] for c in rules.categories}
    for category, rank, video_id, creator_id, score in connection.execute(sql).fetchall():
        lists[category].append({"rank": rank, "video_id": video_id, "creator_id": creator_id, "score": score})
    return lists


def main(argv: list[str]) -> int:
    path, market, out = argv
    Path(out).write_text(json.dumps(duckdb_rank(Path(path), market)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
