"""The ranking SQL of a large snapshot (pulse.lists.ranking_sql) against the single invocation's
ranking, on DuckDB, and within what Athena (Trino) parses the same way."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.lists import ranking_sql
from pulse.lists.ranking import RankingSpill
from tests.factories import video

RUN = "0123456789abcdef0123456789abcdef"
CATEGORIES = ["pets", "music", "beauty"]


Row = tuple[int, int, dict[str, Any]]  # part, line, fields


def _run_sql(rows: list[Row], sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as db:
        db.execute('CREATE SCHEMA "work"')
        columns = ", ".join(f"{name} {kind}" for name, kind in ranking_sql.ROW_COLUMNS)
        db.execute(f'CREATE TABLE "work"."videos_rows" ({columns}, run VARCHAR)')
        for f, line, row in rows:
            values = [f, line, *(row[name] for name in ranking_sql.RECORD_FIELDS), RUN]
            db.execute(f'INSERT INTO "work"."videos_rows" VALUES ({", ".join("?" * len(values))})', values)  # noqa: S608
        found: list[tuple[Any, ...]] = db.execute(sql).fetchall()
        return found


def _python(
    rows: list[tuple[int, int, dict[str, object]]], bps: int
) -> tuple[dict[str, list[tuple[object, ...]]], list[tuple[int, int]]]:
    """The single invocation's answer: first occurrence by part and line wins, then RankingSpill."""
    seen: set[object] = set()
    first: list[Row] = []
    later: list[Row] = []
    for f, line, row in sorted(rows, key=lambda r: (r[0], r[1])):
        (later if row["video_id"] in seen else first).append((f, line, row))
        seen.add(row["video_id"])
    spill = RankingSpill(CATEGORIES)
    try:
        from types import SimpleNamespace  # noqa: PLC0415

        spill.add_many([SimpleNamespace(**row) for _, _, row in first])
        ranked = spill.select(bps)
        pools = spill.pool_sizes
    finally:
        spill.close()
    listed: dict[str, list[tuple[Any, ...]]] = {
        c: [(c, e.rank, e.video_id, e.creator_id, e.score, pools[c]) for e in v] for c, v in ranked.items()
    }
    return listed, [(f, line) for f, line, _ in later]


rows_strategy = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(1, 50),
        st.sampled_from([f"v{i}" for i in range(40)]),
        st.sampled_from(CATEGORIES),
        st.integers(0, 30),
        st.integers(0, 5),
        st.booleans(),
    ),
    max_size=120,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=40, deadline=None)
@given(rows_strategy, st.sampled_from([400, 2500, 10_000, 1]))
def test_the_sql_ranks_and_finds_duplicates_as_one_invocation_does(
    generated: list[tuple[int, int, str, str, int, int, bool]], bps: int
) -> None:
    rows = [
        (f, line, video(vid, f"c{views % 3}", category, views=views, shares_24h=shares, brand_safe=safe))
        for f, line, vid, category, views, shares, safe in generated
    ]
    expected, duplicates = _python(rows, bps)
    got = _run_sql(rows, ranking_sql.ranking_query("work", "videos_rows", RUN, bps))
    by_category: dict[str, list[tuple[Any, ...]]] = {c: [] for c in CATEGORIES}
    for row in sorted(got, key=lambda r: (str(r[0]), int(r[1]))):
        by_category[str(row[0])].append(tuple(row))
    assert by_category == expected
    found = _run_sql(rows, ranking_sql.duplicates_query("work", "videos_rows", RUN))
    assert sorted((int(r[0]), int(r[1])) for r in found) == sorted(duplicates)


@pytest.mark.parametrize(
    "sql",
    [
        ranking_sql.ranking_query("pulse-local-work", "videos_rows", RUN, 400),
        ranking_sql.duplicates_query("pulse-local-work", "videos_rows", RUN),
    ],
)
def test_the_sql_is_within_what_athena_parses_the_same_way(sql: str) -> None:
    parsed = sqlglot.parse_one(sql, read="athena")
    assert parsed.find(sqlglot.exp.Qualify) is None
    assert parsed.find(sqlglot.exp.Div) is None  # k compared by multiplication: no integer division
    assert "QUALIFY" not in sql.upper()
    # Trino and DuckDB read it as the same query: Athena's reading, written back for DuckDB, parses.
    sqlglot.parse_one(parsed.sql(dialect="duckdb"), read="duckdb")


@pytest.mark.parametrize(
    ("database", "run"), [("work", "x' OR '1'='1"), ('work"; DROP', RUN), ("work", RUN.upper())]
)
def test_only_plain_names_and_run_ids_reach_the_sql(database: str, run: str) -> None:
    with pytest.raises(ValueError, match="run is 32 hex digits"):
        ranking_sql.duplicates_query(database, "videos_rows", run)
