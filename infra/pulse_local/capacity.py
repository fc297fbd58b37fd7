"""`make capacity`: a videos snapshot and a month end sized at platform scale (issue 15), by
arithmetic alone (no AWS call): wall time, requests, cost in USD and the limit that binds first,
for snapshots of 10^7, 10^8 and 10^9 videos and month ends of 10^5, 10^6 and 10^7 creators, on
both paths: one invocation, and the Step Functions state machine.

- videos, state machine: a Distributed Map runs one Lambda per part file (row checks, valid rows
  out as gzip JSON Lines with part and line), Athena finds the duplicate ids and ranks the top k
  (two UNLOAD queries at once), one step prepares the version (the top k held in one invocation,
  cut into blocks of 10,000 ranks), a Distributed Map writes the blocks (a list entry and a
  placement per listed video), then the pointer moves;
- month end, state machine: a Distributed Map over creator ranges computes the statements (8
  totals items a creator from the GSI, the previous month's statements), one step checks the
  summed totals, a Distributed Map writes the statements (64 keys), then statements.csv and
  summary.json.

Every input is a named constant below: what was measured (MEASURED: one place, to update with the
distributed path's own figures), AWS's published limits and us-east-1 list prices, the design's
settings and assumptions. Left out of the times: fixed overheads (cold starts, Athena's queue, Step
Functions' own latency: seconds each) and the steps outside the Maps not measured yet (the videos
machine's Prepare and Finish, the month end's check and reports). `--measure` measures the DynamoDB
client's CPU here first.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pulse.aws.ledger_table import EARN_SHARDS, TOTAL_SHARDS
from pulse.aws.list_table import RANKS_PER_KEY
from pulse.aws.s3_batches import RANGE_BYTES
from pulse.core.rules import load_rules
from pulse.lists.ranking import top_k
from pulse.money.statement_document import DOCUMENT_WORKERS
from pulse_cli.template import ROOT, Stack

D = Decimal
MIB = 2**20


@dataclass(frozen=True)
class Measured:
    """What was measured on the bench machine (2 cores, whose speed drifts up to 3x: README)."""

    measured_on: str
    # VideosIngestFunction on 10,000,000 rows at 3,538 MB (2 vCPUs), `make bench videos-memory`:
    # read phase 249,077 rows/s; the whole invocation 57.07 s (its publication wrote almost nothing).
    videos_read_rows_per_s: int
    videos_us_per_row: Decimal
    videos_memory_mb: int
    videos_memory_bytes_per_row: int  # scores and the top k
    videos_tmp_bytes_per_row: int  # ids for the ranking and the duplicate check
    # A part's Lambda on the state machine (row checks, valid rows out as gzip JSON Lines), 1,769 MB:
    # not measured yet; the single invocation's time a row on 2 vCPUs, doubled for 1 vCPU.
    part_us_per_row: Decimal
    # A row of a videos part file, gzip JSON Lines: estimates, not measured.
    part_gz_bytes_per_row: int
    part_raw_bytes_per_row: int
    # A ranked entry held in a list (pulse.lists.ranking.Ranked, its ids and ints; tracemalloc).
    ranked_entry_bytes: int
    # Month end: the pure computation of 1,000,000 statements in 5.3 s; PayoutFunction's whole CPU
    # for 100,000 creators of one totals item each, on moto (`make bench month-end`): 24 s.
    month_end_compute_us: Decimal
    month_end_cpu_us_per_creator: Decimal
    # The DynamoDB client's CPU an item (botocore validates, serialises and signs a BatchWriteItem
    # of 25, or parses a Query page), its send stubbed: `python -m pulse_local.capacity --measure`,
    # the median of 4 runs (each the best of 3) while other work loaded this machine.
    write_us_per_list_item: Decimal  # a list entry or a placement (7-8 attributes)
    write_us_per_statement: Decimal  # a statement (18 attributes)
    read_us_per_total_item: Decimal  # a creator-month totals item (11 attributes)


MEASURED = Measured(
    measured_on="videos 2026-12-02, month end 2026-11-27, DynamoDB client and Ranked 2026-12-07",
    videos_read_rows_per_s=249_077,
    videos_us_per_row=D("5.7"),
    videos_memory_mb=3_538,
    videos_memory_bytes_per_row=17,
    videos_tmp_bytes_per_row=46,
    part_us_per_row=D("11.4"),
    part_gz_bytes_per_row=60,
    part_raw_bytes_per_row=230,
    ranked_entry_bytes=256,
    month_end_compute_us=D("5.3"),
    month_end_cpu_us_per_creator=D(240),
    write_us_per_list_item=D(97),
    write_us_per_statement=D(180),
    read_us_per_total_item=D(48),
)

# --- AWS's published limits (Lambda's MB of memory and /tmp are MiB)
LAMBDA_TIMEOUT_S = 900  # AWS Lambda Developer Guide, "Lambda quotas": function timeout, 15 minutes
LAMBDA_MAX_MEMORY_MB = 10_240  # "Lambda quotas": memory, 128 MB to 10,240 MB
LAMBDA_MB_PER_VCPU = 1_769  # "Configure Lambda function memory": a full vCPU at 1,769 MB
LAMBDA_MAX_TMP_MB = 10_240  # "Lambda quotas": ephemeral storage (/tmp), up to 10,240 MB
LAMBDA_ACCOUNT_CONCURRENCY = 1_000  # "Lambda quotas": concurrent executions, default, a Region
SFN_MAP_MAX_CONCURRENCY = 10_000  # Step Functions Developer Guide, "Distributed Map state": children
SFN_HISTORY_EVENTS = 25_000  # "Step Functions service quotas": a Standard execution's history (a
# Distributed Map's child executions have their own, not counted in the parent's)
ATHENA_DML_TIMEOUT_S = 1_800  # Athena User Guide, "Service Quotas": DML query timeout, 30 min default
ATHENA_MIN_BYTES = 10 * 10**6  # Amazon Athena pricing: 10 MB minimum a query
DYNAMODB_TABLE_WCU = 40_000  # DynamoDB Developer Guide, "Service, account, and table quotas":
DYNAMODB_TABLE_RCU = 40_000  # on-demand units a second a table (and a GSI), default, raisable
DYNAMODB_PARTITION_WCU = 1_000  # DynamoDB Developer Guide, "Partitions and data distribution" and
DYNAMODB_PARTITION_RCU = 3_000  # "Best practices for designing partition keys": a partition's
S3_PREFIX_PUTS_PER_S = 3_500  # S3 User Guide, "Best practices design patterns: optimizing Amazon S3
S3_PREFIX_GETS_PER_S = 5_500  # performance": requests a second a prefix
# (a month's statement documents share one prefix: S3 splits a busy prefix, not counted on here)
# --- us-east-1 list prices
LAMBDA_USD_PER_GB_S = D("0.0000133334")  # AWS Lambda pricing, arm64
LAMBDA_USD_PER_REQUEST = D("0.20") / 10**6  # AWS Lambda pricing
SFN_USD_PER_TRANSITION = D("0.025") / 1_000  # AWS Step Functions pricing, Standard workflows
ATHENA_USD_PER_BYTE = D(5) / 10**12  # Amazon Athena pricing: $5 a TB scanned
DYNAMODB_USD_PER_WRU = D("0.625") / 10**6  # Amazon DynamoDB pricing, on-demand (Nov 2024 prices)
DYNAMODB_USD_PER_RRU = D("0.125") / 10**6
S3_USD_PER_PUT = D("0.005") / 1_000  # Amazon S3 pricing, S3 Standard: PUT, COPY, POST, LIST
S3_USD_PER_GET = D("0.0004") / 1_000  # GET, SELECT

# --- the design's settings, read from template.yaml and infra/statemachines/ (a change there is a
# change here: nothing is copied)
_STACK = Stack()
_MACHINES = {
    name: json.loads((ROOT / "infra" / "statemachines" / f"{name}.asl.json").read_text(encoding="utf-8"))
    for name in ("videos_snapshot", "payout")
}


def _parameter(name: str) -> int:
    return int(_STACK.template["Parameters"][name]["Default"])


def _map_concurrency(machine: str, state: str) -> int:
    return int(_MACHINES[machine]["States"][state]["MaxConcurrency"])


def _memory(function: str) -> int:
    return int(_STACK.functions[function]["Properties"]["MemorySize"])


VIDEO_ROWS_THRESHOLD = _parameter("DistributedVideoRows")  # more rows than this run on the machine
CREATORS_THRESHOLD = _parameter("DistributedCreators")  # more creators than this, on the machine
CREATORS_PER_RANGE = _parameter("PayoutRangeCreators")
PARTS_CONCURRENCY = _map_concurrency("videos_snapshot", "ReadParts")
BLOCKS_CONCURRENCY = _map_concurrency("videos_snapshot", "WriteBlocks")
RANGES_CONCURRENCY = _map_concurrency("payout", "ComputeRanges")
PUBLISH_CONCURRENCY = _map_concurrency("payout", "PublishRanges")
MACHINE_TIMEOUT_S = int(_MACHINES["videos_snapshot"]["TimeoutSeconds"])  # both machines' (a test checks)
ATHENA_POLL_S = 10  # the ranking's wait_seconds between polls of its queries (bootstrap.snapshot_ranking)
ATHENA_QUERIES = 2  # the ranking and the duplicates, started together, each reading every row
PART_MEMORY_MB = _memory("VideoPartFunction")
STEPS_MEMORY_MB = _memory("VideosStepsFunction")  # Prepare, and each block's writer
PAYOUT_MEMORY_MB = _memory("PayoutRangeFunction")  # PayoutFunction's and the range steps' alike
STATEMENT_SHARDS = int(_STACK.function_environment("PayoutFunction")["PULSE_STATEMENT_SHARDS"])

# --- assumptions
_RULES = load_rules()
TOP_PERCENT_BPS = _RULES.top_percent_bps  # the top 4% (programme_rules.json)
CATEGORIES = len(_RULES.categories)  # 12; a snapshot's rows spread evenly over them
ACTIVE_SHARE = D(1)  # share of the top k whose creator is active, so published: 1, the most writes
PART_ROWS = 1_000_000  # rows a part file at platform scale (the producer's manifest)
TOTAL_ITEM_BYTES = 180  # a totals item's size as DynamoDB counts it (names and values): estimate
STATEMENT_ITEM_BYTES = 350  # a statement item: estimate (both under 1 KB: one write unit)
STATEMENT_CSV_BYTES = 150  # a line of statements.csv: estimate
PLACEMENTS_OBJECT_BYTES = 9  # a listed entry in the placements object (33.3 MiB for 4M entries)
ATHENA_ROWS_PER_S = 1_000_000  # NOT measured: Athena's rate on the ranking query (DuckDB on one
# thread ranked the same rows at 260,000 a second); replace with the distributed path's measure
PARENT_TRANSITIONS = 10  # the parent execution's states, either machine, polls aside
CHILD_TRANSITIONS = 2  # a child execution: its Task state and its end (retries add)
EVENTS_PER_TRANSITION = 5  # history events a state adds (entered, scheduled, started, done, exited)
FIXED_INVOCATIONS = 4  # outside the Maps: claim/plan, (start and poll the ranking), prepare, finish
DYNAMODB_REQUEST_MS = 5  # NOT measured: a BatchGetItem or a Query of one partition, in-Region
S3_PUT_MS = 25  # NOT measured: a PutObject of a few KB, in-Region
HEADROOM = D("0.8")  # a hard limit is used to 80% at most (20% kept in hand, as the README does)

VIDEO_SIZES = (10**7, 10**8, 10**9)
CREATOR_SIZES = (10**5, 10**6, 10**7)


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: Decimal
    bound: str  # what sets its time


@dataclass(frozen=True)
class Cap:
    """A hard limit: past it a run fails (a timeout, memory, throttled neighbours), not just slows."""

    name: str
    used: Decimal
    limit: Decimal
    unit: str = ""  # "s", "bytes" or a count

    @property
    def share(self) -> Decimal:
        return self.used / self.limit

    @property
    def holds(self) -> bool:
        return self.used <= self.limit * HEADROOM


@dataclass(frozen=True)
class Estimate:
    job: str  # "videos" or "month end"
    size: int  # rows or creators
    path: str  # "single invocation" or "state machine"
    phases: tuple[Phase, ...]
    caps: tuple[Cap, ...]
    lambda_invocations: int
    lambda_gb_s: Decimal
    transitions: int
    s3_gets: int
    s3_puts: int
    write_units: int
    write_requests: int
    read_units: int
    athena_bytes: int

    @property
    def seconds(self) -> Decimal:
        return sum((p.seconds for p in self.phases), D(0))

    @property
    def fits(self) -> bool:
        return all(c.holds for c in self.caps)

    @property
    def tightest(self) -> Cap:
        return max(self.caps, key=lambda c: c.share)

    @property
    def binds(self) -> str:
        """Past a hard limit: the one furthest past. Within them: what sets the longest phase."""
        if not self.fits:
            return f"{self.tightest.name}: {self.tightest.share:,.0%} of it"
        return max(self.phases, key=lambda p: p.seconds).bound

    @property
    def picked(self) -> bool:
        """Whether template.yaml's threshold sends this size down this path."""
        threshold = VIDEO_ROWS_THRESHOLD if self.job == "videos" else CREATORS_THRESHOLD
        return (self.size > threshold) == (self.path == "state machine")

    @property
    def costs(self) -> dict[str, Decimal]:
        return {
            "lambda": self.lambda_gb_s * LAMBDA_USD_PER_GB_S
            + self.lambda_invocations * LAMBDA_USD_PER_REQUEST,
            "step_functions": self.transitions * SFN_USD_PER_TRANSITION,
            "s3": self.s3_gets * S3_USD_PER_GET + self.s3_puts * S3_USD_PER_PUT,
            "dynamodb": self.write_units * DYNAMODB_USD_PER_WRU + self.read_units * DYNAMODB_USD_PER_RRU,
            "athena": self.athena_bytes * ATHENA_USD_PER_BYTE,
        }

    @property
    def cost(self) -> Decimal:
        return sum(self.costs.values(), D(0))


def ceil(x: Decimal | int) -> int:
    return math.ceil(x)


def gb(mb: int) -> Decimal:
    return D(mb) / 1024


def puts(size: int) -> int:
    """PUT-class requests to upload an object: one, or a multipart upload of 8 MiB parts."""
    parts = ceil(D(size) / RANGE_BYTES)
    return 1 if parts <= 1 else parts + 2


def timeout(name: str, seconds: Decimal) -> Cap:
    return Cap(f"Lambda's 15 min timeout ({name})", seconds, D(LAMBDA_TIMEOUT_S), "s")


def running(children: int, max_concurrency: int) -> int:
    """A Distributed Map's children at once."""
    return min(children, max_concurrency, SFN_MAP_MAX_CONCURRENCY, LAMBDA_ACCOUNT_CONCURRENCY)


def account(children: int) -> Cap:
    return Cap("Lambda's account concurrency (1,000)", D(children), D(LAMBDA_ACCOUNT_CONCURRENCY))


def machine_caps(seconds: Decimal, transitions: int) -> tuple[Cap, ...]:
    return (
        Cap("the machine's 6 h TimeoutSeconds", seconds, D(MACHINE_TIMEOUT_S), "s"),
        Cap(
            "Step Functions' history (parent)", D(transitions * EVENTS_PER_TRANSITION), D(SFN_HISTORY_EVENTS)
        ),
    )


@dataclass(frozen=True)
class Writes:
    phase: Phase
    started: int  # writers running at once
    useful: int  # writers the table can feed
    child_s: Decimal  # one writer's time (a block, a range)


def table_or_writers(items: int, useful: int, rate: Decimal, keys: str) -> tuple[Decimal, str]:
    """The larger of the table's bound and the writers' (each `rate` items a second, as `keys` says)."""
    table_bound = D(items) / DYNAMODB_TABLE_WCU
    writers_bound = D(items) / (useful * rate)
    if table_bound >= writers_bound:
        return table_bound, f"DynamoDB table, {DYNAMODB_TABLE_WCU:,} WCU/s"
    return writers_bound, keys


# ------------------------------------------------------------------------------------------ videos
@dataclass(frozen=True)
class TopK:
    ranked: int  # entries ranked, every category
    listed: int  # entries published (creator active)
    blocks: int  # partition keys of list entries, 10,000 ranks each

    @property
    def items(self) -> int:
        return 2 * self.listed  # a list entry and a placement


def top_of(rows: int) -> TopK:
    k = top_k(ceil(D(rows) / CATEGORIES), TOP_PERCENT_BPS)
    return TopK(CATEGORIES * k, ceil(CATEGORIES * k * ACTIVE_SHARE), CATEGORIES * ceil(D(k) / RANKS_PER_KEY))


def publication(top: TopK, max_writers: int, m: Measured, *, interleaved: bool = False) -> Writes:
    """A version's items written by up to `max_writers` writers, a block each. A block's entries go
    to one key (1,000 WCU/s) and their placements each to its own, so a writer takes 2,000 items a
    second, or what its CPU takes if less; one writer spreading its items over every block
    (`interleaved`) is bound by its CPU alone. The table takes 40,000 a second in all."""
    cpu_rate = D(10**6) / m.write_us_per_list_item
    rate = cpu_rate if interleaved else min(D(2 * DYNAMODB_PARTITION_WCU), cpu_rate)
    started = max(1, min(top.blocks, max_writers))
    useful = min(started, ceil(DYNAMODB_TABLE_WCU / rate))
    if rate < cpu_rate:
        keys = "one block's key at a time" if useful == 1 else f"{useful} blocks' keys at a time"
        label = f"DynamoDB partitions, {keys}, {DYNAMODB_PARTITION_WCU:,} WCU/s each"
    else:
        label = f"the writers' CPU, {useful} at a time, {m.write_us_per_list_item} µs an item"
    seconds, bound = table_or_writers(top.items, useful, rate, label)
    return Writes(
        Phase("publication", seconds, bound), started, useful, seconds * started / max(top.blocks, 1)
    )


def videos_single(rows: int, m: Measured = MEASURED, *, interleaved: bool = True) -> Estimate:
    top = top_of(rows)
    vcpus = m.videos_memory_mb // LAMBDA_MB_PER_VCPU
    read = Phase(
        "read and rank",
        rows * m.videos_us_per_row / 10**6,
        f"the function's {vcpus} vCPUs: {m.videos_us_per_row} µs a row, its read phase"
        f" {m.videos_read_rows_per_s:,} rows/s",
    )
    # one process; DynamoListStore.write_version takes its requests from every key in turn
    publish = publication(top, 1, m, interleaved=interleaved).phase
    seconds = read.seconds + publish.seconds
    gz = rows * m.part_gz_bytes_per_row
    memory = D(m.videos_memory_mb * MIB)
    return Estimate(
        "videos",
        rows,
        "single invocation",
        (read, publish),
        (
            timeout("the invocation", seconds),
            Cap(
                f"the function's memory ({m.videos_memory_mb:,} MB)",
                D(rows * m.videos_memory_bytes_per_row),
                memory,
                "bytes",
            ),
            Cap(
                f"Lambda's /tmp ({LAMBDA_MAX_TMP_MB:,} MB)",
                D(rows * m.videos_tmp_bytes_per_row),
                D(LAMBDA_MAX_TMP_MB * MIB),
                "bytes",
            ),
        ),
        lambda_invocations=1,
        lambda_gb_s=seconds * gb(m.videos_memory_mb),
        transitions=0,
        s3_gets=ceil(D(gz) / RANGE_BYTES),
        s3_puts=2 + puts(top.ranked * m.part_gz_bytes_per_row) + puts(top.listed * PLACEMENTS_OBJECT_BYTES),
        write_units=top.items + 3,  # and the version record, the sequence, the pointer
        write_requests=ceil(D(top.items) / 25) + 3,
        read_units=0,
        athena_bytes=0,
    )


def videos_state_machine(
    rows: int,
    m: Measured = MEASURED,
    *,
    parts_max: int = PARTS_CONCURRENCY,
    blocks_max: int = BLOCKS_CONCURRENCY,
) -> Estimate:
    top = top_of(rows)
    parts = ceil(D(rows) / PART_ROWS)
    part_rows = min(rows, PART_ROWS)
    part_s = part_rows * m.part_us_per_row / 10**6
    part_gz = part_rows * m.part_gz_bytes_per_row
    part_gets, part_puts = ceil(D(part_gz) / RANGE_BYTES), puts(part_gz) + 1  # valid rows, rejected
    at_once = running(parts, parts_max)
    waves = ceil(D(parts) / at_once)
    checked = max(
        (
            waves * part_s,
            f"a part's Lambda: {part_rows:,} rows at {m.part_us_per_row} µs, {waves} wave(s) of {at_once:,}",
        ),
        (D(parts * part_gets) / S3_PREFIX_GETS_PER_S, f"S3, {S3_PREFIX_GETS_PER_S:,} GET/s a prefix"),
        (D(parts * part_puts) / S3_PREFIX_PUTS_PER_S, f"S3, {S3_PREFIX_PUTS_PER_S:,} PUT/s a prefix"),
    )
    athena = Phase(
        "Athena: duplicates and top k",
        D(rows) / ATHENA_ROWS_PER_S,
        f"Athena's rate, assumed {ATHENA_ROWS_PER_S:,} rows/s,"
        f" {ATHENA_ROWS_PER_S * m.part_raw_bytes_per_row // 10**6} MB of JSON a second",
    )
    writes = publication(top, running(top.blocks, blocks_max), m)
    phases = (Phase("parts checked (Map)", *checked), athena, writes.phase)
    seconds = sum((p.seconds for p in phases), D(0))
    parent = PARENT_TRANSITIONS + 3 * ceil(athena.seconds / ATHENA_POLL_S)  # wait, poll, choice
    return Estimate(
        "videos",
        rows,
        "state machine",
        phases,
        (
            timeout("a part", part_s),
            Cap(
                f"Prepare's memory: the top k in one invocation ({STEPS_MEMORY_MB:,} MB)",
                D(top.ranked * m.ranked_entry_bytes),
                D(STEPS_MEMORY_MB * MIB),
                "bytes",
            ),
            Cap("Athena's 30 min DML timeout", athena.seconds, D(ATHENA_DML_TIMEOUT_S), "s"),
            timeout("a block's writer", writes.child_s),
            account(max(at_once, writes.started)),
            *machine_caps(seconds, parent),
        ),
        lambda_invocations=parts + top.blocks + FIXED_INVOCATIONS + ceil(athena.seconds / ATHENA_POLL_S),
        lambda_gb_s=parts * part_s * gb(PART_MEMORY_MB) + top.blocks * writes.child_s * gb(STEPS_MEMORY_MB),
        transitions=parent + CHILD_TRANSITIONS * (parts + top.blocks),
        # the parts read; each query reads the valid rows; Prepare reads the ranking; each writer its block
        s3_gets=parts * part_gets * (1 + ATHENA_QUERIES)
        + ceil(D(top.ranked * m.part_gz_bytes_per_row) / RANGE_BYTES)
        + top.blocks,
        # the parts' rows; the queries' output; the ranking kept; the blocks; the placements object
        s3_puts=parts * part_puts
        + 2 * puts(top.ranked * m.part_gz_bytes_per_row)
        + top.blocks
        + puts(top.listed * PLACEMENTS_OBJECT_BYTES)
        + 2,
        write_units=top.items + 3,
        write_requests=ceil(D(top.items) / 25) + 3,
        read_units=0,
        athena_bytes=ATHENA_QUERIES * max(rows * m.part_gz_bytes_per_row, ATHENA_MIN_BYTES),
    )


# --------------------------------------------------------------------------------------- month end
def creator_read_us(m: Measured, totals: int = TOTAL_SHARDS, previous: int = 1) -> Decimal:
    """A creator's CPU before its statement is written: its totals items and previous statement
    parsed (the latter counted as a totals item, more than its 2 projected attributes), computed."""
    return m.month_end_compute_us + (totals + previous) * m.read_us_per_total_item


def month_reads(creators: int, cpu_s: Decimal, m: Measured) -> tuple[Phase, int]:
    """Totals (8 items a creator under one GSI key, the market-month's) and previous statements read,
    statements computed: the phase, and its read units (eventually consistent: half a unit a 4 KB)."""
    totals_units = ceil(D(creators * TOTAL_SHARDS * TOTAL_ITEM_BYTES) / 4096 / 2)
    units = totals_units + ceil(D(creators * STATEMENT_ITEM_BYTES) / 4096 / 2)
    seconds, bound = max(
        (
            cpu_s,
            f"the CPU: botocore parsing {TOTAL_SHARDS} totals items a creator,"
            f" {m.read_us_per_total_item} µs each",
        ),
        (
            D(totals_units) / DYNAMODB_PARTITION_RCU,
            f"one GSI key (TOTALS#<m>#<month>) on one partition, {DYNAMODB_PARTITION_RCU:,} RCU/s",
        ),
        (D(units) / DYNAMODB_TABLE_RCU, f"DynamoDB table, {DYNAMODB_TABLE_RCU:,} RCU/s"),
    )
    return Phase("statements computed", seconds, bound), units


def statements_write(creators: int, children: int, max_writers: int, m: Measured) -> Writes:
    """Statements written by up to `max_writers` writers, each over all 64 keys at its CPU's rate."""
    rate = D(10**6) / m.write_us_per_statement
    started = max(1, min(children, max_writers))
    useful = min(started, ceil(DYNAMODB_TABLE_WCU / rate))
    seconds, bound = table_or_writers(
        creators,
        useful,
        rate,
        f"the writers' CPU, {useful} at a time, {m.write_us_per_statement} µs a statement",
    )
    keys_bound = D(creators) / (STATEMENT_SHARDS * DYNAMODB_PARTITION_WCU)
    if keys_bound > seconds:
        seconds, bound = (
            keys_bound,
            f"DynamoDB partitions, {STATEMENT_SHARDS} keys at {DYNAMODB_PARTITION_WCU:,} WCU/s",
        )
    return Writes(Phase("statements written", seconds, bound), started, useful, seconds * started / children)


DOCUMENT_READS = 1 + EARN_SHARDS  # a creator-month's totals (one BatchGetItem) and lines (a Query a shard)


def documents_write(creators: int, writers: int) -> Phase:
    """Each statement's document: its lines read (the BatchGetItem, then the line shards' Queries
    at once) and put, DOCUMENT_WORKERS at a time in each of `writers` invocations."""
    latency_ms = 2 * DYNAMODB_REQUEST_MS + S3_PUT_MS
    rate = D(writers * DOCUMENT_WORKERS * 1000) / latency_ms
    seconds, bound = max(
        (
            D(creators) / rate,
            f"{writers} writer(s), {DOCUMENT_WORKERS} in flight each, {latency_ms} ms a document"
            " (not measured)",
        ),
        (D(creators) / S3_PREFIX_PUTS_PER_S, f"one S3 prefix, {S3_PREFIX_PUTS_PER_S:,} PUT/s"),
    )
    return Phase("statement documents", seconds, bound)


def month_end_single(creators: int, m: Measured = MEASURED) -> Estimate:
    read, units = month_reads(creators, creators * creator_read_us(m) / 10**6, m)
    write = statements_write(creators, 1, 1, m).phase
    documents = documents_write(creators, 1)
    seconds = read.seconds + write.seconds + documents.seconds
    return Estimate(
        "month end",
        creators,
        "single invocation",
        (read, write, documents),
        (timeout("the invocation", seconds),),
        lambda_invocations=1,
        lambda_gb_s=seconds * gb(PAYOUT_MEMORY_MB),
        transitions=0,
        s3_gets=0,
        s3_puts=puts(creators * STATEMENT_CSV_BYTES) + 1 + creators,
        write_units=creators + 3,  # and the claim, the close, the claim completed
        write_requests=ceil(D(creators) / 25) + 3,
        read_units=units + creators * DOCUMENT_READS,  # a unit a request at least (strongly consistent)
        athena_bytes=0,
    )


def month_end_state_machine(
    creators: int,
    m: Measured = MEASURED,
    *,
    ranges_max: int = RANGES_CONCURRENCY,
    publish_max: int = PUBLISH_CONCURRENCY,
) -> Estimate:
    ranges = ceil(D(creators) / CREATORS_PER_RANGE)
    at_once = running(ranges, ranges_max)
    waves = ceil(D(ranges) / at_once)
    cpu_s = waves * min(creators, CREATORS_PER_RANGE) * creator_read_us(m) / 10**6
    read, units = month_reads(creators, cpu_s, m)
    writes = statements_write(creators, ranges, running(ranges, publish_max), m)
    documents = documents_write(creators, running(ranges, publish_max))
    range_s = read.seconds / waves
    # a range's writer writes its statements, then their documents
    writer_s = writes.child_s + documents.seconds * running(ranges, publish_max) / ranges
    return Estimate(
        "month end",
        creators,
        "state machine",
        (read, writes.phase, documents),
        (
            timeout("a range", range_s),
            timeout("a range's writer", writer_s),
            account(max(at_once, writes.started)),
            *machine_caps(read.seconds + writes.phase.seconds + documents.seconds, PARENT_TRANSITIONS),
        ),
        lambda_invocations=2 * ranges + FIXED_INVOCATIONS,
        lambda_gb_s=ranges * (range_s + writer_s) * gb(PAYOUT_MEMORY_MB),
        transitions=PARENT_TRANSITIONS + CHILD_TRANSITIONS * 2 * ranges,
        # each range's statements and sums out, read back by the check and by its writer;
        # statements.csv put together from the ranges' (UploadPartCopy), summary.json
        s3_gets=2 * ranges,
        s3_puts=ranges * (puts(min(creators, CREATORS_PER_RANGE) * STATEMENT_CSV_BYTES) + 1)
        + ranges
        + 2
        + 1
        + creators,  # and a document a statement
        write_units=creators + 3,
        write_requests=ceil(D(creators) / 25) + 3,
        read_units=units + creators * DOCUMENT_READS,
        athena_bytes=0,
    )


def estimates(m: Measured = MEASURED) -> list[Estimate]:
    out: list[Estimate] = []
    for rows in VIDEO_SIZES:
        out += [videos_single(rows, m), videos_state_machine(rows, m)]
    for creators in CREATOR_SIZES:
        out += [month_end_single(creators, m), month_end_state_machine(creators, m)]
    return out


def largest(fits: Callable[[int], bool]) -> int:
    """The largest size that `fits` (which holds up to some size, not past it)."""
    low, high = 1, 10**11
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


# ------------------------------------------------------------------------------------------ output
def size_text(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"10^{exponent}" if n == 10**exponent else f"{n:,}"


def duration(seconds: Decimal) -> str:
    s = int(seconds.to_integral_value(ROUND_HALF_UP))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def amount(x: Decimal, unit: str) -> str:
    if unit == "s":
        return duration(x)
    if unit == "bytes":
        return f"{x / 2**30:,.1f} GiB"
    return f"{x:,.0f}"


def usd(value: Decimal) -> str:
    return f"${value.quantize(D('0.01'), ROUND_HALF_UP):,}"


def millions(n: int) -> str:
    return f"{D(n) / 10**6:,.1f}M"


def table(m: Measured = MEASURED) -> str:
    unit = {"videos": "videos", "month end": "creators"}
    lines = [
        f"Measured figures of {m.measured_on}; us-east-1 list prices; hard limits used to {HEADROOM:.0%}"
        " at most; the design's settings as template.yaml and infra/statemachines/ set them.",
        "",
        "| job | size | path | template's path | fits | wall time | Lambda invocations | Step Functions"
        " transitions | S3 GET / PUT | DynamoDB writes (requests) | Athena scanned | cost | binds first |",
        "| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    notes: list[str] = []
    for e in estimates(m):
        athena = f"{D(e.athena_bytes) / 10**12:.3f} TB" if e.athena_bytes else "-"
        lines.append(
            f"| {e.job} | {size_text(e.size)} {unit[e.job]} | {e.path} | {'yes' if e.picked else 'no'}"
            f" | {'yes' if e.fits else 'no'} | {duration(e.seconds)} | {e.lambda_invocations:,}"
            f" | {e.transitions:,} | {e.s3_gets:,} / {e.s3_puts:,} | {e.write_units:,} ({e.write_requests:,})"
            f" | {athena} | {usd(e.cost)} | {e.binds} |"
        )
        phases = "; ".join(f"{p.name} {duration(p.seconds)} ({p.bound})" for p in e.phases)
        cap = e.tightest
        notes.append(
            f"- {e.job}, {size_text(e.size)}, {e.path}: {phases}. Closest hard limit: {cap.name},"
            f" {amount(cap.used, cap.unit)} of {amount(cap.limit, cap.unit)} ({cap.share:,.0%})."
        )
    videos = largest(lambda n: videos_single(n, m).fits)
    in_order = largest(lambda n: videos_single(n, m, interleaved=False).fits)
    creators = largest(lambda n: month_end_single(n, m).fits)
    machine = largest(lambda n: videos_state_machine(n, m).fits)
    statement_writers = statements_write(10**7, 100, 100, m).useful
    tuned = {
        "parts_max": LAMBDA_ACCOUNT_CONCURRENCY // 2,
        "blocks_max": publication(top_of(10**9), 10**9, m).useful,
    }
    better = videos_state_machine(10**9, m, **tuned)
    lines += [
        "",
        *notes,
        "",
        f"- One invocation fits up to {millions(videos)} videos ({millions(in_order)} if it wrote the"
        f" blocks one key after another, as before issue 15) and {millions(creators)} creators;"
        f" template.yaml sends more than {millions(VIDEO_ROWS_THRESHOLD)} videos and"
        f" {millions(CREATORS_THRESHOLD)} creators to the machines.",
        f"- The machine fits up to {millions(machine)} videos. The table feeds {tuned['blocks_max']} block"
        f" writers and {statement_writers} statement writers; WriteBlocks starts up to"
        f" {BLOCKS_CONCURRENCY:,}, PublishRanges {PUBLISH_CONCURRENCY}: the rest wait on throttled writes,"
        f" billed. With ReadParts at"
        f" {tuned['parts_max']} and WriteBlocks at {tuned['blocks_max']}, 10^9 videos take"
        f" {duration(better.seconds)} for {usd(better.cost)}"
        + (", within every limit." if better.fits else f", still past {better.binds}."),
    ]
    return "\n".join(lines)


def as_json(m: Measured = MEASURED) -> str:
    def number(x: Decimal) -> float:
        return float(x.quantize(D("0.0001")))

    out: list[dict[str, Any]] = []
    for e in estimates(m):
        out.append(
            {
                "job": e.job,
                "size": e.size,
                "path": e.path,
                "templates_path": e.picked,
                "fits": e.fits,
                "seconds": number(e.seconds),
                "binds": e.binds,
                "phases": [
                    {"name": p.name, "seconds": number(p.seconds), "bound": p.bound} for p in e.phases
                ],
                "caps": [
                    {"name": c.name, "used": number(c.used), "limit": number(c.limit), "unit": c.unit}
                    for c in e.caps
                ],
                "lambda_invocations": e.lambda_invocations,
                "lambda_gb_s": number(e.lambda_gb_s),
                "step_functions_transitions": e.transitions,
                "s3_gets": e.s3_gets,
                "s3_puts": e.s3_puts,
                "dynamodb_write_units": e.write_units,
                "dynamodb_write_requests": e.write_requests,
                "dynamodb_read_units": e.read_units,
                "athena_bytes_scanned": e.athena_bytes,
                "usd": {name: number(v) for name, v in {**e.costs, "total": e.cost}.items()},
            }
        )
    return json.dumps(out, indent=2)


# ------------------------------------------------------------------------------------------ measure
def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def measure_client(m: Measured = MEASURED, items: int = 10_000, rounds: int = 3) -> Measured:
    """`m` with the DynamoDB client's CPU per item measured here, µs, best of `rounds`: botocore
    validates, serialises and signs BatchWriteItem (25 items) or parses a Query page of totals;
    the HTTP send is stubbed (no network, no AWS)."""
    import boto3  # noqa: PLC0415
    from botocore.awsrequest import AWSResponse  # noqa: PLC0415

    entry = {"pk": _s("LIST#US#000000000042#pets#0"), "sk": _s("00000001"), "video_id": _s("v00000000042")}
    entry |= {
        "creator_id": _s("cr00000042"),
        "rank": _n(1),
        "score": _n(123456789),
        "expires_at": _n(1790000000),
    }
    placement = entry | {
        "pk": _s("PLACE#US#000000000042#v00000000042"),
        "sk": _s("P"),
        "category": _s("pets"),
    }
    statement = {"pk": _s("STMT#US#2026-10#07"), "sk": _s("cr00000042"), "creator_id": _s("cr00000042")}
    statement |= {"market": _s("US"), "month": _s("2026-10"), "currency": _s("USD")}
    statement |= {f"field_{i}_micros": _n(123456789) for i in range(12)}
    total = {
        "pk": _s("TOTAL#US#2026-10#cr00000042#3"),
        "sk": _s("T"),
        "market": _s("US"),
        "month": _s("2026-10"),
    }
    total |= {"creator_id": _s("cr00000042"), "gsi1pk": _s("TOTALS#US#2026-10"), "gsi1sk": _s("cr00000042#3")}
    total |= {"gross_micros": _n(1234567), "adjustments_micros": _n(-1200), "impressions": _n(45678)}
    total |= {"entries": _n(17)}
    page = json.dumps({"Items": [total] * 1000, "Count": 1000}).encode()

    class Body:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def stream(self, **_: Any) -> Any:
            yield self.data

    def answer(request: Any, **_: Any) -> Any:
        data = page if request.headers["X-Amz-Target"].endswith(b"Query") else b'{"UnprocessedItems":{}}'
        response: Any = AWSResponse(request.url, 200, {"x-amzn-requestid": "stub"}, Body(data))  # type: ignore[arg-type]
        response._content = data
        return response

    # The credentials only sign requests whose send is stubbed: not a secret.
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",  # noqa: S106  # nosec B106
    )
    client.meta.events.register("before-send.dynamodb.*", answer)

    def per_item(call: Callable[[], object], count: int) -> Decimal:
        best = math.inf
        for _ in range(rounds):
            started = time.process_time()
            call()
            best = min(best, time.process_time() - started)
        return D(str(round(best / count * 10**6, 1)))

    def writes(*kinds: dict[str, Any]) -> None:
        batch: list[Any] = [{"PutRequest": {"Item": kinds[i % len(kinds)]}} for i in range(25)]
        for _ in range(items // 25):
            client.batch_write_item(RequestItems={"t": batch})

    pages = max(1, items // 1000)  # pages of 1,000 totals items

    def reads() -> None:
        for _ in range(pages):
            client.query(
                TableName="t", KeyConditionExpression="gsi1pk = :p", ExpressionAttributeValues={":p": _s("x")}
            )

    return replace(
        m,
        measured_on=f"{m.measured_on}; DynamoDB client re-measured now",
        write_us_per_list_item=per_item(lambda: writes(entry, placement), items // 25 * 25),
        write_us_per_statement=per_item(lambda: writes(statement), items // 25 * 25),
        read_us_per_total_item=per_item(reads, pages * 1000),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print the estimates as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the table (the default)")
    parser.add_argument(
        "--measure", action="store_true", help="measure the DynamoDB client's CPU first, size with it"
    )
    args = parser.parse_args(argv)
    m = MEASURED
    if args.measure:
        m = measure_client(m)
        print(
            f"measured (µs an item): write {m.write_us_per_list_item} a list item, {m.write_us_per_statement}"
            f" a statement; read {m.read_us_per_total_item} a totals item",
            file=sys.stderr,
        )
    print(as_json(m) if args.json else table(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
