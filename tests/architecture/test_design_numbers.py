"""The design notes quote the code's own numbers: each figure below is read from the code."""

from __future__ import annotations

from pathlib import Path

from pulse.aws.eligibility_table import SHARDS
from pulse.aws.ledger_table import TOTAL_SHARDS
from pulse.aws.payout_table import STATEMENT_SHARDS
from pulse.eligibility import creators_snapshot
from pulse.ingest.parts import MAX_LINE_BYTES
from pulse.lists.publication import REPUBLISH_AFTER
from pulse.money import ledger

DESIGN = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()


def test_the_design_notes_quote_the_codes_numbers() -> None:
    quoted = [
        f"spread over {SHARDS} partitions by `crc32(creator_id) % {SHARDS}`",
        f"creator-month totals, {TOTAL_SHARDS} shards",
        f"previous month's statements ({STATEMENT_SHARDS} sorted shards, merged)",
        f"published less than {REPUBLISH_AFTER.seconds // 3600} hours",
        f"line by line with a {MAX_LINE_BYTES // 2**20} MiB",
        f"{creators_snapshot.CHUNK:,} creators or {ledger.CHUNK} revenue rows a chunk",
    ]
    missing = [text for text in quoted if text not in " ".join(DESIGN.split())]
    assert not missing, missing
