"""The snapshot part of `make bench` (issue 14): what holding a version costs, and what a lookup
from a held snapshot costs the ad server.

- object: a version of N entries as publication writes it (`placements_object.encode`), its size
  in S3, and its load in ApiFunction: `PlacementLookups.held_index` reading it from S3 (moto, in
  the measuring process: no network) and decoding it, in a fresh process for each size, with the
  memory the held index keeps and the peak of the load;
- client: `pulse_client.PulseClient` holding a snapshot it fetched through the local API
  (`GET /v1/placements/snapshot`, then the presigned link) on a moto server, CPU per
  `placement()` answered in-process (p50, p99).

`python -m pulse_local.bench_snapshot load FILE` is the per-size worker: it prints JSON.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pulse_local.bench_api import version_object


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_worker(path: str) -> dict[str, float]:
    """Load one version's object the way ApiFunction does; its figures."""
    from moto import mock_aws  # noqa: PLC0415

    from pulse.aws.placement_objects import S3PlacementObjects  # noqa: PLC0415
    from pulse.core.clock import system_clock  # noqa: PLC0415
    from pulse.core.rules import load_rules  # noqa: PLC0415
    from pulse.lists import placements_object as po  # noqa: PLC0415
    from pulse.lists.lookups import PlacementLookups  # noqa: PLC0415
    from pulse.lists.publication import ListVersion  # noqa: PLC0415
    from pulse_cli.template import Stack  # noqa: PLC0415
    from pulse_local.resources import create_resources  # noqa: PLC0415

    any_credential = "bench"  # moto accepts any credentials
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = any_credential
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    with mock_aws():
        stack = Stack()
        create_resources(stack)
        objects = S3PlacementObjects(stack.name_of("ListsBucket"))
        key = po.placements_key("US", "0000000001")
        data = Path(path).read_bytes()
        objects.write(key, data)
        sha256, size = po.sha256_hex(data), len(data)
        del data
        version = ListVersion(
            "US", "0000000001", "2026-11-27", "2026-11-27T03:00:00+00:00", {},
            placements_key=key, placements_sha256=sha256, placements_bytes=size,
        )  # fmt: skip
        nothing: Any = None  # a load reads neither the table nor campaigns
        lookups = PlacementLookups(nothing, nothing, load_rules(), objects=objects, clock=system_clock)
        gc.collect()
        before, peak_before = _rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        index = lookups.held_index(version)
        elapsed = time.perf_counter() - started
        assert index is not None
        assert lookups.objects_loaded == 1
        gc.collect()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "entries": len(index),
            "bytes": size,
            "load_seconds": elapsed,
            "held_mb": _rss_mb() - before,
            "peak_mb": max(peak - max(peak_before, before), 0.0) + (_rss_mb() - before),
        }


def object_figures(entries: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pulse-bench-") as work:
        path = Path(work, "version.json.gz")
        path.write_bytes(version_object("US", "0000000001", entries))
        command = [sys.executable, "-m", "pulse_local.bench_snapshot", "load", str(path)]
        out = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603  # nosec B603
        figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        return figures


def client_lookup_cpu(per_category: int = 1_000, calls: int = 200_000) -> dict[str, tuple[float, float]]:
    """p50 and p99 CPU microseconds of `PulseClient.placement` from its held snapshot."""
    from botocore.credentials import Credentials  # noqa: PLC0415
    from pulse_client import PulseClient  # noqa: PLC0415

    from pulse_cli.template import REGION  # noqa: PLC0415
    from pulse_local.served_version import served_version  # noqa: PLC0415

    with served_version(per_category) as served:
        any_credential = "local"  # the local API does not check signatures
        credentials = Credentials(any_credential, any_credential)
        with PulseClient(served.api, region=REGION, markets=("US",), credentials=credentials) as client:
            assert client.refresh_now("US") == "loaded"
            listed = served.video_ids
            figures = {}
            for name, ids in (("listed", listed), ("unlisted", [f"nope{n}" for n in range(1_000)])):
                samples = []
                for i in range(calls):
                    video = ids[(i * 7919) % len(ids)]
                    started = time.thread_time_ns()
                    answer = client.placement(video, "US")
                    samples.append(time.thread_time_ns() - started)
                    assert answer.source == "snapshot"
                samples.sort()
                figures[name] = (samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000)
            assert client.stats().http_lookups == 0
        return figures


def bench_snapshot() -> None:
    print("list version objects and the ad server's client")
    for entries in (40_000, 4_000_000):
        f = object_figures(entries)
        print(
            f"  a {f['entries']:,.0f}-entry version: object {f['bytes'] / 2**20:.2f} MiB gzip;"
            f" ApiFunction's load (S3 GET on moto in-process + SHA-256 + decode) {f['load_seconds']:.2f} s;"
            f" held index {f['held_mb']:.0f} MB, peak during the load +{f['peak_mb']:.0f} MB"
        )
    for name, (p50, p99) in client_lookup_cpu().items():
        print(
            f"  PulseClient.placement() of a {name} video from its held snapshot (12,000 entries):"
            f" CPU p50 {p50:.2f} µs, p99 {p99:.2f} µs; no HTTP request"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        print(json.dumps(load_worker(sys.argv[2])))
    else:
        bench_snapshot()
