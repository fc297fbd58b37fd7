"""Hostile input to the API (issue 8, spec §4), through real API Gateway REST proxy events: oversized
and mistyped bodies, bytes that are not UTF-8, pathological JSON, unicode and injection-looking ids,
repeated parameters and user identifiers. Every answer is 400, 404 or 405 in the API's one error
shape with a snake_case code, and nothing is written. A few go over real HTTP on 127.0.0.1 too.

tests/integration/test_api.py has the ordinary bad input; this file has the hostile.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from pulse.entrypoints.api.request_body import MAX_BODY_BYTES
from pulse.ingest.datasets import SPECS
from pulse_cli.lambdas import invoke, route_object
from pulse_cli.template import REGION, Stack
from pulse_cli.uploads import upload_batch
from pulse_local.apigw import rest_event
from pulse_local.http_api import serve_in_background
from pulse_local.moto_server import free_port
from pulse_local.resources import create_resources
from tests.conftest import moto_account
from tests.factories import adjustment, campaign, creator, video
from tests.reliability.state import table_items

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
BATCH: dict[str, Any] = {"market": "US", "video_ids": ["p49", "p48"]}
CAMPAIGN = campaign()

# Answers a hostile case may get: (status, error code).
INVALID = frozenset({(400, "invalid_request")})
UNSUPPORTED = frozenset({(400, "unsupported_content_type")})
TOO_LARGE = frozenset({(400, "body_too_large")})
UNKNOWN_PARAMETER = frozenset({(400, "unknown_parameter")})
# An id that is not one is refused by its pattern (400); one that changes the path finds no route (404).
NOT_AN_ID = INVALID | {(404, "not_found")}


@dataclass(frozen=True)
class Account:
    stack: Stack
    port: int


@dataclass(frozen=True)
class Hostile:
    """One hostile request and the answers it may get."""

    method: str
    url: str
    body: bytes | str | None = None
    headers: Mapping[str, str] | None = None
    answers: frozenset[tuple[int, str]] = INVALID

    def __str__(self) -> str:
        kind = f" {dict(self.headers)}" if self.headers is not None else ""
        body = "" if self.body is None else f" {self.body[:40]!r}"
        return f"{self.method} {self.url[:60]!r}{kind}{body}"


Answer = tuple[int, dict[str, list[str]], bytes]


def _json(document: Any) -> str:
    return json.dumps(document)


def _seed(stack: Stack) -> None:
    """A published US list, a creator with a statement and a campaign: a hostile request that
    slipped through would find something to answer with, or to overwrite."""
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.name_of("IngestBucket")

    def upload(folder: str, rows: list[dict[str, Any]], snapshot: str | None = None) -> None:
        columns = list(SPECS[folder.split("/", maxsplit=1)[0]].field_kinds) if snapshot else []
        uploaded = upload_batch(s3, bucket, folder, {"p.jsonl": rows}, columns=columns, snapshot=snapshot)
        route_object(stack, bucket, uploaded.key, size=uploaded.size, etag=uploaded.etag, sequencer="01")

    upload("creators/market=US/snapshot=2026-11-26/", [creator("on1"), creator("on2")], "2026-11-26")
    rows = [video(f"p{i:02d}", "on1" if i % 2 == 0 else "on2", "pets", views=i) for i in range(50)]
    upload("videos/market=US/snapshot=2026-11-27/", rows, "2026-11-27")
    upload("adjustments/market=US/seed/", [adjustment("a1", "on1", 90_000_000, month="2026-10")])
    invoke(stack, "PayoutFunction", {"month": "2026-10", "markets": ["US"]})
    answer = invoke(stack, "ApiFunction", rest_event("PUT", "/v1/campaigns/k-pets", _json(CAMPAIGN)))
    assert answer["statusCode"] == 200, answer


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    """A seeded account on moto in this process, and the local API on a free port of 127.0.0.1."""
    with moto_account():
        stack = Stack()
        create_resources(stack)
        _seed(stack)
        port = free_port()
        server = serve_in_background(stack, port)
        try:
            yield Account(stack, port)
        finally:
            server.shutdown()
            server.server_close()


def _state(stack: Stack) -> list[str]:
    """Every item of the state table: what the API could write."""
    return sorted(json.dumps(item, sort_keys=True) for item in table_items(stack))


def _through_api_gateway(account: Account, case: Hostile) -> Answer:
    response = invoke(
        account.stack, "ApiFunction", rest_event(case.method, case.url, case.body, case.headers)
    )
    headers = {name.lower(): values for name, values in response["multiValueHeaders"].items()}
    return response["statusCode"], headers, response["body"].encode()


def _over_http(account: Account, case: Hostile) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", account.port, timeout=30)
    try:
        body = case.body.encode() if isinstance(case.body, str) else case.body
        connection.request(case.method, case.url, body=body, headers=dict(case.headers or {}))
        response = connection.getresponse()
        headers: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            headers.setdefault(name.lower(), []).append(value)
        return response.status, headers, response.read()
    finally:
        connection.close()


def _assert_refused(case: Hostile, status: int, headers: dict[str, list[str]], payload: bytes) -> None:
    assert status in (400, 404, 405), (case, status, payload[:300])
    assert headers["content-type"] == ["application/json"]
    assert not {"set-cookie", "x-injected"} & set(headers), headers  # no header came from the input
    document = json.loads(payload)
    assert list(document) == ["error"]
    assert sorted(document["error"]) == ["code", "message"]
    code, message = document["error"]["code"], document["error"]["message"]
    assert isinstance(code, str)
    assert SNAKE_CASE.fullmatch(code)
    assert isinstance(message, str)
    assert message
    assert (status, code) in case.answers, (case, status, document)


def _check(
    account: Account, case: Hostile, send: Callable[[Account, Hostile], Answer] = _through_api_gateway
) -> None:
    before = _state(account.stack)
    status, headers, payload = send(account, case)
    _assert_refused(case, status, headers, payload)
    assert _state(account.stack) == before, f"{case} wrote to the state table"


# --- bodies: size, content type, encoding, JSON -------------------------------------------------

# Each body route, its body, and a field given twice with another value that alone would be accepted.
BODY_ROUTES: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/v1/placements/batch", BATCH, '"market": "GB"'),
    ("PUT", "/v1/campaigns/k-hostile", CAMPAIGN, '"priority": 60'),
]


def _padded(document: dict[str, Any], size: int, char: str = " ") -> str:
    """`document` as JSON padded to `size` bytes: with whitespace, or with `char` in a string field
    (to `size` or just over it, by less than one `char`)."""
    text = _json(document)
    if char == " ":
        return text + " " * (size - len(text.encode()))
    base = text[:-1] + ', "pad": ""}'
    count = -(-(size - len(base.encode())) // len(char.encode()))
    return base[:-2] + char * count + '"}'


def _oversized(method: str, url: str, document: dict[str, Any]) -> list[Hostile]:
    return [
        Hostile(method, url, _padded(document, MAX_BODY_BYTES + 1), answers=TOO_LARGE),
        # 4-byte characters: under the cap in characters, over it in bytes
        Hostile(method, url, _padded(document, MAX_BODY_BYTES + 1, "\U0001f600"), answers=TOO_LARGE),
        Hostile(method, url, _padded(document, 4 * 1024 * 1024), answers=TOO_LARGE),
        Hostile(method, url, b"\x80" * (MAX_BODY_BYTES + 1), answers=TOO_LARGE),
    ]


def _mistyped(method: str, url: str, document: dict[str, Any]) -> list[Hostile]:
    body = _json(document)
    form = "&".join(f"{key}={quote(str(value))}" for key, value in document.items())
    multipart = '--b\r\nContent-Disposition: form-data; name="market"\r\n\r\nUS\r\n--b--\r\n'
    return [
        Hostile(method, url, body, {"Content-Type": "text/plain"}, UNSUPPORTED),
        Hostile(method, url, body, {"Content-Type": "text/plain; charset=utf-8"}, UNSUPPORTED),
        Hostile(method, url, form, {"Content-Type": "application/x-www-form-urlencoded"}, UNSUPPORTED),
        Hostile(method, url, multipart, {"Content-Type": "multipart/form-data; boundary=b"}, UNSUPPORTED),
        Hostile(method, url, body, {"Content-Type": "application/xml"}, UNSUPPORTED),
        Hostile(method, url, body, {"Content-Type": "application/jsonp"}, UNSUPPORTED),
        Hostile(method, url, body, {"Content-Type": "application/json-patch+json"}, UNSUPPORTED),
        Hostile(method, url, body, {"Content-Type": "application/json, text/plain"}, UNSUPPORTED),
        Hostile(method, url, body, {"content-type": "TEXT/PLAIN"}, UNSUPPORTED),
        # No content type is read as JSON, and JSON it must then be
        Hostile(method, url, form, {}),
        Hostile(method, url, multipart, {}),
        # A charset does not make a body that is not UTF-8 into JSON
        Hostile(method, url, body.encode("utf-16"), {"Content-Type": "application/json; charset=utf-16"}),
        Hostile(
            method,
            url,
            body.replace("Acme", "Acm\xe9").replace("p49", "p\xe949").encode("latin-1"),
            {"Content-Type": "application/json; charset=iso-8859-1"},
        ),
    ]


NOT_UTF8 = [
    b"\x80",
    b"\xff\xfe{}",
    b'\xef\xbb\xbf{"market": "US", "video_ids": ["p49"]}',  # a UTF-8 byte order mark
    b'{"market": "US", "video_ids": ["\xc0\xaf"]}',  # overlong "/"
    b'{"market": "US", "video_ids": ["\xed\xa0\x80"]}',  # an encoded surrogate
    b'{"market": "US", "video_ids": ["p49\xff"]}',
]


def _pathological(document: dict[str, Any], twin: str) -> list[str]:
    body = _json(document)
    return [
        "[" * 5_000 + "]" * 5_000,
        '{"a":' * 2_000 + "1" + "}" * 2_000,
        body[:-1] + ', "deep": ' + "[" * 5_000 + "]" * 5_000 + "}",
        body[:-1] + ', "n": ' + "9" * 5_000 + "}",
        body[:-1] + ', "n": 1e999999}',
        body[:-1] + ', "n": NaN}',
        body[:-1] + ', "n": Infinity}',
        body[:-1] + ', "n": -Infinity}',
        body[:-1] + f", {twin}}}",  # a duplicate key: which one counts?
        "{" + twin + ", " + body[1:],
        body + "{}",
        body + "\x00",
        "\ufeff" + body,
        body[:-1],
        "",
        "null",
        "[]",
        '"' + body.replace('"', '\\"') + '"',
        "1" * 100,
        '{"market": "US", "video_ids": ["\\ud800"]}',
        '{"market": "US", "video_ids": ["\\u0000"]}',
    ]


PRIORITIES = ["9" * 5_000, "1e999999", "-1e999999", "NaN", "1e308", "-0.5", "18446744073709551617"]
# Values a lax parser would coerce into a campaign: each is refused as it is, never stored changed.
LOOSE_FIELDS = [
    ("priority", "true"),
    ("priority", '"50"'),
    ("priority", "50.0"),
    ("advertiser", '"\\u0000"'),
    ("advertiser", '"Acme\\nPets"'),
    ("start", "0"),
    ("start", '"2026-01-01T00:00:00"'),
]

BODIES = (
    [
        case
        for method, url, document, twin in BODY_ROUTES
        for case in (
            _oversized(method, url, document)
            + _mistyped(method, url, document)
            + [Hostile(method, url, raw) for raw in NOT_UTF8]
            + [Hostile(method, url, text) for text in _pathological(document, twin)]
        )
    ]
    + [
        Hostile(
            "PUT",
            "/v1/campaigns/k-hostile",
            _json(CAMPAIGN).replace('"priority": 50', f'"priority": {value}'),
        )
        for value in PRIORITIES
    ]
    + [
        Hostile("PUT", "/v1/campaigns/k-hostile", _json({**CAMPAIGN, field: "?"}).replace('"?"', raw))
        for field, raw in LOOSE_FIELDS
    ]
)


@pytest.mark.parametrize("case", BODIES, ids=str)
def test_a_hostile_body_is_refused_and_writes_nothing(account: Account, case: Hostile) -> None:
    _check(account, case)


# --- ids in the path and values in the query ---------------------------------------------------

HOSTILE_IDS = [
    "café",
    "ﬁle",  # a ligature that NFKC folds to "file"
    "\U0001f600",
    "p49\u200f",  # right-to-left mark
    "\u202ep49",  # right-to-left override
    "p49\u200b",  # zero-width space
    "p\x0049",
    "p49\x00",
    "a/b",
    "../../etc/passwd",
    "..",
    ".",
    "' OR '1'='1",
    "1; DROP TABLE campaigns--",
    '{"$gt": ""}',
    '{"$ne": null}',
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "LIST#US#20261127000000",
    "CREATOR#US#on1",
    "CAMPAIGN#k-pets",
    "#",
    "k-pets#",
    "p49\r\nX-Injected: 1",
    "p49%00",
    "p" * 65,
    "p" * 10_000,
    " p49",
    "p49 ",
    "\uff35\uff33",  # a fullwidth "US"
]

# Raw, as a client that does not encode would send them.
RAW_PATHS = ["../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "p49/../../rules", "\U0001f600", "a\x00b", "#"]

# Ids as a client sends them: percent-encoded (an encoded "/" stays in the segment), and a few
# overlong UTF-8 encodings of "/" and "." that a lenient decoder would turn into a path.
ENCODED_IDS = (
    [quote(value, safe="") for value in HOSTILE_IDS]
    + [
        "%C0%AF",
        "%C0%AE%C0%AE%C0%AFetc%C0%AFpasswd",
        "%E0%80%AF",
        "%F0%80%80%AF",
        "%FF",
        "%",
        "%zz",
        "%2F",
        "%252F",
    ]
    + RAW_PATHS
)

ID_ROUTES = [
    ("GET", "/v1/placements/{}?market=US", None),
    ("GET", "/v1/creators/{}?market=US", None),
    ("GET", "/v1/creators/{}/statements/2026-10?market=US", None),
    ("GET", "/v1/creators/on1/statements/{}?market=US", None),
    ("GET", "/v1/campaigns/{}", None),
    ("PUT", "/v1/campaigns/{}", CAMPAIGN),
    ("GET", "/v1/toplists/{}/pets", None),
    ("GET", "/v1/toplists/US/{}", None),
]

PATH_IDS = [
    Hostile(method, template.format(value), None if body is None else _json(body), answers=NOT_AN_ID)
    for method, template, body in ID_ROUTES
    for value in ENCODED_IDS
]


@pytest.mark.parametrize("case", PATH_IDS, ids=str)
def test_a_hostile_id_in_the_path_is_refused_and_writes_nothing(account: Account, case: Hostile) -> None:
    _check(account, case)


QUERY_ROUTES = [
    ("/v1/placements/p49?market={}", INVALID),
    ("/v1/creators/on1?market={}", INVALID),
    ("/v1/creators/on1/statements/2026-10?market={}", INVALID),
    ("/v1/toplists/US/pets?limit={}", INVALID),
    ("/v1/toplists/US/pets?cursor={}", frozenset({(400, "invalid_cursor"), (400, "invalid_request")})),
]

HOSTILE_VALUES = [
    *HOSTILE_IDS,
    "us",
    "U S",
    "US\x00",
    "US\r\nSet-Cookie: a=1",
    "1e3",
    "0x10",
    "-1",
    "\uff11",  # a fullwidth 1
    "9" * 5_000,
    "NaN",
    "",
    "eyIkZ3QiOiAiIn0",  # base64 of {"$gt": ""}
    "W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW10",  # base64 of nested arrays
]

QUERY_VALUES = [
    Hostile("GET", template.format(quote(value, safe="")), answers=answers)
    for template, answers in QUERY_ROUTES
    for value in HOSTILE_VALUES
]


@pytest.mark.parametrize("case", QUERY_VALUES, ids=str)
def test_a_hostile_query_value_is_refused(account: Account, case: Hostile) -> None:
    _check(account, case)


# --- parameters that are repeated, or that name a user ----------------------------------------

REPEATED = [
    Hostile("GET", url, answers=INVALID | {(400, "repeated_parameter")})
    for url in [
        "/v1/placements/p49?market=US&market=US",
        "/v1/placements/p49?market=US&market=GB",
        "/v1/creators/on1?market=US&market=US",
        "/v1/creators/on1/statements/2026-10?market=US&market=US",
        "/v1/toplists/US/pets?limit=1&limit=1",
        "/v1/toplists/US/pets?limit=1&limit=2",
        "/v1/toplists/US/pets?cursor=a&cursor=a",
        "/v1/placements/p49?market=US&market=",
        "/v1/placements/p49?market[]=US&market[]=GB",
    ]
] + [
    Hostile("GET", url, answers=UNKNOWN_PARAMETER | {(400, "repeated_parameter")})
    for url in [
        "/v1/placements/p49?market=US&MARKET=US",
        "/v1/placements/p49?market=US&Market=GB",
        "/v1/placements/p49?market=US&market%00=GB",
        "/v1/placements/p49?market=US&+market=GB",
        "/v1/rules?x=1&x=2",
        "/v1/campaigns/k-pets?limit=1&limit=2",
    ]
]


@pytest.mark.parametrize("case", REPEATED, ids=str)
def test_a_repeated_or_look_alike_parameter_is_refused(account: Account, case: Hostile) -> None:
    _check(account, case)


# Every route, called as it should be: (method, url, body, status).
ROUTES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "/v1/placements/p49?market=US", None, 200),
    ("POST", "/v1/placements/batch", BATCH, 200),
    ("GET", "/v1/toplists/US/pets?limit=2", None, 200),
    ("GET", "/v1/creators/on1?market=US", None, 200),
    ("GET", "/v1/creators/on1/statements/2026-10?market=US", None, 200),
    ("PUT", "/v1/campaigns/k-pets", CAMPAIGN, 200),
    ("GET", "/v1/campaigns/k-pets", None, 200),
    ("GET", "/v1/rules", None, 200),
    ("GET", "/v1/openapi.json", None, 200),
]

USER_IDENTIFIERS = [
    "user_id",
    "userId",
    "USER_ID",
    "uid",
    "device_id",
    "deviceId",
    "ip",
    "ip_address",
    "x_forwarded_for",
    "idfa",
    "idfv",
    "gaid",
    "aaid",
    "adid",
    "ifa",
    "email",
    "phone",
    "cookie_id",
    "session_id",
    "viewer_id",
    "account_id",
    "lat",
]


def _with_parameter(url: str, name: str, value: str = "u-1") -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


USER_IN_QUERY = [
    Hostile(
        method, _with_parameter(url, name), None if body is None else _json(body), answers=UNKNOWN_PARAMETER
    )
    for method, url, body, _ in ROUTES
    for name in USER_IDENTIFIERS
]

USER_IN_BODY = [
    Hostile(method, url, _json({**body, name: "u-1"}))
    for method, url, body, _ in ROUTES
    if body is not None
    for name in USER_IDENTIFIERS
]


@pytest.mark.parametrize("case", USER_IN_QUERY + USER_IN_BODY, ids=str)
def test_a_user_identifier_is_refused_on_every_route(account: Account, case: Hostile) -> None:
    _check(account, case)


@pytest.mark.parametrize(("method", "url", "body", "status"), ROUTES)
def test_every_route_answers_when_called_as_it_should_be(
    account: Account, method: str, url: str, body: dict[str, Any] | None, status: int
) -> None:
    """The control for the tables above: what they refuse, it is their hostile part that refuses."""
    response = invoke(
        account.stack, "ApiFunction", rest_event(method, url, None if body is None else _json(body))
    )
    assert response["statusCode"] == status, response


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (None, _json(BATCH)),
        ("", _json(BATCH)),
        ("application/json; charset=utf-8", _json(BATCH)),
        ("application/json;charset=UTF-8", _json(BATCH)),
        ("APPLICATION/JSON; CHARSET=UTF-8", _json(BATCH)),
        ("Application/Json", _json(BATCH)),
        ("application/json", _padded(BATCH, MAX_BODY_BYTES)),
    ],
)
def test_json_is_accepted_in_any_spelling_of_its_type_and_up_to_the_cap(
    account: Account, content_type: str | None, body: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = invoke(account.stack, "ApiFunction", rest_event("POST", "/v1/placements/batch", body, headers))
    assert response["statusCode"] == 200, response


def test_the_cap_counts_bytes_not_characters() -> None:
    """The control for the oversized case of 4-byte characters: under the cap but for its bytes."""
    body = _padded(BATCH, MAX_BODY_BYTES + 1, "\U0001f600")
    assert len(body) < MAX_BODY_BYTES // 3
    assert MAX_BODY_BYTES < len(body.encode()) <= MAX_BODY_BYTES + 4


# --- methods ------------------------------------------------------------------------------------

METHODS = [
    ("DELETE", "/v1/rules", "GET"),
    ("PATCH", "/v1/placements/batch", "POST"),
    ("GET", "/v1/placements/batch?market=US", "POST"),  # the batch resource's, not a video called "batch"
    ("POST", "/v1/campaigns/k-pets", "GET, PUT"),
    ("DELETE", "/v1/campaigns/k-pets", "GET, PUT"),
    ("TRACE", "/v1/toplists/US/pets", "GET"),
    ("CONNECT", "/v1/creators/on1", "GET"),
    ("PROPFIND", "/v1/creators/on1/statements/2026-10", "GET"),
    ("OPTIONS", "/v1/placements/p49", "GET"),
    ("HEAD", "/v1/openapi.json", "GET"),
]


@pytest.mark.parametrize(("method", "url", "allow"), METHODS)
def test_an_unsupported_method_is_a_405_that_says_which_are_allowed(
    account: Account, method: str, url: str, allow: str
) -> None:
    case = Hostile(method, url, answers=frozenset({(405, "method_not_allowed")}))
    before = _state(account.stack)
    status, headers, payload = _through_api_gateway(account, case)
    _assert_refused(case, status, headers, payload)
    assert headers["allow"] == [allow]
    assert _state(account.stack) == before


# --- over real HTTP on 127.0.0.1 through the local server --------------------------------------

OVER_HTTP = [
    Hostile("POST", "/v1/placements/batch", _padded(BATCH, MAX_BODY_BYTES + 1), answers=TOO_LARGE),
    Hostile("PUT", "/v1/campaigns/k-http", _padded(CAMPAIGN, MAX_BODY_BYTES + 1), answers=TOO_LARGE),
    Hostile("PUT", "/v1/campaigns/k-http", _json(CAMPAIGN), {"Content-Type": "text/plain"}, UNSUPPORTED),
    Hostile("POST", "/v1/placements/batch", _json(BATCH), {"Content-Type": "multipart/mixed"}, UNSUPPORTED),
    Hostile("POST", "/v1/placements/batch", b'{"market": "US", "video_ids": ["\xc0\xaf"]}'),
    Hostile("PUT", "/v1/campaigns/k-http", b"\xff\xfe\x80"),
    Hostile("POST", "/v1/placements/batch", "[" * 5_000 + "]" * 5_000),
    Hostile("PUT", "/v1/campaigns/k-http", _json(CAMPAIGN)[:-1] + ', "priority": 5}'),
    Hostile("PUT", "/v1/campaigns/k-http", _json(CAMPAIGN)[:-1] + ', "n": ' + "9" * 5_000 + "}"),
    Hostile("GET", "/v1/placements/%F0%9F%98%80?market=US"),
    Hostile("GET", "/v1/placements/..%2F..%2Fetc%2Fpasswd?market=US"),
    Hostile("GET", "/v1/campaigns/LIST%23US%2320261127000000"),
    Hostile("PUT", "/v1/campaigns/%7B%22%24gt%22%3A%22%22%7D", _json(CAMPAIGN)),
    Hostile("GET", "/v1/placements/p49?market=US%0D%0ASet-Cookie%3A%20a%3D1"),
    Hostile("GET", "/v1/placements/p49?market=US&market=GB"),
    Hostile("GET", "/v1/toplists/US/pets?device_id=abc", answers=UNKNOWN_PARAMETER),
    Hostile("PUT", "/v1/campaigns/k-http?user_id=1", _json(CAMPAIGN), answers=UNKNOWN_PARAMETER),
    Hostile("DELETE", "/v1/campaigns/k-pets", answers=frozenset({(405, "method_not_allowed")})),
    Hostile("GET", "/v1/%2e%2e/%2e%2e/etc/passwd", answers=frozenset({(404, "not_found")})),
]


@pytest.mark.parametrize("case", OVER_HTTP, ids=str)
def test_hostile_input_over_http_is_refused_and_writes_nothing(account: Account, case: Hostile) -> None:
    _check(account, case, _over_http)
