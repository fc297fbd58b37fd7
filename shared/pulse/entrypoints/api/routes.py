"""Routes of the HTTP API (spec §4). Each parses and checks its input, asks a service, shapes the
answer; errors are `{"error": {"code", "message"}}` with 400, 404 or 405, never a 5xx for input.

The API is contextual only: it accepts no query parameter or body field beyond those declared,
so no user identifier of any kind can reach it.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from pulse.bootstrap import api_services
from pulse.campaigns import campaign as campaigns
from pulse.campaigns.campaign import CampaignSpec
from pulse.core.types import CATEGORY, ID, MARKET, MONTH
from pulse.entrypoints.api.models import (
    BatchRequest,
    BatchResponse,
    CampaignResponse,
    CreatorResponse,
    ErrorResponse,
    PlacementResponse,
    TopListEntry,
    TopListResponse,
)
from pulse.lists.cursor import BadCursor, decode_cursor, encode_cursor
from pulse.lists.lookups import Lookup
from pulse.money.payout import Statement
from pulse.observability import lookups_served

MAX_BODY_BYTES = 16_384


def _strict_json(text: str) -> Any:
    """The body's JSON, strictly: a duplicate key, NaN or Infinity, too deep a nesting or too long
    a number fails to parse like any other malformed JSON (the resolver answers that with a 400)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:  # nesting past the stack; an int of over 4300 digits
        raise json.JSONDecodeError(str(exc)[:200], text, 0) from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a key is given twice")
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=_strict_json)


def _error_answer(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}}}


# What the OpenAPI document says each route can answer: 200, and the errors of spec §4 in their one shape.
BAD_INPUT: dict[int, OpenAPIResponse] = {
    200: {"description": "Successful Response"},
    400: _error_answer("Bad input: a malformed, undeclared or repeated parameter or body field"),
}
ANSWERS: dict[int, OpenAPIResponse] = {**BAD_INPUT, 404: _error_answer("Unknown route or resource")}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> Response[str]:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway event in, proxy response out. A body must be JSON (or absent), UTF-8 and small:
    that is checked before routing, so that no parser ever sees a form, binary or a huge body, and
    the answer keeps this API's error format (400) instead of the resolver's own 415 or a crash."""
    if event.get("httpMethod") in ("POST", "PUT", "PATCH"):
        headers = event.get("headers") or {}
        sent = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        kind = str(sent or "application/json").split(";")[0].strip().lower()
        if kind != "application/json":
            return _proxy(
                error_response(400, "unsupported_content_type", "send the body as application/json")
            )
        body = _body_bytes(event)
        if body is not None and len(body) > MAX_BODY_BYTES:
            return _proxy(error_response(400, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes"))
        if body is None or not _is_utf8(body):
            return _proxy(error_response(400, "invalid_request", "the body is not UTF-8 JSON"))
        # Media types are case-insensitive: the resolver, which is not, is told the one it knows.
        named = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        event = {**event, "headers": {**named, "Content-Type": content_types.APPLICATION_JSON}}
    return app.resolve(event, context)


def _body_bytes(event: dict[str, Any]) -> bytes | None:
    """The body as sent (API Gateway passes a body that is not UTF-8 text base64-encoded)."""
    body = str(event.get("body") or "")
    try:
        if event.get("isBase64Encoded"):
            return base64.b64decode(body, validate=True)
        return body.encode("utf-8", "surrogatepass")
    except ValueError:  # binascii.Error is one
        return None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _proxy(response: Response[str]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
        "body": response.body,
        "isBase64Encoded": False,
    }


@app.exception_handler(ApiError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def _api_error(error: ApiError) -> Response[str]:
    return error_response(error.status, error.code, error.message)


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _invalid_request(error: RequestValidationError) -> Response[str]:
    first = error.errors()[0]
    if first.get("type") == "json_invalid":
        return error_response(400, "invalid_request", "the body is not valid JSON")
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body",)) or "request"
    return error_response(400, "invalid_request", f"{where}: {first.get('msg', 'is not valid')}")


@app.not_found
def _not_found(error: NotFoundError) -> Response[str]:
    allowed = _methods_allowed_at(app.current_event.path)
    if allowed:
        answer = error_response(
            405, "method_not_allowed", f"{app.current_event.http_method} is not allowed here"
        )
        answer.headers["Allow"] = ", ".join(allowed)  # RFC 9110: a 405 lists the methods there are
        return answer
    return error_response(404, "not_found", f"no route {app.current_event.path}")


def _methods_allowed_at(path: str) -> list[str]:
    routes = app._static_routes + app._dynamic_routes
    return sorted({route.method for route in routes if route.rule.match(path)})


def _only(*allowed: str) -> None:
    """400 for any query parameter not declared for the route, or given twice."""
    given = app.current_event.multi_value_query_string_parameters or {}
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ApiError(400, "unknown_parameter", f"unknown query parameter: {', '.join(unknown)[:200]}")
    repeated = sorted(name for name, values in given.items() if len(values) > 1)
    if repeated:
        raise ApiError(
            400, "repeated_parameter", f"query parameter given more than once: {', '.join(repeated)}"
        )


def _market(code: str) -> str:
    if code not in api_services().rules.markets:
        raise ApiError(400, "unknown_market", f"{code} is not a programme market")
    return code


def _placement(lookup: Lookup) -> PlacementResponse:
    return PlacementResponse(
        video_id=lookup.video_id,
        market=lookup.market,
        placeable=lookup.placeable,
        list_version=lookup.list_version,
        category=lookup.category,
        iab_categories=list(lookup.iab_categories),
        rank=lookup.rank,
        creator_id=lookup.creator_id,
        campaigns=list(lookup.campaigns),
    )


@app.get(
    "/v1/placements/<video_id>",
    responses={
        **ANSWERS,
        200: {"description": "The placement", "content": {"application/json": {"model": PlacementResponse}}},
    },
)
def get_placement(
    video_id: Annotated[str, Path(pattern=ID)], market: Annotated[str, Query(pattern=MARKET)]
) -> Response[str]:
    # The ad server's hot path: the answer is serialized here once, not validated again on the way out.
    _only("market")
    answer = _placement(api_services().lookups.one(_market(market), video_id))
    lookups_served.add(1)
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=answer.model_dump_json()
    )


@app.post("/v1/placements/batch", responses=BAD_INPUT)
def post_placements(request: Annotated[BatchRequest, Body()]) -> BatchResponse:
    _only()
    if len(set(request.video_ids)) != len(request.video_ids):
        raise ApiError(400, "invalid_request", "video_ids must be distinct")
    version, lookups = api_services().lookups.many(_market(request.market), request.video_ids)
    lookups_served.add(len(lookups))
    return BatchResponse(
        market=request.market, list_version=version, results=[_placement(lk) for lk in lookups]
    )


@app.get("/v1/toplists/<market>/<category>", responses=ANSWERS)
def get_toplist(
    market: Annotated[str, Path(pattern=MARKET)],
    category: Annotated[str, Path(pattern=CATEGORY)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TopListResponse:
    _only("limit", "cursor")
    services = api_services()
    _market(market)
    if category not in services.rules.categories:
        raise ApiError(400, "unknown_category", f"{category} is not a programme category")
    if cursor is not None:
        try:
            version, after = decode_cursor(cursor)
        except BadCursor as exc:
            raise ApiError(400, "invalid_cursor", str(exc)) from exc
    else:
        current = services.lookups.current_version(market)
        if current is None:
            return TopListResponse(
                market=market, category=category, list_version=None, entries=[], next_cursor=None
            )
        version, after = current.version, 0
    page = list(services.lists.entries(market, version, category, after, limit + 1))
    more = len(page) > limit
    entries = [
        TopListEntry(rank=e.rank, video_id=e.video_id, creator_id=e.creator_id, score=e.score)
        for e in page[:limit]
    ]
    next_cursor = encode_cursor(version, entries[-1].rank) if more else None
    return TopListResponse(
        market=market, category=category, list_version=version, entries=entries, next_cursor=next_cursor
    )


@app.get("/v1/creators/<creator_id>", responses=ANSWERS)
def get_creator(
    creator_id: Annotated[str, Path(pattern=ID)], market: Annotated[str, Query(pattern=MARKET)]
) -> CreatorResponse:
    _only("market")
    services = api_services()
    record = services.eligibility.get(_market(market), creator_id)
    if record is None:
        raise ApiError(404, "creator_not_found", f"no creator {creator_id} in {market}")
    latest = services.eligibility.latest_snapshot(market)
    status, reasons, confirmed = record.as_seen_on(services.clock().date(), latest, services.rules)
    return CreatorResponse.model_validate(
        {
            "creator_id": creator_id,
            "market": market,
            "status": status,
            "reasons": reasons,
            "as_of": confirmed,
            "rules_version": record.rules_version,
        }
    )


@app.get("/v1/creators/<creator_id>/statements/<month>", responses=ANSWERS)
def get_statement(
    creator_id: Annotated[str, Path(pattern=ID)],
    month: Annotated[str, Path(pattern=MONTH)],
    market: Annotated[str, Query(pattern=MARKET)],
) -> Statement:
    _only("market")
    found = api_services().payouts.statement(_market(market), month, creator_id)
    if found is None:
        raise ApiError(404, "statement_not_found", f"no statement for {creator_id} in {market} for {month}")
    return found


def _campaign(campaign: Any) -> CampaignResponse:
    return CampaignResponse.model_validate(campaign.model_dump(mode="json"))


@app.put("/v1/campaigns/<campaign_id>", responses=ANSWERS)
def put_campaign(
    campaign_id: Annotated[str, Path(pattern=ID)], spec: Annotated[CampaignSpec, Body()]
) -> CampaignResponse:
    _only()
    rules = api_services().rules
    unknown = sorted(set(spec.markets) - set(rules.markets)) + sorted(
        set(spec.categories) - set(rules.categories)
    )
    if unknown:
        raise ApiError(400, "invalid_request", f"not programme markets or categories: {', '.join(unknown)}")
    services = api_services()
    return _campaign(campaigns.put_campaign(services.campaigns, campaign_id, spec, services.clock))


@app.get("/v1/campaigns/<campaign_id>", responses=ANSWERS)
def get_campaign(campaign_id: Annotated[str, Path(pattern=ID)]) -> CampaignResponse:
    _only()
    campaign = api_services().campaigns.get(campaign_id)
    if campaign is None:
        raise ApiError(404, "campaign_not_found", f"no campaign {campaign_id}")
    return _campaign(campaign)


@app.get("/v1/rules", responses=BAD_INPUT)
def get_rules() -> dict[str, Any]:
    _only()
    document: dict[str, Any] = api_services().rules.model_dump(mode="json")
    document["allowed_standing"] = sorted(document["allowed_standing"])
    return document


@app.get("/v1/openapi.json", include_in_schema=False)
def get_openapi() -> Response[str]:
    _only()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


def openapi_document() -> str:
    schema = app.get_openapi_json_schema(
        title="Pulse API",
        version="1.0.0",
        description="Contextual placements, top lists, creators and campaigns (spec §4). IAM-authorised.",
    )
    document = json.loads(schema)
    # Powertools documents a 422 for validated routes; this API answers a failed validation with 400.
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(unused, None)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
