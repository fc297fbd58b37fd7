"""`make bench`: the project's benchmarks, each printing the figures its issue asks for.

- `api` (issue 4): cold import of the API module against `import boto3`, handler CPU per lookup,
  DynamoDB requests per lookup (pulse_local/bench_api.py);
- `videos` (issue 13): VideosIngestFunction invoked with the real S3 event of an N-row snapshot on
  the local stack, beside DuckDB (1 thread) ranking the same file: times, ratio, peak RSS, and
  the lists compared entry by entry; `videos-memory`: the same at 10M rows, for its peak RSS;
- `videos-machine` (issue 15): a snapshot of 200 part files (5M rows) through VideosSnapshotMachine
  on the local stack against one invocation on the same batch: times, each state's, a part's,
  and the results compared (pulse_local/bench_machine.py);
- `read-phases` (issue 13): the read phase of the creators and revenue functions on N-row
  batches, in their own environment, without the apply phase: rows per second;
- `ranking` (issue 3): `pulse rank` on a generated N-row videos snapshot (gzip JSON Lines) against
  DuckDB on 1 thread running the same ranking in SQL on the same file: both times, their ratio,
  peak RSS, the floor (inflate and parse only), and a check that both give the same lists;
- `month-end` (issue 6): a month end for N creators against moto (time, requests) and the pure
  computation of 1M statements (time, peak RSS), see pulse_local/bench_payout.py;
- `revenue` (issue 5): a revenue batch of N rows attributed against a published list of 40,000
  videos, on a moto server: rows per second, peak RSS and DynamoDB requests;
- `creators` (issue 2): a generated creators snapshot of N rows (gzip JSON Lines) processed by
  CreatorsIngestFunction against a moto server on 127.0.0.1, first as a first load and then as
  the next day's snapshot with 1% of creators changed: rows per second, peak RSS of the
  function's process, and the AWS requests it made.

`make bench` runs them all; `python -m pulse_local.bench videos` runs one.
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

from pulse_cli import datagen
from pulse_cli.template import REGION, ROOT, Stack
from pulse_cli.uploads import put_bytes
from pulse_local.moto_server import aws_environment, moto_server
from pulse_local.published import publish_all_active
from pulse_local.resources import create_resources

DATA_DIR = ROOT / "bench-data"


def _write_gzip_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    from pulse.ingest.parts import write_part  # noqa: PLC0415

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


def _run_batch(
    stack: Stack, s3: Any, folder: str, part: Path, *, rows: int, snapshot: str | None
) -> dict[str, Any]:
    bucket = stack.name_of("IngestBucket")
    uploaded = _upload_batch(stack, s3, folder, part, rows=rows, snapshot=snapshot)
    return _run_worker(
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
    )


def _upload_batch(stack: Stack, s3: Any, folder: str, part: Path, *, rows: int, snapshot: str | None) -> Any:
    bucket = stack.name_of("IngestBucket")
    s3.upload_file(str(part), bucket, folder + "part-0000.jsonl.gz")
    manifest: dict[str, Any] = {
        "dataset": folder.split("/", maxsplit=1)[0],
        "market": "US",
        "files": [{"key": "part-0000.jsonl.gz", "rows": rows}],
    }
    if snapshot is not None:
        manifest["snapshot"] = snapshot
    return put_bytes(s3, bucket, folder + "_manifest.json", json.dumps(manifest).encode())


def bench_read_phases(rows: int) -> None:
    """The read phase of CreatorsIngestFunction and RevenueIngestFunction on N-row batches uploaded
    to the local stack: each function's own source, collector and settings, without the apply
    phase (whose DynamoDB writes moto makes slow): rows per second, best of 3."""
    print(f"read phases ({rows:,} rows a batch, gzip JSON Lines, on the local stack, best of 3)")
    batches = [
        (
            "CreatorsIngestFunction",
            "creators/market=US/snapshot=2026-11-26/",
            "2026-11-26",
            _dataset(f"creators-US-{rows}-base.jsonl.gz", datagen.creators("US", rows)),
        ),
        (
            "RevenueIngestFunction",
            "revenue/market=US/date=2026-11-27/bench-1/",
            None,
            _dataset(f"revenue-US-{rows}.jsonl.gz", datagen.revenue("US", rows, "0000000001", 40_000)),
        ),
    ]
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        stack = Stack()
        create_resources(stack, endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        for function, folder, snapshot, path in batches:
            uploaded = _upload_batch(stack, s3, folder, path, rows=rows, snapshot=snapshot)
            arguments = ["--stack-name", stack.name, "--bucket", stack.name_of("IngestBucket")]
            runs = [
                _run_worker(*arguments, "--key", uploaded.key, "--read-phase-of", function) for _ in range(3)
            ]
            best = min(runs, key=lambda run: run["read_phase_s"])
            print(
                f"  {function}: {rows / best['read_phase_s']:,.0f} rows/s ({best['read_phase_s']:.2f}s,"
                f" {best['workers'] or 1} process{'es' if best['workers'] > 1 else ''},"
                f" peak RSS {_peak_mb(best):.0f} MB)"
            )


def _run_worker(*arguments: str) -> dict[str, Any]:
    """pulse_local.bench_worker in its own process, through the small launcher so that its peak
    RSS is its own (see _timed_process); returns what it measured."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
        command = [
            sys.executable,
            "-c",
            _LAUNCHER,
            sys.executable,
            "-m",
            "pulse_local.bench_worker",
            *arguments,
        ]
        subprocess.run([*command, "--out", out.name], check=True, env=env)  # noqa: S603  # nosec B603  # our interpreter
        return json.loads(Path(out.name).read_text())  # type: ignore[no-any-return]


def _print_run(title: str, rows: int, run: dict[str, Any]) -> None:
    outcome = run["results"][0]["batches"][0]["outcome"]
    counts = run["requests"]
    dynamo = {k.split(".", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("dynamodb.")}
    print(f"  {title}")
    print(
        f"    rows: {rows:,}  time: {run['elapsed_s']:.1f}s  rows/s: {rows / run['elapsed_s']:,.0f}"
        f"  function CPU: {run['cpu_s']:.1f}s  peak RSS: {run['peak_rss_mb']:.0f} MB"
    )
    print(f"    read phase: {run['read_phase_s']:.2f}s  rows/s: {rows / run['read_phase_s']:,.0f}")
    print(
        f"    records written: {outcome['records_written']:,}  unchanged: {outcome['records_unchanged']:,}"
        f"  status changes: {outcome['status_changes']:,}"
    )
    print(f"    DynamoDB requests: {sum(dynamo.values()):,} {dynamo}")
    print(
        f"    EventBridge PutEvents: {counts.get('events.PutEvents', 0):,}"
        f"  S3 requests: {sum(v for k, v in counts.items() if k.startswith('s3.')):,}"
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


_LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stderr=subprocess.DEVNULL)
elapsed = time.perf_counter() - started
print(json.dumps([elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))
"""


def _timed_process(command: list[str]) -> tuple[float, float]:
    """Run a command as its own process: wall time (startup included) and its peak RSS (MB).

    A small launcher process starts it, so that the peak RSS is the command's own and not the
    memory of this (larger) process that a forked child would report as its high-water mark.
    """
    out = subprocess.run(  # noqa: S603  # nosec B603  # our own interpreter
        [sys.executable, "-c", _LAUNCHER, *command], check=True, capture_output=True, text=True
    )
    elapsed, peak = json.loads(out.stdout.strip().splitlines()[-1])
    return float(elapsed), float(peak)


def _parse_floor(path: Path) -> float:
    """Only inflate the file and parse its JSON (no validation, no ranking): the floor."""
    import msgspec  # noqa: PLC0415

    from pulse.ingest.parts import iter_jsonl_blocks  # noqa: PLC0415

    decoder = msgspec.json.Decoder()
    started = time.perf_counter()
    with path.open("rb") as stream:
        for _, _, block in iter_jsonl_blocks(stream, path.name):
            decoder.decode(b"[" + block.replace(b"\n", b",") + b"]")
    return time.perf_counter() - started


def bench_ranking(rows: int, repeats: int = 3) -> None:
    from pulse.core.rules import load_rules  # noqa: PLC0415

    print(f"ranking ({rows:,} videos, gzip JSON Lines, best of {repeats})")
    categories = list(load_rules().categories)
    path = _dataset(f"videos-US-{rows}.jsonl.gz", datagen.videos("US", rows, max(rows // 10, 1), categories))
    with tempfile.TemporaryDirectory() as tmp:
        ours_path, theirs_path = Path(tmp, "pulse.json"), Path(tmp, "duckdb.json")
        pulse_runs = [
            _timed_process(
                [
                    sys.executable,
                    "-m",
                    "pulse_cli.main",
                    "rank",
                    "--market",
                    "US",
                    "--snapshot",
                    "2026-11-27",
                    "--videos",
                    str(path),
                    "--out",
                    str(ours_path),
                ]
            )
            for _ in range(repeats)
        ]
        duck_runs = [
            _timed_process(
                [sys.executable, "-m", "pulse_local.duckdb_rank", str(path), "US", str(theirs_path)]
            )
            for _ in range(repeats)
        ]
        same = json.loads(ours_path.read_text())["lists"] == json.loads(theirs_path.read_text())
        ours = json.loads(ours_path.read_text())["lists"]
    pulse_time, peak = min(r[0] for r in pulse_runs), max(r[1] for r in pulse_runs)
    duck_time, duck_peak = min(r[0] for r in duck_runs), max(r[1] for r in duck_runs)
    floor = min(_parse_floor(path) for _ in range(repeats))
    entries = sum(len(v) for v in ours.values())
    print(f"  pulse rank: {pulse_time:.2f}s  peak RSS {peak:.0f} MB  ({entries:,} list entries)")
    print(f"  DuckDB (1 thread, same checks in SQL): {duck_time:.2f}s  peak RSS {duck_peak:.0f} MB")
    ratio = pulse_time / duck_time
    print(f"  ratio pulse rank / DuckDB: {ratio:.2f}  (both timed as processes, startup included)")
    print(f"  floor (inflate + parse JSON only): {floor:.2f}s")
    print(f"  same lists: {'yes' if same else 'NO'}")
    if not same:
        raise SystemExit("pulse rank and DuckDB disagree")


def _ranked_lists(s3: Any, bucket: str, snapshot: str) -> dict[str, list[dict[str, Any]]]:
    """The top k the function kept for a snapshot, as `duckdb_rank` writes its lists."""
    import gzip  # noqa: PLC0415

    key = f"rankings/market=US/snapshot={snapshot}/top.jsonl.gz"
    lists: dict[str, list[dict[str, Any]]] = {}
    for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines():
        entry = json.loads(line)
        lists.setdefault(entry.pop("category"), []).append(entry)
    return lists


def _peak_mb(run: dict[str, Any]) -> float:
    """The function's memory at its peak: its own process and each block worker's (an upper
    bound: forked workers share the pages they did not write to)."""
    return float(run["peak_rss_mb"] + run["workers"] * run["peak_worker_rss_mb"])


def bench_videos_function(rows: int, *, compare: bool = True, repeats: int = 3) -> None:
    """VideosIngestFunction invoked with the real S3 event of a videos snapshot of N rows (one gzip
    JSON Lines part) uploaded to the local stack, with no creators snapshot (publication writes
    almost nothing): the invocation's time and peak RSS, beside DuckDB (1 thread) ranking the same
    file, and both lists compared entry by entry. Best of `repeats` for both, interleaved."""
    from pulse.core.rules import load_rules  # noqa: PLC0415

    categories = list(load_rules().categories)
    path = _dataset(f"videos-US-{rows}.jsonl.gz", datagen.videos("US", rows, max(rows // 10, 1), categories))
    print(f"videos ingest ({rows:,} rows, gzip JSON Lines, VideosIngestFunction on the local stack,")
    print(f"  with the template's settings; {os.cpu_count()} CPUs here)")
    runs, duck_times = [], []
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(aws_environment(endpoint))
        stack = Stack()
        create_resources(stack, endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        out = Path(tmp, "duckdb.json")
        for day in range(repeats):
            snapshot = f"2026-11-{25 + day:02d}"  # later each time: every run publishes
            folder = f"videos/market=US/snapshot={snapshot}/"
            runs.append((snapshot, _run_batch(stack, s3, folder, path, rows=rows, snapshot=snapshot)))
            if compare:
                command = [sys.executable, "-m", "pulse_local.duckdb_rank", str(path), "US", str(out)]
                duck_times.append(_timed_process(command)[0])
        snapshot, best = min(runs, key=lambda r: r[1]["elapsed_s"])
        ours = _ranked_lists(s3, stack.name_of("ReportsBucket"), snapshot)
        theirs = {c: v for c, v in json.loads(out.read_text()).items() if v} if compare else {}
    batch = best["results"][0]["batches"][0]
    top_k = sum(batch["outcome"]["top_k"].values())
    peak = max(_peak_mb(run) for _, run in runs)
    print(
        f"  invocation: {best['elapsed_s']:.2f}s  read phase: {best['read_phase_s']:.2f}s"
        f"  ({rows / best['read_phase_s']:,.0f} rows/s)  CPU: {best['cpu_s']:.1f}s"
    )
    pss = max(run["peak_pss_mb"] for _, run in runs)
    print(
        f"  peak memory: {pss:.0f} MB (the function and its block workers together, PSS);"
        f" peak RSS: function {best['peak_rss_mb']:.0f} MB + {best['workers']} block workers"
        f" of at most {best['peak_worker_rss_mb']:.0f} MB = {peak:.0f} MB (shared pages counted twice)"
    )
    print(f"  rows accepted: {batch['rows_accepted']:,}  top k kept: {top_k:,}")
    if compare:
        duck = min(duck_times)
        print(f"  DuckDB (1 thread, same checks in SQL, best of {repeats}): {duck:.2f}s")
        print(f"  ratio function / DuckDB: {best['elapsed_s'] / duck:.2f}")
        same = ours == theirs
        print(f"  same lists as DuckDB: {'yes' if same else 'NO'}")
        if not same:
            raise SystemExit("the function and DuckDB rank differently")


def bench_revenue(rows: int) -> None:
    """A revenue batch of N rows against a published list of 40,000 videos, on a moto server."""
    from pulse.aws import clients  # noqa: PLC0415
    from pulse.core.rules import load_rules  # noqa: PLC0415
    from pulse.lists.ranking import Ranked  # noqa: PLC0415

    print(f"revenue ingest ({rows:,} rows, gzip JSON Lines, moto server on 127.0.0.1)")
    rules = load_rules()
    categories = list(rules.categories)
    listed = 40_000
    ranked = {
        c: [
            Ranked(r, f"vd{i:09d}", datagen.creator_id(i % 20_000), 1_000_000 - r)
            for r, i in enumerate(range(n, listed, len(categories)), 1)
        ]
        for n, c in enumerate(categories)
    }
    path = _dataset(f"revenue-US-{rows}.jsonl.gz", datagen.revenue("US", rows, "0000000001", listed))
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        clients.reset()
        stack = Stack()
        create_resources(stack, endpoint)

        publication = publish_all_active(stack, "US", ranked)
        assert publication.version.version == "0000000001"
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        run = _run_batch(
            stack, s3, "revenue/market=US/date=2026-11-27/bench-1/", path, rows=rows, snapshot=None
        )
        outcome = run["results"][0]["batches"][0]["outcome"]
        requests = run["requests"]
        dynamo = {k.split(".", 1)[1]: v for k, v in sorted(requests.items()) if k.startswith("dynamodb.")}
        print(
            f"  rows: {rows:,}  time: {run['elapsed_s']:.1f}s  rows/s: {rows / run['elapsed_s']:,.0f}"
            f"  function CPU: {run['cpu_s']:.1f}s  peak RSS: {run['peak_rss_mb']:.0f} MB"
        )
        print(
            f"  entries recorded: {outcome['entries_recorded']:,}  not on list: {outcome['not_on_list']:,}"
            f"  duplicates: {outcome['duplicates']:,}"
        )
        print(f"  DynamoDB requests: {sum(dynamo.values()):,} {dynamo}")
        print(f"  read phase: {run['read_phase_s']:.2f}s  rows/s: {rows / run['read_phase_s']:,.0f}")


def bench_month_end(creators: int) -> None:
    """A month end for N creators on a moto server, and the pure computation for 1M creators."""
    from pulse.aws.dynamo import batch_write  # noqa: PLC0415
    from pulse.aws.ledger_table import total_key  # noqa: PLC0415

    print(f"month end ({creators:,} creators on a moto server; 1,000,000 in pure computation)")
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        stack = Stack()
        create_resources(stack, endpoint)
        from pulse.aws import clients  # noqa: PLC0415

        clients.reset()
        table = stack.name_of("StateTable")
        requests: list[Any] = []
        for i in range(creators):
            creator = datagen.creator_id(i)
            item = {
                **total_key("US", "2026-10", creator, 0),
                "gross_micros": {"N": str((i * 7919) % 300_000_000)},
                "adjustments_micros": {"N": str(-(i % 1000))},
                "impressions": {"N": str(i % 5000)},
                "entries": {"N": "1"},
                "creator_id": {"S": creator},
                "market": {"S": "US"},
                "month": {"S": "2026-10"},
                "gsi1pk": {"S": "TOTALS#US#2026-10"},
                "gsi1sk": {"S": f"{creator}#0"},
            }
            requests.append({"PutRequest": {"Item": item}})
        batch_write(table, requests)
        run = _run_worker(
            "--function", "PayoutFunction", "--event", json.dumps({"month": "2026-10", "markets": ["US"]})
        )
    summary = run["results"][0]["runs"][0]
    dynamo = {k.split(".", 1)[1]: v for k, v in sorted(run["requests"].items()) if k.startswith("dynamodb.")}
    elapsed_run, cpu = run["elapsed_s"], run["cpu_s"]
    print(f"  run: {elapsed_run:.1f}s for {summary['creators']:,} statements  function CPU: {cpu:.1f}s")
    print(f"  peak RSS of the function: {run['peak_rss_mb']:.0f} MB")
    print(f"  DynamoDB requests: {sum(dynamo.values()):,} {dynamo}")
    elapsed, peak = _timed_process([sys.executable, "-m", "pulse_local.bench_payout", "pure", "1000000"])
    print(f"  pure computation, 1,000,000 statements streamed and summarized: {elapsed:.1f}s")
    print(f"  peak RSS of the pure computation: {peak:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creators-rows", type=int, default=1_000_000)
    parser.add_argument("--ranking-rows", type=int, default=1_000_000)
    parser.add_argument("--revenue-rows", type=int, default=1_000_000)
    parser.add_argument("--payout-creators", type=int, default=100_000)
    parser.add_argument("--videos-rows", type=int, default=1_000_000)
    parser.add_argument("--videos-memory-rows", type=int, default=10_000_000)
    parser.add_argument("--read-phase-rows", type=int, default=1_000_000)
    parser.add_argument("--machine-parts", type=int, default=200)
    parser.add_argument("--machine-rows-per-part", type=int, default=25_000)
    parser.add_argument(
        "sections",
        nargs="*",
        default=[
            "api",
            "snapshot",
            "videos",
            "videos-memory",
            "videos-machine",
            "read-phases",
            "ranking",
            "month-end",
            "revenue",
            "creators",
        ],
    )
    args = parser.parse_args(argv)
    if "api" in args.sections:
        from pulse_local.bench_api import bench_api  # noqa: PLC0415

        bench_api()
    if "snapshot" in args.sections:
        from pulse_local.bench_snapshot import bench_snapshot  # noqa: PLC0415

        bench_snapshot()
    if "videos" in args.sections:
        bench_videos_function(args.videos_rows)
    if "videos-memory" in args.sections:
        bench_videos_function(args.videos_memory_rows, compare=False, repeats=1)
    if "videos-machine" in args.sections:
        from pulse_local.bench_machine import bench_videos_machine  # noqa: PLC0415

        bench_videos_machine(args.machine_parts, args.machine_rows_per_part)
    if "read-phases" in args.sections:
        bench_read_phases(args.read_phase_rows)
    if "ranking" in args.sections:
        bench_ranking(args.ranking_rows)
    if "month-end" in args.sections:
        bench_month_end(args.payout_creators)
    if "revenue" in args.sections:
        bench_revenue(args.revenue_rows)
    if "creators" in args.sections:
        bench_creators(args.creators_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
