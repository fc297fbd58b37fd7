"""One function invocation in a process of its own, measured: wall time, peak RSS, AWS requests.

`python -m pulse_local.bench_worker --stack-name N --bucket B --key K --size S --etag E --out F`
delivers the S3 notification of an uploaded object to its function(s), against the endpoint in
AWS_ENDPOINT_URL, and writes the measurements to F as JSON; with `--function F --event JSON` it
invokes that function with that event instead.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from collections import Counter
from typing import Any

from pulse.aws import clients
from pulse.ingest.read_phase import ReadPhase
from pulse_cli.lambdas import invoke, route_object
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
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    counter = RequestCounter()
    counter.attach()
    read_phase = PhaseTimer()
    read_phase.attach()
    stack = Stack(name=args.stack_name)
    started = time.perf_counter()
    if args.function:
        results = [invoke(stack, args.function, json.loads(args.event))]
    else:
        results = route_object(
            stack, args.bucket, args.key, size=args.size, etag=args.etag, sequencer=args.sequencer
        )
    elapsed = time.perf_counter() - started
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
