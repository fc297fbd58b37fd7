"""A fake Pulse API on 127.0.0.1 for the client's tests: the three placement routes (under a stage
path, as on API Gateway), a presigned-style object endpoint, ETag/304, SigV4 checked by an
independent implementation of the algorithm, and faults on demand (a status with or without
Retry-After, a dropped connection, an answer that never comes, a refused or corrupt object).

It answers from an in-memory list version per market, computed the way the real API computes
its answers (pulse/lists/lookups.py): the tests compare what the client answers in-process with
what this server answers over HTTP.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import random
import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypedDict
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from pulse_client import PulseClient, RetryPolicy

FORMAT = "pulse.placements/1"
REGION = "us-east-1"
STAGE = "/v1api"
PRESIGNED_QUERY = "X-Amz-Expires=60&X-Amz-Signature=ab12"  # what a presigned URL carries instead of headers
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CATEGORIES = {"pets": ["IAB16"], "food": ["IAB8", "IAB8-9"], "travel": ["IAB20"], "comedy": ["IAB1-4"]}

Route = Literal["lookup", "batch", "snapshot", "object", "other"]
Signature = Literal["valid", "invalid", "absent"]
ObjectFault = Literal[
    "corrupt",  # the bytes served differ from those the answer describes (same size)
    "wrong_sha",  # the answer's sha256 is not that of the object
    "wrong_size",  # the answer's size is larger than the object
    "oversize",  # the object served is longer than the answer's size
    "unknown_format",  # a consistent object of another format
    "not_gzip",  # consistent, but JSON that is not compressed
    "ragged_columns",  # consistent, but a category's columns differ in length
    "duplicate_video",  # consistent, but a video listed twice
    "wrong_version",  # consistent, but of another list version than the answer says
    "entries_mismatch",  # the answer's entries differ from the object's
]


# -- list versions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    video_id: str
    category: str
    rank: int
    creator_id: str


@dataclass(frozen=True)
class Version:
    market: str
    list_version: str
    entries: tuple[Entry, ...]
    snapshot: str = "2026-11-26"
    published_at: str = "2026-11-27T03:00:00+00:00"

    def find(self, video_id: str) -> Entry | None:
        return next((e for e in self.entries if e.video_id == video_id), None)

    def document(self) -> dict[str, Any]:
        # The four columns of shared/pulse/lists/placements_object.py (scores answer no lookup).
        lists: dict[str, dict[str, list[Any]]] = {
            c: {"video_ids": [], "ranks": [], "creator_ids": [], "scores": []} for c in CATEGORIES
        }
        for entry in sorted(self.entries, key=lambda e: (e.category, e.rank)):
            columns = lists[entry.category]
            columns["video_ids"].append(entry.video_id)
            columns["ranks"].append(entry.rank)
            columns["creator_ids"].append(entry.creator_id)
            columns["scores"].append(1_000_000 - entry.rank)
        return {
            "format": FORMAT,
            "market": self.market,
            "list_version": self.list_version,
            "snapshot": self.snapshot,
            "published_at": self.published_at,
            "iab_categories": CATEGORIES,
            "lists": lists,
        }


def make_version(market: str = "US", number: int = 1, *, size: int = 40) -> Version:
    """A version of `size` listed videos drawn from v0000..v0099 over three categories (comedy
    stays empty), ranks ascending with gaps; another `number` draws other videos and ranks."""
    rng = random.Random(f"{market}-{number}")
    chosen = rng.sample([f"v{i:04d}" for i in range(100)], size)
    entries = []
    ranks = {"pets": 0, "food": 0, "travel": 0}
    for video in chosen:
        category = rng.choice(sorted(ranks))
        ranks[category] += rng.randint(1, 3)
        entries.append(Entry(video, category, ranks[category], f"c{rng.randint(1, 30):03d}"))
    return Version(market, f"{number:010d}", tuple(entries))


def unknown_videos() -> list[str]:
    return ["v9999", "nope", "A_b-9", "v" * 64]


class CampaignJson(TypedDict):
    campaign_id: str
    advertiser: str
    priority: int


class PlacementJson(TypedDict):
    video_id: str
    market: str
    placeable: bool
    list_version: str | None
    category: str | None
    iab_categories: list[str]
    rank: int | None
    creator_id: str | None
    campaigns: list[CampaignJson]


# -- who may call, and how the tests' clients call -----------------------------------------------


@dataclass(frozen=True)
class Identity:
    secret: str
    token: str | None = None


KEY_ID = "AKIDPULSETEST"
KEY_SECRET = "pulse-test-secret"  # noqa: S105  # nosec B105  # known to the fake API only
SESSION_KEY_ID = "ASIAPULSETEST"
SESSION_KEY_SECRET = "pulse-session-secret"  # noqa: S105  # nosec B105  # the fake API's
SESSION_TOKEN = "pulse-session-token"  # noqa: S105  # nosec B105  # the fake API's
OTHER_KEY_ID = "AKIDPULSEOTHER"
OTHER_KEY_SECRET = "pulse-other-secret"  # noqa: S105  # nosec B105  # the fake API's
IDENTITIES = {
    KEY_ID: Identity(KEY_SECRET),
    SESSION_KEY_ID: Identity(SESSION_KEY_SECRET, SESSION_TOKEN),
    OTHER_KEY_ID: Identity(OTHER_KEY_SECRET),
}

# Generous budgets (a slow CI machine must not fail a test that is not about budgets) and tiny
# backoffs (no test waits for a backoff it does not measure).
FAST_RETRY = RetryPolicy(
    budget_seconds=3.0, max_attempts=3, backoff_base_seconds=0.001, backoff_cap_seconds=0.002
)

ClientFactory = Callable[..., PulseClient]


# -- the server's behaviour ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fail:
    """One planned answer in place of the normal one."""

    status: int = 503
    body: bytes | None = None  # None: the API's error body for the status
    retry_after: str | None = None
    action: Literal["answer", "drop", "hang"] = "answer"


DROP = Fail(action="drop")
HANG = Fail(action="hang")


@dataclass(frozen=True)
class Seen:
    route: Route
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    connection: int
    signature: Signature
    status: int | None  # None: no answer (dropped, hung)


_ERROR_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
    503: "dependency_overloaded",
}


def error_body(status: int, code: str | None = None, message: str = "planned failure") -> bytes:
    if status in (429, 502, 504):  # API Gateway's own answers
        return json.dumps({"message": message}).encode()
    code = code or _ERROR_CODES.get(status, "error")
    return json.dumps({"error": {"code": code, "message": message}}).encode()


@dataclass
class _State:
    versions: dict[str, Version] = field(default_factory=dict)
    campaigns: dict[tuple[str, str], list[CampaignJson]] = field(default_factory=dict)
    plans: dict[Route, deque[Fail]] = field(default_factory=dict)
    always: dict[Route, Fail] = field(default_factory=dict)
    object_fault: ObjectFault | None = None
    etag_salt: str = "a"
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0


class FakePulseApi:
    def __init__(
        self, identities: dict[str, Identity], markets: tuple[str, ...] = ("US", "GB", "FR")
    ) -> None:
        self.identities = identities
        self.markets = markets
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends every hung answer
        self.state = _State()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.base_url = self.origin + STAGE
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(poll_interval=0.01), name="fake-pulse-api", daemon=True
        )

    def __enter__(self) -> FakePulseApi:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- what the tests set ---------------------------------------------------------------------

    def publish(self, version: Version) -> None:
        with self.lock:
            self.state.versions[version.market] = version

    def offer(self, market: str, category: str, *campaigns: tuple[str, str, int]) -> None:
        with self.lock:
            offered = sorted(campaigns, key=lambda c: (-c[2], c[0]))  # the API's order (campaign.offered)
            self.state.campaigns[(market, category)] = [
                {"campaign_id": c, "advertiser": a, "priority": p} for c, a, p in offered
            ]

    def plan(self, route: Route, *fails: Fail) -> None:
        """Answer the next requests of `route` with `fails`, one each, then normally again."""
        with self.lock:
            self.state.plans.setdefault(route, deque()).extend(fails)

    def fail_always(self, route: Route, fail: Fail | None) -> None:
        with self.lock:
            if fail is None:
                self.state.always.pop(route, None)
            else:
                self.state.always[route] = fail

    def set_object_fault(self, fault: ObjectFault | None) -> None:
        with self.lock:
            self.state.object_fault = fault

    def set_etag_salt(self, salt: str) -> None:
        with self.lock:
            self.state.etag_salt = salt

    # -- what the tests read --------------------------------------------------------------------

    def seen(self, route: Route | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.state.seen if route is None or s.route == route]

    @property
    def connections(self) -> int:
        with self.lock:
            return self.state.connections

    def placement_answer(self, video_id: str, market: str) -> PlacementJson:
        """What the API answers for `video_id` (lookups.py: one(), _answer(), _not_listed())."""
        with self.lock:
            version = self.state.versions.get(market)
            entry = version.find(video_id) if version else None
            campaigns = self.state.campaigns.get((market, entry.category), []) if entry else []
        return {
            "video_id": video_id,
            "market": market,
            "placeable": entry is not None,
            "list_version": version.list_version if version else None,
            "category": entry.category if entry else None,
            "iab_categories": CATEGORIES[entry.category] if entry else [],
            "rank": entry.rank if entry else None,
            "creator_id": entry.creator_id if entry else None,
            "campaigns": campaigns,
        }

    def stored_object(self, market: str) -> tuple[bytes, dict[str, Any]]:
        """The bytes the object endpoint serves for the market's version, and the snapshot answer's
        description of them (bytes, sha256, entries), each as the current fault makes them."""
        with self.lock:
            version, fault = self.state.versions[market], self.state.object_fault
        doc = version.document()
        if fault == "unknown_format":
            doc["format"] = "pulse.placements/2"
        elif fault == "ragged_columns":
            doc["lists"]["pets"]["ranks"].pop()
        elif fault == "duplicate_video":
            twice = version.entries[0].video_id
            doc["lists"]["comedy"] = {
                "video_ids": [twice],
                "ranks": [1],
                "creator_ids": ["c001"],
                "scores": [9],
            }
        elif fault == "wrong_version":
            doc["list_version"] = "9999999999"
        text = json.dumps(doc).encode()
        stored = text if fault == "not_gzip" else gzip.compress(text, mtime=0)
        entries = sum(len(columns["video_ids"]) for columns in doc["lists"].values())
        described: dict[str, Any] = {
            "bytes": len(stored),
            "sha256": hashlib.sha256(stored).hexdigest(),
            "entries": entries,
        }
        served = stored
        if fault == "corrupt":
            middle = len(stored) // 2
            served = stored[:middle] + bytes([stored[middle] ^ 0xFF]) + stored[middle + 1 :]
        elif fault == "wrong_sha":
            described["sha256"] = hashlib.sha256(b"another object").hexdigest()
        elif fault == "wrong_size":
            described["bytes"] += 10
        elif fault == "oversize":
            served = stored + b"\0" * 4096
        elif fault == "entries_mismatch":
            described["entries"] += 1
        return served, described

    def etag(self, described: dict[str, Any]) -> str:
        with self.lock:
            return f'"{described["sha256"][:20]}-{self.state.etag_salt}"'

    # -- serving --------------------------------------------------------------------------------

    def _next_fail(self, route: Route) -> Fail | None:
        with self.lock:
            planned = self.state.plans.get(route)
            if planned:
                return planned.popleft()
            return self.state.always.get(route)

    def _record(self, seen: Seen) -> None:
        with self.lock:
            self.state.seen.append(seen)

    def _connected(self) -> int:
        with self.lock:
            self.state.connections += 1
            return self.state.connections


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog. socketserver's 5 drops the SYNs of a burst of new connections, which the
    # kernel then sends again a whole second later.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: FakePulseApi
    ) -> None:
        super().__init__(address, handler)
        self.api = api


def _route(path: str) -> Route:
    if path.startswith("/objects/"):
        return "object"
    if path == f"{STAGE}/v1/placements/snapshot":
        return "snapshot"
    if path == f"{STAGE}/v1/placements/batch":
        return "batch"
    if path.startswith(f"{STAGE}/v1/placements/"):
        return "lookup"
    return "other"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway
    timeout = 10  # an idle kept-alive connection ends its thread after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # The head and the body are two writes: without this, Nagle's algorithm holds the body back
        # until the client's delayed ACK of the head, some 40 ms per answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection_number = self.server.api._connected()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        api = self.server.api
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        route = _route(parts.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(parse_qsl(parts.query))
        signature = verify_sigv4(method, parts.path, parts.query, headers, body, identities=api.identities)
        fail = api._next_fail(route)
        answer: _Answer | None = None
        if fail is not None and fail.action in ("hang", "drop"):
            pass
        elif route != "object" and signature != "valid":
            answer = _Answer(403, json.dumps({"message": f"signature {signature}"}).encode())
        elif fail is not None:
            extra = {"Retry-After": fail.retry_after} if fail.retry_after is not None else {}
            planned = fail.body if fail.body is not None else error_body(fail.status)
            answer = _Answer(fail.status, planned, extra)
        else:
            answer = self._normal(route, method, parts.path, query, headers, body=body)
        # Recorded before it is answered: once the client has its answer, the test sees the request.
        status = answer.status if answer else None
        api._record(
            Seen(route, method, parts.path, query, headers, body, self.connection_number, signature, status)
        )
        if answer is None:
            if fail is not None and fail.action == "hang":
                api.release.wait(10)
            self.close_connection = True  # no answer at all: the client sees the connection end
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.status != 304:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if answer.status != 304:
            self.wfile.write(answer.body)

    def _normal(
        self,
        route: Route,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        *,
        body: bytes,
    ) -> _Answer:
        api = self.server.api
        expected = {"lookup": "GET", "snapshot": "GET", "object": "GET", "batch": "POST"}.get(route)
        if expected is None:
            return _Answer(404, error_body(404, "not_found", f"no route {path}"))
        if method != expected:
            return _Answer(405, error_body(405, "method_not_allowed", f"{method} is not allowed here"))
        if route == "object":
            return self._object(path, headers)
        if route == "batch":
            return self._batch(body)
        market = query.get("market", "")
        if market not in api.markets:
            return _Answer(400, error_body(400, "unknown_market", f"{market} is not a programme market"))
        if route == "snapshot":
            return self._snapshot(market, headers)
        video_id = unquote(path.rsplit("/", 1)[1])
        if not VIDEO_ID.fullmatch(video_id):
            return _Answer(400, error_body(400, "invalid_request", "video_id: not a video id"))
        return self._json(200, api.placement_answer(video_id, market))

    def _batch(self, body: bytes) -> _Answer:
        api = self.server.api
        try:
            request = json.loads(body)
            market, video_ids = request["market"], request["video_ids"]
        except (ValueError, KeyError, TypeError):
            return _Answer(400, error_body(400, "invalid_request", "the body is not valid JSON"))
        if market not in api.markets:
            return _Answer(400, error_body(400, "unknown_market", f"{market} is not a programme market"))
        if not all(isinstance(v, str) and VIDEO_ID.fullmatch(v) for v in video_ids):
            return _Answer(400, error_body(400, "invalid_request", "video_ids: not video ids"))
        if not 1 <= len(video_ids) <= 100 or len(set(video_ids)) != len(video_ids):
            return _Answer(400, error_body(400, "invalid_request", "1 to 100 distinct video_ids"))
        results = [api.placement_answer(v, market) for v in video_ids]
        with api.lock:
            version = api.state.versions.get(market)
        current = version.list_version if version else None
        return self._json(200, {"market": market, "list_version": current, "results": results})

    def _snapshot(self, market: str, headers: dict[str, str]) -> _Answer:
        api = self.server.api
        with api.lock:
            version = api.state.versions.get(market)
        if version is None:
            return _Answer(404, error_body(404, "no_list", f"{market} has no list yet"))
        _, described = api.stored_object(market)
        etag = api.etag(described)
        if headers.get("if-none-match") == etag:
            return _Answer(304, b"", {"ETag": etag})
        answer = {
            "market": market,
            "list_version": version.list_version,
            **described,
            "url": f"{api.origin}/objects/{market}/{version.list_version}.json.gz?{PRESIGNED_QUERY}",
            "expires_in": 60,
        }
        return _Answer(200, json.dumps(answer).encode(), {"ETag": etag, "Content-Type": "application/json"})

    def _object(self, path: str, headers: dict[str, str]) -> _Answer:
        api = self.server.api
        if "authorization" in headers:  # S3 refuses a presigned URL sent with another auth mechanism
            return _Answer(400, b"<Error><Code>InvalidArgument</Code></Error>")
        market = path.split("/")[2]
        with api.lock:
            version = api.state.versions.get(market)
        if version is None or not path.endswith(f"/{version.list_version}.json.gz"):
            return _Answer(404, b"<Error><Code>NoSuchKey</Code></Error>")
        served, _ = api.stored_object(market)
        return _Answer(200, served, {"Content-Type": "application/gzip"})

    def _json(self, status: int, obj: object) -> _Answer:
        return _Answer(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


# -- SigV4, checked independently of botocore ----------------------------------------------------

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def verify_sigv4(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    *,
    identities: dict[str, Identity],
) -> Signature:
    """Whether the request carries a valid SigV4 signature for `execute-api` in REGION by one of
    `identities` (the algorithm of the AWS documentation, written out here, not botocore's)."""
    authorization = headers.get("authorization")
    if authorization is None:
        return "absent"
    found = _AUTHORIZATION.fullmatch(authorization)
    if found is None:
        return "invalid"
    identity = identities.get(found["key"])
    amz_date = headers.get("x-amz-date", "")
    signed = found["signed"].split(";")
    if (
        identity is None
        or found["region"] != REGION
        or found["service"] != "execute-api"
        or not amz_date.startswith(found["day"])
        or not {"host", "x-amz-date"} <= set(signed)
        or any(name not in headers for name in signed)
        or headers.get("x-amz-security-token") != identity.token
        or (identity.token is not None and "x-amz-security-token" not in signed)
    ):
        return "invalid"
    pairs = sorted(
        (quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
        for k, _, v in (pair.partition("=") for pair in query.split("&") if pair)
    )
    canonical = "\n".join(
        [
            method,
            quote(path, safe="/~"),  # services other than S3 encode the (encoded) path once more
            "&".join(f"{k}={v}" for k, v in pairs),
            "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed),
            found["signed"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{found['day']}/{REGION}/execute-api/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = f"AWS4{identity.secret}".encode()
    for part in (found["day"], REGION, "execute-api", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return "valid" if hmac.compare_digest(expected, found["signature"]) else "invalid"
