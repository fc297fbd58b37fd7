"""`make load`: a bounded load on the local API with locust (headless), the ad server's two calls.

By default it starts its own stack (`served_version`: a moto server built from template.yaml, a
published version of 1,200 placements, a campaign per category, the local API on a free port), so
it passes on a fresh clone. `--target http://127.0.0.1:3000` loads `make run`'s API instead, at
whatever stage its demo is: the videos are read from its top lists (none yet: unlisted ids, which
are answered 200 `placeable: false` as on AWS).

Only 127.0.0.1 is ever loaded. The run lasts `--seconds` (at most 60). It prints sustained requests
per second, p50 and p99 of each call and every error, and exits 1 on any 5xx (or any other answer
than a 200, or a connection error: the requests are all valid).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pulse.core.rules import load_rules

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MAX_SECONDS = 60


@dataclass(frozen=True)
class CallStats:
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadReport:
    seconds: int
    users: int
    calls: list[CallStats]
    total: CallStats
    failures: dict[str, int]  # "HTTP 503" (or a connection error) -> occurrences

    @property
    def server_errors(self) -> int:
        # locust writes an error as the repr of its exception: CatchResponseError('HTTP 503').
        return sum(n for error, n in self.failures.items() if re.search(r"HTTP 5\d\d", error))

    @property
    def passed(self) -> bool:
        return self.total.requests > 0 and self.total.failures == 0

    def lines(self) -> list[str]:
        out = [f"locust, {self.users} users for {self.seconds}s, closed loop (each asks again when answered)"]
        for call in [*self.calls, self.total]:
            out.append(
                f"  {call.name:<34} {call.requests:>8,} requests {call.rps:>8.1f}/s"
                f"  p50 {call.p50_ms:>5.0f} ms  p99 {call.p99_ms:>5.0f} ms  errors {call.failures:,}"
            )
        lookups = sum(c.rps * (100 if "batch" in c.name else 1) for c in self.calls)
        out.append(f"  video lookups answered: {lookups:,.0f}/s (a batch counts 100)")
        for error, n in sorted(self.failures.items()):
            out.append(f"  error {error}: {n:,}")
        out.append(f"  5xx answers: {self.server_errors:,}")
        return out


def _loopback(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        raise SystemExit(f"make load only loads http://127.0.0.1, not {url!r}")
    return url.rstrip("/")


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310  # nosec B310  # 127.0.0.1
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def listed_videos(api: str, market: str) -> list[str]:
    """The videos on `market`'s current top lists (the first 500 of each), read as a user would.
    A category that does not answer 200 (no list yet: 404; a busy local stack: 503) is said and
    left out."""
    videos: list[str] = []
    for category in load_rules().categories:
        status, body = _get(f"{api}/v1/toplists/{market}/{category}?limit=500")
        if status == 200:
            videos.extend(str(e["video_id"]) for e in body["entries"])  # type: ignore[attr-defined]
        else:
            print(f"  top list {market}/{category}: HTTP {status}, its videos left out of the load")
    return videos


def _percentile(histogram: dict[str, int], fraction: float) -> float:
    """The `fraction` percentile of locust's response-time histogram (ms -> requests)."""
    ordered = sorted((float(ms), n) for ms, n in histogram.items())
    wanted = fraction * sum(n for _, n in ordered)
    seen = 0
    for ms, n in ordered:
        seen += n
        if seen >= wanted:
            return ms
    return 0.0


def _call_stats(name: str, entries: list[dict[str, Any]]) -> CallStats:
    if not entries:  # locust leaves out a call that made no request
        return CallStats(name, 0, 0, 0.0, 0.0, 0.0)
    histogram: dict[str, int] = {}
    for entry in entries:
        for ms, n in entry["response_times"].items():
            histogram[ms] = histogram.get(ms, 0) + n
    requests = sum(int(e["num_requests"]) for e in entries)
    started = min(float(e["start_time"]) for e in entries)
    ended = max(float(e["last_request_timestamp"] or started) for e in entries)
    return CallStats(
        name,
        requests,
        sum(int(e["num_failures"]) for e in entries),
        requests / max(ended - started, 1e-9),
        _percentile(histogram, 0.50),
        _percentile(histogram, 0.99),
    )


def read_stats(prefix: str, seconds: int, users: int) -> LoadReport:
    """locust's final figures: per-call statistics from its JSON, error kinds from its CSV."""
    entries: list[dict[str, Any]] = json.loads(Path(f"{prefix}.json").read_text())
    failures: dict[str, int] = {}
    with open(f"{prefix}_failures.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            failures[row["Error"]] = failures.get(row["Error"], 0) + int(row["Occurrences"])
    calls = [_call_stats(e["name"], [e]) for e in entries]
    return LoadReport(seconds, users, calls, _call_stats("all", entries), failures)


def run_locust(api: str, market: str, videos: list[str], *, seconds: int, users: int) -> LoadReport:
    with tempfile.TemporaryDirectory(prefix="pulse-load-") as work:
        ids = Path(work, "videos.txt")
        ids.write_text("\n".join(videos or ["unlisted"]))
        prefix = str(Path(work, "load"))
        env = {**os.environ, "PULSE_LOAD_VIDEOS": str(ids), "PULSE_LOAD_MARKET": market}
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", api, "--users", str(users), "--spawn-rate", str(users),
            "--run-time", f"{seconds}s", "--stop-timeout", "5", "--csv", prefix, "--json-file", prefix,
            "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
        ]  # fmt: skip
        subprocess.run(command, check=True, env=env, timeout=seconds + 60)  # noqa: S603  # nosec B603  # our interpreter
        return read_stats(prefix, seconds, users)


@contextlib.contextmanager
def _target(url: str | None, market: str) -> Iterator[tuple[str, list[str]]]:
    if url is not None:
        api = _loopback(url)
        videos = listed_videos(api, market)
        print(f"loading {api} ({len(videos):,} listed videos of {market} found)")
        yield api, videos
        return
    from pulse_local.served_version import served_version  # noqa: PLC0415  # starts a stack

    with served_version(per_category=100, market=market) as served:
        print(
            f"loading {served.api} (its own stack: version {served.list_version},"
            f" {len(served.video_ids):,} videos)"
        )
        yield served.api, served.video_ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", help="an API on http://127.0.0.1 (default: a stack of its own)")
    parser.add_argument("--market", default="US")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=16)
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 1 and {MAX_SECONDS}")
    with _target(args.target, args.market) as (api, videos):
        report = run_locust(api, args.market, videos, seconds=args.seconds, users=args.users)
    print("\n".join(report.lines()))
    if not report.passed:
        print("load FAILED: " + ("5xx answers" if report.server_errors else "errors or no requests"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
