"""Repeated ids found on disk: in memory for small batches, by hash partition for large ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse.ingest import seen_ids
from pulse.ingest.seen_ids import SeenIds


def _seen(tmp_path: Path, blocks: list[list[str]]) -> frozenset[str]:
    seen = SeenIds(str(tmp_path))
    for block in blocks:
        seen.add("".join(f"{i}\n" for i in block), len(block))
    return seen.duplicates()


@pytest.mark.parametrize("cap", [1_000_000, 3])  # all ids in the early set, and past it
def test_repeats_are_found_within_and_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    monkeypatch.setattr(seen_ids, "IN_ONE_SET", cap)
    assert _seen(tmp_path, [["a", "b"], ["c"], ["d", "e"]]) == frozenset()
    (tmp_path / "again").mkdir()
    assert _seen(tmp_path / "again", [["a", "b", "a"], ["c", "b"], ["d"]]) == {"a", "b"}


def test_many_ids_go_through_partitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_ids, "IN_ONE_SET", 10)
    blocks = [[f"v{n}" for n in range(start, start + 50)] for start in range(0, 500, 50)]
    blocks.append(["v7", "v499", "new"])
    assert _seen(tmp_path, blocks) == {"v7", "v499"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids"]  # partitions are cleaned up
