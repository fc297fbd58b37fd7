import json

import pytest

from pulse.ingest.manifest import BatchError, locate_batch, parse_manifest


def test_each_dataset_folder_is_located() -> None:
    creators = locate_batch("creators/market=US/snapshot=2026-11-27/_manifest.json")
    assert (creators.dataset, creators.market, creators.snapshot) == ("creators", "US", "2026-11-27")
    assert creators.folder_name == "snapshot=2026-11-27"
    assert creators.report_prefix == "ingest-reports/creators/market=US/snapshot=2026-11-27/"
    revenue = locate_batch("revenue/market=GB/date=2026-11-02/b-17/_manifest.json")
    assert (revenue.dataset, revenue.market, revenue.date, revenue.batch_id) == (
        "revenue",
        "GB",
        "2026-11-02",
        "b-17",
    )
    assert revenue.report_prefix == "ingest-reports/revenue/market=GB/b-17/"
    adjustments = locate_batch("adjustments/market=DE/ivt-2026-11/_manifest.json")
    assert (adjustments.dataset, adjustments.batch_id) == ("adjustments", "ivt-2026-11")
    assert locate_batch("videos/market=US/snapshot=2026-11-27/_manifest.json").dataset == "videos"


@pytest.mark.parametrize(
    "key",
    [
        "creators/market=us/snapshot=2026-11-27/_manifest.json",
        "creators/market=US/2026-11-27/_manifest.json",
        "creators/market=US/snapshot=2026-11-27/extra/_manifest.json",
        "payouts/market=US/snapshot=2026-11-27/_manifest.json",
        "creators/market=US/snapshot=2026-11-27/manifest.json",
        "revenue/market=US/date=2026-11-27/../_manifest.json",
    ],
)
def test_keys_outside_the_layout_are_refused(key: str) -> None:
    with pytest.raises(BatchError):
        locate_batch(key)


LOCATION = locate_batch("creators/market=US/snapshot=2026-11-27/_manifest.json")


def _manifest(**changes: object) -> bytes:
    document: dict[str, object] = {
        "dataset": "creators",
        "market": "US",
        "snapshot": "2026-11-27",
        "files": [{"key": "part-0000.jsonl.gz", "rows": 3}],
    }
    document.update(changes)
    return json.dumps(document).encode()


def test_a_good_manifest_is_parsed() -> None:
    manifest = parse_manifest(_manifest(), LOCATION)
    assert manifest.rows == 3
    assert manifest.files[0].key == "part-0000.jsonl.gz"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"files": [{"key": "../creators/x.jsonl", "rows": 1}]}, "bad_manifest"),
        ({"files": [{"key": "/etc/passwd.jsonl", "rows": 1}]}, "bad_manifest"),
        ({"files": [{"key": "sub/part.jsonl", "rows": 1}]}, "bad_manifest"),
        ({"files": [{"key": "part.parquet", "rows": 1}]}, "bad_manifest"),
        ({"files": [{"key": "part.csv", "rows": -1}]}, "bad_manifest"),
        ({"files": []}, "bad_manifest"),
        ({"files": [{"key": "a.csv", "rows": 1}, {"key": "a.csv", "rows": 1}]}, "bad_manifest"),
        ({"market": "GB"}, "manifest_mismatch"),
        ({"dataset": "videos"}, "manifest_mismatch"),
        ({"snapshot": "2026-11-26"}, "manifest_mismatch"),
    ],
)
def test_a_bad_manifest_rejects_the_batch(changes: dict[str, object], code: str) -> None:
    with pytest.raises(BatchError) as caught:
        parse_manifest(_manifest(**changes), LOCATION)
    assert caught.value.code == code


def test_a_manifest_that_is_not_json_rejects_the_batch() -> None:
    with pytest.raises(BatchError) as caught:
        parse_manifest(b"{not json", LOCATION)
    assert caught.value.code == "bad_manifest"
