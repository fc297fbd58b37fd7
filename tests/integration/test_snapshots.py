"""The ad server's hot path on moto (issue 14, spec §8.1): the version as one object, the snapshot
route with its ETag, and the hot path's answers equal to the resolver's. (The ad server's client,
which fetches the object over HTTP, is tested against the HTTP API in tests/e2e.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from pulse import bootstrap
from pulse.aws.list_table import DynamoListStore
from pulse.aws.placement_objects import S3PlacementObjects
from pulse.entrypoints.api import hot_path, routes
from pulse.lists import placements_object as po
from pulse_cli.lambdas import function_environment, invoke
from pulse_cli.template import Stack
from pulse_local.apigw import rest_event
from tests.factories import campaign, creator, video

Answer = dict[str, Any]


@pytest.fixture
def listed(stack: Stack, upload_snapshot: Callable[..., dict[str, Any]]) -> str:
    """Two creators' videos listed in two categories of US; returns the list version."""
    upload_snapshot(
        "creators", "2026-11-26", [creator("on1"), creator("on2"), creator("gone", standing="banned")]
    )
    rows = [video(f"p{i:03d}", ("on1", "on2", "gone")[i % 3], "pets", views=i) for i in range(300)]
    rows += [video(f"m{i:03d}", "on2", "music", views=i) for i in range(200)]
    published = upload_snapshot("videos", "2026-11-27", rows)["outcome"]["published"]
    bootstrap.reset()
    return str(published["list_version"])


def _api(
    stack: Stack, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    raw = None if body is None else json.dumps(body)
    return invoke(stack, "ApiFunction", rest_event(method, url, raw, headers))  # type: ignore[no-any-return]


def test_publication_writes_the_version_as_one_object_named_by_its_record(stack: Stack, listed: str) -> None:
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    assert current.version == listed
    assert current.placements_key == f"placements/market=US/version={listed}.json.gz"
    data = S3PlacementObjects(stack.name_of("ListsBucket")).read(current.placements_key)
    assert (len(data), hashlib.sha256(data).hexdigest()) == (
        current.placements_bytes,
        current.placements_sha256,
    )
    index = po.decode(data, current.placements_sha256)
    lists = DynamoListStore(stack.name_of("StateTable"))
    for category, count in current.counts.items():
        entries = list(lists.entries("US", listed, category))
        assert len(entries) == count == index.counts[category]
        assert all(
            index.get(e.video_id) == (e.video_id, category, e.rank, e.creator_id, e.score) for e in entries
        )


def test_the_snapshot_route_names_the_object_and_answers_304_when_nothing_changed(
    stack: Stack, listed: str
) -> None:
    answer = _api(stack, "GET", "/v1/placements/snapshot?market=US")
    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    assert set(body) == {"market", "list_version", "entries", "bytes", "sha256", "url", "expires_in"}
    assert (body["market"], body["list_version"], body["entries"]) == ("US", listed, current.entries)
    assert (body["bytes"], body["sha256"], body["expires_in"]) == (
        current.placements_bytes,
        current.placements_sha256,
        300,
    )
    etag = answer["multiValueHeaders"]["ETag"]
    assert etag == [f'"{current.placements_sha256}"']
    link = urlsplit(body["url"])  # fetched over HTTP in tests/e2e, where moto is a server
    assert unquote(link.path).endswith(f"/{current.placements_key}")
    signed = parse_qs(link.query)
    assert (signed["X-Amz-Expires"], len(signed["X-Amz-Signature"][0])) == (["300"], 64)
    for given in (etag[0], f"W/{etag[0]}", f'"other", {etag[0]}', "*"):
        again = _api(stack, "GET", "/v1/placements/snapshot?market=US", headers={"If-None-Match": given})
        assert (again["statusCode"], again["body"]) == (304, ""), given
        assert again["multiValueHeaders"]["ETag"] == etag
    stale = _api(stack, "GET", "/v1/placements/snapshot?market=US", headers={"If-None-Match": '"0000"'})
    assert stale["statusCode"] == 200


def test_a_new_version_changes_the_etag(
    stack: Stack, listed: str, upload_snapshot: Callable[..., dict[str, Any]]
) -> None:
    first = _api(stack, "GET", "/v1/placements/snapshot?market=US")["multiValueHeaders"]["ETag"][0]
    rows = [video(f"n{i:03d}", "on1", "pets", views=i) for i in range(100)]
    upload_snapshot("videos", "2026-11-28", rows)
    bootstrap.reset()  # a new container: the pointer is re-read at once (on AWS: within 10 s)
    answer = _api(stack, "GET", "/v1/placements/snapshot?market=US", headers={"If-None-Match": first})
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["list_version"] > listed
    assert answer["multiValueHeaders"]["ETag"][0] != first


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/v1/placements/snapshot?market=GB", 404, "no_list"),
        ("/v1/placements/snapshot?market=XX", 400, "unknown_market"),
        ("/v1/placements/snapshot", 400, "invalid_request"),
        ("/v1/placements/snapshot?market=US&market=GB", 400, "invalid_request"),
        ("/v1/placements/snapshot?market=US&user=1", 400, "unknown_parameter"),
    ],
)
def test_the_snapshot_route_refuses_what_it_cannot_answer(
    stack: Stack, listed: str, url: str, status: int, code: str
) -> None:
    answer = _api(stack, "GET", url)
    assert (answer["statusCode"], json.loads(answer["body"])["error"]["code"]) == (status, code)


def test_the_hot_path_answers_exactly_what_the_resolver_answers(stack: Stack, listed: str) -> None:
    plain, awkward = campaign(priority=9), campaign(advertiser='Ünï "quoted"\\ \u2028 co')
    for campaign_id, body in [("k-1", plain), ("k-2", awkward)]:
        assert _api(stack, "PUT", f"/v1/campaigns/{campaign_id}", body)["statusCode"] == 200
    bootstrap.reset()
    videos = [f"p{i:03d}" for i in range(290, 300)] + [f"m{i:03d}" for i in range(190, 200)] + ["zz", "p000"]
    events = [rest_event("GET", f"/v1/placements/{v}?market={m}") for v in videos for m in ("US", "GB")]
    batch = json.dumps({"market": "US", "video_ids": videos})
    events.append(rest_event("POST", "/v1/placements/batch", batch, {"Content-Type": "application/json"}))
    with function_environment(stack, "ApiFunction"):
        for event in events:
            fast = hot_path.answer(event)
            assert fast is not None, event["path"]
            slow = routes._resolve(event, None)
            assert (fast["statusCode"], fast["body"]) == (slow["statusCode"], slow["body"])
            assert json.loads(fast["body"]) == json.loads(slow["body"])
        _assert_not_exact_goes_to_the_resolver(batch)


def _assert_not_exact_goes_to_the_resolver(batch: str) -> None:
    for not_exact in (
        rest_event("GET", "/v1/placements/p299?market=US&market=US"),
        rest_event("GET", "/v1/placements/p299?market=XX"),
        rest_event("GET", "/v1/placements/p299"),
        rest_event("GET", "/v1/placements/p299%0A?market=US"),
        rest_event("GET", "/v1/placements/batch?market=US"),
        rest_event("POST", "/v1/placements/batch", batch, {"Content-Type": "text/plain"}),
        rest_event("POST", "/v1/placements/batch", batch.replace("US", "XX")),
        rest_event("POST", "/v1/placements/batch?x=1", batch),
        rest_event("POST", "/v1/placements/batch", '{"market": "US", "market": "US", "video_ids": ["a"]}'),
    ):
        assert hot_path.answer(not_exact) is None  # the resolver words every error
