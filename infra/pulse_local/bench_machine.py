"""`make bench` section `videos-machine` (issue 15): a videos snapshot of many part files through
VideosSnapshotMachine on the local stack, against the single invocation of VideosIngestFunction on
the same batch, each on a moto server of its own; the results compared, the times printed.

The batch: `parts` gzip JSON Lines files of `rows_per_part` generated videos by 2,000 creators (all
active, so that every ranked entry is published and the blocks are written), with in each part
from the second on 10 ids repeated from the part before (duplicates across parts) and 2 invalid
rows. The machine runs in the moto server's process, as `make run`'s does: its Lambda tasks run the
template's handlers there one at a time (the local stack serializes invocations), Athena's SQL runs
on DuckDB; on AWS the parts' Lambdas run up to 500 at once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from itertools import islice
from pathlib import Path
from typing import Any

import boto3

from pulse import bootstrap
from pulse_cli import datagen
from pulse_cli.lambdas import route_object
from pulse_cli.template import REGION, ROOT, Stack
from pulse_cli.uploads import put_bytes
from pulse_local import step_functions
from pulse_local.moto_server import aws_environment, moto_server
from pulse_local.resources import create_resources

DATA_DIR = ROOT / "bench-data"
SNAPSHOT = "2026-11-27"
FOLDER = f"videos/market=US/snapshot={SNAPSHOT}/"
CREATORS = 2_000


def _parts(parts: int, rows_per_part: int) -> tuple[Path, dict[str, int]]:
    """The batch's part files (made once, kept in bench-data/) and their row counts."""
    from pulse.core.rules import load_rules  # noqa: PLC0415
    from pulse.ingest.parts import write_part  # noqa: PLC0415

    folder = DATA_DIR / f"videos-machine-{parts}x{rows_per_part}"
    counts_file = folder / "counts.json"
    if counts_file.exists():
        return folder, json.loads(counts_file.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    categories = list(load_rules().categories)
    rows = datagen.videos("US", parts * rows_per_part, CREATORS, categories, seed="machine")
    counts: dict[str, int] = {}
    previous: list[dict[str, Any]] = []
    for index in range(parts):
        own = list(islice(rows, rows_per_part))
        extra = [*previous[:10], dict(own[0], video_id="bad!id"), dict(own[1], views_24h=-5)] if index else []
        name = f"part-{index:04d}.jsonl.gz"
        with (folder / name).open("wb") as handle:
            counts[name] = write_part([*own, *extra], name, handle)
        previous = own
    counts_file.write_text(json.dumps(counts))
    total = sum(counts.values())
    print(f"  generated {parts} parts, {total:,} rows in {time.perf_counter() - started:.0f}s")
    return folder, counts


def _upload(stack: Stack, s3: Any, folder: Path, counts: dict[str, int]) -> Any:
    bucket = stack.name_of("IngestBucket")
    for name in counts:
        s3.upload_file(str(folder / name), bucket, FOLDER + name)
    manifest = {
        "dataset": "videos",
        "market": "US",
        "snapshot": SNAPSHOT,
        "files": [{"key": k, "rows": v} for k, v in counts.items()],
    }
    return put_bytes(s3, bucket, FOLDER + "_manifest.json", json.dumps(manifest).encode())


def _creators(stack: Stack, s3: Any) -> None:
    from pulse.ingest.parts import write_part  # noqa: PLC0415

    bucket, folder = stack.name_of("IngestBucket"), "creators/market=US/snapshot=2026-11-26/"
    rows = list(datagen.creators("US", CREATORS))
    for row in rows:
        row.update(followers=500_000, age_verified_18=True, videos_30d=30, standing="good", enrolled=True)
    import io  # noqa: PLC0415

    buffer = io.BytesIO()
    write_part(rows, "c.jsonl", buffer)
    put_bytes(s3, bucket, folder + "c.jsonl", buffer.getvalue())
    manifest = {
        "dataset": "creators",
        "market": "US",
        "snapshot": "2026-11-26",
        "files": [{"key": "c.jsonl", "rows": len(rows)}],
    }
    uploaded = put_bytes(s3, bucket, folder + "_manifest.json", json.dumps(manifest).encode())
    route_object(stack, bucket, uploaded.key, size=uploaded.size, etag=uploaded.etag, sequencer="01")


def _finished(sfn: Any, arn: str) -> dict[str, Any]:
    """The execution once it has ended (it runs in the moto server's process: polled)."""
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.5)


def _state_seconds(sfn: Any, arn: str) -> dict[str, float]:
    """Each top-level state's time, from the execution's history."""
    entered: dict[str, Any] = {}
    spent: dict[str, float] = {}
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    for event in events:
        if "stateEnteredEventDetails" in event:
            entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            seconds = (event["timestamp"] - entered[name]).total_seconds()
            spent[name] = spent.get(name, 0.0) + seconds
    return spent


def _outputs(stack: Stack, s3: Any) -> dict[str, Any]:
    from pulse.aws.list_table import DynamoListStore  # noqa: PLC0415

    reports = stack.name_of("ReportsBucket")
    prefix = f"ingest-reports/videos/market=US/snapshot={SNAPSHOT}/"
    report = json.loads(s3.get_object(Bucket=reports, Key=prefix + "report.json")["Body"].read())
    report.pop("started_at")
    report.pop("finished_at")
    rejected = s3.get_object(Bucket=reports, Key=prefix + "rejected.jsonl")["Body"].read()
    ranking = s3.get_object(Bucket=reports, Key=f"rankings/market=US/snapshot={SNAPSHOT}/top.jsonl.gz")
    bootstrap.reset()
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    # The published lists as the version's object holds them (every entry of every category),
    # its publication time aside: the two runs publish at different times.
    held = json.loads(
        gzip.decompress(
            s3.get_object(Bucket=stack.name_of("ListsBucket"), Key=current.placements_key)["Body"].read()
        )
    )
    held.pop("published_at")
    return {
        "report": report,
        "rejected.jsonl": hashlib.sha256(rejected).hexdigest(),
        "rejected rows": rejected.count(b"\n"),
        "ranked top k": hashlib.sha256(gzip.decompress(ranking["Body"].read())).hexdigest(),
        "published": (current.counts, current.digest),
        "lists": hashlib.sha256(json.dumps(held, sort_keys=True).encode()).hexdigest(),
    }


def _run(mode: str, folder: Path, counts: dict[str, int]) -> tuple[float, dict[str, Any], dict[str, float]]:
    threshold = "0" if mode == "machine" else "1000000000"
    with moto_server(stack_parameters={"DistributedVideoRows": threshold}) as endpoint:
        os.environ.update(aws_environment(endpoint))
        bootstrap.reset()  # clients of the last server are forgotten
        stack = Stack(parameters={"DistributedVideoRows": threshold})
        create_resources(stack, endpoint)
        step_functions.create_state_machines(stack, endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        sfn = boto3.client("stepfunctions", region_name=REGION, endpoint_url=endpoint)
        _creators(stack, s3)
        uploaded = _upload(stack, s3, folder, counts)
        started = time.perf_counter()
        (answer,) = route_object(
            stack,
            stack.name_of("IngestBucket"),
            uploaded.key,
            size=uploaded.size,
            etag=uploaded.etag,
            sequencer="02",
        )
        states: dict[str, float] = {}
        if mode == "machine":
            (execution,) = sfn.list_executions(stateMachineArn=stack.arn_of("VideosSnapshotMachine"))[
                "executions"
            ]
            described = _finished(sfn, execution["executionArn"])
            if described["status"] != "SUCCEEDED":
                raise SystemExit(f"the machine ended {described['status']}: {described.get('cause')}")
            states = _state_seconds(sfn, execution["executionArn"])
        else:
            assert answer["batches"][0]["status"] == "processed", answer
        elapsed = time.perf_counter() - started
        return elapsed, _outputs(stack, s3), states


def bench_videos_machine(parts: int, rows_per_part: int) -> None:
    folder, counts = _parts(parts, rows_per_part)
    rows = sum(counts.values())
    print(f"videos snapshot past one invocation ({parts} parts, {rows:,} rows, gzip JSON Lines;")
    print(f"  {CREATORS:,} creators, all active; VideosSnapshotMachine vs one VideosIngestFunction)")
    single_s, single, _ = _run("single", folder, counts)
    machine_s, machine, states = _run("machine", folder, counts)
    ratio = machine_s / single_s
    print(f"  one invocation: {single_s:.1f}s   state machine: {machine_s:.1f}s  (ratio {ratio:.2f})")
    for name in ("Plan", "ReadParts", "StartRanking", "Prepare", "WriteBlocks", "Finish"):
        if name in states:
            print(f"    {name:<13} {states[name]:7.1f}s")
    if "ReadParts" in states:
        per_part = states["ReadParts"] / parts
        print(
            f"  a part: {per_part:.2f}s ({rows / parts:,.0f} rows, {rows / states['ReadParts']:,.0f} rows/s,"
            " parts read one at a time here)"
        )
    report = machine["report"]
    print(
        f"  rows read {report['rows_read']:,}, accepted {report['rows_accepted']:,},"
        f" rejected {report['rejected_by_reason']}; published {sum(machine['published'][0].values()):,}"
    )
    differing = sorted(k for k in single if single[k] != machine[k])
    same = f"NO: {differing}" if differing else "yes"
    print(f"  same report, rejected.jsonl, ranking and lists as one invocation: {same}")
    if differing:
        raise SystemExit("the state machine and the single invocation differ")
