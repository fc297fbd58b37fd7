"""ApiFunction on moto through real API Gateway REST proxy events (spec §4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulse import bootstrap
from pulse.entrypoints.api.routes import openapi_document
from pulse_cli.lambdas import invoke
from pulse_cli.template import ROOT, Stack
from pulse_local.apigw import rest_event
from tests.factories import campaign, creator, video

Deliver = Callable[..., list[Any]]
Call = Callable[..., tuple[int, Any]]


@pytest.fixture
def call(stack: Stack) -> Call:
    bootstrap.reset()

    def _call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
        raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        response = invoke(stack, "ApiFunction", rest_event(method, url, raw))
        assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
        return response["statusCode"], json.loads(response["body"])

    return _call


@pytest.fixture
def listed(upload_snapshot: Callable[..., dict[str, Any]]) -> None:
    creators = [creator("on1"), creator("on2"), creator("inv", enrolled=False), creator("low", followers=10)]
    upload_snapshot("creators", "2026-11-26", creators)
    # pets: 50 videos, k = 2 (p49 by on2, p48 by on1); music: 30, k = 2 (m29 by low: left out; m28 by on1)
    rows = [video(f"p{i:02d}", "on1" if i % 2 == 0 else "on2", "pets", views=i) for i in range(50)]
    rows += [video(f"m{i:02d}", "low" if i % 2 else "on1", "music", views=i) for i in range(30)]
    upload_snapshot("videos", "2026-11-27", rows)


def test_a_listed_video_is_placeable_with_its_iab_categories_and_campaigns(call: Call, listed: None) -> None:
    campaigns: list[tuple[str, dict[str, Any]]] = [
        ("k-low", {"priority": 10}),
        ("k-b", {"priority": 90}),
        ("k-a", {"priority": 90}),
        ("k-paused", {"status": "paused", "priority": 100}),
        ("k-over", {"end": "2026-01-31", "priority": 100}),
        ("k-music", {"categories": ["music"], "priority": 100}),
        ("k-gb", {"markets": ["GB"], "priority": 100}),
    ]
    for campaign_id, changes in campaigns:
        assert call("PUT", f"/v1/campaigns/{campaign_id}", campaign(**changes))[0] == 200
    status, body = call("GET", "/v1/placements/p48?market=US")
    assert status == 200
    assert body == {
        "video_id": "p48",
        "market": "US",
        "placeable": True,
        "list_version": body["list_version"],
        "category": "pets",
        "iab_categories": ["422"],
        "rank": 2,
        "creator_id": "on1",
        "campaigns": [
            {"campaign_id": "k-a", "advertiser": "Acme Pet Food", "priority": 90},
            {"campaign_id": "k-b", "advertiser": "Acme Pet Food", "priority": 90},
            {"campaign_id": "k-low", "advertiser": "Acme Pet Food", "priority": 10},
        ],
    }


def test_at_most_ten_campaigns_are_offered(call: Call, listed: None) -> None:
    for i in range(12):
        call("PUT", f"/v1/campaigns/k{i:02d}", campaign(priority=i))
    _, body = call("GET", "/v1/placements/p49?market=US")
    assert [c["campaign_id"] for c in body["campaigns"]] == [f"k{i:02d}" for i in range(11, 1, -1)]


def test_a_video_off_the_list_is_not_placeable(call: Call, listed: None) -> None:
    for video_id in ("p10", "m29", "never-seen"):
        status, body = call("GET", f"/v1/placements/{video_id}?market=US")
        assert status == 200
        assert (body["placeable"], body["category"], body["rank"], body["creator_id"], body["campaigns"]) == (
            False,
            None,
            None,
            None,
            [],
        )
        assert body["list_version"] is not None


def test_a_market_without_lists_answers_not_placeable(call: Call, listed: None) -> None:
    status, body = call("GET", "/v1/placements/p49?market=GB")
    assert (status, body["placeable"], body["list_version"]) == (200, False, None)


def test_batch_lookups_come_back_in_request_order_from_one_version(call: Call, listed: None) -> None:
    status, body = call("POST", "/v1/placements/batch", {"market": "US", "video_ids": ["m28", "zz", "p49"]})
    assert status == 200
    assert [(r["video_id"], r["placeable"], r["rank"]) for r in body["results"]] == [
        ("m28", True, 2),
        ("zz", False, None),
        ("p49", True, 1),
    ]
    assert {r["list_version"] for r in body["results"]} == {body["list_version"]}


@pytest.mark.parametrize(
    "body",
    [
        {"market": "US", "video_ids": []},
        {"market": "US", "video_ids": [f"v{i}" for i in range(101)]},
        {"market": "US", "video_ids": ["a", "a"]},
        {"market": "US", "video_ids": ["a"], "user_id": "u1"},
        {"market": "US"},
        {"market": "XX", "video_ids": ["a"]},
        {"market": "US", "video_ids": ["bad id"]},
        [1, 2],
        "{not json",
    ],
)
def test_a_bad_batch_is_a_400_with_a_reason(call: Call, listed: None, body: Any) -> None:
    status, answer = call("POST", "/v1/placements/batch", body)
    assert status == 400
    assert set(answer["error"]) == {"code", "message"}


def test_toplists_page_through_one_version_with_cursors(call: Call, listed: None) -> None:
    status, first = call("GET", "/v1/toplists/US/pets?limit=1")
    assert status == 200
    assert [e["video_id"] for e in first["entries"]] == ["p49"]
    assert first["next_cursor"]
    _, second = call("GET", f"/v1/toplists/US/pets?limit=1&cursor={first['next_cursor']}")
    assert [(e["rank"], e["video_id"], e["creator_id"], e["score"]) for e in second["entries"]] == [
        (2, "p48", "on1", 48)
    ]
    assert second["next_cursor"] is None
    assert second["list_version"] == first["list_version"]
    _, music = call("GET", "/v1/toplists/US/music")
    assert [e["rank"] for e in music["entries"]] == [2]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/v1/toplists/US/pets?limit=0", "invalid_request"),
        ("/v1/toplists/US/pets?limit=1001", "invalid_request"),
        ("/v1/toplists/US/pets?limit=ten", "invalid_request"),
        ("/v1/toplists/US/pets?cursor=bm90IGEgY3Vyc29y", "invalid_cursor"),
        ("/v1/toplists/US/cats", "unknown_category"),
        ("/v1/toplists/XX/pets", "unknown_market"),
        ("/v1/toplists/US/pets?user=1", "unknown_parameter"),
        ("/v1/placements/p49?market=US&market=GB", "invalid_request"),
        ("/v1/placements/p49?market=US&device_id=abc", "unknown_parameter"),
        ("/v1/placements/p49", "invalid_request"),
        ("/v1/placements/p49?market=us", "invalid_request"),
        ("/v1/placements/p%2049?market=US", "invalid_request"),
        ("/v1/creators/on1?market=US&ip=1.2.3.4", "unknown_parameter"),
        ("/v1/rules?x=1", "unknown_parameter"),
    ],
)
def test_bad_input_is_a_400_with_its_code(call: Call, listed: None, url: str, code: str) -> None:
    status, body = call("GET", url)
    assert (status, body["error"]["code"]) == (400, code)


def test_bodies_must_be_small_json(stack: Stack) -> None:
    bootstrap.reset()
    body = json.dumps({"market": "US", "video_ids": ["a"]})
    for headers, code in [
        ({"Content-Type": "application/x-www-form-urlencoded"}, "unsupported_content_type"),
        ({"Content-Type": "text/plain"}, "unsupported_content_type"),
    ]:
        response = invoke(stack, "ApiFunction", rest_event("POST", "/v1/placements/batch", body, headers))
        assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (400, code)
    huge = json.dumps({"market": "US", "video_ids": ["a" * 60] * 400})
    response = invoke(stack, "ApiFunction", rest_event("POST", "/v1/placements/batch", huge))
    assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (400, "body_too_large")


def test_unknown_routes_are_404_and_wrong_methods_405(call: Call) -> None:
    assert call("GET", "/v1/nothing")[0] == 404
    assert call("DELETE", "/v1/campaigns/k1")[1]["error"]["code"] == "method_not_allowed"
    assert call("POST", "/v1/rules")[0] == 405


def test_a_creators_status_reasons_and_freshness(call: Call, listed: None) -> None:
    status, body = call("GET", "/v1/creators/low?market=US")
    assert status == 200
    assert body["status"] == "ineligible"
    assert body["as_of"] == "2026-11-26"
    codes = [r["code"] for r in body["reasons"]]
    assert codes[0] == "followers_below_minimum"
    assert body["reasons"][0] == {"code": "followers_below_minimum", "required": 100000, "actual": 10}
    assert call("GET", "/v1/creators/nobody?market=US")[0] == 404
    assert (
        call("GET", "/v1/creators/on1/statements/2026-11?market=US")[1]["error"]["code"]
        == "statement_not_found"
    )


def test_campaigns_are_stored_and_validated(call: Call, stack: Stack) -> None:
    status, stored = call("PUT", "/v1/campaigns/k1", campaign())
    assert status == 200
    assert call("GET", "/v1/campaigns/k1") == (200, stored)
    status, moved = call("PUT", "/v1/campaigns/k1", campaign(markets=["GB"]))
    assert moved["markets"] == ["GB"]
    assert call("GET", "/v1/campaigns/nope")[0] == 404
    for bad in [
        campaign(end="2025-01-01"),
        campaign(priority=101),
        campaign(markets=["XX"]),
        campaign(categories=["cats"]),
        {**campaign(), "user_id": "u"},
        campaign(status="live"),
    ]:
        assert call("PUT", "/v1/campaigns/k2", bad)[0] == 400
    assert call("GET", "/v1/campaigns/k2")[0] == 404


def test_the_rules_in_force_are_served_with_their_version(call: Call) -> None:
    status, body = call("GET", "/v1/rules")
    assert status == 200
    assert body["version"]
    assert body["top_percent_bps"] == 400


def test_the_committed_openapi_document_is_current(call: Call) -> None:
    committed = (ROOT / "infra" / "openapi.json").read_text()
    assert committed == openapi_document(), (
        "run: .venv/bin/python -m pulse_local.openapi > infra/openapi.json"
    )
    status, served = call("GET", "/v1/openapi.json")
    assert status == 200
    assert served == json.loads(committed)
    assert set(served["paths"]) >= {"/v1/placements/{video_id}", "/v1/placements/batch", "/v1/rules"}


def test_the_openapi_path_is_not_stale_on_disk() -> None:
    assert Path(ROOT / "infra" / "openapi.json").exists()
