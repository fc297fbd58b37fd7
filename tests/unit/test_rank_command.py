"""`pulse rank` on local files: the same lists as the reference, duplicates, bad rows, creators."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from pulse.ingest.parts import write_part
from pulse.ingest.records import VideoRow
from pulse.lists.ranking import Ranked
from pulse_cli.main import main, rank_files
from tests.factories import CREATOR_COLUMNS, VIDEO_COLUMNS, creator, video
from tests.unit.test_ranking import reference


def _write(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...] = VIDEO_COLUMNS) -> Path:
    buffer = io.BytesIO()
    write_part(rows, path.name, buffer, columns)
    path.write_bytes(buffer.getvalue())
    return path


def _lists(result: dict[str, Any]) -> dict[str, list[Ranked]]:
    return {
        c: [Ranked(e["rank"], e["video_id"], e["creator_id"], e["score"]) for e in entries]
        for c, entries in result["lists"].items()
    }


def _generated(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    categories = ["pets", "music", "gaming", "travel"]
    return [
        video(
            f"v{i:06d}",
            f"c{rng.randint(0, 50)}",
            rng.choice(categories),
            views=rng.randint(0, 30),
            likes_24h=rng.randint(0, 3),
            brand_safe=rng.random() > 0.05,
        )
        for i in range(n)
    ]


def test_the_lists_equal_the_reference_across_files_and_formats(tmp_path: Path) -> None:
    rows = _generated(30_000, 1)
    files = [_write(tmp_path / "a.jsonl.gz", rows[:20_000]), _write(tmp_path / "b.csv", rows[20_000:])]
    result = rank_files("US", "2026-11-27", files, None)
    assert _lists(result) == reference([VideoRow.model_validate(r) for r in rows], 400)


def test_duplicates_keep_the_first_occurrence_even_across_categories_and_files(tmp_path: Path) -> None:
    rows = _generated(3_000, 2)
    first = video("dup", "c1", "pets", views=0, brand_safe=False)  # first: unsafe, low
    later = video("dup", "c1", "music", views=10_000)  # would top music
    files = [
        _write(tmp_path / "a.jsonl", [*rows[:1500], first]),
        _write(tmp_path / "b.jsonl", [later, *rows[1500:]]),
    ]
    result = rank_files("US", "2026-11-27", files, None)
    assert result["_stats"]["rejected"] == {"duplicate_id": 1}
    expected = reference([VideoRow.model_validate(r) for r in [*rows, first]], 400)
    assert _lists(result) == expected
    assert all(e.video_id != "dup" for entries in _lists(result).values() for e in entries)


def test_bad_rows_are_counted_and_left_out(tmp_path: Path) -> None:
    rows = _generated(500, 3)
    bad = [video("x1", "c1", "cats"), video("x 2", "c1"), video("x3", "c1", market="GB")]
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        b"\n".join(json.dumps(r).encode() for r in [*rows, *bad]) + b"\n\n{oops\n" + b"x" * 2_000_000 + b"\n"
    )
    result = rank_files("US", "2026-11-27", [path], None)
    assert result["_stats"]["rejected"] == {
        "invalid_value": 2,
        "market_mismatch": 1,
        "malformed_row": 1,
        "line_too_long": 1,
    }
    assert _lists(result) == reference([VideoRow.model_validate(r) for r in rows], 400)


def test_creators_files_keep_only_active_creators(tmp_path: Path) -> None:
    rows = [video(f"v{i}", "on" if i % 2 else "off", views=i) for i in range(50)]
    videos = _write(tmp_path / "v.jsonl", rows)
    creators = _write(tmp_path / "c.csv.gz", [creator("on"), creator("off", followers=3)], CREATOR_COLUMNS)
    result = rank_files("US", "2026-11-27", [videos], [creators])
    assert [(e["rank"], e["video_id"]) for e in result["lists"]["pets"]] == [
        (1, "v49")
    ]  # v48 is off's, rank 2


def test_the_command_writes_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    videos = _write(tmp_path / "v.jsonl", [video("v1", "c1", views=3)])
    out = tmp_path / "lists.json"
    assert (
        main(
            ["rank", "--market", "US", "--snapshot", "2026-11-27", "--videos", str(videos), "--out", str(out)]
        )
        == 0
    )
    document = json.loads(out.read_text())
    assert set(document) == {"market", "snapshot", "rules_version", "lists"}
    assert document["lists"]["pets"] == [{"rank": 1, "video_id": "v1", "creator_id": "c1", "score": 3}]
    assert len(document["lists"]) == 12
    assert "ranked 1 valid videos" in capsys.readouterr().err


def test_a_corrupt_file_is_an_error_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a":1}\n' * 5000)[:-40])
    assert main(["rank", "--market", "US", "--snapshot", "2026-11-27", "--videos", str(path)]) == 2
    assert "truncated" in capsys.readouterr().err
