"""`make capacity`: which path takes which size, what binds first, and that the arithmetic holds
(publication's bounds, costs growing with size, the month-end model against its measured whole)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from pulse_local import capacity as c


def test_one_invocation_takes_10_million_videos_and_not_100_million_or_a_billion() -> None:
    fits = c.videos_single(10**7)
    assert fits.fits
    read, publication = fits.phases
    assert read.seconds == Decimal("57.0")  # the measured 5.7 µs a row
    # then the version, its requests taken from every key in turn: the writer's CPU binds
    cpu = c.top_of(10**7).items * c.MEASURED.write_us_per_list_item / 10**6
    assert round(publication.seconds, 3) == round(cpu, 3)
    in_order = c.videos_single(10**7, interleaved=False).phases[1]  # one key at a time, as before
    assert in_order.seconds == Decimal(c.top_of(10**7).items) / 2_000
    for rows in (10**8, 10**9):
        single = c.videos_single(rows)
        assert not single.fits
        assert single.tightest.name == "Lambda's 15 min timeout (the invocation)"
        assert single.binds.startswith("Lambda's 15 min timeout")
    # at a billion rows memory and /tmp are past their limits too, but time is the furthest past
    assert not any(cap.holds for cap in c.videos_single(10**9).caps)
    assert 53 * 10**6 < c.largest(lambda n: c.videos_single(n).fits) < 54 * 10**6
    assert 15 * 10**6 < c.largest(lambda n: c.videos_single(n, interleaved=False).fits) < 16 * 10**6


def test_at_a_billion_videos_preparing_the_version_in_one_invocation_binds_first() -> None:
    e = c.videos_state_machine(10**9)
    top = c.top_of(10**9)
    assert top.ranked == 12 * 3_333_334  # 4% of each category's 83.3M
    assert top.blocks == 12 * 334  # 10,000 ranks a key
    assert e.write_units == 2 * top.ranked + 3
    assert not e.fits
    assert e.tightest.name.startswith("Prepare's memory")
    assert e.tightest.used == top.ranked * c.MEASURED.ranked_entry_bytes
    assert e.binds.startswith("Prepare's memory")
    # the phases: parts in waves of the template's ReadParts concurrency, Athena, the table's 2,000 s
    checked, athena, publication = e.phases
    assert checked.seconds == Decimal("11.4") * -(-1_000 // min(c.PARTS_CONCURRENCY, 1_000))
    assert athena.seconds == Decimal(10**9) / c.ATHENA_ROWS_PER_S
    assert publication.seconds == Decimal(top.items) / 40_000  # as docs/design.md has it
    assert publication.bound == "DynamoDB table, 40,000 WCU/s"
    assert {cap.name: cap.share for cap in e.caps}["Athena's 30 min DML timeout"] == athena.seconds / 1_800
    assert e.lambda_invocations == 1_000 + top.blocks + c.FIXED_INVOCATIONS + 100  # 100 polls of Athena
    assert e.athena_bytes == 2 * 60 * 10**9  # two queries, each over the valid rows (gzip)


def test_writers_past_what_the_table_takes_only_wait_and_are_billed() -> None:
    top = c.top_of(10**9)
    wide = c.videos_state_machine(10**9, parts_max=1_000, blocks_max=1_000)
    tuned = c.videos_state_machine(10**9, parts_max=500, blocks_max=20)
    assert c.publication(top, 1_000, c.MEASURED).useful == 20
    assert tuned.phases[2].seconds == wide.phases[2].seconds  # the table binds either way
    assert tuned.phases[0].seconds == 2 * wide.phases[0].seconds  # two waves of 500 parts
    assert wide.costs["lambda"] > 20 * tuned.costs["lambda"]
    assert tuned.costs["dynamodb"] > 10 * (tuned.cost - tuned.costs["dynamodb"])
    concurrency = {cap.name: cap for cap in wide.caps}["Lambda's account concurrency (1,000)"]
    assert concurrency.used == 1_000
    assert not concurrency.holds


@pytest.mark.parametrize("rows", [10**7, 10**8, 10**9, 123_456_789])
@pytest.mark.parametrize("writers", [1, 5, 20, 1_000])
def test_publication_takes_the_larger_of_the_tables_bound_and_the_keys_bound(rows: int, writers: int) -> None:
    top = c.top_of(rows)
    w = c.publication(top, writers, c.MEASURED)
    per_writer = min(Decimal(2 * 1_000), Decimal(10**6) / c.MEASURED.write_us_per_list_item)
    table_bound = Decimal(top.items) / 40_000
    keys_bound = Decimal(top.items) / (w.useful * per_writer)
    assert w.phase.seconds == max(table_bound, keys_bound)
    assert w.started == min(writers, top.blocks)
    assert w.useful == min(w.started, 20)  # 20 keys at 2,000 items a second fill the table
    assert w.child_s * top.blocks == w.phase.seconds * w.started
    assert ("table" in w.phase.bound) == (table_bound >= keys_bound)


def test_one_writer_is_bound_by_one_key_or_interleaved_by_its_cpu() -> None:
    top = c.top_of(10**7)
    in_order = c.publication(top, 1, c.MEASURED)
    assert in_order.phase.bound.startswith("DynamoDB partitions, one block's key at a time")
    interleaved = c.publication(top, 1, c.MEASURED, interleaved=True)
    assert interleaved.phase.seconds == pytest.approx(top.items * c.MEASURED.write_us_per_list_item / 10**6)
    assert interleaved.phase.bound.startswith("the writers' CPU, 1 at a time")
    slow = replace(c.MEASURED, write_us_per_list_item=Decimal(2_000))  # 500 items a second
    assert c.publication(top, 1, slow).phase.seconds == Decimal(top.items) / 500


@pytest.mark.parametrize(
    ("paths", "sizes"),
    [
        ((c.videos_single, c.videos_state_machine), c.VIDEO_SIZES),
        ((c.month_end_single, c.month_end_state_machine), c.CREATOR_SIZES),
    ],
)
def test_time_requests_and_cost_grow_with_size(
    paths: tuple[Callable[[int], c.Estimate], ...], sizes: tuple[int, ...]
) -> None:
    for path in paths:
        runs = [path(size) for size in sizes]
        for small, large in itertools.pairwise(runs):
            assert small.cost < large.cost
            assert small.seconds < large.seconds
            assert small.write_units < large.write_units
            assert small.s3_gets + small.s3_puts <= large.s3_gets + large.s3_puts
        for run in runs:
            assert run.cost == sum(run.costs.values())


def test_month_end_one_invocation_to_a_few_hundred_thousand_creators_then_the_state_machine() -> None:
    assert c.month_end_single(10**5).fits
    assert not c.month_end_single(10**6).fits  # its statement documents: 1M PutObject, 9M reads
    # the template sends a month to the machine before one invocation stops fitting
    assert c.CREATORS_THRESHOLD < c.largest(lambda n: c.month_end_single(n).fits) < 10**6
    e = c.month_end_state_machine(10**7)
    assert e.fits
    computed, written, documents = e.phases
    # the month's totals share one GSI key: 8 items of 180 bytes a creator, half a unit per 4 KB
    assert computed.bound.startswith("one GSI key")
    assert computed.seconds == Decimal(c.ceil(Decimal(10**7 * 8 * 180) / 4096 / 2)) / 3_000
    assert written.bound == "DynamoDB table, 40,000 WCU/s"
    assert written.seconds == 250
    assert c.statements_write(10**7, 100, 20, c.MEASURED).useful == 8  # 5,556 statements a second each
    # a document a creator under one prefix: S3's 3,500 PUT/s binds the machine, not its writers
    assert documents.bound == "one S3 prefix, 3,500 PUT/s"
    assert documents.seconds == Decimal(10**7) / 3_500
    assert e.s3_puts > 10**7
    assert e.lambda_invocations == 2 * 100 + c.FIXED_INVOCATIONS
    # one invocation's documents: 32 in flight at 35 ms each
    single = c.documents_write(10**5, 1)
    assert single.seconds == Decimal(10**5) / (Decimal(32 * 1000) / 35)


def test_the_month_end_model_explains_its_measured_whole() -> None:
    # The bench's month end had one totals item a creator and no previous month: its measured CPU a
    # creator is what the parts measured apart add up to, within 10%.
    m = c.MEASURED
    modelled = c.creator_read_us(m, totals=1, previous=0) + m.write_us_per_statement
    assert abs(modelled - m.month_end_cpu_us_per_creator) / m.month_end_cpu_us_per_creator < Decimal("0.1")


def test_the_templates_thresholds_pick_a_path() -> None:
    at, past = c.VIDEO_ROWS_THRESHOLD, c.VIDEO_ROWS_THRESHOLD + 1
    assert c.videos_single(at).picked
    assert not c.videos_state_machine(at).picked
    assert c.videos_state_machine(past).picked
    assert c.month_end_state_machine(c.CREATORS_THRESHOLD + 1).picked
    assert not c.month_end_single(c.CREATORS_THRESHOLD + 1).picked


def test_measured_figures_drive_the_estimates() -> None:
    faster = replace(c.MEASURED, videos_us_per_row=c.MEASURED.videos_us_per_row / 2)
    assert c.videos_single(10**7, faster).phases[0].seconds == Decimal("28.5")
    assert c.largest(lambda n: c.videos_single(n, faster).fits) > c.largest(lambda n: c.videos_single(n).fits)


def test_the_settings_stay_within_aws_published_limits() -> None:
    m = c.MEASURED
    for mb in (c.PART_MEMORY_MB, c.STEPS_MEMORY_MB, c.PAYOUT_MEMORY_MB, m.videos_memory_mb):
        assert mb <= c.LAMBDA_MAX_MEMORY_MB
    for concurrency in (
        c.PARTS_CONCURRENCY,
        c.BLOCKS_CONCURRENCY,
        c.RANGES_CONCURRENCY,
        c.PUBLISH_CONCURRENCY,
    ):
        assert c.running(10**9, concurrency) == concurrency <= c.SFN_MAP_MAX_CONCURRENCY
    # a part's stand-in time: the measured time a row on 2 vCPUs, on the part's 1
    assert m.videos_memory_mb // c.LAMBDA_MB_PER_VCPU == 2
    assert c.PART_MEMORY_MB // c.LAMBDA_MB_PER_VCPU == 1
    assert m.part_us_per_row == 2 * m.videos_us_per_row


def test_the_command_prints_every_size_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert c.main([]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| videos |", "| month end |"))]
    assert len(rows) == 12  # six sizes, both paths
    sizes = ("10^7 videos", "10^8 videos", "10^9 videos", "10^5 creators", "10^6 creators", "10^7 creators")
    for size in sizes:
        assert sum(f"| {size} |" in row for row in rows) == 2
    assert "| videos | 10^7 videos | single invocation | yes | yes | 2 min 15 s |" in out
    assert c.main(["--json"]) == 0
    estimates = json.loads(capsys.readouterr().out)
    assert [(e["job"], e["size"]) for e in estimates][::2] == [
        *(("videos", n) for n in c.VIDEO_SIZES),
        *(("month end", n) for n in c.CREATOR_SIZES),
    ]
    assert all(e["usd"]["total"] > 0 for e in estimates)


def test_the_client_measure_runs_without_aws() -> None:
    m = c.measure_client(items=100, rounds=1)
    assert m.write_us_per_list_item > 0
    assert m.write_us_per_statement > 0
    assert m.read_us_per_total_item > 0
    assert m.videos_us_per_row == c.MEASURED.videos_us_per_row
