"""Schemathesis against the committed OpenAPI document (infra/openapi.json), on the local API over real
HTTP on 127.0.0.1 (issue 8, spec §4): no input, however generated, gets a 5xx, and every answer is
one the document declares: its status code, its content type and its body schema.

The account is seeded first (a published list, a campaign, a payout statement) and the generator is
given the seeded ids as a dictionary, so the fuzzing reaches the 200 answers as well as the errors.
Every request that reaches the function is counted at the server.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from pulse.ingest.datasets import SPECS
from pulse_cli.lambdas import invoke, route_object
from pulse_cli.template import REGION, ROOT, Stack
from pulse_cli.uploads import upload_batch
from pulse_local import http_api
from pulse_local.apigw import rest_event
from pulse_local.moto_server import free_port
from pulse_local.resources import create_resources
from tests.conftest import moto_account
from tests.factories import adjustment, campaign, creator, video

FUZZING_EXAMPLES = 800  # per operation, positive and negative together; the coverage phase adds its own
MIN_REQUESTS = 5_000

VIDEOS = ["p49", "p48", "m28", "p10", "m29"]
CREATORS = ["on1", "on2", "low", "inv"]
CAMPAIGNS = ["k-pets", "k-music"]
MARKETS = ["US", "GB"]
CATEGORIES = ["pets", "music"]
STATEMENT_MONTH = "2026-10"


def _bound(dictionary: str, probability: float = 0.5) -> dict[str, Any]:
    return {"dictionary": dictionary, "probability": probability}


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 8,
        "generation": {"mode": "all", "deterministic": True},
        "checks": {
            # Schema-valid is not always valid here, by design (spec §4, 400 for bad input): a market or
            # category must be one of the rules in force, batch ids distinct, a campaign's end >= start.
            "positive_data_acceptance": {"enabled": False},
        },
        "phases": {
            # The function answers every method API Gateway supports that a route lacks (405, Allow).
            # TRACE and QUERY API Gateway answers itself (403, its gateway response; schemathesis
            # would ask for 405): test_api_hostile checks them over HTTP.
            "coverage": {"unexpected-methods": ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]},
        },
        "dictionaries": {
            "videos": {"values": VIDEOS},
            "creators": {"values": CREATORS},
            "campaigns": {"values": CAMPAIGNS},
            "markets": {"values": MARKETS},
            "categories": {"values": CATEGORIES},
            "months": {"values": [STATEMENT_MONTH]},
        },
        "parameters": {
            "path.video_id": _bound("videos"),
            "path.creator_id": _bound("creators"),
            "path.campaign_id": _bound("campaigns"),
            "path.month": _bound("months"),
            "path.market": _bound("markets", 0.8),
            "path.category": _bound("categories", 0.8),
            "query.market": _bound("markets", 0.8),
            "body.market": _bound("markets", 0.8),
            "body.video_ids[*]": _bound("videos"),
            "body.markets[*]": _bound("markets", 0.8),
            "body.categories[*]": _bound("categories", 0.8),
        },
    }
)
# Runs in one process, never spread over workers: schemathesis gives every operation's test the
# same node id, which pytest-xdist would run once; and the last test adds up all of them.
pytestmark = pytest.mark.fuzz
DOCUMENT = ROOT / "infra" / "openapi.json"
schema = schemathesis.openapi.from_path(DOCUMENT, config=CONFIG)
OPERATIONS = {
    f"{method.upper()} {path}"
    for path, item in json.loads(DOCUMENT.read_text())["paths"].items()
    for method in item
}


@dataclass
class LocalApi:
    url: str
    statuses: Counter[int] = field(default_factory=Counter)
    fuzzed: set[str] = field(default_factory=set)


def _seed(stack: Stack) -> None:
    """A published US list, a campaign and a payout statement: what the dictionary's ids find."""
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.name_of("IngestBucket")

    def upload(folder: str, rows: list[dict[str, Any]], snapshot: str | None = None) -> None:
        dataset = folder.split("/", maxsplit=1)[0]
        columns = list(SPECS[dataset].field_kinds) if snapshot else []
        uploaded = upload_batch(s3, bucket, folder, {"p.jsonl": rows}, columns=columns, snapshot=snapshot)
        route_object(stack, bucket, uploaded.key, size=uploaded.size, etag=uploaded.etag, sequencer="01")

    upload(
        "creators/market=US/snapshot=2026-11-26/",
        [creator("on1"), creator("on2"), creator("inv", enrolled=False), creator("low", followers=10)],
        "2026-11-26",
    )
    rows = [video(f"p{i:02d}", "on1" if i % 2 == 0 else "on2", "pets", views=i) for i in range(50)]
    rows += [video(f"m{i:02d}", "low" if i % 2 else "on1", "music", views=i) for i in range(30)]
    upload("videos/market=US/snapshot=2026-11-27/", rows, "2026-11-27")
    upload("adjustments/market=US/seed/", [adjustment("a1", "on1", 90_000_000, month=STATEMENT_MONTH)])
    invoke(stack, "PayoutFunction", {"month": STATEMENT_MONTH, "markets": ["US"]})
    for campaign_id, category in zip(CAMPAIGNS, CATEGORIES, strict=True):
        body = campaign(categories=[category])
        answer = invoke(
            stack, "ApiFunction", rest_event("PUT", f"/v1/campaigns/{campaign_id}", json.dumps(body))
        )
        assert answer["statusCode"] == 200, answer


@pytest.fixture(scope="module")
def local_api() -> Iterator[LocalApi]:
    """The seeded account on moto (in this process) and the API on a free port of 127.0.0.1."""
    with moto_account(), pytest.MonkeyPatch.context() as patch:
        stack = Stack()
        create_resources(stack)
        _seed(stack)
        api = LocalApi(url="")

        def counted(stack: Stack, logical: str, event: dict[str, Any]) -> Any:
            try:
                answer = invoke(stack, logical, event)
            except Exception:
                api.statuses[502] += 1  # what API Gateway answers for a function that failed
                raise
            api.statuses[int(answer["statusCode"])] += 1
            return answer

        patch.setattr(http_api, "invoke", counted)
        port = free_port()
        server = http_api.serve_in_background(stack, port)
        api.url = f"http://127.0.0.1:{port}"
        try:
            yield api
        finally:
            server.shutdown()
            server.server_close()


@schema.parametrize()
@settings(
    max_examples=FUZZING_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_every_answer_is_documented_and_none_is_a_5xx(
    case: schemathesis.Case[Any], local_api: LocalApi
) -> None:
    response = case.call_and_validate(base_url=local_api.url)
    assert response.status_code < 500
    local_api.fuzzed.add(case.operation.label)


def test_the_fuzzing_sent_enough_requests_and_reached_the_data(local_api: LocalApi) -> None:
    if local_api.fuzzed != OPERATIONS:
        pytest.skip("counts the requests of every operation's fuzzing above: run the whole module")
    assert local_api.statuses.total() >= MIN_REQUESTS
    assert not [status for status in local_api.statuses if status >= 500]
    assert local_api.statuses[200] >= MIN_REQUESTS // 10
