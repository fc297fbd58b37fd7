"""The fast path of video rows accepts only what pydantic accepts, with the same values."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.core.rules import load_rules
from pulse.ingest.datasets import VIDEOS, Rejection
from pulse.ingest.fast_videos import FastVideo, validate_block
from pulse.ingest.manifest import locate_batch
from pulse.ingest.records import VideoRow
from tests.factories import VIDEO_COLUMNS

RULES = load_rules()
LOCATION = locate_batch("videos/market=US/snapshot=2026-11-27/_manifest.json")
FIELDS = VIDEO_COLUMNS

good: dict[str, Any] = {
    "video_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    "creator_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    "market": st.just("US"),
    "category": st.sampled_from(list(RULES.categories)),
    "posted_at": st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5))])).map(
        lambda d: d.isoformat()
    ),
    "views_24h": st.integers(0, 10**12),
    "likes_24h": st.integers(0, 10**9),
    "comments_24h": st.integers(0, 10**6),
    "shares_24h": st.integers(0, 10**6),
    "brand_safe": st.booleans(),
}
hostile_ids = st.one_of(
    st.text(max_size=70), st.sampled_from(["a\nb", "a b", "", "x" * 65, "é", "a\\b", "v1\n"])
)
hostile_counts = st.one_of(
    st.integers(-5, -1),
    st.integers(2**63, 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just("1"),
    st.none(),
)
hostile: dict[str, Any] = {
    "video_id": hostile_ids,
    "creator_id": hostile_ids,
    "market": st.sampled_from(["GB", "us", "", 1]),
    "category": st.sampled_from(["Pets", "pets ", "cats", "tv_movies2", None]),
    "posted_at": st.one_of(
        st.from_regex(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
            r"(\.[0-9]{1,10})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
            fullmatch=True,
        ),
        st.sampled_from(
            [
                "2026-02-29T10:00:00Z",
                "2028-02-29T10:00:00Z",
                "2026-04-31T00:00:00Z",
                "2026-11-26",
                "٢٠٢٦-11-26T10:00:00Z",
                "2026-11-26T10:00:00Z\n",
                "2026-11-26T24:00:00Z",
                5,
            ]
        ),
    ),
    "views_24h": hostile_counts,
    "likes_24h": hostile_counts,
    "comments_24h": hostile_counts,
    "shares_24h": hostile_counts,
    "brand_safe": st.sampled_from(["true", 1, None]),
}


@st.composite
def rows(draw: st.DrawFn) -> bytes:
    """A valid row, then none, one or a few of its fields made hostile or removed."""
    row = {name: draw(strategy) for name, strategy in good.items()}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        if draw(st.integers(0, 4)) == 0:
            row.pop(name, None)
        else:
            row[name] = draw(hostile[name])
    if draw(st.booleans()):
        row["extra"] = draw(st.text(max_size=10))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    return json.dumps(row, ensure_ascii=draw(st.booleans()), separators=separators).encode()


def _pydantic(line: bytes) -> VideoRow | Rejection:
    return VIDEOS.validate_row(line, LOCATION, RULES)


def _same(fast: Any, authority: VideoRow | Rejection) -> None:
    if isinstance(fast, Rejection):
        assert fast == authority
    else:
        assert isinstance(authority, VideoRow), (fast, authority)
        assert {f: getattr(fast, f) for f in FIELDS} == authority.model_dump()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(), min_size=1, max_size=12))
def test_block_verdicts_are_pydantics(lines: list[bytes]) -> None:
    verdicts = validate_block(lines, LOCATION, RULES)
    assert len(verdicts) == len(lines)
    for line, verdict in zip(lines, verdicts, strict=True):
        _same(verdict, _pydantic(line))


def test_a_clean_block_takes_the_fast_path() -> None:
    row = {
        "video_id": "v1",
        "creator_id": "c1",
        "market": "US",
        "category": "pets",
        "posted_at": "2028-02-29T10:00:00+05:30",
        "views_24h": 1,
        "likes_24h": 2,
        "comments_24h": 3,
        "shares_24h": 4,
        "brand_safe": True,
    }
    lines = [json.dumps({**row, "video_id": f"v{i}"}).encode() for i in range(3)]
    vouched = validate_block(lines, LOCATION, RULES)
    assert all(isinstance(v, FastVideo) for v in vouched)  # vouched for, not handed to pydantic
    assert [v.video_id for v in vouched] == ["v0", "v1", "v2"]  # type: ignore[union-attr]
    mixed = validate_block([*lines, lines[0].replace(b"2028-02-29", b"2027-02-29")], LOCATION, RULES)
    assert all(isinstance(v, FastVideo) for v in mixed[:3])
    assert isinstance(mixed[3], Rejection)
    assert mixed[3].field == "posted_at"
