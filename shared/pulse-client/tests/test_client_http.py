"""The client over HTTP: what it sends (SigV4, one kept-alive connection), what it retries and
within what, what it raises, and the batch lookups' chunks and order."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from botocore.credentials import Credentials
from pulse_client import (
    Campaign,
    ClientClosedError,
    Placement,
    PulseProtocolError,
    PulseRequestError,
    PulseUnavailableError,
    RetryPolicy,
)
from pulse_client_fake_api import (
    DROP,
    HANG,
    KEY_ID,
    KEY_SECRET,
    OTHER_KEY_ID,
    OTHER_KEY_SECRET,
    SESSION_KEY_ID,
    SESSION_KEY_SECRET,
    SESSION_TOKEN,
    ClientFactory,
    Fail,
    FakePulseApi,
    PlacementJson,
    error_body,
    make_version,
    unknown_videos,
)

US = make_version("US", 1)


def _http(answer: PlacementJson) -> Placement:
    """The fake API's JSON answer as the Placement the client must make of it."""
    return Placement(
        video_id=answer["video_id"],
        market=answer["market"],
        placeable=answer["placeable"],
        list_version=answer["list_version"],
        category=answer["category"],
        iab_categories=tuple(answer["iab_categories"]),
        rank=answer["rank"],
        creator_id=answer["creator_id"],
        campaigns=tuple(
            Campaign(c["campaign_id"], c["advertiser"], c["priority"]) for c in answer["campaigns"]
        ),
        source="http",
    )


# -- what is sent ---------------------------------------------------------------------------------


def test_every_api_request_is_sigv4_signed_for_execute_api(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    client = make_client(markets=("US",))
    client.placement(US.entries[0].video_id, "US")
    client.placements([US.entries[1].video_id, "v9999"], "US")
    client.refresh_now("US")
    client.refresh_now("US")  # a poll with If-None-Match: that header is signed too

    calls = [s for s in api.seen() if s.route != "object"]
    assert [s.route for s in calls] == ["lookup", "batch", "snapshot", "snapshot"]
    assert calls[-1].headers["if-none-match"]
    for seen in calls:
        assert seen.signature == "valid", seen  # recomputed by the server with the secret key
        authorization = seen.headers["authorization"]
        day = seen.headers["x-amz-date"][:8]
        assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{day}/us-east-1/execute-api/")
        assert "x-amz-security-token" not in seen.headers
        assert seen.headers["user-agent"] == "pulse-client/0.1.0"
    assert "if-none-match" in calls[-1].headers["authorization"].split("SignedHeaders=")[1].split(",")[0]


def test_temporary_credentials_send_their_session_token(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    client = make_client(credentials=Credentials(SESSION_KEY_ID, SESSION_KEY_SECRET, SESSION_TOKEN))
    client.placement("v9999", "US")
    (seen,) = api.seen("lookup")
    assert seen.signature == "valid"
    assert seen.headers["x-amz-security-token"] == SESSION_TOKEN


def test_a_wrong_secret_is_refused_by_the_server_and_not_retried(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    """The signature check is real: a request signed with the wrong secret is a 403, not retried."""
    client = make_client(credentials=Credentials(KEY_ID, "not-the-secret"))
    with pytest.raises(PulseRequestError) as raised:
        client.placement("v9999", "US")
    assert raised.value.status == 403
    assert [s.signature for s in api.seen()] == ["invalid"]


def test_credentials_are_read_again_for_every_request(api: FakePulseApi, make_client: ClientFactory) -> None:
    credentials = Credentials(KEY_ID, KEY_SECRET)
    client = make_client(credentials=credentials)
    client.placement("v9999", "US")
    credentials.access_key, credentials.secret_key = OTHER_KEY_ID, OTHER_KEY_SECRET  # as a refresh does
    client.placement("v9999", "US")
    first, second = api.seen("lookup")
    assert (first.signature, second.signature) == ("valid", "valid")
    assert KEY_ID in first.headers["authorization"]
    assert OTHER_KEY_ID in second.headers["authorization"]


def test_calls_share_one_kept_alive_connection(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client(markets=("US",))
    for video in ("v9999", US.entries[0].video_id, "nope"):
        client.placement(video, "US")
    with pytest.raises(PulseRequestError):  # an error answer is read whole: the connection stays usable
        client.placement("v9999", "ZZ")
    client.placements(["a", "b"], "US")
    client.refresh_now("US")  # the poll, then the object from the same host
    client.refresh_now("US")
    assert len(api.seen()) == 8
    assert api.connections == 1
    assert {s.connection for s in api.seen()} == {1}


def test_lookups_from_many_threads_share_the_pool(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client(pool_maxsize=8)  # one connection per thread at most, none ever discarded
    videos = [e.video_id for e in US.entries[:10]] + unknown_videos()
    wrong: list[str] = []
    start = threading.Barrier(8)

    def lookups() -> None:
        start.wait()
        for video in videos:
            if client.placement(video, "US") != _http(api.placement_answer(video, "US")):
                wrong.append(video)

    threads = [threading.Thread(target=lookups) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not wrong
    assert len(api.seen("lookup")) == 8 * len(videos)
    assert api.connections <= 8  # 112 requests, each on a connection that was kept and reused
    assert client.stats().http_lookups == 8 * len(videos)


def test_the_object_is_fetched_unsigned(api: FakePulseApi, make_client: ClientFactory) -> None:
    make_client(markets=("US",)).refresh_now("US")
    (seen,) = api.seen("object")
    assert seen.status == 200
    assert seen.signature == "absent"
    assert "x-amz-date" not in seen.headers
    assert seen.query["X-Amz-Signature"] == "ab12"  # the presigned query, sent as given


# -- answers --------------------------------------------------------------------------------------


def test_an_http_lookup_answers_what_the_api_answers(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client()
    pets = next(e for e in US.entries if e.category == "pets")
    found = client.placement(pets.video_id, "US")
    assert found == _http(api.placement_answer(pets.video_id, "US"))
    assert found.source == "http"
    assert found.campaigns == (Campaign("camp-1", "Purina", 9), Campaign("camp-2", "Chewy", 5))
    assert (found.placeable, found.category, found.rank) == (True, "pets", pets.rank)
    missing = client.placement("v9999", "US")
    assert (missing.placeable, missing.list_version, missing.campaigns) == (False, US.list_version, ())


def test_a_market_without_a_list_answers_no_version(api: FakePulseApi, make_client: ClientFactory) -> None:
    found = make_client().placement("v0001", "FR")
    assert (found.placeable, found.list_version, found.iab_categories) == (False, None, ())


def test_batch_lookups_go_in_chunks_of_100_in_request_order(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    client = make_client()
    listed = [e.video_id for e in US.entries]
    wanted = [f"x{i:03d}" for i in range(230)] + listed + listed[:5]  # 270 distinct, 5 repeated
    found = client.placements(wanted, "US")

    assert [p.video_id for p in found] == wanted
    assert found == [_http(api.placement_answer(v, "US")) for v in wanted]
    sent = [s.body for s in api.seen("batch")]
    chunks = [json.loads(body)["video_ids"] for body in sent]
    assert [len(c) for c in chunks] == [100, 100, 70]
    assert [v for c in chunks for v in c] == list(dict.fromkeys(wanted))  # each id once, in order
    assert all(s.headers["content-type"] == "application/json" for s in api.seen("batch"))
    assert client.placements([], "US") == []


# -- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_overload_and_gateway_errors_are_retried(
    api: FakePulseApi, make_client: ClientFactory, status: int
) -> None:
    api.plan("lookup", Fail(status, retry_after="0"), Fail(status))
    client = make_client()
    assert client.placement("v9999", "US").list_version == US.list_version
    assert [s.status for s in api.seen("lookup")] == [status, status, 200]
    assert client.stats().retries == 2


def test_a_dropped_connection_is_retried_on_a_new_one(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client()
    client.placement("v9999", "US")
    api.plan("lookup", DROP)
    assert client.placement("nope", "US").video_id == "nope"
    assert [s.status for s in api.seen("lookup")] == [200, None, 200]
    assert api.connections == 2


def test_retry_after_is_waited_for_when_it_fits_the_budget(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    api.plan("lookup", Fail(503, retry_after="0.2"))
    client = make_client()
    began = time.monotonic()
    client.placement("v9999", "US")
    assert time.monotonic() - began >= 0.2
    assert len(api.seen("lookup")) == 2


def test_retry_after_beyond_the_budget_ends_the_call_at_once(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    api.plan("lookup", Fail(503, retry_after="5"))
    client = make_client(retry=RetryPolicy(budget_seconds=0.5, max_attempts=5))
    began = time.monotonic()
    with pytest.raises(PulseUnavailableError) as raised:
        client.placement("v9999", "US")
    assert time.monotonic() - began < 0.5
    assert (raised.value.status, raised.value.code, raised.value.attempts) == (
        503,
        "dependency_overloaded",
        1,
    )
    assert len(api.seen("lookup")) == 1


def test_the_attempt_cap_ends_the_retries(api: FakePulseApi, make_client: ClientFactory) -> None:
    api.fail_always("lookup", Fail(502))
    client = make_client(retry=RetryPolicy(budget_seconds=3.0, max_attempts=4, backoff_base_seconds=0.001))
    with pytest.raises(PulseUnavailableError) as raised:
        client.placement("v9999", "US")
    assert (raised.value.status, raised.value.code, raised.value.attempts) == (502, "http_502", 4)
    assert len(api.seen("lookup")) == 4


def test_the_budget_is_a_deadline_even_for_an_answer_that_never_comes(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    api.fail_always("lookup", HANG)
    client = make_client(retry=RetryPolicy(budget_seconds=0.3, max_attempts=10), read_timeout_seconds=5.0)
    began = time.monotonic()
    with pytest.raises(PulseUnavailableError) as raised:
        client.placement("v9999", "US")
    assert time.monotonic() - began < 1.0  # the read timeout was cut to the budget
    assert (raised.value.status, raised.value.code) == (None, "timeout")


def test_connection_refused_is_unavailable_after_the_attempts(make_client: ClientFactory) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}/v1api")
    with pytest.raises(PulseUnavailableError) as raised:
        client.placement("v9999", "US")
    assert (raised.value.status, raised.value.code, raised.value.attempts) == (None, "connection_error", 3)


@pytest.mark.parametrize(
    ("status", "code"), [(400, "invalid_request"), (404, "not_found"), (405, "x"), (500, "y")]
)
def test_other_errors_are_not_retried(
    api: FakePulseApi, make_client: ClientFactory, status: int, code: str
) -> None:
    api.plan("lookup", Fail(status, body=error_body(status, code, "as planned")))
    with pytest.raises(PulseRequestError) as raised:
        make_client().placement("v9999", "US")
    assert (raised.value.status, raised.value.code, raised.value.message) == (status, code, "as planned")
    assert len(api.seen("lookup")) == 1


def test_the_apis_own_refusals_carry_its_code(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client()
    with pytest.raises(PulseRequestError) as raised:
        client.placement("v9999", "ZZ")
    assert (raised.value.status, raised.value.code) == (400, "unknown_market")
    with pytest.raises(PulseRequestError) as raised:
        client.placement("not an id!", "US")
    assert (raised.value.status, raised.value.code) == (400, "invalid_request")


# -- answers that make no sense -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<html>gateway</html>", "not_json"),
        (b'{"video_id": "v9999", "market": "US", "placeable": "yes"}', "malformed_answer"),
        (b"[1, 2]", "malformed_answer"),
        (b'{"video_id": NaN}', "not_json"),
    ],
)
def test_a_malformed_answer_is_a_protocol_error(
    api: FakePulseApi, make_client: ClientFactory, body: bytes, code: str
) -> None:
    api.plan("lookup", Fail(200, body=body))
    with pytest.raises(PulseProtocolError) as raised:
        make_client().placement("v9999", "US")
    assert raised.value.code == code


def test_an_answer_for_another_video_is_a_protocol_error(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    api.plan("lookup", Fail(200, body=json.dumps(api.placement_answer("v0001", "US")).encode()))
    with pytest.raises(PulseProtocolError, match="asked for v9999/US"):
        make_client().placement("v9999", "US")


def test_a_batch_answer_missing_results_is_a_protocol_error(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    api.plan("batch", Fail(200, body=b'{"market": "US", "list_version": null, "results": []}'))
    with pytest.raises(PulseProtocolError, match="0 results for 2 ids"):
        make_client().placements(["a", "b"], "US")


def test_a_closed_client_makes_no_more_requests(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client()
    with client:
        client.placement("v9999", "US")
    with pytest.raises(ClientClosedError):
        client.placement("v9999", "US")
    assert len(api.seen()) == 1
