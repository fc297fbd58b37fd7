"""The keys of sharded records, for any recorded count: data written before counts were recorded
(16 shards) must be found exactly where it was written."""

from __future__ import annotations

import zlib

import pytest
from pydantic import ValidationError

from pulse.aws.eligibility_table import eligibility_key
from pulse.aws.payout_table import layout_key, statement_key
from pulse.aws.shard_counts import UNRECORDED, count_of
from pulse.settings import PipelineSettings

# Keys the code wrote before counts were recorded (crc32 % 16, two digits), pinned as literals.
BEFORE = {"c1": "01", "creator-000042": "01", "a": "03", "b": "09", "c": "15", "US-creator-7": "03"}


@pytest.mark.parametrize(("creator_id", "shard"), sorted(BEFORE.items()))
def test_sixteen_shards_are_the_keys_written_before_counts(creator_id: str, shard: str) -> None:
    assert UNRECORDED == 16
    assert eligibility_key("US", creator_id, UNRECORDED)["pk"] == {"S": f"ELIG#US#{shard}"}
    assert statement_key("US", "2026-10", creator_id, UNRECORDED)["pk"] == {"S": f"STMT#US#2026-10#{shard}"}


@pytest.mark.parametrize("shards", [16, 64, 100])
def test_a_creators_shard_is_its_crc32_modulo_the_count(shards: int) -> None:
    seen = set()
    for i in range(2_000):
        creator_id = f"creator-{i:06d}"
        shard = zlib.crc32(creator_id.encode()) % shards
        assert eligibility_key("GB", creator_id, shards) == {
            "pk": {"S": f"ELIG#GB#{shard:02d}"},
            "sk": {"S": creator_id},
        }
        assert statement_key("GB", "2026-11", creator_id, shards)["pk"]["S"] == f"STMT#GB#2026-11#{shard:02d}"
        seen.add(shard)
    assert seen == set(range(shards))  # every key is used: the writes spread over all of them


def test_a_months_layout_is_no_statements_key() -> None:
    layout = layout_key("US", "2026-10")
    assert layout == {"pk": {"S": "STMT#US#2026-10"}, "sk": {"S": "LAYOUT"}}
    shard_keys = {statement_key("US", "2026-10", f"c{i}", 64)["pk"]["S"] for i in range(1_000)}
    assert layout["pk"]["S"] not in shard_keys


def test_an_item_without_a_count_predates_counts() -> None:
    assert count_of({"pk": {"S": "MARKET#US"}, "latest_snapshot": {"S": "2026-11-27"}}) == 16
    assert count_of({"pk": {"S": "MARKET#US"}, "shards": {"N": "64"}}) == 64


_ENV = {"STATE_TABLE": "t", "REPORTS_BUCKET": "r", "EVENT_BUS_NAME": "b"}


def test_the_shard_settings_default_to_the_count_before_counts_and_are_bounded() -> None:
    unset = PipelineSettings.model_validate(_ENV)
    assert (unset.eligibility_shards, unset.statement_shards) == (16, 16)
    both = {"PULSE_ELIGIBILITY_SHARDS": "64", "PULSE_STATEMENT_SHARDS": "64"}
    set_ = PipelineSettings.model_validate(_ENV | both)
    assert (set_.eligibility_shards, set_.statement_shards) == (64, 64)
    for bad in ("0", "101", "many"):
        with pytest.raises(ValidationError):
            PipelineSettings.model_validate(_ENV | {"PULSE_ELIGIBILITY_SHARDS": bad})
