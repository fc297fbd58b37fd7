"""WorkBucket: the state machines' intermediate objects, each run under its own prefix (a
retried step overwrites its own objects; the bucket's lifecycle removes them after 7 days)."""

from __future__ import annotations

from pulse.aws import clients


class S3WorkStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        clients.s3().put_object(Bucket=self._bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        return clients.s3().get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in (
            clients.s3().get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
        ):
            found += [entry["Key"] for entry in page.get("Contents", [])]
        return found
