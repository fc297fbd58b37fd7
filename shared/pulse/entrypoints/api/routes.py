"""Routes of the HTTP API (spec §4). Each parses and checks its input, asks a service, shapes the
answer; errors are `{"error": {"code", "message"}}` with 400, 404 or 405, never a 5xx for input,
and 503 with Retry-After when a dependency stays overloaded past botocore's retries.

The two lookup routes, the ad server's hot path, are answered by `hot_path` when their input is
exactly what is expected; anything else (every malformed request) goes through the resolver, so
errors are worded by one code path.

The API is contextual only: it accepts no query parameter or body field beyond those declared,
so no user identifier of any kind can reach it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from pulse.bootstrap import api_budget, api_services
from pulse.campaigns import campaign as campaigns
from pulse.campaigns.campaign import CampaignSpec
from pulse.core.types import CATEGORY, ID, MARKET, MONTH
from pulse.entrypoints.api import hot_path
from pulse.entrypoints.api.models import (
    BatchRequest,
    BatchResponse,
    CampaignResponse,
    CreatorResponse,
    DocumentResponse,
    ErrorResponse,
    PlacementResponse,
    SnapshotResponse,
    TopListEntry,
    TopListResponse,
)
from pulse.entrypoints.api.request_body import MAX_BODY_BYTES, body_bytes, is_utf8, strict_json
from pulse.lists.cursor import BadCursor, decode_cursor, encode_cursor
from pulse.money.earnings import Earnings, earnings, terms_of
from pulse.money.month_end import terms_for
from pulse.money.payout import Statement
from pulse.observability import logger, lookups_served

app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=strict_json)


def _error_answer(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}}}


# What the OpenAPI document says each route can answer: 200, the errors of spec §4, API Gateway's own
# refusals (its GatewayResponses give them the same shape) and 503 for an overloaded dependency.
BAD_INPUT: dict[int, OpenAPIResponse] = {
    200: {"description": "Successful Response"},
    400: _error_answer("Bad input: a malformed, undeclared or repeated parameter or body field"),
    403: _error_answer("API Gateway: a request not signed for this API, or a method it does not support"),
    429: _error_answer("API Gateway: over the stage's request rate"),
    503: _error_answer("A dependency is overloaded: retry after the Retry-After header's seconds"),
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


RETRY_AFTER_SECONDS = 1


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway event in, proxy response out; an overloaded dependency is a 503, never a crash."""
    restore = api_budget()  # AWS calls fail fast to a 503, within the function's timeout
    try:
        return hot_path.answer(event) or _resolve(event, context)
    except Exception as error:
        if not api_services().overloaded(error):
            raise
        logger.warning("a dependency is overloaded", exc_info=True)
        answer = _proxy(error_response(503, "service_unavailable", "a dependency is overloaded; try again"))
        answer["multiValueHeaders"]["Retry-After"] = [str(RETRY_AFTER_SECONDS)]
        return answer
    finally:
        restore()


def _resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A body must be JSON (or absent), UTF-8 and small: that is checked before routing, so that no
    parser ever sees a form, binary or a huge body, and the answer keeps this API's error format
    (400) instead of the resolver's own 415 or a crash."""
    if event.get("httpMethod") in ("POST", "PUT", "PATCH"):
        headers = event.get("headers") or {}
        sent = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        kind = str(sent or "application/json").split(";")[0].strip().lower()
        if kind != "application/json":
            return _proxy(
                error_response(400, "unsupported_content_type", "send the body as application/json")
            )
        body = body_bytes(event)
        if body is not None and len(body) > MAX_BODY_BYTES:
            return _proxy(error_response(400, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes"))
        if body is None or not is_utf8(body):
            return _proxy(error_response(400, "invalid_request", "the body is not UTF-8 JSON"))
        # Media types are case-insensitive: the resolver, which is not, is told the one it knows.
        named = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        event = {**event, "headers": {**named, "Content-Type": content_types.APPLICATION_JSON}}
    return app.resolve(event, context)


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
    # A static path (/v1/placements/batch) is its own resource, as API Gateway routes it: the
    # dynamic route it also matches (a video called "batch") does not count there.
    static = [route for route in app._static_routes if route.rule.match(path)]
    routes = static or [route for route in app._dynamic_routes if route.rule.match(path)]
    return sorted({route.method for route in routes})


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


@app.get(
    "/v1/placements/snapshot",
    responses={
        **ANSWERS,
        200: {
            "description": "The current list version as one object, and a short-lived link to it",
            "content": {"application/json": {"model": SnapshotResponse}},
        },
        304: {"description": "Not modified: If-None-Match names the current ETag"},
    },
)
def get_placements_snapshot(market: Annotated[str, Query(pattern=MARKET)]) -> Response[str]:
    """Spec §8.1. The ETag is the object's SHA-256: it changes exactly when the version does."""
    _only("market")
    services = api_services()
    version = services.lookups.current_version(_market(market))
    if version is None:
        raise ApiError(404, "no_list", f"{market} has no published list yet")
    if not version.placements_key:
        raise ApiError(
            404, "no_list", f"list version {version.version} of {market} predates snapshots; the next has one"
        )
    headers = {"ETag": f'"{version.placements_sha256}"', "Cache-Control": "no-cache"}
    if _none_match(app.current_event.headers, version.placements_sha256):
        return Response(status_code=304, headers=headers, body="")
    expires_in = services.snapshot_link_seconds
    answer = SnapshotResponse(
        market=market,
        list_version=version.version,
        entries=version.entries,
        bytes=version.placements_bytes,
        sha256=version.placements_sha256,
        url=services.snapshots.link(version.placements_key, expires_in),
        expires_in=expires_in,
    )
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=answer.model_dump_json(),
        headers=headers,
    )


def _none_match(headers: dict[str, str], sha256: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or a list of entity tags compared weakly (W/ ignored)."""
    given = next((v for k, v in (headers or {}).items() if k.lower() == "if-none-match"), None)
    if given is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in given.split(",")}
    return "*" in tags or f'"{sha256}"' in tags


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
    # Well-formed lookups are answered by hot_path; this is the same answer, for the rest.
    if video_id in hot_path.NOT_A_VIDEO:  # GET /v1/placements/batch: the batch resource's, not a video's
        answer: Response[str] = _not_found(NotFoundError())
        return answer
    _only("market")
    body = hot_path.placement_json(api_services().lookups.one(_market(market), video_id))
    lookups_served.add(1)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.post(
    "/v1/placements/batch",
    responses={
        **BAD_INPUT,
        200: {"description": "The lookups", "content": {"application/json": {"model": BatchResponse}}},
    },
)
def post_placements(request: Annotated[BatchRequest, Body()]) -> Response[str]:
    _only()
    if len(set(request.video_ids)) != len(request.video_ids):
        raise ApiError(400, "invalid_request", "video_ids must be distinct")
    version, lookups = api_services().lookups.many(_market(request.market), request.video_ids)
    lookups_served.add(len(lookups))
    body = hot_path.batch_json(request.market, version, lookups)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


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


@app.get(
    "/v1/creators/<creator_id>/statements/<month>/document",
    responses={
        **ANSWERS,
        200: {
            "description": "A short-lived link to the statement's document",
            "content": {"application/json": {"model": DocumentResponse}},
        },
    },
)
def get_statement_document(
    creator_id: Annotated[str, Path(pattern=ID)],
    month: Annotated[str, Path(pattern=MONTH)],
    market: Annotated[str, Query(pattern=MARKET)],
) -> DocumentResponse:
    """The statement a creator can read (`money/statement_document.py`), written by the month
    end: 404 when there is no statement, or none written for it (a month closed before documents
    were). One HeadObject; the link is signed here."""
    _only("market")
    services = api_services()
    expires_in = services.snapshot_link_seconds
    url = services.statement_documents.document_link(_market(market), month, creator_id, expires_in)
    if url is None:
        raise ApiError(
            404, "document_not_found", f"no statement document for {creator_id} in {market} for {month}"
        )
    return DocumentResponse(creator_id=creator_id, market=market, month=month, url=url, expires_in=expires_in)


@app.get(
    "/v1/creators/<creator_id>/earnings/<month>",
    responses={
        **ANSWERS,
        200: {
            "description": "The month so far",
            "content": {"application/json": {"model": Earnings}},
        },
    },
)
def get_earnings(
    creator_id: Annotated[str, Path(pattern=ID)],
    month: Annotated[str, Path(pattern=MONTH)],
    market: Annotated[str, Query(pattern=MARKET)],
) -> Earnings:
    """Spec §8.2, from the aggregates the ledger keeps with its entries (docs/design.md,
    "Earnings"): 10 requests for an open month, 11 for a closed one, one more for a creator
    without entries that month."""
    _only("market")
    services = api_services()
    last_closed = services.payouts.last_closed(_market(market))
    closed = last_closed is not None and month <= last_closed
    kept = services.ledger.month_lines(market, month, creator_id)
    found = services.payouts.statement(market, month, creator_id) if closed else None
    if kept.empty and found is None and services.eligibility.get(market, creator_id) is None:
        raise ApiError(404, "creator_not_found", f"no creator {creator_id} in {market}")
    terms = terms_for(market, services.rules)
    answer = earnings(creator_id, month, kept, terms_of(found, terms) if found else terms, closed=closed)
    if found is not None and not answer.matches(found):
        logger.error("earnings differ from the statement", extra={"creator_id": creator_id, "month": month})
    return answer


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
