"""Bounded parallel I/O: many small storage calls in flight at once, without reading ahead forever.

Lambda's time goes into waiting for DynamoDB and EventBridge; a few threads overlap those waits
(boto3 clients are thread-safe). The bound keeps memory flat however long the input is. Each call
runs in a copy of the caller's context, so what the caller set (the API's retry budget,
`clients.use_budget`) holds in the threads too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def bounded_map(
    fn: Callable[[T], U], items: Iterable[T], workers: int, max_pending: int | None = None
) -> Iterator[U]:
    """`fn` over `items` on `workers` threads, results in completion order; the first error is raised."""
    if workers <= 1:
        yield from map(fn, items)
        return
    limit = max_pending or workers * 2
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pulse-io") as pool:
        pending: set[Future[U]] = set()
        for item in items:
            pending.add(pool.submit(contextvars.copy_context().run, fn, item))
            if len(pending) >= limit:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        for future in pending:
            yield future.result()
