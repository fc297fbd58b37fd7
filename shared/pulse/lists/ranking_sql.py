"""The top 4% of a snapshot too large for one invocation, in SQL (spec §2.3, §3): what Athena runs
over the valid rows that a large snapshot's part steps wrote (`videos_rows`, a Glue table).

The same text runs on Athena (Trino) and on DuckDB, the local stand-in: no QUALIFY, every
arithmetic on explicit BIGINTs, no division (k is compared by multiplication), ids compared as
plain strings (they are ASCII, so byte and code-point order agree with Python's). A test parses
it with sqlglot's Athena dialect and runs it on DuckDB against the single invocation's ranking.

- Duplicates: the first occurrence of a `video_id` in the batch wins, by part (`f`) then line
  (`l`); every later one is rejected `duplicate_id`.
- Ranking: among the first occurrences that are brand-safe, per category, by score descending then
  `video_id`; rank r is in the top k = ceil(N * bps / 10000) exactly when
  (r - 1) * 10000 < N * bps.
"""

from __future__ import annotations

import re

# The rows' columns as the part steps write them and the Glue table declares them (template.yaml,
# VideosRowsTable): the part's index, the line, then the record's fields in FastVideo's order.
ROW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("f", "INTEGER"),
    ("l", "BIGINT"),
    ("video_id", "VARCHAR"),
    ("creator_id", "VARCHAR"),
    ("market", "VARCHAR"),
    ("category", "VARCHAR"),
    ("posted_at", "VARCHAR"),
    ("views_24h", "BIGINT"),
    ("likes_24h", "BIGINT"),
    ("comments_24h", "BIGINT"),
    ("shares_24h", "BIGINT"),
    ("brand_safe", "BOOLEAN"),
)
RECORD_FIELDS = tuple(name for name, _ in ROW_COLUMNS[2:])
_RUN = re.compile(r"^[0-9a-f]{32}$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _source(database: str, table: str, run: str) -> str:
    if not _RUN.match(run) or not _NAME.match(database) or not _NAME.match(table):
        raise ValueError("a run is 32 hex digits, and names are plain identifiers")
    # Every value spliced in is checked above (Athena's UNLOAD takes no bind parameters).
    return f"""numbered AS (
  SELECT
    f, l, {", ".join(RECORD_FIELDS)},
    ROW_NUMBER() OVER (PARTITION BY video_id ORDER BY f, l) AS occurrence
  FROM "{database}"."{table}"
  WHERE run = '{run}'
)"""  # noqa: S608  # nosec B608


def duplicates_query(database: str, table: str, run: str) -> str:
    """Every later occurrence of an id, with its part, line and fields."""
    return f"""WITH {_source(database, table, run)}
SELECT f, l, {", ".join(RECORD_FIELDS)}
FROM numbered
WHERE occurrence > 1"""  # noqa: S608  # nosec B608


def ranking_query(database: str, table: str, run: str, top_percent_bps: int) -> str:
    """Each category's top k with its rank and the category's pool size N."""
    if not 0 <= top_percent_bps <= 10_000:
        raise ValueError("top_percent_bps is between 0 and 10000")
    return f"""WITH {_source(database, table, run)},
pool AS (
  SELECT
    category, video_id, creator_id,
    CAST(views_24h AS BIGINT) + CAST(2 AS BIGINT) * CAST(likes_24h AS BIGINT)
      + CAST(4 AS BIGINT) * CAST(comments_24h AS BIGINT)
      + CAST(8 AS BIGINT) * CAST(shares_24h AS BIGINT) AS score
  FROM numbered
  WHERE occurrence = 1 AND brand_safe
),
ranked AS (
  SELECT
    category, video_id, creator_id, score,
    CAST(COUNT(*) OVER (PARTITION BY category) AS BIGINT) AS pool_size,
    CAST(ROW_NUMBER() OVER (PARTITION BY category ORDER BY score DESC, video_id ASC) AS BIGINT) AS rank
  FROM pool
)
SELECT category, rank, video_id, creator_id, score, pool_size
FROM ranked
WHERE (rank - CAST(1 AS BIGINT)) * CAST(10000 AS BIGINT) < pool_size * CAST({top_percent_bps} AS BIGINT)"""  # noqa: S608  # nosec B608
