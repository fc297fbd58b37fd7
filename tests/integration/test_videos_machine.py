"""A videos snapshot past one invocation (issue 15): VideosSnapshotMachine on moto's Step Functions
interpreter, its Lambda tasks running the template's handlers, Athena's SQL on DuckDB; against
the single invocation of VideosIngestFunction on the same batches, on a stack of its own.

Both paths must leave the same report, `rejected.jsonl`, ranking, lists, placements object and
events, for batches with duplicate ids within and across parts, invalid rows, CSV and JSON Lines
parts, a bad part, an empty snapshot and a late snapshot; a re-delivered notification starts
nothing new, and a step that fails once is retried to the same result.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import boto3
import pytest

from pulse import bootstrap
from pulse.aws.list_table import DynamoListStore
from pulse.ingest.datasets import SPECS
from pulse_cli.lambdas import route_object
from pulse_cli.template import REGION, Stack
from pulse_cli.uploads import Uploaded, upload_batch
from pulse_local import step_functions
from pulse_local.resources import create_resources
from tests.conftest import bus_capture, moto_account
from tests.factories import creator, video

# Both paths on the same data under one clock, compared: in `make test`; left out of `make
# test-future` for CI's time, where the claims and publication they share with one invocation run.
pytestmark = pytest.mark.twin

Batch = dict[str, list[dict[str, Any]]]  # part name -> rows
SNAPSHOT = "2026-11-27"
FOLDER = f"videos/market=US/snapshot={SNAPSHOT}/"


def _videos(prefix: str, count: int, creators: int = 7, category: str = "pets") -> list[dict[str, Any]]:
    return [
        video(f"{prefix}{i:04d}", f"c{i % creators}", category, views=(i * 37) % 501, likes_24h=i % 5)
        for i in range(count)
    ]


@contextlib.contextmanager
def _stack(distributed: bool) -> Iterator[tuple[Stack, Any, Callable[[], list[dict[str, Any]]]]]:
    with moto_account():
        stack = Stack(parameters={"DistributedVideoRows": "0" if distributed else "10000000"})
        create_resources(stack)
        step_functions.install(stack)
        step_functions.create_state_machines(stack)
        yield stack, boto3.client("s3", region_name=REGION), bus_capture(stack)


def _deliver(stack: Stack, uploaded: Uploaded, sequencer: str) -> list[Any]:
    return route_object(
        stack,
        stack.name_of("IngestBucket"),
        uploaded.key,
        size=uploaded.size,
        etag=uploaded.etag,
        sequencer=sequencer,
    )


def _run_all(stack: Stack) -> list[dict[str, Any]]:
    """Wait for every execution of the videos machine; their descriptions."""
    machine = stack.arn_of("VideosSnapshotMachine")
    return [step_functions.wait(e["executionArn"]) for e in step_functions.executions(machine)]


def _outputs(stack: Stack, s3: Any, events: list[dict[str, Any]], folder: str = FOLDER) -> dict[str, Any]:
    reports = stack.name_of("ReportsBucket")
    prefix = "ingest-reports/videos/market=US/" + folder.rstrip("/").rsplit("/", 1)[-1] + "/"
    report = json.loads(s3.get_object(Bucket=reports, Key=prefix + "report.json")["Body"].read())
    for stamp in ("started_at", "finished_at"):
        report.pop(stamp)
    rejected = s3.get_object(Bucket=reports, Key=prefix + "rejected.jsonl")["Body"].read().decode()
    out: dict[str, Any] = {"report": report, "rejected": rejected.splitlines()}
    bootstrap.reset()
    lists = DynamoListStore(stack.name_of("StateTable"))
    current = lists.current("US")
    if current is not None:
        out["version"] = (current.version, current.counts, current.digest)
        held = json.loads(
            gzip.decompress(
                s3.get_object(Bucket=stack.name_of("ListsBucket"), Key=current.placements_key)["Body"].read()
            )
        )
        held.pop("published_at")  # the two runs publish at different times
        out["object"] = held
        out["entries"] = {
            category: [
                (e.rank, e.video_id, e.creator_id, e.score)
                for e in lists.entries("US", current.version, category, 0, 10_000)
            ]
            for category in current.counts
        }
    ranking_keys = s3.list_objects_v2(Bucket=reports, Prefix="rankings/").get("Contents", [])
    out["rankings"] = {
        o["Key"]: gzip.decompress(s3.get_object(Bucket=reports, Key=o["Key"])["Body"].read())
        for o in ranking_keys
    }
    messages = [(event["detail-type"], event["detail"]) for event in events]
    out["events"] = sorted(messages, key=json.dumps)
    return out


def _one_way(
    distributed: bool,
    batches: Sequence[tuple[str, Batch, dict[str, int] | None]],
    creators: list[dict[str, Any]],
) -> dict[str, Any]:
    with _stack(distributed) as (stack, s3, drain):
        bucket = stack.name_of("IngestBucket")
        roster = upload_batch(
            s3,
            bucket,
            "creators/market=US/snapshot=2026-11-26/",
            {"c.jsonl": creators},
            columns=list(SPECS["creators"].field_kinds),
            snapshot="2026-11-26",
        )
        _deliver(stack, roster, "1")
        drain().clear()  # the creators' events: not compared
        for n, (folder, parts, counts) in enumerate(batches):
            uploaded = upload_batch(
                s3,
                bucket,
                folder,
                parts,
                columns=list(SPECS["videos"].field_kinds),
                snapshot=folder.rsplit("=", 1)[-1].rstrip("/"),
                manifest_rows=counts,
            )
            answers = _deliver(stack, uploaded, f"{n + 2:04X}")
            if distributed:
                assert answers[0]["batches"][0]["status"] == "started"
                assert all(d["status"] == "SUCCEEDED" for d in _run_all(stack))
        return _outputs(stack, s3, drain(), batches[-1][0])


def _both_ways(
    batches: Sequence[tuple[str, Batch, dict[str, int] | None]], creators: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return _one_way(False, batches, creators), _one_way(True, batches, creators)


CREATORS = [creator(f"c{i}") for i in range(6)] + [creator("c6", standing="banned")]


def test_duplicates_across_and_within_parts_invalid_rows_and_csv_equal_one_invocation() -> None:
    first = _videos("v", 120)
    bad = dict(first[5], views_24h=-1, video_id="bad1")
    second = [*_videos("w", 80, category="music"), first[3], first[10], dict(first[10], views_24h=9999)]
    third = [*second[:2], bad, *_videos("x", 60, category="beauty"), dict(first[0], creator_id="c2")]
    parts: Batch = {"p0.jsonl": first, "p1.csv": second, "p2.jsonl.gz": third}
    single, machine = _both_ways([(FOLDER, parts, None)], CREATORS)
    assert machine["report"]["rejected_by_reason"] == {"duplicate_id": 6, "invalid_value": 1}
    assert machine == single


def test_a_part_whose_rows_differ_from_the_manifest_rejects_the_batch_as_one_invocation_does() -> None:
    parts: Batch = {"p0.jsonl": _videos("v", 50), "p1.jsonl": _videos("w", 30), "p2.jsonl": _videos("x", 20)}
    single, machine = _both_ways([(FOLDER, parts, {"p1.jsonl": 31})], CREATORS)
    assert machine["report"]["status"] == "rejected"
    assert machine["report"]["error"]["code"] == "row_count_mismatch"
    assert machine == single


def test_an_empty_snapshot_and_a_late_snapshot_equal_one_invocation() -> None:
    invalid = [dict(v, brand_safe="maybe") for v in _videos("v", 10)]
    late = "videos/market=US/snapshot=2026-11-20/"
    batches = [
        (FOLDER, {"p.jsonl": _videos("v", 40)}, None),
        (late, {"p.jsonl": _videos("w", 40)}, None),
    ]
    single, machine = _both_ways(batches, CREATORS)
    assert machine["report"]["outcome"]["superseded_by"] == SNAPSHOT
    assert machine == single
    empty_single, empty_machine = _both_ways([(FOLDER, {"p.jsonl": invalid}, None)], CREATORS)
    assert empty_machine["report"]["error"]["code"] == "empty_snapshot"
    assert empty_machine == empty_single


@pytest.fixture
def machine_stack() -> Iterator[tuple[Stack, Any, Callable[[], list[dict[str, Any]]]]]:
    with _stack(distributed=True) as built:
        yield built


def test_a_redelivered_notification_starts_nothing_new(
    machine_stack: tuple[Stack, Any, Callable[[], list[dict[str, Any]]]],
) -> None:
    stack, s3, _ = machine_stack
    uploaded = upload_batch(
        s3,
        stack.name_of("IngestBucket"),
        FOLDER,
        {"p.jsonl": _videos("v", 30)},
        columns=list(SPECS["videos"].field_kinds),
        snapshot=SNAPSHOT,
    )
    first = _deliver(stack, uploaded, "0A")[0]["batches"][0]
    _run_all(stack)
    again = _deliver(stack, uploaded, "0A")[0]["batches"][0]
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["execution"] == first["execution"]
    assert len(step_functions.executions(stack.arn_of("VideosSnapshotMachine"))) == 1


FAULT_BATCH: list[tuple[str, Batch, dict[str, int] | None]] = [
    (FOLDER, {"p0.jsonl": _videos("v", 60), "p1.jsonl": [*_videos("w", 30), _videos("v", 2)[1]]}, None)
]


@functools.cache
def _undisturbed() -> str:
    return json.dumps(_one_way(False, FAULT_BATCH, CREATORS), sort_keys=True, default=list)


@pytest.mark.sweep
@pytest.mark.parametrize("step", ["plan", "part", "start", "prepare", "write_block", "finish"])
def test_a_step_that_fails_once_is_retried_to_the_same_result(
    step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulse.entrypoints import videos_machine  # noqa: PLC0415

    failed: list[str] = []
    originals: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        name: getattr(videos_machine, name) for name in ("part_step", "rank_step", "steps")
    }

    def failing(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def run(event: dict[str, Any]) -> dict[str, Any]:
            result = originals[name](event)
            if event["step"] == step and not failed:
                failed.append(step)  # the work is done, then the invocation dies: Lambda says failed
                raise RuntimeError(f"injected after {step}")
            return result

        return run

    for name in originals:
        monkeypatch.setattr(videos_machine, name, failing(name))
    machine = _one_way(True, FAULT_BATCH, CREATORS)
    assert failed == [step]
    assert json.dumps(machine, sort_keys=True, default=list) == _undisturbed()
