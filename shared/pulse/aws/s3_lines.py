"""Gzip text objects of one record per line, streamed both ways (rosters, rankings)."""

from __future__ import annotations

import gzip
import io
import tempfile
from collections.abc import Iterable, Iterator
from itertools import islice

from botocore.exceptions import ClientError

from pulse.aws import clients

_LINES_A_WRITE = 4096


def read_lines(bucket: str, key: str) -> Iterator[str] | None:
    """The object's non-empty lines, streamed; None when the object is not there."""
    try:
        body = clients.s3().get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise

    def lines() -> Iterator[str]:
        with body, gzip.GzipFile(fileobj=body, mode="rb") as unzipped:
            for line in io.TextIOWrapper(unzipped, encoding="utf-8"):
                if stripped := line.strip():
                    yield stripped

    return lines()


def write_lines(bucket: str, key: str, lines: Iterable[str]) -> None:
    """Write the lines gzip-compressed through a local spool (multipart for large objects)."""
    iterator = iter(lines)
    with tempfile.TemporaryFile() as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0, compresslevel=6) as zipped:
            # A few thousand lines a write: one call into zlib each, not one per line.
            for chunk in iter(lambda: list(islice(iterator, _LINES_A_WRITE)), []):
                zipped.write(("\n".join(chunk) + "\n").encode())
        spool.seek(0)
        clients.s3().upload_fileobj(spool, bucket, key)
