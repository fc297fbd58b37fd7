"""One function invocation in a process of its own, measured: wall time, peak RSS, AWS requests.

`python -m pulse_local.bench_worker --stack-name N --bucket B --key K --size S --etag E --out F`
delivers the S3 notification of an uploaded object to its function(s), against the endpoint in
AWS_ENDPOINT_URL, and writes the measurements to F as JSON; with `--function F --event JSON` it
invokes that function with that event instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pulse.aws import clients
from pulse.ingest.read_phase import ReadPhase, RejectLog
from pulse_cli.lambdas import function_environment, invoke, route_object
from pulse_cli.template import Stack


class RequestCounter:
    """Counts every AWS API call the adapters make, by service and operation (thread-safe)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[f"{model.service_model.service_name}.{model.name}"] += 1

    def attach(self) -> None:
        for client in (clients.dynamodb(), clients.s3(), clients.events()):
            client.meta.events.register("before-call", self)


class PhaseTimer:
    """Adds up the time the invocation spends in the read phase (`ReadPhase.read`), as it runs."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.workers = 0

    def attach(self) -> None:
        original = ReadPhase.read

        def timed(phase: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(phase, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.workers = max(self.workers, phase.worker_processes)

        ReadPhase.read = timed  # type: ignore[method-assign,assignment]


class MemorySampler:
    """The peak of the memory this process and its children hold together, sampled every 50 ms:
    the sum of their proportional set sizes (PSS: a page shared by n processes counts 1/n in
    each), which is what the sandbox holds. The sum of peak RSS counts shared pages once per
    process and overstates it."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            total = sum(_pss_kb(pid) for pid in (os.getpid(), *_children(os.getpid())))
            self.peak_mb = max(self.peak_mb, total / 1024)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass  # a child that ended between the two reads
    return 0


def _read_phase_only(bucket: str, manifest_key: str) -> dict[str, Any]:
    """The function's own read phase of a batch (its S3 source, its applier's collector, its
    settings), without the apply phase: for datasets whose apply phase moto makes slow."""
    from pulse import bootstrap  # noqa: PLC0415
    from pulse.ingest.datasets import SPECS  # noqa: PLC0415
    from pulse.ingest.manifest import locate_batch, parse_manifest  # noqa: PLC0415
    from pulse.settings import pipeline_settings  # noqa: PLC0415

    bootstrap.reset()
    pipeline_settings.cache_clear()
    ctx = bootstrap.ingest_context(bucket)
    location = locate_batch(manifest_key)
    manifest = parse_manifest(ctx.source.read_manifest(location), location)
    applier = ctx.appliers[location.dataset]
    with tempfile.TemporaryDirectory() as tmp:
        phase: ReadPhase[Any, Any] = ReadPhase(
            SPECS[location.dataset],
            location,
            ctx.rules,
            RejectLog(),
            lambda: applier.collector(location, tmp),
            tmp,
            ctx.read_workers,
        )
        try:
            phase.read(
                [(f.key, f.rows) for f in manifest.files], lambda key: ctx.source.open_part(location, key)
            )
        finally:
            phase.close()
    return {"rows_read": phase.rows_read, "rows_accepted": phase.rows_accepted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack-name", default="pulse-local")
    parser.add_argument("--bucket")
    parser.add_argument("--key")
    parser.add_argument("--size", type=int)
    parser.add_argument("--etag")
    parser.add_argument("--function", help="invoke this function with --event instead of routing an object")
    parser.add_argument("--event", default="{}")
    parser.add_argument("--sequencer", default="0001")
    parser.add_argument(
        "--read-phase-of",
        metavar="FUNCTION",
        help="run only the read phase of the batch whose manifest is --key, in that function's environment",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    counter = RequestCounter()
    counter.attach()
    read_phase = PhaseTimer()
    read_phase.attach()
    memory = MemorySampler()
    memory.start()
    stack = Stack(name=args.stack_name)
    started = time.perf_counter()
    if args.read_phase_of:
        with function_environment(stack, args.read_phase_of):
            results = [_read_phase_only(args.bucket, args.key)]
    elif args.function:
        results = [invoke(stack, args.function, json.loads(args.event))]
    else:
        results = route_object(
            stack, args.bucket, args.key, size=args.size, etag=args.etag, sequencer=args.sequencer
        )
    elapsed = time.perf_counter() - started
    memory.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the block workers, once joined
    peak_kb = usage.ru_maxrss
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "elapsed_s": elapsed,
                "cpu_s": usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime,
                "peak_rss_mb": peak_kb / 1024,
                "read_phase_s": read_phase.seconds,
                "peak_pss_mb": memory.peak_mb,
                "workers": read_phase.workers,
                "peak_worker_rss_mb": children.ru_maxrss / 1024,
                "requests": dict(counter.counts),
                "results": results,
            },
            handle,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
