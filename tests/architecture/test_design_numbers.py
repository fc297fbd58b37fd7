"""The design notes quote the code's own numbers: each figure below is read from the code."""

from __future__ import annotations

from pathlib import Path

from pulse.aws.ledger_table import TOTAL_SHARDS
from pulse.aws.list_table import RANKS_PER_KEY
from pulse.aws.s3_batches import RANGE_BYTES, RANGES_AHEAD
from pulse.aws.shard_counts import UNRECORDED
from pulse.eligibility import creators_snapshot
from pulse.ingest.parts import MAX_LINE_BYTES
from pulse.ingest.read_phase import CSV_BLOCK_ROWS, PARALLEL_ROWS
from pulse.ingest.seen_ids import IN_ONE_SET, PARTITIONS
from pulse.lists.publication import REPUBLISH_AFTER
from pulse.money import ledger
from pulse_cli.template import Stack

DESIGN = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()


def test_the_design_notes_quote_the_codes_numbers() -> None:
    stack = Stack()
    eligibility_shards = stack.function_environment("CreatorsIngestFunction")["PULSE_ELIGIBILITY_SHARDS"]
    statement_shards = stack.function_environment("PayoutFunction")["PULSE_STATEMENT_SHARDS"]
    quoted = [
        f"A marker without `shards` is a market from before counts were recorded: {UNRECORDED}, for good",
        f"a setting of CreatorsIngestFunction only, {eligibility_shards} in the template",
        f"A new market takes {eligibility_shards} keys (`PULSE_ELIGIBILITY_SHARDS`)",
        f"(`PULSE_STATEMENT_SHARDS`, {statement_shards})",
        f"the count its layout records, {UNRECORDED} for a month without one",
        f"creator-month totals, {TOTAL_SHARDS} shards",
        f"`RANKS_PER_KEY` = {RANKS_PER_KEY:,} ranks to a partition key",
        f"published less than {REPUBLISH_AFTER.seconds // 3600} hours",
        f"with a {MAX_LINE_BYTES // 2**20} MiB line cap",
        f"A part of {PARALLEL_ROWS:,} rows or more",
        f"converted {CSV_BLOCK_ROWS:,} rows at a time",
        f"in one set up to {IN_ONE_SET // 10**6}M ids and a hash partition (1/{PARTITIONS}th)",
        f"byte ranges of {RANGE_BYTES // 2**20} MiB, {RANGES_AHEAD} in flight",
        f"{creators_snapshot.CHUNK:,} creators or {ledger.CHUNK} revenue rows a chunk",
    ]
    missing = [text for text in quoted if text not in " ".join(DESIGN.split())]
    assert not missing, missing
