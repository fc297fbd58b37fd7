"""Valid video rows of local or streamed part files, fast and in bounded memory (`pulse rank`).

Same verdicts as the ingest's read phase (pydantic decides every rejection), with JSON Lines read
in blocks through the fast path of `pulse.ingest.fast_videos`; CSV goes row by row.

"The first occurrence of an id wins" needs every id seen, which for a 10M-row snapshot is 10M
strings: too much to keep. So ids go to hash partitions on local disk while reading, and
`duplicate_ids()` finds the repeated ones afterwards a partition at a time. Snapshots have no
duplicates as a rule; when one has some, the caller reads it again watching just those ids
(`watch=`), which is exact and costs a second pass only then.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import IO, BinaryIO

from pulse.core.rules import Rules
from pulse.ingest.datasets import VIDEOS, Rejection
from pulse.ingest.fast_videos import VideoLike, validate_block, validate_raw_block
from pulse.ingest.manifest import BatchLocation
from pulse.ingest.parts import MAX_LINE_BYTES, iter_jsonl_blocks, iter_rows

_BLOCK_ROWS = 4096
_PARTITIONS = 32  # a power of two
_VIDEO_ID = attrgetter("video_id")


class SnapshotReader:
    def __init__(
        self, location: BatchLocation, rules: Rules, watch: set[str] | None = None, workdir: str | None = None
    ) -> None:
        self._location = location
        self._rules = rules
        self._watch = watch
        self._watched_seen: set[str] = set()
        self.rejected: Counter[str] = Counter()
        self._dir = tempfile.TemporaryDirectory(dir=workdir, prefix="pulse-ids-")
        self._partitions: list[IO[str]] = [
            Path(self._dir.name, f"{i:02d}").open("w", encoding="utf-8")  # noqa: SIM115  # closed in duplicate_ids
            for i in range(_PARTITIONS)
        ]

    def blocks(self, parts: Iterable[tuple[str, BinaryIO]]) -> Iterator[list[VideoLike]]:
        """Blocks of valid videos in file order; with `watch`, later occurrences of those ids are
        rejected as duplicates (without it, see `duplicate_ids`)."""
        for key, stream in parts:
            verdict_blocks = self._jsonl(stream, key) if ".jsonl" in key else self._csv(stream, key)
            for verdicts in verdict_blocks:
                valid = [v for v in verdicts if not isinstance(v, Rejection)]
                if len(valid) != len(verdicts):
                    self.rejected.update(v.reason for v in verdicts if isinstance(v, Rejection))
                if self._watch:
                    valid = self._first_of_watched(valid)
                self._remember(map(_VIDEO_ID, valid))
                yield valid

    def duplicate_ids(self) -> set[str]:
        """Ids that occurred more than once among valid rows (read a partition at a time)."""
        duplicates: set[str] = set()
        for handle in self._partitions:
            handle.close()
            seen: set[str] = set()
            with open(handle.name, encoding="utf-8") as ids:
                for line in ids:
                    if line in seen:
                        duplicates.add(line.rstrip("\n"))
                    else:
                        seen.add(line)
        return duplicates

    def close(self) -> None:
        for handle in self._partitions:
            handle.close()
        self._dir.cleanup()

    def __enter__(self) -> SnapshotReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _remember(self, video_ids: Iterable[str]) -> None:
        partitions: list[list[str]] = [[] for _ in range(_PARTITIONS)]
        for video_id in video_ids:
            partitions[hash(video_id) & (_PARTITIONS - 1)].append(video_id)
        for handle, ids in zip(self._partitions, partitions, strict=True):
            if ids:
                handle.write("\n".join(ids))
                handle.write("\n")

    def _first_of_watched(self, valid: list[VideoLike]) -> list[VideoLike]:
        assert self._watch is not None
        kept: list[VideoLike] = []
        for video in valid:
            if video.video_id in self._watch:
                if video.video_id in self._watched_seen:
                    self.rejected["duplicate_id"] += 1
                    continue
                self._watched_seen.add(video.video_id)
            kept.append(video)
        return kept

    def _jsonl(self, stream: BinaryIO, key: str) -> Iterator[list[VideoLike | Rejection]]:
        for _, block in iter_jsonl_blocks(stream, key):
            if len(block) <= MAX_LINE_BYTES:
                rows = validate_raw_block(block, self._location, self._rules)
                if rows is not None:
                    yield rows  # type: ignore[misc]  # all valid
                    continue
            lines = [line for line in block.split(b"\n") if line.strip()]
            if max(map(len, lines), default=0) > MAX_LINE_BYTES:
                self.rejected["line_too_long"] += sum(len(line) > MAX_LINE_BYTES for line in lines)
                lines = [line for line in lines if len(line) <= MAX_LINE_BYTES]
            for start in range(0, len(lines), _BLOCK_ROWS):
                yield validate_block(lines[start : start + _BLOCK_ROWS], self._location, self._rules)

    def _csv(self, stream: BinaryIO, key: str) -> Iterator[list[VideoLike | Rejection]]:
        block: list[VideoLike | Rejection] = []
        for raw in iter_rows(stream, key, VIDEOS.field_kinds):
            if raw.document is None:
                self.rejected[raw.error[0] if raw.error else "malformed_row"] += 1
                continue
            block.append(VIDEOS.validate_row(raw.document, self._location, self._rules))
            if len(block) >= _BLOCK_ROWS:
                yield block
                block = []
        yield block
