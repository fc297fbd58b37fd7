"""Privacy (spec §3, §4, §7): no user identifier is accepted anywhere, stored anywhere or logged.

User identifiers are planted wherever a producer or a caller could put them (extra row fields and
CSV columns, rejected and repeated rows, query parameters, body fields, headers, the caller's IP,
invocation inputs); then every stored byte (state table, reports, bus events) and every log line
the functions wrote is searched for them. Log lines may carry only the keys that
`pulse.observability` declares.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pulse import bootstrap
from pulse.entrypoints.lists_refresh import RefreshInputError
from pulse.entrypoints.payout import PayoutInputError
from pulse.ingest.datasets import SPECS
from pulse.observability import DECLARED_LOG_KEYS, POWERTOOLS_LOG_KEYS, logger
from pulse_cli.lambdas import invoke
from pulse_cli.template import Stack
from pulse_cli.uploads import put_bytes, upload_batch
from pulse_local.apigw import rest_event
from tests.factories import campaign, creator, revenue, video
from tests.reliability.state import report_objects, table_items

Events = Callable[[], list[dict[str, Any]]]

# What identifies a person: none of these may be stored or logged, wherever it is sent.
USER_ID = "u-4815162342-zq"
EMAIL = "jane.doe.4815@example.com"
IP = "203.0.113.77"
DEVICE = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
PLANTED = (USER_ID, EMAIL, IP, DEVICE)
IDENTIFYING = {"user_id": USER_ID, "email": EMAIL, "ip_address": IP, "device_id": DEVICE}


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every line the functions log from now on, parsed (Powertools writes JSON lines)."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer, saved = io.StringIO(), handler.stream
    handler.stream = buffer
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.stream = saved


def _stored(stack: Stack, bus_events: Events) -> str:
    """Every byte the system keeps: the state table, the reports bucket and the events."""
    items = [json.dumps(i) for i in table_items(stack)]
    objects = [_text(body) for body in report_objects(stack).values()]
    return "\n".join([*items, *objects, *map(json.dumps, bus_events())])


def _text(body: bytes) -> str:
    return (gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body).decode()


def _api(stack: Stack, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """A call as API Gateway passes it on, with the caller's identity in every header it may use."""
    headers = {
        "User-Agent": f"AdServer/1.0 ({DEVICE})",
        "X-Forwarded-For": IP,
        "Cookie": f"uid={USER_ID}",
        "X-User-Email": EMAIL,
        "Content-Type": "application/json",
    }
    data = None if body is None else json.dumps(body)
    response = invoke(stack, "ApiFunction", rest_event(method, url, data, headers, source_ip=IP))
    return response["statusCode"], json.loads(response["body"])


def _ingest(stack: Stack, s3: Any, deliver: Callable[..., list[Any]]) -> None:
    """Rows carrying identifiers as extra fields and CSV columns: accepted, rejected and repeated."""
    bucket = stack.name_of("IngestBucket")
    creators = [{**creator(f"c{i}"), **IDENTIFYING} for i in range(4)]
    creators.append({**creator("bad", followers="many"), **IDENTIFYING})  # rejected: followers
    creators.append({**creator("c0"), **IDENTIFYING})  # rejected: duplicate_id
    columns = [*SPECS["creators"].field_kinds, *IDENTIFYING]
    for part, snapshot in (("p.csv", "2026-11-25"), ("p.jsonl.gz", "2026-11-26")):
        folder = f"creators/market=US/snapshot={snapshot}/"
        (result,) = deliver(
            upload_batch(s3, bucket, folder, {part: creators}, columns=columns, snapshot=snapshot)
        )
        assert result["batches"][0]["rows_accepted"] == 4
    # A CSV row with one cell too many cannot be split into fields: none of it is kept.
    header = ",".join(SPECS["creators"].field_kinds)
    good = "c9,US,creator,250000,true,12,good,true"
    body = f"{header}\n{good}\n{good},{USER_ID}\n".encode()
    put_bytes(s3, bucket, "creators/market=US/snapshot=2026-11-24/p.csv", body)
    manifest = {
        "dataset": "creators",
        "market": "US",
        "snapshot": "2026-11-24",
        "files": [{"key": "p.csv", "rows": 2}],
    }
    uploaded = put_bytes(
        s3, bucket, "creators/market=US/snapshot=2026-11-24/_manifest.json", json.dumps(manifest).encode()
    )
    (result,) = deliver(uploaded)
    assert result["batches"][0]["rejected_by_reason"] == {"malformed_row": 1}
    videos = [{**video(f"v{i:02d}", f"c{i % 4}", views=i), **IDENTIFYING} for i in range(30)]
    deliver(
        upload_batch(
            s3, bucket, "videos/market=US/snapshot=2026-11-27/", {"p.jsonl": videos}, snapshot="2026-11-27"
        )
    )
    rows = [{**revenue(f"r{i}", "v29", "0000000001", 1_000), **IDENTIFYING} for i in range(3)]
    rows.append({**revenue("r0", "v29", "0000000001", 1_000), **IDENTIFYING})  # duplicate_id
    rows.append({**revenue("r9", "v00", "0000000001", 1_000), **IDENTIFYING})  # not_on_list
    (result,) = deliver(upload_batch(s3, bucket, "revenue/market=US/date=2026-11-27/b1/", {"p.jsonl": rows}))
    assert result["batches"][0]["rows_accepted"] == 3


def _calls(stack: Stack) -> None:
    """Every route, and the schedules' functions invoked directly, offered a user identifier."""
    refused = [
        _api(stack, "GET", f"/v1/placements/v29?market=US&user_id={USER_ID}"),
        _api(
            stack, "POST", "/v1/placements/batch", {"market": "US", "video_ids": ["v29"], "user_id": USER_ID}
        ),
        _api(stack, "GET", f"/v1/toplists/US/pets?email={EMAIL}"),
        _api(stack, "GET", f"/v1/creators/c1?market=US&ip={IP}"),
        _api(stack, "GET", f"/v1/creators/c1/statements/2026-10?market=US&device_id={DEVICE}"),
        _api(stack, "PUT", "/v1/campaigns/k1", {**_CAMPAIGN, "user_id": USER_ID}),
        _api(stack, "GET", f"/v1/campaigns/k1?user_id={USER_ID}"),
        _api(stack, "GET", f"/v1/rules?email={EMAIL}"),
    ]
    assert [status for status, _ in refused] == [400] * len(refused)
    assert all(body["error"]["code"] in ("unknown_parameter", "invalid_request") for _, body in refused)
    served = [
        _api(stack, "GET", "/v1/placements/v29?market=US"),
        _api(stack, "POST", "/v1/placements/batch", {"market": "US", "video_ids": ["v29", "v00"]}),
        _api(stack, "PUT", "/v1/campaigns/k1", _CAMPAIGN),
        _api(stack, "GET", "/v1/creators/c1?market=US"),
    ]
    assert [status for status, _ in served] == [200] * len(served)
    with pytest.raises(PayoutInputError):
        invoke(stack, "PayoutFunction", {"month": "2026-10", "markets": ["US"], "user_id": USER_ID})
    with pytest.raises(RefreshInputError):
        invoke(stack, "ListsRefreshFunction", {"markets": ["US"], "email": EMAIL})
    invoke(stack, "PayoutFunction", {"month": "2026-10", "markets": ["US"]})
    invoke(stack, "ListsRefreshFunction", {"markets": ["US"]})


_CAMPAIGN = campaign()


def test_no_user_identifier_is_accepted_stored_or_logged(
    stack: Stack,
    s3: Any,
    deliver: Callable[..., list[Any]],
    bus_events: Events,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    bootstrap.reset()
    _ingest(stack, s3, deliver)
    _calls(stack)
    stored = _stored(stack, bus_events)
    assert "v29" in stored  # the search does see what was stored
    assert "c1" in stored
    for planted in PLANTED:
        assert planted not in stored, f"{planted} was stored"
    lines = log_lines()
    logged = {line["message"] for line in lines}
    assert {"batch done", "payout requested", "payout run", "refresh requested"} <= logged  # captured
    declared = POWERTOOLS_LOG_KEYS | DECLARED_LOG_KEYS
    for line in lines:
        assert set(line) <= declared, f"undeclared log keys {set(line) - declared}: {line}"
        text = json.dumps(line)
        for planted in PLANTED:
            assert planted not in text, f"{planted} was logged: {line}"
