"""Blocks of JSON Lines judged on worker processes, their verdicts back in order.

The fast path costs a few microseconds a row, all of it Python holding the GIL: one process ranks
or spills about a million rows in a few seconds, whatever the cores. Lambda gives one vCPU per
1,769 MB, so a function with more memory has cores that one process leaves idle. `BlockWorkers`
forks that many processes; the reading process inflates the part and sends each block of raw
lines to a worker, which decodes it, vouches for it and reduces it (the collector's `reducer`:
scores and ids for the ranking, MessagePack for a spill), and sends back the ids and the reduced
block, or None when the block needs the row-by-row path, which the reading process then takes.
Blocks go out and come back round-robin, so verdicts come back in file order.

Workers are forked before the reading thread and the senders start (a fork copies only the
calling thread), and talk over pipes: Lambda has no /dev/shm, so multiprocessing's queues and
pools do not work there. Each worker's blocks are sent by a thread of its own, so that a worker
busy with its block never holds up the others.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from pulse.ingest.fast_path import decode_jsonl_block, vouched
from pulse.ingest.fast_records import FastShape
from pulse.ingest.parts import MAX_LINE_BYTES

Verdict = tuple[str, Any] | None  # (the ids joined by newlines, the reduced rows) or None
Block = tuple[int, int, bytes]  # (first line, lines, whole lines joined by newlines)


@dataclass(frozen=True)
class BlockJudge:
    """Decodes, vouches for and reduces one block: the same in the reading process or a worker."""

    shape: FastShape
    allowed: Mapping[str, frozenset[str]]
    reducer: Callable[[Sequence[Any]], Any]

    def __call__(self, block: bytes, lines: int) -> Verdict:
        if len(block) > MAX_LINE_BYTES and max(map(len, block.split(b"\n"))) > MAX_LINE_BYTES:
            return None  # a line over the cap is rejected for it, row by row, whatever it holds
        rows = decode_jsonl_block(self.shape, block, lines)
        if rows is None:
            return None
        ids = vouched(self.shape, rows, self.allowed)
        if ids is None:
            return None
        return ids, self.reducer(rows)


def _serve(connection: Connection, judge: BlockJudge) -> None:
    while (job := connection.recv()) is not None:
        block, lines = job
        connection.send(judge(block, lines))
    connection.close()


class BlockWorkers:
    def __init__(self, judge: BlockJudge, processes: int, depth: int = 2) -> None:
        context = multiprocessing.get_context("fork")
        self._connections: list[Connection] = []
        self._processes: list[Any] = []
        for _ in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, judge), daemon=True, name="pulse-judge")
            process.start()
            theirs.close()
            self._connections.append(mine)
            self._processes.append(process)
        # A block is sent by a thread of its worker's: sending blocks until the worker takes it,
        # which must not hold up the blocks and results of the other workers.
        self._outboxes: list[queue.Queue[tuple[bytes, int] | None]] = []
        self._senders: list[threading.Thread] = []
        for connection in self._connections:
            outbox: queue.Queue[tuple[bytes, int] | None] = queue.Queue(maxsize=depth)
            sender = threading.Thread(
                target=_send_all, args=(outbox, connection), daemon=True, name="pulse-send"
            )
            sender.start()
            self._outboxes.append(outbox)
            self._senders.append(sender)
        self._depth = depth

    def judged(self, blocks: Iterator[Block]) -> Iterator[tuple[Block, Verdict]]:
        """Each block with its verdict, in the order the blocks came."""
        in_flight: deque[tuple[int, Block]] = deque()
        turn, unreadable = 0, None
        try:
            try:
                for block in blocks:
                    worker = turn % len(self._connections)
                    turn += 1
                    self._outboxes[worker].put((block[2], block[1]))
                    in_flight.append((worker, block))
                    if len(in_flight) >= self._depth * len(self._connections):
                        done, sent = in_flight.popleft()
                        yield sent, self._receive(done)
            except Exception as exc:  # the part turned out unreadable: the blocks before count
                unreadable = exc
            while in_flight:
                done, sent = in_flight.popleft()
                yield sent, self._receive(done)
            if unreadable is not None:
                raise unreadable
        finally:
            # A reader that stops half-way: the verdicts still on their way are collected, so
            # that the next part's do not come after them.
            for worker, _ in in_flight:
                self._receive(worker)

    def _receive(self, worker: int) -> Verdict:
        try:
            return self._connections[worker].recv()  # type: ignore[no-any-return]
        except EOFError as exc:
            raise RuntimeError("a block worker process ended early") from exc

    def close(self) -> None:
        for outbox in self._outboxes:
            outbox.put(None)  # the sender passes it on: the worker ends
        for sender in self._senders:
            sender.join(timeout=5)
        for connection in self._connections:
            connection.close()
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def _send_all(outbox: queue.Queue[tuple[bytes, int] | None], connection: Connection) -> None:
    while True:
        job = outbox.get()
        with contextlib.suppress(OSError):  # a worker that is gone: its receive says so
            connection.send(job)
        if job is None:
            return
