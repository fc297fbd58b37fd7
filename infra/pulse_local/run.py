"""`make run` and `make demo`: the whole system on this machine, on a moto server built from
template.yaml, with the API on http://127.0.0.1:3000.

`make run` loads a demo dataset through the same paths as on AWS (batches uploaded to the ingest
bucket and delivered as S3 notifications, campaigns PUT through the API), prints where to look,
and serves until Ctrl-C. `make demo` (`--demo`) tells the whole story non-interactively and ends
with the month-end summary.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import time
import urllib.request
from typing import Any

import boto3

from pulse import bootstrap
from pulse.aws.list_table import DynamoListStore
from pulse.core.clock import RunningClock
from pulse.core.rules import load_rules
from pulse_cli import datagen
from pulse_cli.lambdas import invoke
from pulse_cli.template import REGION, Stack
from pulse_cli.uploads import upload_batch
from pulse_local import step_functions
from pulse_local.earnings_check import closed_month_equals_statements, open_month_equals_entries
from pulse_local.http_api import serve_in_background
from pulse_local.moto_server import aws_environment, moto_server
from pulse_local.notifications import NotificationPump
from pulse_local.resources import create_resources

SNAPSHOT = "2026-11-26"
REVENUE_MONTH = "2026-10"
MARKETS = ("US", "GB")
# The demo's data describes the day after SNAPSHOT: the local stack runs on a clock that starts
# then, so its story (fresh eligibility, an October that is over) holds on any date it is run.
DEMO_NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def _show(key: str, result: Any) -> None:
    for batch in result.get("batches", []):
        outcome = batch.get("outcome", {})
        published = outcome.get("published") or {}
        if published:
            detail = f"list version {published['list_version']}, {sum(published['entries'].values())} entries"
        elif "became" in outcome:
            detail = f"became={outcome['became']}"
        else:
            detail = f"entries recorded={outcome.get('entries_recorded')}"
        print(
            f"  {key}: {batch.get('status')}, {batch.get('rows_read'):,} rows read, "
            f"{batch.get('rows_rejected'):,} rejected; {detail}"
        )


def _http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310  # http://127.0.0.1 only
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310  # 127.0.0.1 only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def load_demo(
    stack: Stack, s3: Any, pump: NotificationPump, api: str, *, creators: int, videos: int, revenue: int
) -> None:
    bucket = stack.name_of("IngestBucket")
    categories = list(load_rules().categories)
    started = time.perf_counter()
    for market in MARKETS:
        upload_batch(
            s3,
            bucket,
            f"creators/market={market}/snapshot={SNAPSHOT}/",
            {"part-0000.jsonl.gz": datagen.creators(market, creators)},
            snapshot=SNAPSHOT,
        )
    pump.pump()  # creators first: the lists are published with their eligibility
    for market in MARKETS:
        upload_batch(
            s3,
            bucket,
            f"videos/market={market}/snapshot={SNAPSHOT}/",
            {"part-0000.jsonl.gz": datagen.videos(market, videos, creators, categories)},
            snapshot=SNAPSHOT,
        )
    pump.pump()
    print(f"  lists published in {time.perf_counter() - started:.0f}s: lookups are served from now on")
    for i, category in enumerate(categories):
        status, _ = _http(
            "PUT",
            f"{api}/v1/campaigns/demo-{category}",
            {
                "advertiser": f"Advertiser {i}",
                "markets": list(MARKETS),
                "categories": [category],
                "start": "2026-01-01",
                "end": "2027-12-31",
                "priority": 10 + i,
                "status": "active",
            },
        )
        assert status == 200, status
    lists = DynamoListStore(stack.name_of("StateTable"))
    for market in MARKETS:
        current = lists.current(market)
        assert current is not None
        listed = [e.video_id for c in categories for e in lists.entries(market, current.version, c)]
        upload_batch(
            s3,
            bucket,
            f"revenue/market={market}/date={REVENUE_MONTH}-28/demo-{REVENUE_MONTH}/",
            {
                "part-0000.jsonl.gz": datagen.revenue_for(
                    market, listed, current.version, REVENUE_MONTH, revenue
                )
            },
        )
    pump.pump()


def _summary_table(runs: list[dict[str, Any]]) -> str:
    fields = (
        "creators",
        "gross_revenue_micros",
        "net_revenue_micros",
        "creator_share_micros",
        "payable_micros",
        "closing_balance_micros",
        "platform_share_micros",
    )
    lines = [f"{'market':<7}{'month':<9}" + "".join(f"{f.replace('_micros', ''):>22}" for f in fields)]
    for run in runs:
        values = [run["creators"], *(run["totals"][f] for f in fields[1:])]
        lines.append(f"{run['market']:<7}{run['month']:<9}" + "".join(f"{v:>22,}" for v in values))
        lines.append(
            f"{'':<16}statuses {run['statuses']}  invariants hold: {all(run['invariants'].values())}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("PULSE_MOTO_PORT", "5000")))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("PULSE_API_PORT", "3000")))
    parser.add_argument("--creators", type=int, default=25_000, help="demo creators per market")
    parser.add_argument("--videos", type=int, default=250_000, help="demo videos per market")
    parser.add_argument("--revenue", type=int, default=20_000, help="demo revenue rows per market")
    parser.add_argument("--demo", action="store_true", help="tell the whole story, print the month end, stop")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with moto_server(args.moto_port) as endpoint:
        os.environ.update(aws_environment(endpoint))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        bootstrap.use_clock(RunningClock(DEMO_NOW))
        stack = Stack()
        create_resources(stack, endpoint)
        step_functions.create_state_machines(stack, endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        pump = NotificationPump(stack, s3, on_result=_show)
        server = serve_in_background(stack, args.api_port)
        api = f"http://127.0.0.1:{args.api_port}"
        print(f"moto server on {endpoint} with the resources of template.yaml; the API on {api}")
        load_demo(stack, s3, pump, api, creators=args.creators, videos=args.videos, revenue=args.revenue)
        lists = DynamoListStore(stack.name_of("StateTable"))
        current = lists.current("US")
        assert current is not None
        top = next(lists.entries("US", current.version, "pets", 0, 1))
        status, lookup = _http("GET", f"{api}/v1/placements/{top.video_id}?market=US")
        print(
            f"\nready in {time.perf_counter() - started:.0f}s;"
            f" GET /v1/placements/{top.video_id}?market=US -> {status}:"
        )
        print(json.dumps(lookup, indent=2))
        if args.demo:

            def get(path: str) -> tuple[int, Any]:
                return _http("GET", api + path)

            # Spec §8.2, through the API: the open month equals the ledger's entries...
            opened = open_month_equals_entries(stack, get, "US", REVENUE_MONTH)
            print(f"\nearnings == the ledger's entries for {opened} creators (US, {REVENUE_MONTH} open)")
            runs = invoke(stack, "PayoutFunction", {"month": REVENUE_MONTH, "markets": list(MARKETS)})["runs"]
            print(f"\nmonth end {REVENUE_MONTH}:\n{_summary_table(runs)}")
            # ... and, once closed, every creator's statement, field for field.
            closed = closed_month_equals_statements(stack, get, "US", REVENUE_MONTH)
            print(f"earnings == statements for {closed} creators (US, {REVENUE_MONTH} closed)")
            server.shutdown()
            ok = all(all(r["invariants"].values()) for r in runs)
            print(f"\ndemo done in {time.perf_counter() - started:.0f}s")
            return 0 if ok else 1
        print(
            "\nTry, in another shell:\n"
            f"  curl -s '{api}/v1/placements/{top.video_id}?market=US'\n"
            f"  curl -s -X POST {api}/v1/placements/batch -H 'Content-Type: application/json'"
            f' -d \'{{"market":"US","video_ids":["{top.video_id}"]}}\'\n'
            f"  curl -s '{api}/v1/toplists/US/pets?limit=5'\n"
            f"  curl -s '{api}/v1/creators/{top.creator_id}?market=US'\n"
            f"  curl -s {api}/v1/rules\n"
            f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local"
            f" AWS_DEFAULT_REGION={REGION}\n"
            f"  aws s3 ls s3://{stack.name_of('ReportsBucket')}/ --recursive\n"
            f"  aws s3 cp my-batch/ s3://{stack.name_of('IngestBucket')}/creators/market=US/snapshot=2026-11-27/"
            " --recursive   # manifest last: processed within a second\n"
            "Serving until Ctrl-C."
        )
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                pump.pump()
                time.sleep(1)
        server.shutdown()
        print("\nstopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
