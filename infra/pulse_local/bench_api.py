"""The API section of `make bench` (issue 4): cold import, handler CPU per lookup, AWS requests.

- cold import: `import api` (the ApiFunction module) against a bare `import boto3`, each in a
  fresh interpreter, median of 7;
- handler CPU: the Lambda handler on a real API Gateway event for one lookup, with the stores
  stubbed in memory, CPU time per call (p50, p99 of 20,000 warm calls);
- requests: DynamoDB requests of warm lookups against moto, counted at botocore's `before-call`.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from pulse_cli.template import ROOT

FUNCTIONS_DIR = str(ROOT / "functions")


def _import_ms(statement: str) -> float:
    code = (
        f"import sys, time; sys.path.insert(0, {FUNCTIONS_DIR!r}); t = time.perf_counter(); {statement}; "
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {**os.environ, "STATE_TABLE": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    command = [sys.executable, "-c", code]  # our own interpreter and code
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)  # noqa: S603  # nosec B603
    return float(out.stdout.strip().splitlines()[-1])


def cold_import() -> tuple[float, float]:
    api = statistics.median(_import_ms("import api") for _ in range(7))
    boto3 = statistics.median(_import_ms("import boto3") for _ in range(7))
    return api, boto3


class _Lists:
    def current(self, market: str) -> Any:
        from pulse.lists.publication import ListVersion  # noqa: PLC0415

        return ListVersion(market, "0000000001", "2026-11-27", "2026-11-27T03:00:00+00:00", {})

    def placement(self, market: str, version: str, video_id: str) -> Any:
        from pulse.lists.publication import Placement  # noqa: PLC0415

        return Placement(video_id, "pets", 3, "c1", 99)


class _Campaigns:
    def in_market(self, market: str) -> list[Any]:
        from pulse.campaigns.campaign import Campaign  # noqa: PLC0415

        return [
            Campaign(
                campaign_id=f"k{i}",
                advertiser="Acme",
                markets=["US"],
                categories=["pets"],
                start=dt.date(2026, 1, 1),
                end=dt.date(2099, 1, 1),
                priority=i,
                status="active",
                updated_at="2026-11-27T00:00:00+00:00",
            )
            for i in range(12)
        ]


def handler_cpu(calls: int = 20_000) -> tuple[float, float]:
    """p50 and p99 CPU microseconds of one warm lookup through the Lambda handler."""
    os.environ.setdefault("STATE_TABLE", "bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, FUNCTIONS_DIR)
    import api  # noqa: PLC0415
    from pulse.bootstrap import ApiServices  # noqa: PLC0415
    from pulse.core.clock import system_clock  # noqa: PLC0415
    from pulse.core.rules import load_rules  # noqa: PLC0415
    from pulse.entrypoints.api import routes  # noqa: PLC0415
    from pulse.lists.lookups import PlacementLookups  # noqa: PLC0415
    from pulse_cli.lambdas import LambdaContext  # noqa: PLC0415
    from pulse_local.apigw import rest_event  # noqa: PLC0415

    rules = load_rules()
    lists: Any = _Lists()  # only what a lookup reads
    lookups = PlacementLookups(lists, _Campaigns(), rules, clock=system_clock, cache_seconds=3600)
    nothing: Any = None  # the stores a lookup never touches
    stub = ApiServices(
        rules=rules,
        clock=system_clock,
        lookups=lookups,
        lists=nothing,
        eligibility=nothing,
        campaigns=nothing,
        payouts=nothing,
    )
    setattr(routes, "api_services", lambda: stub)  # noqa: B010  # the routes' service factory, stubbed
    event = rest_event("GET", "/v1/placements/vd000000042?market=US")
    context: Any = LambdaContext(function_name="bench")
    for _ in range(1000):
        assert api.handler(event, context)["statusCode"] == 200
    samples = []
    for _ in range(calls):
        started = time.process_time_ns()
        api.handler(event, context)
        samples.append(time.process_time_ns() - started)
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000


def request_counts(lookups: int = 1_000, batches: int = 10) -> dict[str, float]:
    """DynamoDB requests per warm single lookup and per batch of 100, on moto."""
    from moto import mock_aws  # noqa: PLC0415

    from pulse import bootstrap  # noqa: PLC0415
    from pulse.aws import clients  # noqa: PLC0415
    from pulse.lists.ranking import Ranked  # noqa: PLC0415
    from pulse_cli.template import Stack  # noqa: PLC0415
    from pulse_local.published import publish_all_active  # noqa: PLC0415
    from pulse_local.resources import create_resources  # noqa: PLC0415

    any_credential = "bench"  # moto accepts any credentials
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": any_credential,
            "AWS_SECRET_ACCESS_KEY": any_credential,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        clients.reset()
        stack = Stack()
        create_resources(stack)
        os.environ["STATE_TABLE"] = stack.name_of("StateTable")

        ranked = {"pets": [Ranked(r, f"v{r:05d}", f"c{r % 50}", 10_000 - r) for r in range(1, 401)]}
        publish_all_active(stack, "US", ranked)
        bootstrap.reset()
        lookups_service = bootstrap.api_services().lookups
        lookups_service.one("US", "v00001")  # warm: version and campaigns cached
        counts: Counter[str] = Counter()
        clients.dynamodb().meta.events.register(
            "before-call.dynamodb", lambda model, **_: counts.update([model.name])
        )
        for i in range(lookups):
            lookups_service.one("US", f"v{(i % 500) + 1:05d}")
        single = dict(counts)
        counts.clear()
        for b in range(batches):
            lookups_service.many("US", [f"v{(b * 100 + i) % 450 + 1:05d}" for i in range(100)])
        batch = dict(counts)
        clients.reset()
    return {
        "requests_per_single_lookup": sum(single.values()) / lookups,
        "single_operations": single,  # type: ignore[dict-item]
        "requests_per_batch_of_100": sum(batch.values()) / batches,
        "batch_operations": batch,  # type: ignore[dict-item]
    }


def bench_api() -> None:
    print("API (ApiFunction)")
    api_ms, boto3_ms = cold_import()
    print(
        f"  cold import of the API module: {api_ms:.0f} ms; bare `import boto3`: {boto3_ms:.0f} ms;"
        f" ratio {api_ms / boto3_ms:.2f}"
    )
    p50, p99 = handler_cpu()
    print(
        f"  handler CPU per single lookup (stores stubbed, 20,000 warm calls): p50 {p50:.0f} µs,"
        f" p99 {p99:.0f} µs"
    )
    counts = request_counts()
    print(
        f"  DynamoDB requests per warm single lookup: {counts['requests_per_single_lookup']:.3f}"
        f" {counts['single_operations']}"
    )
    per_batch = counts["requests_per_batch_of_100"]
    print(f"  DynamoDB requests per batch of 100: {per_batch:.1f} {counts['batch_operations']}")
