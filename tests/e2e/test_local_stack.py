"""The local stack end to end, over real HTTP on 127.0.0.1: a moto server in its own process,
the S3 notifications, the API on a local port, and the month end."""

from __future__ import annotations

import http.client
import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from pulse_client import PulseClient

from pulse import bootstrap
from pulse.aws.list_table import DynamoListStore
from pulse_cli import lambdas
from pulse_cli.lambdas import invoke
from pulse_cli.main import main
from pulse_cli.template import REGION, Stack
from pulse_local.earnings_check import closed_month_equals_statements, open_month_equals_entries
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
    """And, as `make demo` checks, through the local API over HTTP: before the month end, every
    creator's earnings equal the ledger's entries; after it, the statement and its document."""
    stack, api = local

    def get(path: str) -> tuple[int, Any]:
        return _http("GET", api + path)

    assert open_month_equals_entries(stack, get, "US", REVENUE_MONTH) > 50
    runs = invoke(stack, "PayoutFunction", {"month": REVENUE_MONTH, "markets": ["US", "GB"]})["runs"]
    for run in runs:
        compared = closed_month_equals_statements(stack, get, run["market"], REVENUE_MONTH)
        assert compared == run["creators"]
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


def test_the_ad_servers_client_answers_what_the_api_answers_for_every_video_of_a_version(
    local: tuple[Stack, str],
) -> None:
    """The snapshot is fetched as the ad server fetches it: the route, then the presigned link to
    the moto server, over HTTP; then every listed video and some others, both ways."""
    stack, api = local
    lists = DynamoListStore(stack.name_of("StateTable"))
    current = lists.current("US")
    assert current is not None
    videos = [
        e.video_id for category in current.counts for e in lists.entries("US", current.version, category)
    ]
    assert len(videos) == current.entries > 50
    videos += ["never-listed", "a-b_c"]
    credentials = Credentials("local", "local", "local")
    with PulseClient(api, region=REGION, markets=("US",), credentials=credentials) as client:
        assert client.refresh_now("US") == "loaded"
        assert client.snapshot_version("US") == current.version
        for video_id in videos:
            held = client.placement(video_id, "US")
            status, over_http = _http("GET", f"{api}/v1/placements/{video_id}?market=US")
            assert (status, held.source) == (200, "snapshot")
            assert {
                "video_id": held.video_id,
                "market": held.market,
                "placeable": held.placeable,
                "list_version": held.list_version,
                "category": held.category,
                "iab_categories": list(held.iab_categories),
                "rank": held.rank,
                "creator_id": held.creator_id,
            } == {k: v for k, v in over_http.items() if k != "campaigns"}
        assert client.placements(videos, "US") == [client.placement(v, "US") for v in videos]
        assert client.refresh_now("US") == "unchanged"  # a 304: nothing downloaded again
        assert client.stats().snapshot_loads == 1
    with PulseClient(api, region=REGION, credentials=credentials) as over_http_only:
        answer = over_http_only.placement(videos[0], "US")
        assert (answer.source, answer.placeable, answer.campaigns is not None) == ("http", True, True)


def test_the_api_answers_while_another_function_runs(local: tuple[Stack, str]) -> None:
    """Pipeline invocations take turns in this process (each sets its environment); the API does
    not wait for them, as Lambda runs it beside them."""
    _, api = local
    with lambdas._ONE_AT_A_TIME:  # as a loading batch holds it for minutes
        status, body = _http("GET", f"{api}/v1/campaigns/demo-pets")
    assert (status, body["campaign_id"]) == (200, "demo-pets")


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "QUERY", "PROPFIND"])
def test_a_method_api_gateway_does_not_support_gets_its_403_in_the_api_error_format(
    local: tuple[Stack, str], method: str
) -> None:
    _, api = local
    connection = http.client.HTTPConnection(api.removeprefix("http://"), timeout=30)
    try:
        connection.request(method, "/v1/placements/p1?market=US")
        response = connection.getresponse()
        assert response.status == 403
        assert json.loads(response.read()) == {
            "error": {"code": "gateway_refused", "message": "Missing Authentication Token"}
        }
    finally:
        connection.close()
