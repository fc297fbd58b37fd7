"""The ingest bucket as a `PartSource`, and ReportsBucket as a `ReportSink`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from botocore.exceptions import ClientError

from pulse.aws import clients
from pulse.ingest.manifest import MANIFEST_MAX_BYTES, MANIFEST_NAME, BatchError, BatchLocation
from pulse.ingest.report import IngestReport

_MISSING = ("NoSuchKey", "404", "NotFound")


class S3PartSource:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

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
        try:
            response = clients.s3().get_object(Bucket=self._bucket, Key=location.part_key(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                raise BatchError(
                    "missing_file", "the manifest lists this file but it is not in the batch folder", key
                ) from exc
            raise
        body = response["Body"]
        try:
            yield cast(BinaryIO, body)
        finally:
            body.close()


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
