"""The ingest bucket as a `PartSource`, and ReportsBucket as a `ReportSink`."""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.ingest.manifest import MANIFEST_MAX_BYTES, MANIFEST_NAME, BatchError, BatchLocation
from pulse.ingest.report import IngestReport

_MISSING = ("NoSuchKey", "404", "NotFound")
RANGE_BYTES = 8 << 20  # a ranged GET: large enough that requests cost little, small in memory
RANGES_AHEAD = 4  # ranged GETs in flight at once, ahead of the reader


class S3PartSource:
    """Part files read with parallel ranged GETs (`RangedReader`)."""

    def __init__(self, bucket: str, range_bytes: int = RANGE_BYTES, ranges: int = RANGES_AHEAD) -> None:
        self._bucket = bucket
        self._range_bytes = range_bytes
        self._ranges = ranges

    def read_manifest(self, location: BatchLocation) -> bytes:
        try:
            response = clients.s3().get_object(Bucket=self._bucket, Key=location.manifest_key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                raise BatchError("missing_file", "the manifest is gone", MANIFEST_NAME) from exc
            raise
        body = response["Body"]
        if response["ContentLength"] > MANIFEST_MAX_BYTES:
            body.close()
            raise BatchError(
                "bad_manifest", f"manifest is larger than {MANIFEST_MAX_BYTES} bytes", MANIFEST_NAME
            )
        return body.read()

    @contextmanager
    def open_part(self, location: BatchLocation, key: str) -> Iterator[BinaryIO]:
        s3, object_key = clients.s3(), location.part_key(key)
        try:
            head = s3.head_object(Bucket=self._bucket, Key=object_key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                raise BatchError(
                    "missing_file", "the manifest lists this file but it is not in the batch folder", key
                ) from exc
            raise
        reader = RangedReader(
            self._bucket,
            object_key,
            size=head["ContentLength"],
            etag=head["ETag"],
            range_bytes=self._range_bytes,
            ahead=self._ranges,
        )
        try:
            yield cast(BinaryIO, reader)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed", "412", *_MISSING):
                raise BatchError(
                    "unreadable_file", "the file changed or went while it was read", key
                ) from exc
            raise
        finally:
            reader.close()


class RangedReader(io.RawIOBase):
    """An S3 object read as a stream of byte ranges fetched ahead on a few threads, in order.

    One GET streams at a few tens of MB/s; the block workers of a large function inflate and
    parse faster than that. So ranges of `range_bytes` are requested `ahead` at a time, each
    pinned to the object's ETag (If-Match): an object replaced while it is read fails the read
    instead of mixing two versions. Memory holds at most `ahead` ranges.
    """

    def __init__(self, bucket: str, key: str, *, size: int, etag: str, range_bytes: int, ahead: int) -> None:
        super().__init__()
        self._key, self._size, self._etag, self._bucket = key, size, etag, bucket
        self._range_bytes = range_bytes
        self._pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="pulse-range")
        self._pending: deque[Future[bytes]] = deque()
        self._next = 0  # the first byte not yet requested
        self._current = memoryview(b"")
        for _ in range(ahead):
            self._request()

    def _request(self) -> None:
        if self._next < self._size:
            start, end = self._next, min(self._next + self._range_bytes, self._size) - 1
            self._next = end + 1
            self._pending.append(self._pool.submit(self._fetch, start, end))

    def _fetch(self, start: int, end: int) -> bytes:
        response = clients.s3().get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={start}-{end}", IfMatch=self._etag
        )
        with response["Body"] as body:
            data: bytes = body.read()
        if len(data) != end - start + 1:
            raise BatchError("unreadable_file", "a range of the file came back short", self._key)
        return data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            if not self._pending:
                return 0  # the end of the object
            self._current = memoryview(self._pending.popleft().result())
            self._request()
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        super().close()


class S3ReportSink:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def write(self, report: IngestReport, rejected_rows: Path) -> None:
        s3 = clients.s3()
        # Rejected rows first: a report that exists always has its rejected.jsonl beside it.
        s3.upload_file(
            str(rejected_rows),
            self._bucket,
            report.rejected_key,
            ExtraArgs={"ContentType": "application/x-ndjson"},
        )
        s3.put_object(
            Bucket=self._bucket,
            Key=report.report_key,
            Body=report.model_dump_json(indent=2).encode(),
            ContentType="application/json",
        )
