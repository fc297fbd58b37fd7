"""A list version as one object (spec §8.1): what is written is what is read back, entry by entry,
and nothing damaged, truncated or of another format is ever taken for a version."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.core.rules import load_rules
from pulse.lists import placements_object as po
from pulse.lists.ranking import Ranked

RULES = load_rules()
IAB = {slug: category.iab_ids for slug, category in RULES.categories.items()}
HEADER = po.Header("US", "0000000007", "2026-11-26", "2026-11-27T03:00:00+00:00")
ids = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=12)


def _lists(entries: dict[str, list[Ranked]]) -> dict[str, po.Columns]:
    return {category: po.columns_of(v) for category, v in entries.items()}


@st.composite
def versions(draw: st.DrawFn) -> dict[str, list[Ranked]]:
    videos = draw(st.lists(ids, unique=True, max_size=60))
    categories = draw(st.lists(st.sampled_from(sorted(RULES.categories)), min_size=len(videos)))
    lists: dict[str, list[Ranked]] = {}
    for video, category in zip(videos, categories, strict=False):
        entries = lists.setdefault(category, [])
        rank = (entries[-1].rank if entries else 0) + draw(st.integers(1, 3))  # kept ranks have gaps
        entries.append(Ranked(rank, video, draw(ids), draw(st.integers(0, 10**12))))
    return lists


@settings(max_examples=60, deadline=None)
@given(versions(), st.lists(ids, max_size=10))
def test_every_listed_video_reads_back_as_written_and_no_other(
    lists: dict[str, list[Ranked]], others: list[str]
) -> None:
    data = po.encode(HEADER, IAB, _lists(lists))
    index = po.decode(data, po.sha256_hex(data))
    assert index.header == HEADER
    assert len(index) == sum(map(len, lists.values()))
    assert index.counts == {c: len(lists.get(c, [])) for c in RULES.categories}  # all 12, empty or not
    for category, entries in lists.items():
        for e in entries:
            assert index.get(e.video_id) == po.Placement(e.video_id, category, e.rank, e.creator_id, e.score)
    listed = {e.video_id for v in lists.values() for e in v}
    assert all(index.get(v) is None for v in others if v not in listed)


def test_the_same_version_is_always_the_same_bytes_and_names_its_categories_iab_ids() -> None:
    lists = {"pets": [Ranked(1, "v1", "c1", 9), Ranked(3, "v2", "c2", 7)]}
    first, second = po.encode(HEADER, IAB, _lists(lists)), po.encode(HEADER, IAB, _lists(lists))
    assert first == second  # no gzip timestamp: the SHA-256 recorded with a version is reproducible
    document = json.loads(gzip.decompress(first))
    assert document["format"] == po.FORMAT
    assert document["iab_categories"]["pets"] == list(RULES.categories["pets"].iab_ids)
    assert document["lists"]["pets"] == {
        "video_ids": ["v1", "v2"],
        "ranks": [1, 3],
        "creator_ids": ["c1", "c2"],
        "scores": [9, 7],
    }
    assert document["lists"]["music"]["video_ids"] == []


def _document(**changes: object) -> bytes:
    document = json.loads(
        gzip.decompress(po.encode(HEADER, IAB, _lists({"pets": [Ranked(1, "v1", "c1", 9)]})))
    )
    document.update(changes)
    return gzip.compress(json.dumps(document).encode(), mtime=0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"not gzip at all", "not a pulse.placements/1 object"),
        (gzip.compress(b"[1, 2]", mtime=0), "not a pulse.placements/1 object"),
        (_document()[:-9], "truncated"),
        (_document(format="pulse.placements/2"), "format 'pulse.placements/2'"),
        (
            _document(
                lists={"pets": {"video_ids": ["a", "b"], "ranks": [1], "creator_ids": ["c"], "scores": [1]}}
            ),
            "differ in length",
        ),
        (
            _document(
                lists={
                    "pets": {"video_ids": ["a"], "ranks": [1], "creator_ids": ["c"], "scores": [1]},
                    "music": {"video_ids": ["a"], "ranks": [1], "creator_ids": ["c"], "scores": [1]},
                }
            ),
            "listed twice",
        ),
        (
            _document(
                lists={"pets": {"video_ids": ["a"], "ranks": [1], "creator_ids": ["c"], "scores": [1.5]}}
            ),
            "not a pulse.placements/1 object",
        ),
    ],
)
def test_a_damaged_or_foreign_object_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(po.BadPlacementsObject, match=message):
        po.decode(data)


def test_an_object_whose_digest_is_not_the_recorded_one_is_refused_before_it_is_read() -> None:
    data = po.encode(HEADER, IAB, {})
    with pytest.raises(po.BadPlacementsObject, match="SHA-256"):
        po.decode(data, "0" * 64)


def test_an_object_that_inflates_past_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(po, "MAX_INFLATED_BYTES", 1_000)
    lists = {"pets": [Ranked(r, f"v{r}", "c", r) for r in range(1, 200)]}
    with pytest.raises(po.BadPlacementsObject, match="inflates past"):
        po.decode(po.encode(HEADER, IAB, _lists(lists)))
