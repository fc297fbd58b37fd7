"""Which ids of a batch occur more than once, found on local disk, not in memory.

"The first occurrence of an id wins" (§3) needs every id of the batch. Held in a Python set, a
10M-row snapshot's ids would take about 1 GB. So the read phase appends each block's ids to a
file (one C join a block), and `duplicates()` looks for repeats afterwards: in one set when the
batch is small (kept while reading, so that it costs nothing at the end), otherwise a hash
partition at a time, so that memory holds one partition (a 1/64th of the ids) whatever the
batch's size. Batches have no duplicates as a rule: then that
is all it costs. When some ids repeat, the read phase reads the batch a second time watching
only those (`pulse.ingest.read_phase.read_batch`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

IN_ONE_SET = 1_000_000  # ids looked at in one set: about 100 MB at most (hashes: about 60 MB)
PARTITIONS = 64  # a power of two
_READ_BYTES = 1 << 20  # ids read back a megabyte at a time: about 90,000 strings


class SeenIds:
    def __init__(self, directory: str) -> None:
        self._path = Path(directory, "ids")
        self._handle = self._path.open("w", encoding="utf-8")
        self.count = 0
        # The hashes of the first IN_ONE_SET ids are also kept in a set while the batch is read
        # (the reading process waits on its block workers most of the time): a batch of that size
        # without repeats, the common case, is then known to have none when its last block is in.
        # Two ids of the same hash only send the batch to the exact check below.
        self._early: set[int] | None = set()
        self._early_repeats = False

    def add(self, ids: str, count: int) -> None:
        """The ids of `count` accepted rows, each followed by a newline (ids never hold one: they
        match their pattern)."""
        self._handle.write(ids)
        self.count += count
        if self._early is None:
            return
        if self.count > IN_ONE_SET:
            self._early = None  # too many to hold: duplicates() reads them back from disk
            return
        before = len(self._early)
        self._early.update(map(hash, ids.split("\n")[:-1]))
        self._early_repeats |= len(self._early) - before != count

    def duplicates(self) -> frozenset[str]:
        """Every id added more than once."""
        self._handle.close()
        if self._early is not None and not self._early_repeats:
            self._early = None
            return frozenset()
        self._early = None
        if self.count <= IN_ONE_SET:
            return _repeated(self._path.read_text(encoding="utf-8").split("\n")[:-1])
        found: set[str] = set()
        for partition in self._partitions():
            found |= _repeated(partition.read_text(encoding="utf-8").split("\n")[:-1])
            partition.unlink()
        return frozenset(found)

    def _partitions(self) -> list[Path]:
        paths = [self._path.with_name(f"ids.{i:02d}") for i in range(PARTITIONS)]
        handles = [path.open("w", encoding="utf-8") for path in paths]
        try:
            for ids in self._chunks():
                buckets: list[list[str]] = [[] for _ in range(PARTITIONS)]
                for row_id in ids:
                    buckets[hash(row_id) & (PARTITIONS - 1)].append(row_id)
                for handle, bucket in zip(handles, buckets, strict=True):
                    if bucket:
                        handle.write("\n".join(bucket))
                        handle.write("\n")
        finally:
            for handle in handles:
                handle.close()
        return paths

    def _chunks(self) -> Iterator[list[str]]:
        with self._path.open(encoding="utf-8") as handle:
            carry = ""
            while chunk := handle.read(_READ_BYTES):
                ids = (carry + chunk).split("\n")
                carry = ids.pop()
                yield ids


def _repeated(ids: list[str]) -> frozenset[str]:
    unique = set(ids)
    if len(unique) == len(ids):
        return frozenset()  # the common case, decided at C speed
    del unique
    return frozenset(row_id for row_id, times in Counter(ids).items() if times > 1)
