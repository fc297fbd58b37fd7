"""The ad server's two routes without the resolver: `GET /v1/placements/{video_id}?market=` and
`POST /v1/placements/batch`, on every ad decision.

Powertools' resolver costs about 50 µs a request (routing, the OpenAPI validation of parameters
and of the answer). Here a request whose input is exactly right (the one declared parameter,
once; an id and a market of their patterns; a body the resolver's own model accepts) is answered
directly; any other request returns None and goes through the resolver, so every error is still
worded by one code path. The answers are the bytes `PlacementResponse.model_dump_json` gives
(tests compare them); their constant parts, a category's IAB ids and offered campaigns, are
serialized once per cache period, not once per lookup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pulse.bootstrap import api_services
from pulse.campaigns.campaign import OfferedCampaign
from pulse.core.types import ID
from pulse.entrypoints.api.models import BatchRequest
from pulse.entrypoints.api.request_body import MAX_BODY_BYTES, strict_json
from pulse.lists.lookups import Lookup
from pulse.observability import lookups_served

SINGLE = "/v1/placements/"
BATCH = "/v1/placements/batch"
NOT_A_VIDEO = frozenset({"snapshot", "batch"})  # static resources under /v1/placements/, not videos
# fullmatch with the patterns' own anchors removed: `$` would also match before a final newline.
_VIDEO_ID = re.compile(ID.removeprefix("^").removesuffix("$"))
_HEADERS = {"Content-Type": ["application/json"]}
_OFFERS = TypeAdapter(list[OfferedCampaign])
_IAB_IDS = TypeAdapter(list[str])

# (market, category) -> (the offers tuple the lookups cache holds, its JSON). The tuple is kept,
# and compared by identity: a new tuple (the campaigns were read again) is serialized again.
_offers_json: dict[tuple[str, str], tuple[tuple[OfferedCampaign, ...], str]] = {}
_iab_json: dict[str, str] = {}


def answer(event: dict[str, Any]) -> dict[str, Any] | None:
    """The proxy response for a well-formed lookup or batch; None for anything else."""
    method = event.get("httpMethod")
    if method == "GET":
        return _single(event)
    if method == "POST" and event.get("path") == BATCH:
        return _batch(event)
    return None


def _single(event: dict[str, Any]) -> dict[str, Any] | None:
    path = event.get("path")
    if not isinstance(path, str) or not path.startswith(SINGLE):
        return None
    video_id = path[len(SINGLE) :]
    if video_id in NOT_A_VIDEO or not _VIDEO_ID.fullmatch(video_id):
        return None
    market = _only_market(event.get("multiValueQueryStringParameters"))
    if market is None:
        return None
    services = api_services()
    if market not in services.rules.markets:
        return None
    body = placement_json(services.lookups.one(market, video_id))
    lookups_served.add(1)
    return {"statusCode": 200, "multiValueHeaders": _HEADERS, "body": body, "isBase64Encoded": False}


def _only_market(query: Any) -> str | None:
    if not isinstance(query, dict) or len(query) != 1:
        return None
    values = query.get("market")
    if not isinstance(values, list) or len(values) != 1:
        return None
    market = values[0]
    return market if isinstance(market, str) else None  # checked against the programme's markets


def _batch(event: dict[str, Any]) -> dict[str, Any] | None:
    if event.get("multiValueQueryStringParameters") or event.get("isBase64Encoded"):
        return None
    headers = event.get("headers") or {}
    sent = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/json")
    body = event.get("body")
    if sent != "application/json" or not isinstance(body, str):
        return None
    if len(body) > MAX_BODY_BYTES // 4 and len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        return None
    try:
        request = BatchRequest.model_validate(strict_json(body))
    except (ValueError, ValidationError):  # json.JSONDecodeError is a ValueError
        return None
    if len(set(request.video_ids)) != len(request.video_ids):
        return None
    services = api_services()
    if request.market not in services.rules.markets:
        return None
    version, lookups = services.lookups.many(request.market, request.video_ids)
    lookups_served.add(len(lookups))
    return {
        "statusCode": 200,
        "multiValueHeaders": _HEADERS,
        "body": batch_json(request.market, version, lookups),
        "isBase64Encoded": False,
    }


def batch_json(market: str, version: str | None, lookups: Sequence[Lookup]) -> str:
    """`BatchResponse(...).model_dump_json()`, from the lookups' own JSON."""
    results = ",".join(map(placement_json, lookups))
    return f'{{"market":"{market}","list_version":{_text(version)},"results":[{results}]}}'


def placement_json(lookup: Lookup) -> str:
    """`PlacementResponse(...).model_dump_json()`. Ids, markets, versions and categories match
    their patterns (no character in them needs escaping); advertisers are free text, serialized
    by pydantic in `_campaigns`."""
    head = f'{{"video_id":"{lookup.video_id}","market":"{lookup.market}","placeable":'
    if not lookup.placeable or lookup.category is None:
        return (
            f'{head}false,"list_version":{_text(lookup.list_version)},"category":null,'
            '"iab_categories":[],"rank":null,"creator_id":null,"campaigns":[]}'
        )
    return (
        f'{head}true,"list_version":{_text(lookup.list_version)},"category":"{lookup.category}",'
        f'"iab_categories":{_iab(lookup)},"rank":{lookup.rank},"creator_id":"{lookup.creator_id}",'
        f'"campaigns":{_campaigns(lookup)}}}'
    )


def _text(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def _iab(lookup: Lookup) -> str:
    category = lookup.category or ""
    found = _iab_json.get(category)
    if found is None:
        found = _iab_json[category] = _IAB_IDS.dump_json(list(lookup.iab_categories)).decode()
    return found


def _campaigns(lookup: Lookup) -> str:
    key = (lookup.market, lookup.category or "")
    cached = _offers_json.get(key)
    if cached is not None and cached[0] is lookup.campaigns:
        return cached[1]
    text = _OFFERS.dump_json(list(lookup.campaigns)).decode()
    _offers_json[key] = (lookup.campaigns, text)
    return text
