"""Part files read from S3 in parallel byte ranges: the same bytes, in order, and the batch's
errors when a file is missing or is replaced while it is read."""

from __future__ import annotations

import os
from typing import Any

import pytest

from pulse.aws.s3_batches import S3PartSource
from pulse.ingest.manifest import BatchError, locate_batch
from pulse_cli.template import Stack

LOCATION = locate_batch("videos/market=US/snapshot=2026-11-27/_manifest.json")


def _source(stack: Stack, s3: Any, content: bytes) -> S3PartSource:
    bucket = stack.name_of("IngestBucket")
    s3.put_object(Bucket=bucket, Key=LOCATION.part_key("part-0.jsonl"), Body=content)
    return S3PartSource(bucket, range_bytes=64 * 1024, ranges=3)


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, 64 * 1024 + 1, 1_000_003])
def test_a_part_reads_back_byte_for_byte_whatever_its_size(stack: Stack, s3: Any, size: int) -> None:
    content = os.urandom(size)
    with _source(stack, s3, content).open_part(LOCATION, "part-0.jsonl") as stream:
        chunks = []
        while chunk := stream.read(10_007):  # reads that straddle the ranges
            chunks.append(chunk)
    assert b"".join(chunks) == content


def test_a_missing_part_is_a_missing_file(stack: Stack, s3: Any) -> None:
    source = _source(stack, s3, b"x")
    with pytest.raises(BatchError) as caught, source.open_part(LOCATION, "part-9.jsonl"):
        pass
    assert (caught.value.code, caught.value.file) == ("missing_file", "part-9.jsonl")


def test_a_part_replaced_while_it_is_read_makes_the_file_unreadable(stack: Stack, s3: Any) -> None:
    bucket, key = stack.name_of("IngestBucket"), LOCATION.part_key("part-0.jsonl")
    source = _source(stack, s3, os.urandom(1_000_000))

    def read_while_replaced() -> None:
        with source.open_part(LOCATION, "part-0.jsonl") as stream:
            stream.read(10)  # the first ranges are on their way already
            s3.put_object(Bucket=bucket, Key=key, Body=b"new")
            while stream.read(100_000):
                pass

    with pytest.raises(BatchError) as caught:
        read_while_replaced()
    assert caught.value.code == "unreadable_file"
