"""`make bench`: the project's benchmarks, each printing the figures its issue asks for.

Sections: `creators` (issue 2): a generated creators snapshot of N rows (gzip JSON Lines) processed
by CreatorsIngestFunction against a moto server on 127.0.0.1, first as a first load and then as
the next day's snapshot with 1% of creators changed: rows per second, peak RSS of the function's
process, and the AWS requests it made.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3

from pulse_local import datagen
from pulse_local.moto_server import aws_environment, moto_server
from pulse_local.resources import create_resources
from pulse_local.template import REGION, ROOT, Stack
from pulse_local.uploads import put_bytes

DATA_DIR = ROOT / "bench-data"


def _write_gzip_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    from pulse.parts import write_part  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        count = write_part(rows, path.name, handle)
    tmp.rename(path)
    return count


def _dataset(name: str, rows: Iterable[Mapping[str, Any]]) -> Path:
    path = DATA_DIR / name
    if not path.exists():
        started = time.perf_counter()
        count = _write_gzip_jsonl(path, rows)
        print(f"  generated {path.relative_to(ROOT)}: {count:,} rows in {time.perf_counter() - started:.1f}s")
    return path


def _run_batch(stack: Stack, s3: Any, folder: str, part: Path, *, rows: int, snapshot: str) -> dict[str, Any]:
    bucket = stack.name_of("IngestBucket")
    s3.upload_file(str(part), bucket, folder + "part-0000.jsonl.gz")
    manifest = {
        "dataset": folder.split("/", maxsplit=1)[0],
        "market": "US",
        "snapshot": snapshot,
        "files": [{"key": "part-0000.jsonl.gz", "rows": rows}],
    }
    uploaded = put_bytes(s3, bucket, folder + "_manifest.json", json.dumps(manifest).encode())
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
        subprocess.run(  # noqa: S603  # our own interpreter and module
            [
                sys.executable,
                "-m",
                "pulse_local.bench_worker",
                "--stack-name",
                stack.name,
                "--bucket",
                bucket,
                "--key",
                uploaded.key,
                "--size",
                str(uploaded.size),
                "--etag",
                uploaded.etag,
                "--out",
                out.name,
            ],
            check=True,
            env=env,
        )
        return json.loads(Path(out.name).read_text())  # type: ignore[no-any-return]


def _print_run(title: str, rows: int, run: dict[str, Any]) -> None:
    outcome = run["results"][0]["batches"][0]["outcome"]
    requests = run["requests"]
    dynamo = {k.split(".", 1)[1]: v for k, v in sorted(requests.items()) if k.startswith("dynamodb.")}
    print(f"  {title}")
    print(
        f"    rows: {rows:,}  time: {run['elapsed_s']:.1f}s  rows/s: {rows / run['elapsed_s']:,.0f}"
        f"  function CPU: {run['cpu_s']:.1f}s  peak RSS: {run['peak_rss_mb']:.0f} MB"
    )
    print(
        f"    records written: {outcome['records_written']:,}  unchanged: {outcome['records_unchanged']:,}"
        f"  status changes: {outcome['status_changes']:,}"
    )
    print(f"    DynamoDB requests: {sum(dynamo.values()):,} {dynamo}")
    print(
        f"    EventBridge PutEvents: {requests.get('events.PutEvents', 0):,}"
        f"  S3 requests: {sum(v for k, v in requests.items() if k.startswith('s3.')):,}"
    )


def bench_creators(rows: int) -> None:
    print(f"creators ingest ({rows:,} rows, gzip JSON Lines, moto server on 127.0.0.1)")
    base = _dataset(f"creators-US-{rows}-base.jsonl.gz", datagen.creators("US", rows))
    changed = _dataset(
        f"creators-US-{rows}-changed1pct.jsonl.gz",
        datagen.creators("US", rows, changed_every=100, change_seed="day2"),
    )
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        stack = Stack()
        create_resources(stack, endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        first = _run_batch(
            stack, s3, "creators/market=US/snapshot=2026-11-26/", base, rows=rows, snapshot="2026-11-26"
        )
        _print_run("first load", rows, first)
        second = _run_batch(
            stack, s3, "creators/market=US/snapshot=2026-11-27/", changed, rows=rows, snapshot="2026-11-27"
        )
        _print_run("next snapshot, 1% of creators changed", rows, second)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creators-rows", type=int, default=1_000_000)
    parser.add_argument("sections", nargs="*", default=["creators"])
    args = parser.parse_args(argv)
    if "creators" in args.sections:
        bench_creators(args.creators_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
