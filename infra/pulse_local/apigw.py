"""API Gateway REST proxy events (payload format 1.0), as API Gateway builds them for a Lambda
proxy integration: what the local HTTP server and the tests send to ApiFunction."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pulse_cli.template import ACCOUNT_ID

STAGE = "v1api"


def rest_event(
    method: str,
    url: str,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    source_ip: str = "127.0.0.1",
    resource: str = "/{proxy+}",
    path_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The event for `method url` (a path with an optional query string), routed to `resource`
    (by default the catch-all `/{proxy+}`) with its `path_parameters`."""
    parts = urlsplit(url)
    multi: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True) if parts.query else {}
    all_headers = {"Host": "127.0.0.1", "Accept": "application/json", **(headers or {})}
    raw = body.encode() if isinstance(body, str) else body
    is_text = raw is None or _is_utf8(raw)
    if path_parameters is None and resource == "/{proxy+}":
        path_parameters = {"proxy": parts.path.lstrip("/")}  # as API Gateway fills the greedy one
    return {
        "resource": resource,
        "path": parts.path,
        "httpMethod": method.upper(),
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "path": f"/{STAGE}{parts.path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": "local",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "sourceIp": source_ip,
                "userAgent": all_headers.get("User-Agent", "pulse-local"),
                "userArn": f"arn:aws:iam::{ACCOUNT_ID}:role/ad-server",
                "caller": "AROAEXAMPLE:ad-server",
                "accessKey": "ASIAEXAMPLE",
                "accountId": ACCOUNT_ID,
                "user": "AROAEXAMPLE:ad-server",
            },
            "domainName": "127.0.0.1",
            "apiId": "local",
        },
        "body": None if raw is None else (raw.decode() if is_text else base64.b64encode(raw).decode()),
        "isBase64Encoded": not is_text,
    }


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def query(params: Mapping[str, str | Sequence[str]]) -> str:
    from urllib.parse import urlencode  # noqa: PLC0415

    return urlencode(dict(params), doseq=True)
