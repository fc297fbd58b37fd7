"""`make run`: the whole system on this machine, on a moto server built from template.yaml.

What exists so far (issue 2): the data resources of the template, CreatorsIngestFunction behind
S3 notifications, and a demo creators snapshot loaded through that same path. Later issues add the
lists, the API on :3000, revenue and month end to this same command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import Any

import boto3

from pulse.aws import wiring
from pulse.rules import load_rules
from pulse_local import datagen
from pulse_local.moto_server import aws_environment, moto_server
from pulse_local.notifications import NotificationPump
from pulse_local.resources import create_resources
from pulse_local.template import REGION, Stack
from pulse_local.uploads import upload_batch

DEMO_SNAPSHOT = "2026-11-26"


def _show(key: str, result: Any) -> None:
    for batch in result.get("batches", []):
        outcome = batch.get("outcome", {})
        published = outcome.get("published") or {}
        detail = (
            f"list version {published['list_version']}, {sum(published['entries'].values())} entries"
            if published
            else f"became={outcome.get('became')}"
        )
        print(
            f"  processed {key}: {batch.get('status')} rows_read={batch.get('rows_read')} "
            f"rejected={batch.get('rows_rejected')} {detail}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("PULSE_MOTO_PORT", "5000")))
    parser.add_argument("--creators", type=int, default=5_000, help="demo creators per market")
    parser.add_argument("--videos", type=int, default=50_000, help="demo videos per market")
    parser.add_argument("--once", action="store_true", help="load the demo, print, and stop (no serving)")
    args = parser.parse_args(argv)

    with moto_server(args.moto_port) as endpoint:
        os.environ.update(aws_environment(endpoint))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        wiring.reset()
        stack = Stack()
        create_resources(stack, endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        pump = NotificationPump(stack, s3, on_result=_show)
        print(f"moto server on {endpoint} with the resources of template.yaml (stack {stack.name})")
        for market in ("US", "GB"):
            upload_batch(
                s3,
                stack.name_of("IngestBucket"),
                f"creators/market={market}/snapshot={DEMO_SNAPSHOT}/",
                {"part-0000.jsonl.gz": datagen.creators(market, args.creators)},
                snapshot=DEMO_SNAPSHOT,
            )
        pump.pump()  # creators first: the lists are published with their eligibility
        categories = list(load_rules().categories)
        for market in ("US", "GB"):
            upload_batch(
                s3,
                stack.name_of("IngestBucket"),
                f"videos/market={market}/snapshot={DEMO_SNAPSHOT}/",
                {"part-0000.jsonl.gz": datagen.videos(market, args.videos, args.creators, categories)},
                snapshot=DEMO_SNAPSHOT,
            )
        pump.pump()
        bucket = stack.name_of("IngestBucket")
        reports = stack.name_of("ReportsBucket")
        print(
            "\nRunning now: creators and videos ingest, ranking and list publication (issues 2, 3).\n"
            "Not yet: the HTTP API on :3000, revenue, month end (issues 4 to 7 add them here).\n\n"
            "Try, in another shell:\n"
            f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local"
            f" AWS_DEFAULT_REGION={REGION}\n"
            f"  aws s3 ls s3://{reports}/ingest-reports/ --recursive\n"
            f"  aws dynamodb get-item --table-name {stack.name_of('StateTable')}"
            """ --key '{"pk":{"S":"LISTS#US"},"sk":{"S":"CURRENT"}}'\n"""
            f"  aws s3 cp s3://{reports}/ingest-reports/creators/market=US/"
            f"snapshot={DEMO_SNAPSHOT}/report.json -\n"
            f"  aws s3 cp my-batch/ s3://{bucket}/creators/market=US/snapshot=2026-11-27/ --recursive"
            "   # manifest last: it is processed within a second\n"
        )
        if args.once:
            return 0
        print("Serving until Ctrl-C.")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                pump.pump()
                time.sleep(1)
        print("\nstopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
