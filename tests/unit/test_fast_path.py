"""The read phase's fast path accepts exactly what pydantic accepts, with the same values, for
every dataset, in JSON Lines and in CSV, whether a block is vouched for whole or row by row."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.core.rules import load_rules
from pulse.ingest.block_workers import BlockJudge, BlockWorkers
from pulse.ingest.datasets import SPECS, DatasetSpec, Rejection
from pulse.ingest.fast_path import decode_line, vouched
from pulse.ingest.manifest import BatchError, BatchLocation, locate_batch
from pulse.ingest.parts import iter_rows, write_part
from pulse.ingest.read_phase import ReadPhase, RejectLog, keep_rows

RULES = load_rules()
FOLDERS = {
    "creators": "creators/market=US/snapshot=2026-11-27/",
    "videos": "videos/market=US/snapshot=2026-11-27/",
    "revenue": "revenue/market=US/date=2026-11-27/b1/",
    "adjustments": "adjustments/market=US/b1/",
}

ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
hostile_ids = st.one_of(
    st.text(max_size=70),
    st.sampled_from(["a\nb", "a b", "", "x" * 65, "é", "a\\b", "v1\n", "a\tb"]),
    st.none(),
)
counts = st.integers(0, 10**12)
hostile_numbers = st.one_of(
    st.integers(-5, -1),
    st.just(0),
    st.integers(2**63 - 2, 2**64),
    st.integers(-(2**64), -(2**63) + 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just("1"),
    st.none(),
    st.booleans(),
)
hostile_flags = st.sampled_from(["true", 1, 0, None, "false"])
timestamps = st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5))])).map(
    lambda d: d.isoformat()
)
hostile_timestamps = st.one_of(
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
        r"(\.[0-9]{1,10})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
        fullmatch=True,
    ),
    st.sampled_from(
        [
            "2026-02-29T10:00:00Z",
            "2028-02-29T10:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-26",
            "٢٠٢٦-11-26T10:00:00Z",
        ]
    ),
    st.just(5),
)
dates = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)).map(dt.date.isoformat)
hostile_dates = st.one_of(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.sampled_from(
        ["2026-02-29", "2028-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-1-01", "20261127"]
    ),
)
months = st.from_regex(r"[0-9]{4}-(0[1-9]|1[0-2])", fullmatch=True)
hostile_months = st.one_of(
    st.from_regex(r"[0-9]{4}-[0-9]{2}", fullmatch=True), st.sampled_from(["2026-13", "2026-1"])
)
markets = st.sampled_from(["GB", "us", "", 1, "USA"])

GOOD: dict[str, dict[str, Any]] = {
    "creators": {
        "creator_id": ids,
        "market": st.just("US"),
        "account_type": st.sampled_from(["creator", "public_figure", "publisher"]),
        "followers": counts,
        "age_verified_18": st.booleans(),
        "videos_30d": counts,
        "standing": st.sampled_from(["good", "warning", "restricted", "banned"]),
        "enrolled": st.booleans(),
    },
    "videos": {
        "video_id": ids,
        "creator_id": ids,
        "market": st.just("US"),
        "category": st.sampled_from(list(RULES.categories)),
        "posted_at": timestamps,
        "views_24h": counts,
        "likes_24h": counts,
        "comments_24h": counts,
        "shares_24h": counts,
        "brand_safe": st.booleans(),
    },
    "revenue": {
        "row_id": ids,
        "served_date": dates,
        "market": st.just("US"),
        "video_id": ids,
        "list_version": st.text(min_size=1, max_size=64),
        "campaign_id": ids,
        "impressions": st.integers(1, 10**9),
        "revenue_micros": counts,
        "currency": st.just("USD"),
    },
    "adjustments": {
        "adjustment_id": ids,
        "market": st.just("US"),
        "creator_id": ids,
        "month": months,
        "revenue_micros": st.integers(-(10**12), 10**12),
        "reason": st.text(max_size=200),
    },
}
HOSTILE: dict[str, dict[str, Any]] = {
    "creators": {
        "creator_id": hostile_ids,
        "market": markets,
        "account_type": st.sampled_from(["Creator", "", "brand", None]),
        "followers": hostile_numbers,
        "age_verified_18": hostile_flags,
        "videos_30d": hostile_numbers,
        "standing": st.sampled_from(["Good", "", "suspended", 3]),
        "enrolled": hostile_flags,
    },
    "videos": {
        "video_id": hostile_ids,
        "creator_id": hostile_ids,
        "market": markets,
        "category": st.sampled_from(["Pets", "pets ", "cats", "tv_movies2", None]),
        "posted_at": hostile_timestamps,
        "views_24h": hostile_numbers,
        "likes_24h": hostile_numbers,
        "comments_24h": hostile_numbers,
        "shares_24h": hostile_numbers,
        "brand_safe": hostile_flags,
    },
    "revenue": {
        "row_id": hostile_ids,
        "served_date": hostile_dates,
        "market": markets,
        "video_id": hostile_ids,
        "list_version": st.one_of(st.just(""), st.text(min_size=65, max_size=70), st.integers()),
        "campaign_id": hostile_ids,
        "impressions": hostile_numbers,
        "revenue_micros": hostile_numbers,
        "currency": st.sampled_from(["GBP", "usd", "", "US", None]),
    },
    "adjustments": {
        "adjustment_id": hostile_ids,
        "market": markets,
        "creator_id": hostile_ids,
        "month": hostile_months,
        "revenue_micros": hostile_numbers,
        "reason": st.one_of(st.text(min_size=201, max_size=210), st.integers(), st.none()),
    },
}


@st.composite
def row_of(draw: st.DrawFn, dataset: str, repeat_from: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid row, then none, one or a few of its fields made hostile or removed; sometimes
    an earlier row again (a duplicate id, in a new row or the same one)."""
    if repeat_from and draw(st.integers(0, 9)) == 0:
        return dict(draw(st.sampled_from(repeat_from)))
    row = {name: draw(strategy) for name, strategy in GOOD[dataset].items()}
    for name in draw(st.lists(st.sampled_from(list(row)), max_size=3)):
        if draw(st.integers(0, 4)) == 0:
            row.pop(name, None)
        else:
            row[name] = draw(HOSTILE[dataset][name])
    if draw(st.booleans()):
        row["extra"] = draw(st.text(max_size=10))
    return row


@st.composite
def batches(draw: st.DrawFn, dataset: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 12))):
        rows.append(draw(row_of(dataset, rows)))
    return rows


def _lines(rows: list[dict[str, Any]], ensure_ascii: bool) -> list[bytes]:
    return [json.dumps(row, ensure_ascii=ensure_ascii, separators=(",", ":")).encode() for row in rows]


def _values(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in type(row).__struct_fields__}


Expected = tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str | None, str]]]


def _reference(
    spec: DatasetSpec[Any, Any], location: BatchLocation, documents: Sequence[tuple[int, bytes | Rejection]]
) -> Expected:
    """What pydantic alone makes of the rows, one by one, with the first occurrence of an id winning."""
    accepted, rejected, seen = [], [], set()
    for line, document in documents:
        verdict = (
            document if isinstance(document, Rejection) else spec.validate_row(document, location, RULES)
        )
        if isinstance(verdict, Rejection):
            rejected.append((line, verdict.reason, verdict.field, verdict.message))
            continue
        row_id = getattr(verdict, spec.id_field)
        if row_id in seen:
            rejected.append((line, "duplicate_id", spec.id_field, f"{row_id} appeared earlier in the batch"))
            continue
        seen.add(row_id)
        accepted.append((line, verdict.model_dump()))
    return accepted, rejected


class _Rows:
    """A collector that keeps the rows with their lines."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, dict[str, Any]]] = []

    reducer = staticmethod(keep_rows)

    def add_reduced(self, key: str, lines: Sequence[int], rows: list[Any]) -> None:
        self.rows.extend(zip(lines, map(_values, rows), strict=True))

    def close(self) -> None:
        return None


def _read(
    spec: DatasetSpec[Any, Any], location: BatchLocation, key: str, data: bytes, workers: int = 1
) -> Expected:
    log = io.StringIO()
    phase = ReadPhase(spec, location, RULES, RejectLog(log), _Rows, workers=workers)
    phase.read([(key, None)], lambda _: contextlib.nullcontext(io.BytesIO(data)))
    entries = [json.loads(line) for line in log.getvalue().splitlines()]
    rejected = [(e["line"], e["reason"], e["field"], e["message"]) for e in entries]
    return phase.collector.rows, rejected


@pytest.mark.parametrize("dataset", list(SPECS))
def test_each_struct_has_its_records_fields_in_order(dataset: str) -> None:
    spec = SPECS[dataset]
    assert spec.fast.struct.__struct_fields__ == tuple(spec.record.model_fields)
    assert spec.id_field == spec.fast.ids[0]  # the ids the read phase remembers are the dataset's


@pytest.mark.slow  # a few hundred generated batches a dataset: in `make test`, not the fast lane
@pytest.mark.parametrize("dataset", list(SPECS))
def test_the_read_phase_gives_pydantics_verdicts_and_values(dataset: str) -> None:
    spec, location = SPECS[dataset], locate_batch(FOLDERS[dataset] + "_manifest.json")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(batches(dataset), st.booleans())
    def check(rows: list[dict[str, Any]], ensure_ascii: bool) -> None:
        lines = _lines(rows, ensure_ascii)
        expected = _reference(spec, location, list(enumerate(lines, 1)))
        assert _read(spec, location, "p.jsonl", b"\n".join(lines) + b"\n") == expected

    check()


@pytest.mark.slow  # a few hundred generated batches a dataset: in `make test`, not the fast lane
@pytest.mark.parametrize("dataset", list(SPECS))
def test_csv_rows_get_pydantics_verdicts_and_values(dataset: str) -> None:
    spec, location = SPECS[dataset], locate_batch(FOLDERS[dataset] + "_manifest.json")
    columns = list(spec.field_kinds)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(batches(dataset))
    def check(rows: list[dict[str, Any]]) -> None:
        buffer = io.BytesIO()
        # Cells as text, as a producer's CSV writer would put them (newlines inside quoted cells).
        write_part([{c: r.get(c) for c in columns} for r in rows], "p.csv", buffer, columns)
        data = buffer.getvalue()
        documents: list[tuple[int, bytes | Rejection]] = [
            (raw.line, raw.as_json if raw.error is None else Rejection(raw.error[0], None, raw.error[1]))  # type: ignore[misc]
            for raw in iter_rows(io.BytesIO(data), "p.csv", spec.field_kinds)
        ]
        assert _read(spec, location, "p.csv", data) == _reference(spec, location, documents)

    check()


@pytest.mark.slow  # a few hundred generated batches a dataset: in `make test`, not the fast lane
@pytest.mark.parametrize("dataset", list(SPECS))
def test_a_row_the_fast_path_vouches_for_is_one_pydantic_accepts_with_the_same_values(dataset: str) -> None:
    spec, location = SPECS[dataset], locate_batch(FOLDERS[dataset] + "_manifest.json")
    allowed = spec.fast.allowed(location, RULES)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(row_of(dataset, []))
    def check(row: dict[str, Any]) -> None:
        (line,) = _lines([row], ensure_ascii=False)
        fast = decode_line(spec.fast, line)
        if fast is None or vouched(spec.fast, [fast], allowed) is None:
            return
        verdict = spec.validate_row(line, location, RULES)
        assert not isinstance(verdict, Rejection), (row, verdict)
        assert _values(fast) == verdict.model_dump()

    check()


def _many_videos(count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    for i in range(start, start + count):
        yield {
            "video_id": f"v{i % 70_000}",  # ids repeat: later occurrences are rejected
            "creator_id": f"c{i % 97}",
            "market": "US",
            "category": sorted(RULES.categories)[i % 12],
            "posted_at": "2026-11-26T10:00:00Z",
            "views_24h": i * 7919 % 100_000,
            "likes_24h": i % 50,
            "comments_24h": i % 7,
            "shares_24h": i % 3,
            "brand_safe": i % 20 != 0,
        }


@pytest.mark.slow
def test_block_workers_give_the_same_rows_and_rejections_as_one_process() -> None:
    """A part of 100,000 rows (some invalid, some repeated) read on two worker processes and in
    the reading process alone: the same accepted rows, lines and rejections."""
    rows = list(_many_videos(100_000))
    for n in range(0, len(rows), 997):
        rows[n] = {**rows[n], "views_24h": -1}  # invalid: the block goes row by row
    data = b"\n".join(_lines(rows, ensure_ascii=True)) + b"\n"
    spec, location = SPECS["videos"], locate_batch(FOLDERS["videos"] + "_manifest.json")
    alone = _read(spec, location, "p.jsonl", data)
    parallel = _read(spec, location, "p.jsonl", data, workers=2)
    assert parallel == alone
    video_ids = [values["video_id"] for _, values in alone[0]]
    assert len(set(video_ids)) == len(video_ids) > 60_000  # the first occurrence of each id
    assert {reason for _, reason, _, _ in alone[1]} == {"invalid_value", "duplicate_id"}


def test_a_worker_judges_a_block_as_the_reading_process_does() -> None:
    spec, location = SPECS["videos"], locate_batch(FOLDERS["videos"] + "_manifest.json")
    judge = BlockJudge(spec.fast, spec.fast.allowed(location, RULES), keep_rows)
    good = b"\n".join(_lines(list(_many_videos(50)), ensure_ascii=True))
    bad = good.replace(b'"views_24h":0', b'"views_24h":-1', 1)
    workers = BlockWorkers(judge, 2)
    try:
        judged = list(workers.judged(iter([(1, 50, good), (51, 50, bad), (101, 50, good)])))
    finally:
        workers.close()
    assert [verdict for _, verdict in judged] == [judge(good, 50), judge(bad, 50), judge(good, 50)]
    assert judged[1][1] is None
    assert judged[0][1] is not None


@pytest.mark.slow
def test_block_workers_count_the_rows_read_before_a_part_turns_out_unreadable() -> None:
    rows = list(_many_videos(150_000))
    cut = gzip.compress(b"\n".join(_lines(rows, ensure_ascii=True)) + b"\n")
    cut = cut[: len(cut) // 2]
    spec, location = SPECS["videos"], locate_batch(FOLDERS["videos"] + "_manifest.json")
    seen = []
    for workers in (1, 2):
        phase: ReadPhase[Any, _Rows] = ReadPhase(spec, location, RULES, RejectLog(), _Rows, workers=workers)
        with pytest.raises(BatchError) as caught:
            phase.read([("p.jsonl.gz", None)], lambda _: contextlib.nullcontext(io.BytesIO(cut)))
        seen.append((phase.rows_read, caught.value.code, len(phase.collector.rows)))
        phase.close()
    assert seen[0] == seen[1]
    assert seen[0][0] > 10_000
    assert seen[0][1] == "unreadable_file"
