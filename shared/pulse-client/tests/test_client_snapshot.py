"""Held snapshots: answers in-process equal to the API's, 304 and unchanged versions, atomic swaps
to a new version, refused objects that leave the held version in place, HTTP when nothing is held,
and the background refresh."""

from __future__ import annotations

import dataclasses
import threading
from typing import get_args

import pytest
from pulse_client import Placement, PulseError, PulseRequestError, SnapshotRefusedError
from pulse_client_fake_api import (
    DROP,
    ClientFactory,
    Fail,
    FakePulseApi,
    ObjectFault,
    Route,
    Version,
    make_version,
    unknown_videos,
)

US1, US2, US3 = (make_version("US", n) for n in (1, 2, 3))


def _without_campaigns(placement: Placement) -> Placement:
    return dataclasses.replace(placement, campaigns=None, source="snapshot")


def _every_video(*versions: Version) -> list[str]:
    listed = {e.video_id for v in versions for e in v.entries}
    return sorted(listed) + [f"v{i:04d}" for i in range(100) if f"v{i:04d}" not in listed] + unknown_videos()


def test_in_process_answers_equal_the_apis_for_every_video(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    held = make_client(markets=("US", "GB"))
    over_http = make_client()
    assert held.refresh_now("US") == "loaded"
    assert held.refresh_now("GB") == "loaded"
    requests = len(api.seen())

    for market in ("US", "GB"):
        for video in _every_video(US1):
            found = held.placement(video, market)
            expected = over_http.placement(video, market)
            assert found == _without_campaigns(expected), (market, video)
            assert (found.source, found.campaigns) == ("snapshot", None)
    assert len(api.seen()) == requests + 2 * len(_every_video(US1))  # every request was over_http's
    stats = held.stats()
    assert (stats.snapshot_answers, stats.http_lookups, stats.snapshot_loads) == (
        2 * len(_every_video(US1)),
        0,
        2,
    )
    # the comparison has teeth: listed videos, with campaigns over HTTP, and unlisted ones were compared
    pets = next(e for e in US1.entries if e.category == "pets")
    assert over_http.placement(pets.video_id, "US").campaigns
    assert held.placement(pets.video_id, "US").placeable
    assert not held.placement("v9999", "US").placeable


def test_batch_answers_from_the_snapshot_keep_request_order(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    client = make_client(markets=("US",))
    client.refresh_now("US")
    wanted = _every_video(US1)[::-1] + [US1.entries[0].video_id] * 3
    found = client.placements(wanted, "US")
    assert [p.video_id for p in found] == wanted
    assert found == [client.placement(v, "US") for v in wanted]
    assert {p.list_version for p in found} == {US1.list_version}
    assert api.seen("batch") == []


def test_an_id_the_api_would_refuse_goes_to_the_api(api: FakePulseApi, make_client: ClientFactory) -> None:
    """Not "not listed" from the snapshot: the API's 400, as without a snapshot."""
    client = make_client(markets=("US",))
    client.refresh_now("US")
    with pytest.raises(PulseRequestError) as raised:
        client.placement("not an id!", "US")
    assert (raised.value.status, raised.value.code) == (400, "invalid_request")
    with pytest.raises(PulseRequestError):
        client.placements(["v0001", "not an id!"], "US")


def test_304_keeps_the_snapshot_without_a_download(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client(markets=("US",))
    assert client.refresh_now("US") == "loaded"
    assert client.refresh_now("US") == "unchanged"
    assert client.refresh_now("US") == "unchanged"
    polls = api.seen("snapshot")
    assert [p.status for p in polls] == [200, 304, 304]
    assert "if-none-match" not in polls[0].headers
    assert polls[1].headers["if-none-match"] == polls[2].headers["if-none-match"] != ""
    assert len(api.seen("object")) == 1
    assert client.snapshot_version("US") == US1.list_version
    assert client.stats().snapshot_unchanged == 2


def test_the_same_version_under_a_new_etag_is_not_downloaded_again(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    client = make_client(markets=("US",))
    client.refresh_now("US")
    api.set_etag_salt("b")
    assert client.refresh_now("US") == "unchanged"
    assert client.refresh_now("US") == "unchanged"
    assert [p.status for p in api.seen("snapshot")] == [200, 200, 304]  # the new ETag is the one sent
    assert len(api.seen("object")) == 1


def test_a_new_version_is_swapped_in(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client(markets=("US",))
    over_http = make_client()
    client.refresh_now("US")
    api.publish(US2)
    assert client.snapshot_version("US") == US1.list_version  # nothing changes before a refresh
    assert client.refresh_now("US") == "loaded"
    assert client.snapshot_version("US") == US2.list_version
    for video in _every_video(US1, US2):
        assert client.placement(video, "US") == _without_campaigns(over_http.placement(video, "US"))
    moved = [e for e in US2.entries if US1.find(e.video_id) != e]
    assert moved, "the versions must differ for this test to mean anything"


def test_a_lookup_always_answers_from_one_whole_version(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    """Readers in other threads, while versions are swapped in under them: every batch answer is of
    one version, and is that version's answer for every video."""
    versions = [make_version("US", n) for n in range(1, 6)]
    truth = {v.list_version: v for v in versions}
    client = make_client(markets=("US",))
    client.refresh_now("US")
    videos = _every_video(*versions)
    stop = threading.Event()
    wrong: list[str] = []
    answers = [0]

    def read() -> None:
        while not stop.is_set():
            found = client.placements(videos, "US")
            versions_seen = {p.list_version for p in found}
            if len(versions_seen) != 1:
                wrong.append(f"one answer from {versions_seen}")
                return
            version = truth[str(found[0].list_version)]
            for placement in found:
                entry = version.find(placement.video_id)
                expected = (entry.category, entry.rank, entry.creator_id) if entry else (None, None, None)
                if (placement.category, placement.rank, placement.creator_id) != expected:
                    wrong.append(f"{placement} is not of {version.list_version}")
                    return
            answers[0] += 1

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for version in versions[1:]:
            api.publish(version)
            assert client.refresh_now("US") == "loaded"
    finally:
        stop.set()
        for reader in readers:
            reader.join(30)
    assert not wrong, wrong
    assert answers[0] > 0
    assert client.snapshot_version("US") == versions[-1].list_version


@pytest.mark.parametrize("fault", get_args(ObjectFault))
def test_a_refused_object_keeps_the_held_version(
    api: FakePulseApi, make_client: ClientFactory, fault: ObjectFault
) -> None:
    client = make_client(markets=("US",))
    client.refresh_now("US")
    api.publish(US2)
    api.set_object_fault(fault)
    with pytest.raises(SnapshotRefusedError) as raised:
        client.refresh_now("US")
    assert raised.value.code == _REFUSAL[fault]
    assert client.snapshot_version("US") == US1.list_version
    assert client.placement(US1.entries[0].video_id, "US").list_version == US1.list_version
    assert (client.stats().snapshot_refusals, client.stats().refresh_failures) == (1, 1)

    api.set_object_fault(None)  # the next refresh tries again: the refused version's ETag was not kept
    assert client.refresh_now("US") == "loaded"
    assert client.snapshot_version("US") == US2.list_version


_REFUSAL: dict[ObjectFault, str] = {
    "corrupt": "sha256_mismatch",
    "wrong_sha": "sha256_mismatch",
    "wrong_size": "size_mismatch",
    "oversize": "size_mismatch",
    "unknown_format": "unknown_format",
    "not_gzip": "not_gzip",
    "ragged_columns": "malformed_object",
    "duplicate_video": "malformed_object",
    "wrong_version": "version_mismatch",
    "entries_mismatch": "entries_mismatch",
}


def test_a_refused_first_object_leaves_lookups_on_http(api: FakePulseApi, make_client: ClientFactory) -> None:
    api.set_object_fault("wrong_sha")
    client = make_client(markets=("US",))
    with pytest.raises(SnapshotRefusedError):
        client.refresh_now("US")
    assert client.snapshot_version("US") is None
    found = client.placement(US1.entries[0].video_id, "US")
    assert (found.source, found.placeable) == ("http", True)
    assert [s.route for s in api.seen()] == ["snapshot", "object", "lookup"]


@pytest.mark.parametrize(
    ("route", "fail"),
    [("snapshot", Fail(500)), ("snapshot", Fail(403)), ("object", Fail(403)), ("object", DROP)],
)
def test_a_failed_refresh_keeps_the_held_version(
    api: FakePulseApi, make_client: ClientFactory, route: Route, fail: Fail
) -> None:
    client = make_client(markets=("US",))
    client.refresh_now("US")
    api.publish(US2)
    api.fail_always(route, fail)
    with pytest.raises(PulseError):
        client.refresh_now("US")
    assert client.snapshot_version("US") == US1.list_version
    assert client.stats().refresh_failures == 1
    api.fail_always(route, None)
    assert client.refresh_now("US") == "loaded"


def test_no_list_means_http_lookups(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client(markets=("FR",))
    assert client.refresh_now("FR") == "no_list"
    assert client.snapshot_version("FR") is None
    found = client.placement("v0001", "FR")
    assert (found.source, found.list_version, found.placeable) == ("http", None, False)
    api.publish(make_version("FR", 1))
    assert client.refresh_now("FR") == "loaded"
    assert client.placement("v0001", "FR").source == "snapshot"


def test_markets_not_held_use_http(api: FakePulseApi, make_client: ClientFactory) -> None:
    client = make_client(markets=("US",))
    client.refresh_now("US")
    assert client.placement("v0001", "GB").source == "http"
    assert [p.source for p in client.placements(["v0001", "v0002"], "GB")] == ["http", "http"]
    with pytest.raises(ValueError, match="not one of the markets"):
        client.refresh_now("GB")


def test_start_loads_what_it_can_then_refreshes_in_the_background(
    api: FakePulseApi, make_client: ClientFactory
) -> None:
    loaded: list[tuple[str, str]] = []
    got_new_version = threading.Event()

    def on_loaded(market: str, version: str) -> None:
        loaded.append((market, version))
        if (market, version) == ("US", US3.list_version):
            got_new_version.set()

    api.plan("snapshot", Fail(500))  # the first market's first load fails: start() goes on
    client = make_client(markets=("US", "GB"), refresh_seconds=0.05, on_snapshot_loaded=on_loaded)
    client.start()
    assert client.snapshot_version("US") is None
    assert client.snapshot_version("GB") == make_version("GB", 1).list_version
    assert client.placement("v0001", "US").source == "http"

    api.publish(US3)
    assert got_new_version.wait(10), loaded
    assert client.snapshot_version("US") == US3.list_version
    assert client.placement("v0001", "US").source == "snapshot"
    assert ("GB", make_version("GB", 1).list_version) in loaded

    client.start()  # idempotent
    client.close()
    assert client.snapshot_version("US") is None  # a closed client holds nothing


def test_close_stops_the_background_refresh(api: FakePulseApi, make_client: ClientFactory) -> None:
    def refreshing() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "pulse-client-refresh" and t.is_alive()]

    client = make_client(markets=("US",), refresh_seconds=0.01)
    client.start()
    assert len(refreshing()) == 1
    client.close()
    assert refreshing() == []  # close() joined it
    polls = len(api.seen("snapshot"))
    with pytest.raises(PulseError):
        client.refresh_now("US")
    assert len(api.seen("snapshot")) == polls
