"""The snapshot object's decoding (format pulse.placements/1), straight from bytes: what an index
holds, and every way an object is refused before it can answer a lookup."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from pulse_client import Placement, SnapshotRefusedError
from pulse_client.answers import SnapshotAnswer
from pulse_client.snapshot_format import NOT_LISTED_KEPT, decode

DOCUMENT: dict[str, Any] = {
    "format": "pulse.placements/1",
    "market": "US",
    "list_version": "0000000003",
    "snapshot": "2026-11-26",
    "published_at": "2026-11-27T03:00:00+00:00",
    "iab_categories": {"pets": ["IAB16"], "food": ["IAB8", "IAB8-9"], "comedy": ["IAB1-4"]},
    "lists": {
        "pets": {"video_ids": ["v1", "v2"], "ranks": [1, 3], "creator_ids": ["c1", "c2"]},
        "food": {"video_ids": ["v3"], "ranks": [1], "creator_ids": ["c1"]},
        "comedy": {"video_ids": [], "ranks": [], "creator_ids": []},
    },
}


def _stored(document: object) -> tuple[bytes, SnapshotAnswer]:
    data = gzip.compress(json.dumps(document).encode(), mtime=0)
    answer = SnapshotAnswer(
        "US", "0000000003", 3, len(data), hashlib.sha256(data).hexdigest(), "http://x", 60, None
    )
    return data, answer


def test_an_object_decodes_to_the_placements_of_its_version() -> None:
    index = decode(*_stored(DOCUMENT))
    assert (index.market, index.list_version, index.snapshot) == ("US", "0000000003", "2026-11-26")
    assert index.published_at == "2026-11-27T03:00:00+00:00"
    assert index.placements == {
        "v1": Placement("v1", "US", True, "0000000003", "pets", ("IAB16",), 1, "c1", None, "snapshot"),
        "v2": Placement("v2", "US", True, "0000000003", "pets", ("IAB16",), 3, "c2", None, "snapshot"),
        "v3": Placement(
            "v3", "US", True, "0000000003", "food", ("IAB8", "IAB8-9"), 1, "c1", None, "snapshot"
        ),
    }
    assert index.answer("v1") is index.placements["v1"]
    not_listed = Placement("v9", "US", False, "0000000003", None, (), None, None, None, "snapshot")
    assert index.answer("v9") == not_listed
    assert index.answer("v9") is index.answer("v9")  # built once
    assert index.answer("not an id!") is None  # the API's to refuse
    with pytest.raises(TypeError):
        index.placements["v9"] = not_listed  # type: ignore[index]  # an index's listings never change


def test_the_kept_not_listed_answers_are_bounded() -> None:
    index = decode(*_stored(DOCUMENT))
    for i in range(NOT_LISTED_KEPT + 10):
        assert index.answer(f"x{i}") is not None
    assert len(index._not_listed) <= NOT_LISTED_KEPT
    again = index.answer("x3")
    assert again is not None
    assert again.video_id == "x3"


def _edit(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    change(document)
    return document


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (_edit(lambda d: d.update(format="pulse.placements/2")), "unknown_format"),
        (_edit(lambda d: d.pop("format")), "malformed_object"),
        (_edit(lambda d: d.update(list_version="0000000004")), "version_mismatch"),
        (_edit(lambda d: d.update(market="GB")), "version_mismatch"),
        (_edit(lambda d: d["lists"]["pets"]["ranks"].append(5)), "malformed_object"),
        (_edit(lambda d: d["lists"]["pets"].update(ranks=[1, True])), "malformed_object"),
        (_edit(lambda d: d["lists"]["pets"].update(ranks=[1, 2.5])), "malformed_object"),
        (_edit(lambda d: d["lists"]["pets"].update(creator_ids=["c1", None])), "malformed_object"),
        (_edit(lambda d: d["lists"]["pets"].update(scores=[90])), "malformed_object"),
        (_edit(lambda d: d["lists"]["pets"].update(scores=[90, "80"])), "malformed_object"),
        (_edit(lambda d: d["lists"]["food"].update(video_ids=["v1"])), "malformed_object"),  # v1 twice
        (_edit(lambda d: d["lists"].pop("comedy")), "malformed_object"),
        (_edit(lambda d: d["iab_categories"].update(pets="IAB16")), "malformed_object"),
        (_edit(lambda d: d.update(lists=[])), "malformed_object"),
        (["not", "an", "object"], "malformed_object"),
    ],
)
def test_an_inconsistent_object_is_refused(document: object, code: str) -> None:
    with pytest.raises(SnapshotRefusedError) as raised:
        decode(*_stored(document))
    assert raised.value.code == code


def test_the_fourth_column_is_optional_and_never_answered() -> None:
    with_scores = _edit(lambda d: [d["lists"][c].update(scores=d["lists"][c]["ranks"]) for c in d["lists"]])
    assert decode(*_stored(with_scores)).placements == decode(*_stored(DOCUMENT)).placements


def test_the_stored_bytes_are_checked_before_they_are_decoded() -> None:
    data, answer = _stored(DOCUMENT)
    with pytest.raises(SnapshotRefusedError, match="sha256") as raised:
        decode(data[:-1] + bytes([data[-1] ^ 1]), answer)
    assert raised.value.code == "sha256_mismatch"
    with pytest.raises(SnapshotRefusedError) as raised:
        decode(data + b"\0", answer)
    assert raised.value.code == "size_mismatch"


@pytest.mark.parametrize(
    ("text", "code"),
    [(b"\xff\xfe not utf-8", "not_json"), (b'{"format": NaN}', "not_json"), (b"{", "not_json")],
)
def test_an_object_that_is_not_json_is_refused(text: bytes, code: str) -> None:
    data = gzip.compress(text, mtime=0)
    answer = SnapshotAnswer(
        "US", "0000000003", 0, len(data), hashlib.sha256(data).hexdigest(), "http://x", 60, None
    )
    with pytest.raises(SnapshotRefusedError) as raised:
        decode(data, answer)
    assert raised.value.code == code


def test_an_entries_count_that_differs_is_refused() -> None:
    data, answer = _stored(DOCUMENT)
    with pytest.raises(SnapshotRefusedError) as raised:
        decode(data, SnapshotAnswer(**{**_fields(answer), "entries": 4}))
    assert raised.value.code == "entries_mismatch"


def _fields(answer: SnapshotAnswer) -> dict[str, Any]:
    return {name: getattr(answer, name) for name in SnapshotAnswer.__dataclass_fields__}
