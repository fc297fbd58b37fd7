"""CreatorsIngestFunction on moto: S3 batch in, eligibility records, report and events out."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulse.aws.eligibility_table import DynamoEligibilityStore, eligibility_key
from pulse_cli.lambdas import invoke, s3_put_event
from pulse_cli.template import Stack
from pulse_cli.uploads import Uploaded, put_bytes, upload_batch
from tests.factories import CREATOR_COLUMNS, creator

EVENTS_DIR = Path(__file__).parents[1] / "events"
Deliver = Callable[..., list[Any]]


def _folder(snapshot: str, market: str = "US") -> str:
    return f"creators/market={market}/snapshot={snapshot}/"


def _upload(
    s3: Any, stack: Stack, snapshot: str, parts: dict[str, list[dict[str, Any]]], **kw: Any
) -> Uploaded:
    return upload_batch(
        s3,
        stack.name_of("IngestBucket"),
        _folder(snapshot, kw.pop("market", "US")),
        parts,
        columns=CREATOR_COLUMNS,
        snapshot=snapshot,
        **kw,
    )


def _record(dynamodb: Any, stack: Stack, creator_id: str, market: str = "US") -> dict[str, Any] | None:
    table = stack.name_of("StateTable")
    key = eligibility_key(market, creator_id, DynamoEligibilityStore(table).shards(market))
    item: dict[str, Any] | None = dynamodb.get_item(TableName=stack.name_of("StateTable"), Key=key).get(
        "Item"
    )
    return item


def _report(s3: Any, stack: Stack, snapshot: str, name: str = "report.json", market: str = "US") -> Any:
    key = f"ingest-reports/creators/market={market}/snapshot={snapshot}/{name}"
    body = s3.get_object(Bucket=stack.name_of("ReportsBucket"), Key=key)["Body"].read().decode()
    return json.loads(body) if name.endswith(".json") else [json.loads(line) for line in body.splitlines()]


def _state_items(dynamodb: Any, stack: Stack) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=stack.name_of("StateTable"))["Items"]  # type: ignore[no-any-return]


def test_a_real_s3_notification_fixture_is_processed(stack: Stack, s3: Any, dynamodb: Any) -> None:
    uploaded = _upload(s3, stack, "2026-11-27", {"part-0000.jsonl.gz": [creator("c1")]})
    event = json.loads((EVENTS_DIR / "s3_object_created_put.json").read_text())
    event["Records"][0]["s3"]["object"]["eTag"] = uploaded.etag
    assert s3_put_event("b", "k", 1, "e", "s")["Records"][0].keys() == event["Records"][0].keys()
    (result,) = invoke(stack, "CreatorsIngestFunction", event)["batches"]
    assert result["status"] == "processed"
    assert _record(dynamodb, stack, "c1")["status"]["S"] == "active"  # type: ignore[index]


def test_a_snapshot_leaves_records_report_rejections_and_events(
    stack: Stack, s3: Any, dynamodb: Any, deliver: Deliver, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    parts = {
        "part-0000.jsonl.gz": [
            creator("active1"),
            creator("invited1", enrolled=False),
            creator("poor1", followers=93_500, videos_30d=2),
            creator("bad1", followers="lots"),
            creator("active1", followers=1),
        ],
        "part-0001.csv": [creator("csv1", standing="warning"), creator("gb1", market="GB")],
    }
    deliver(_upload(s3, stack, "2026-11-27", parts))

    poor = _record(dynamodb, stack, "poor1")
    assert poor is not None
    assert poor["status"]["S"] == "ineligible"
    assert json.loads(poor["reasons"]["S"]) == [
        {"code": "followers_below_minimum", "required": 100000, "actual": 93500},
        {"code": "too_few_recent_videos", "required": 5, "actual": 2},
    ]
    assert _record(dynamodb, stack, "active1")["status"]["S"] == "active"  # type: ignore[index]
    assert _record(dynamodb, stack, "active1")["followers"]["N"] == "250000"  # type: ignore[index]  # first one won
    assert _record(dynamodb, stack, "invited1")["status"]["S"] == "invited"  # type: ignore[index]
    assert _record(dynamodb, stack, "csv1")["status"]["S"] == "ineligible"  # type: ignore[index]
    assert _record(dynamodb, stack, "bad1") is None
    assert _record(dynamodb, stack, "gb1", "GB") is None

    report = _report(s3, stack, "2026-11-27")
    assert (report["status"], report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (
        "processed",
        7,
        4,
        3,
    )
    assert report["rejected_by_reason"] == {"duplicate_id": 1, "invalid_value": 1, "market_mismatch": 1}
    assert report["outcome"]["became"] == {"active": 1, "invited": 1, "ineligible": 2}
    rejected = _report(s3, stack, "2026-11-27", "rejected.jsonl")
    assert [(r["file"], r["line"], r["field"], r["reason"]) for r in rejected] == [
        ("part-0000.jsonl.gz", 4, "followers", "invalid_value"),
        ("part-0000.jsonl.gz", 5, "creator_id", "duplicate_id"),
        ("part-0001.csv", 3, "market", "market_mismatch"),
    ]

    events = bus_events()
    changed = sorted(
        (e["detail"]["creator_id"], e["detail"]["new_status"])
        for e in events
        if e["detail-type"] == "CreatorEligibilityChanged"
    )
    assert changed == [
        ("active1", "active"),
        ("csv1", "ineligible"),
        ("invited1", "invited"),
        ("poor1", "ineligible"),
    ]
    (processed,) = [e for e in events if e["detail-type"] == "IngestBatchProcessed"]
    assert processed["source"] == "pulse"
    assert processed["detail"]["rows_rejected"] == 3
    assert (
        processed["detail"]["report_key"]
        == "ingest-reports/creators/market=US/snapshot=2026-11-27/report.json"
    )


def test_a_redelivered_notification_changes_nothing(
    stack: Stack, s3: Any, dynamodb: Any, deliver: Deliver, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    uploaded = _upload(s3, stack, "2026-11-27", {"p.jsonl": [creator("a"), creator("b", enrolled=False)]})
    (first,) = deliver(uploaded, "00AA")
    before_items = _state_items(dynamodb, stack)
    before_events = len(bus_events())
    report_before = _report(s3, stack, "2026-11-27")
    (again,) = deliver(uploaded, "00AA")
    assert again["batches"][0]["duplicate"] is True
    assert first["batches"][0]["duplicate"] is False
    assert _state_items(dynamodb, stack) == before_items
    assert len(bus_events()) == before_events
    assert _report(s3, stack, "2026-11-27") == report_before


def test_the_next_snapshot_writes_only_changed_records(
    stack: Stack, s3: Any, dynamodb: Any, deliver: Deliver, bus_events: Callable[[], list[dict[str, Any]]]
) -> None:
    creators = [creator(f"c{i:03d}") for i in range(150)]
    deliver(_upload(s3, stack, "2026-11-26", {"p.jsonl": creators}))
    untouched = _record(dynamodb, stack, "c000")
    bus_events()
    changed = copy.deepcopy(creators)
    changed[5]["followers"] = 400_000  # content change, same status
    changed[7]["standing"] = "restricted"  # status change
    deliver(_upload(s3, stack, "2026-11-27", {"p.jsonl": changed}))
    report = _report(s3, stack, "2026-11-27")
    assert report["outcome"]["records_written"] == 2
    assert report["outcome"]["records_unchanged"] == 148
    assert _record(dynamodb, stack, "c000") == untouched
    assert _record(dynamodb, stack, "c007")["status"]["S"] == "ineligible"  # type: ignore[index]
    new_events = [e for e in bus_events() if e["detail-type"] == "CreatorEligibilityChanged"]
    assert [
        (e["detail"]["creator_id"], e["detail"]["old_status"], e["detail"]["new_status"])
        for e in new_events[-1:]
    ] == [("c007", "active", "ineligible")]
    assert len([e for e in new_events if e["detail"]["old_status"] is not None]) == 1


def test_an_out_of_order_snapshot_changes_nothing(
    stack: Stack, s3: Any, dynamodb: Any, deliver: Deliver
) -> None:
    deliver(_upload(s3, stack, "2026-11-27", {"p.jsonl": [creator("a")]}))
    deliver(_upload(s3, stack, "2026-11-20", {"p.jsonl": [creator("a", standing="banned")]}))
    assert _record(dynamodb, stack, "a")["status"]["S"] == "active"  # type: ignore[index]
    assert _report(s3, stack, "2026-11-20")["outcome"]["superseded_by"] == "2026-11-27"


def test_a_creator_missing_from_the_next_snapshot_is_marked_absent(
    stack: Stack, s3: Any, dynamodb: Any, deliver: Deliver
) -> None:
    deliver(_upload(s3, stack, "2026-11-26", {"p.jsonl": [creator("a"), creator("gone")]}))
    deliver(_upload(s3, stack, "2026-11-27", {"p.jsonl": [creator("a")]}))
    gone = _record(dynamodb, stack, "gone")
    assert gone is not None
    assert gone["absent"] == {"BOOL": True}
    assert gone["last_seen"] == {"S": "2026-11-26"}
    assert "absent" not in _record(dynamodb, stack, "a")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("parts", "manifest_rows", "code"),
    [
        ({"p.jsonl": [creator("a"), creator("b")]}, {"p.jsonl": 3}, "row_count_mismatch"),
        ({"p.jsonl": [creator("a")], "q.csv": [creator("b")]}, {"q.csv": 0}, "row_count_mismatch"),
    ],
)
def test_a_batch_whose_counts_differ_is_rejected_whole(
    stack: Stack,
    s3: Any,
    dynamodb: Any,
    deliver: Deliver,
    bus_events: Callable[[], list[dict[str, Any]]],
    parts: dict[str, list[dict[str, Any]]],
    manifest_rows: dict[str, int],
    code: str,
) -> None:
    deliver(_upload(s3, stack, "2026-11-27", parts, manifest_rows=manifest_rows))
    report = _report(s3, stack, "2026-11-27")
    assert report["status"] == "rejected"
    assert report["error"]["code"] == code
    assert report["rows_accepted"] == 0
    assert [i for i in _state_items(dynamodb, stack) if i["pk"]["S"].startswith("ELIG#")] == []
    (rejected,) = [e for e in bus_events() if e["detail-type"] == "IngestBatchRejected"]
    assert rejected["detail"]["error"]["code"] == code


def test_a_batch_with_a_missing_or_truncated_file_is_rejected_whole(
    stack: Stack, s3: Any, dynamodb: Any, deliver: Deliver
) -> None:
    bucket = stack.name_of("IngestBucket")
    folder = _folder("2026-11-27")
    body = gzip.compress("\n".join(json.dumps(creator(f"c{i}")) for i in range(2000)).encode())
    put_bytes(s3, bucket, folder + "good.jsonl.gz", body)
    put_bytes(s3, bucket, folder + "cut.jsonl.gz", body[: len(body) // 2])
    manifest = {
        "dataset": "creators",
        "market": "US",
        "snapshot": "2026-11-27",
        "files": [{"key": "good.jsonl.gz", "rows": 2000}, {"key": "cut.jsonl.gz", "rows": 2000}],
    }
    deliver(put_bytes(s3, bucket, folder + "_manifest.json", json.dumps(manifest).encode()))
    report = _report(s3, stack, "2026-11-27")
    assert (report["status"], report["error"]["code"], report["error"]["file"]) == (
        "rejected",
        "unreadable_file",
        "cut.jsonl.gz",
    )
    assert [i for i in _state_items(dynamodb, stack) if i["pk"]["S"].startswith("ELIG#")] == []

    manifest["files"] = [{"key": "good.jsonl.gz", "rows": 2000}, {"key": "absent.jsonl", "rows": 1}]
    deliver(put_bytes(s3, bucket, folder + "_manifest.json", json.dumps(manifest).encode()))
    report = _report(s3, stack, "2026-11-27")
    assert (report["error"]["code"], report["error"]["file"]) == ("missing_file", "absent.jsonl")
    assert [i for i in _state_items(dynamodb, stack) if i["pk"]["S"].startswith("ELIG#")] == []


def test_a_manifest_that_lies_about_its_folder_is_rejected(stack: Stack, s3: Any, deliver: Deliver) -> None:
    uploaded = _upload(s3, stack, "2026-11-27", {"p.jsonl": [creator("a")]}, manifest_extra={"market": "GB"})
    deliver(uploaded)
    report = _report(s3, stack, "2026-11-27")
    assert report["error"]["code"] == "manifest_mismatch"


def test_a_key_outside_the_batch_layout_is_refused_without_crashing(stack: Stack, s3: Any) -> None:
    bucket = stack.name_of("IngestBucket")
    uploaded = put_bytes(s3, bucket, "creators/market=US/latest/_manifest.json", b"{}")
    event = s3_put_event(bucket, uploaded.key, uploaded.size, uploaded.etag, "01")
    (result,) = invoke(stack, "CreatorsIngestFunction", event)["batches"]
    assert (result["status"], result["error"]) == ("rejected", "bad_batch_folder")


def test_a_market_not_yet_launched_on_the_snapshot_date_makes_creators_ineligible(
    stack: Stack, s3: Any, dynamodb: Any, deliver: Deliver
) -> None:
    deliver(_upload(s3, stack, "2022-09-15", {"p.jsonl": [creator("early", market="GB")]}, market="GB"))
    record = _record(dynamodb, stack, "early", "GB")
    assert record is not None
    assert json.loads(record["reasons"]["S"]) == [
        {"code": "market_not_launched", "required": "2022-10-01", "actual": "2022-09-15"}
    ]
