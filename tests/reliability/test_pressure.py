"""DynamoDB under pressure (issue 14): 30% of calls throttled and 30% of batch items left
unprocessed on the local stack's DynamoDB. The API never crashes (an overloaded dependency is a
503 in the error format with Retry-After), warm lookups from memory do not feel it at all, and
ingests, publication and the month end come out exactly as without the pressure.

botocore's and our own backoff sleeps are skipped (`time.sleep` does nothing here): the retries
all happen, without the waiting.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from pulse import bootstrap
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse_cli.lambdas import invoke
from pulse_cli.template import Stack
from pulse_cli.uploads import upload_batch
from pulse_local.apigw import rest_event
from pulse_local.dynamodb_pressure import dynamodb_pressure
from tests.factories import adjustment, campaign, creator, revenue, video
from tests.reliability.state import fresh_account, lists_content

ATTEMPTS = 6  # Lambda's first try and retries of an asynchronous invocation, generously

Api = Callable[[str, str], tuple[int, dict[str, list[str]], Any]]


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)


def _deliveries(stack: Stack, s3: Any) -> list[Callable[[], Any]]:
    """The story of a month, as the functions receive it: each delivery is one invocation."""
    bucket = stack.name_of("IngestBucket")
    sequence = iter(range(1, 100))

    def batch(folder: str, rows: list[dict[str, Any]], **kwargs: Any) -> Callable[[], Any]:
        uploaded = upload_batch(s3, bucket, folder, {"p.jsonl": rows}, **kwargs)
        from pulse_cli.lambdas import route_object  # noqa: PLC0415

        sequencer = f"{next(sequence):016X}"
        return lambda: route_object(
            stack, bucket, uploaded.key, size=uploaded.size, etag=uploaded.etag, sequencer=sequencer
        )

    creators = [creator(f"c{i}") for i in range(40)]
    videos = [
        video(f"v{c[0]}{i:03d}", f"c{i % 40}", c, views=i) for c in ("pets", "music") for i in range(600)
    ]
    listed = [f"vp{i:03d}" for i in range(576, 600)]
    rows = [
        revenue(f"r{i}", listed[i % 24], "0000000001", 9_000_000 * i + 7, served_date="2026-10-20")
        for i in range(150)
    ]
    return [
        batch("creators/market=US/snapshot=2026-11-26/", creators, snapshot="2026-11-26"),
        batch("videos/market=US/snapshot=2026-11-26/", videos, snapshot="2026-11-26"),
        batch("revenue/market=US/date=2026-10-20/b1/", rows),
        batch(
            "adjustments/market=US/a1/",
            [adjustment(f"a{i}", f"c{i}", -700 * i, month="2026-10") for i in range(10)],
        ),
        lambda: invoke(stack, "PayoutFunction", {"month": "2026-10", "markets": ["US"]}),
    ]


def _as_lambda_retries(delivery: Callable[[], Any]) -> int:
    """Invoke until it succeeds, as Lambda retries a failed asynchronous invocation; the failures."""
    for attempt in range(ATTEMPTS):
        try:
            delivery()
        except Exception:  # noqa: S112  # whatever failed the invocation, Lambda runs it again
            continue
        return attempt
    raise AssertionError(f"still failing after {ATTEMPTS} invocations")


def _outcome(stack: Stack) -> tuple[Any, ...]:
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    totals = [ledger.totals("US", "2026-10", f"c{i}") for i in range(40)]
    statements = [
        json.loads(
            invoke(
                stack, "ApiFunction", rest_event("GET", f"/v1/creators/c{i}/statements/2026-10?market=US")
            )["body"]
        )
        for i in range(40)
    ]
    return lists_content(stack), totals, statements


def test_ingests_publication_and_the_month_end_are_exact_under_pressure(stack: Stack, s3: Any) -> None:
    for delivery in _deliveries(stack, s3):
        assert _as_lambda_retries(delivery) == 0
    undisturbed = _outcome(stack)
    assert sum(s.get("status") == "payable" for s in undisturbed[2]) >= 10  # the story pays creators
    fresh_account(stack)
    with dynamodb_pressure(throttled=0.3, unprocessed=0.3) as pressure:
        failed = [_as_lambda_retries(delivery) for delivery in _deliveries(stack, s3)]
    assert pressure.refused > 20  # the story makes about a hundred DynamoDB calls
    assert pressure.held_back > 20
    bootstrap.reset()
    assert _outcome(stack) == undisturbed, f"invocations failed and retried: {failed}"


@pytest.fixture
def api(stack: Stack, s3: Any) -> Api:
    for delivery in _deliveries(stack, s3):
        _as_lambda_retries(delivery)
    assert (
        invoke(stack, "ApiFunction", rest_event("PUT", "/v1/campaigns/k1", json.dumps(campaign())))[
            "statusCode"
        ]
        == 200
    )
    bootstrap.reset()

    def call(method: str, url: str) -> tuple[int, dict[str, list[str]], Any]:
        body = (
            json.dumps({"market": "US", "video_ids": ["vp599", "vp598", "nope"]})
            if method == "POST"
            else None
        )
        answer = invoke(stack, "ApiFunction", rest_event(method, url, body))
        return answer["statusCode"], answer["multiValueHeaders"], json.loads(answer["body"])

    return call


READS = [
    ("GET", "/v1/creators/c1?market=US"),
    ("GET", "/v1/creators/c2/statements/2026-10?market=US"),
    ("GET", "/v1/toplists/US/pets?limit=5"),
    ("GET", "/v1/campaigns/k1"),
    ("GET", "/v1/placements/snapshot?market=US"),
]
LOOKUPS = [("GET", "/v1/placements/vp599?market=US"), ("POST", "/v1/placements/batch")]


def _assert_overloaded(status: int, headers: dict[str, list[str]], body: Any) -> None:
    assert (status, headers["Retry-After"]) == (503, ["1"])
    assert body == {
        "error": {"code": "service_unavailable", "message": "a dependency is overloaded; try again"}
    }


def test_the_api_answers_503_with_retry_after_and_never_crashes_under_pressure(api: Api) -> None:
    for method, url in LOOKUPS:  # warm: the version is held
        assert api(method, url)[0] == 200
    statuses: Counter[tuple[str, int]] = Counter()
    with dynamodb_pressure(throttled=0.3, unprocessed=0.3):
        for _ in range(60):
            for method, url in READS + LOOKUPS:
                status, headers, body = api(method, url)
                statuses[(url.split("?")[0], status)] += 1
                if status != 200:
                    _assert_overloaded(status, headers, body)
    assert {status for (_, status) in statuses} <= {200, 503}
    assert sum(n for (_, status), n in statuses.items() if status == 503) >= 1
    assert statuses[("/v1/placements/vp599", 200)] == statuses[("/v1/placements/batch", 200)] == 60


def test_warm_lookups_do_not_feel_a_table_that_refuses_everything(api: Api) -> None:
    for method, url in LOOKUPS:
        assert api(method, url)[0] == 200
    with dynamodb_pressure(throttled=1.0, unprocessed=0.0) as pressure:
        for method, url in READS:
            if url.endswith("snapshot?market=US"):
                continue  # answered from the cached pointer, like the lookups
            _assert_overloaded(*api(method, url))
        calls = pressure.calls
        for _ in range(200):
            for method, url in LOOKUPS:
                status, _, body = api(method, url)
                assert status == 200
        assert pressure.calls == calls  # not one DynamoDB request
    assert body["results"][0]["placeable"] is True
