"""The local stack end to end, over real HTTP on 127.0.0.1: a moto server in its own process,
the S3 notifications, the API on a local port, and the month end."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pulse import bootstrap
from pulse.aws.list_table import DynamoListStore
from pulse_cli.lambdas import invoke
from pulse_cli.main import main
from pulse_cli.template import REGION, Stack
from pulse_local.http_api import serve_in_background
from pulse_local.moto_server import aws_environment, free_port, moto_server
from pulse_local.notifications import NotificationPump
from pulse_local.resources import create_resources
from pulse_local.run import REVENUE_MONTH, load_demo

# One worker runs this module (make test spreads the suite over processes): its stack takes a
# minute and a half to load, and the tests share it.
pytestmark = pytest.mark.xdist_group("local_stack")


def _http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310  # 127.0.0.1
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def local() -> Iterator[tuple[Stack, str]]:
    saved = dict(os.environ)
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        bootstrap.reset()
        stack = Stack()
        create_resources(stack, endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        port = free_port()
        server = serve_in_background(stack, port)
        api = f"http://127.0.0.1:{port}"
        load_demo(stack, s3, NotificationPump(stack, s3), api, creators=400, videos=4_000, revenue=3_000)
        yield stack, api
        server.shutdown()
    os.environ.clear()
    os.environ.update(saved)
    bootstrap.reset()


def test_a_listed_video_is_served_over_http(local: tuple[Stack, str]) -> None:
    stack, api = local
    lists = DynamoListStore(stack.name_of("StateTable"))
    current = lists.current("US")
    assert current is not None
    top = next(lists.entries("US", current.version, "pets", 0, 1))
    status, body = _http("GET", f"{api}/v1/placements/{top.video_id}?market=US")
    assert status == 200
    assert (body["placeable"], body["rank"], body["category"]) == (True, top.rank, "pets")
    assert body["campaigns"][0]["campaign_id"] == "demo-pets"
    status, batch = _http(
        "POST", f"{api}/v1/placements/batch", {"market": "US", "video_ids": [top.video_id, "nope"]}
    )
    assert (status, [r["placeable"] for r in batch["results"]]) == (200, [True, False])
    assert _http("GET", f"{api}/v1/placements/{top.video_id}?market=US&user_id=1")[0] == 400
    assert _http("DELETE", f"{api}/v1/rules")[0] == 405


def test_the_month_end_of_the_demo_reconciles(local: tuple[Stack, str]) -> None:
    stack, _ = local
    runs = invoke(stack, "PayoutFunction", {"month": REVENUE_MONTH, "markets": ["US", "GB"]})["runs"]
    assert [r["market"] for r in runs] == ["US", "GB"]
    for run in runs:
        assert run["creators"] > 0
        assert all(run["invariants"].values())
        totals = run["totals"]
        assert totals["gross_revenue_micros"] > 0
        assert (
            totals["net_revenue_micros"] == totals["creator_share_micros"] + totals["platform_share_micros"]
        )


def test_the_pulse_command_uploads_refreshes_and_shows(
    local: tuple[Stack, str], tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stack, api = local
    assert (
        main(
            [
                "generate",
                "--dataset",
                "creators",
                "--market",
                "GB",
                "--rows",
                "50",
                "--snapshot",
                "2026-11-27",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    folder = tmp_path / "creators" / "market=GB" / "snapshot=2026-11-27"
    assert main(["upload", str(folder)]) == 0
    s3 = boto3.client("s3", region_name=REGION)
    assert NotificationPump(stack, s3).pump() >= 1
    report = s3.get_object(
        Bucket=stack.name_of("ReportsBucket"),
        Key="ingest-reports/creators/market=GB/snapshot=2026-11-27/report.json",
    )
    assert json.loads(report["Body"].read())["rows_read"] == 50
    assert main(["refresh", "--markets", "US"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # Nothing changed in US since its lists were published: the refresh keeps the current version.
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    assert result["markets"][0]["published"]["list_version"] == current.version
    assert result["markets"][0]["published"]["unchanged"] is True
    assert main(["show", "lists", "--market", "US", "--category", "pets", "--limit", "3", "--api", api]) == 0
    shown = capsys.readouterr().out
    assert "US pets (list version" in shown
    assert len([line for line in shown.splitlines() if line.strip()[:1].isdigit()]) == 3
