"""`make costs`: what a million placement lookups cost through each front door, from AWS's public
list prices (us-east-1, on-demand, as published on the pages named below; taxes, free tiers and
data transfer out of AWS left out).

The three ways the ad server can ask:
- REST API (today's front door) -> ApiFunction -> the version held in memory;
- HTTP API (API Gateway v2) -> the same function;
- snapshot clients (`pulse_client` in every ad-server instance): lookups answered in-process; the
  only requests are each instance's conditional poll of `GET /v1/placements/snapshot` every 10 s
  through the REST API, and one S3 GET of each new version (one a day).

`--before` adds the path this issue replaced: a DynamoDB GetItem (strongly consistent, one read
request unit) on every lookup, and the function billed for that round trip.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

SECONDS_A_MONTH = 30 * 24 * 3600

# (requests in the tier, USD per million); the last tier is open-ended.
# https://aws.amazon.com/api-gateway/pricing/
REST_TIERS = ((333e6, 3.50), (667e6, 2.80), (19e9, 2.38), (float("inf"), 1.51))
HTTP_TIERS = ((300e6, 1.00), (float("inf"), 0.90))
# https://aws.amazon.com/lambda/pricing/ (Arm)
LAMBDA_PER_MILLION = 0.20
LAMBDA_PER_GB_SECOND = 0.0000133334
# https://aws.amazon.com/dynamodb/pricing/on-demand/ (a strongly consistent read of <= 4 KB: 1 RRU)
DYNAMODB_PER_MILLION_READS = 0.125
# https://aws.amazon.com/s3/pricing/ (GET, S3 Standard)
S3_PER_THOUSAND_GETS = 0.0004

FUNCTION_GB = 1.0  # ApiFunction's MemorySize, 1,024 MB
BILLED_MS_FROM_MEMORY = 1.0  # Lambda bills whole milliseconds: ~10 µs of handler CPU bills 1 ms
BILLED_MS_WITH_GETITEM = 5.0  # a DynamoDB round trip (single-digit ms) and the old handler
POLL_SECONDS = 10.0  # pulse_client's refresh_seconds


def tiered(requests: float, tiers: Sequence[tuple[float, float]]) -> float:
    """USD for `requests` a month under volume tiers."""
    cost, left = 0.0, requests
    for size, per_million in tiers:
        taken = min(left, size)
        cost += taken / 1e6 * per_million
        left -= taken
        if left <= 0:
            break
    return cost


def lambda_cost(invocations: float, billed_ms: float) -> float:
    return (
        invocations / 1e6 * LAMBDA_PER_MILLION
        + invocations * billed_ms / 1000 * FUNCTION_GB * LAMBDA_PER_GB_SECOND
    )


@dataclass(frozen=True)
class Row:
    front_door: str
    how: str
    gateway: float  # USD a month
    function: float
    storage: float
    lookups: float  # a month

    @property
    def total(self) -> float:
        return self.gateway + self.function + self.storage

    def per_million(self, usd: float) -> float:
        return usd / (self.lookups / 1e6)


def rows(rate: float, instances: int, batch: int, before: bool) -> list[Row]:
    lookups = rate * SECONDS_A_MONTH
    out: list[Row] = []
    for name, tiers in (("REST API", REST_TIERS), ("HTTP API", HTTP_TIERS)):
        if before:
            out.append(
                Row(
                    name,
                    "single lookups, a GetItem each (before)",
                    tiered(lookups, tiers),
                    lambda_cost(lookups, BILLED_MS_WITH_GETITEM),
                    lookups / 1e6 * DYNAMODB_PER_MILLION_READS,
                    lookups,
                )
            )
        out.append(
            Row(
                name,
                "single lookups from memory",
                tiered(lookups, tiers),
                lambda_cost(lookups, BILLED_MS_FROM_MEMORY),
                0.0,
                lookups,
            )
        )
        requests = lookups / batch
        out.append(
            Row(
                name,
                f"batches of {batch} from memory",
                tiered(requests, tiers),
                lambda_cost(requests, BILLED_MS_FROM_MEMORY),
                0.0,
                lookups,
            )
        )
    polls = instances * SECONDS_A_MONTH / POLL_SECONDS
    downloads = instances * 30  # a new version a day
    out.append(
        Row(
            "snapshot clients",
            f"{instances} ad-server instances, each polling every {POLL_SECONDS:.0f} s",
            tiered(polls, REST_TIERS),
            lambda_cost(polls, BILLED_MS_FROM_MEMORY),
            downloads / 1000 * S3_PER_THOUSAND_GETS,
            lookups,
        )
    )
    return out


def table(rate: float, instances: int, batch: int, before: bool) -> str:
    lines = [
        f"{rate:,.0f} lookups a second ({rate * SECONDS_A_MONTH / 1e9:,.2f} billion a month),"
        " us-east-1 list prices",
        "",
        "| front door | how the ad server asks | gateway $/M | Lambda $/M | DynamoDB + S3 $/M"
        " | total $/M | a month |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows(rate, instances, batch, before):
        figures = (row.gateway, row.function, row.storage, row.total)
        per_million = " | ".join(f"{row.per_million(usd):.4f}" for usd in figures)
        lines.append(f"| {row.front_door} | {row.how} | {per_million} | ${row.total:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10_000, help="lookups a second")
    parser.add_argument("--instances", type=int, default=100, help="ad-server instances holding snapshots")
    parser.add_argument("--batch", type=int, default=100, help="videos per batch request")
    parser.add_argument("--before", action="store_true", help="add the GetItem-per-lookup path")
    args = parser.parse_args(argv)
    print(table(args.rate, args.instances, args.batch, args.before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
