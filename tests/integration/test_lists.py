"""Videos snapshots to published lists on moto: ranking, eligibility, versions, refresh, atomicity."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from pulse.aws import clients
from pulse.aws.eligibility_table import DynamoEligibilityStore
from pulse.aws.event_bus import EventBridgePublisher
from pulse.aws.list_table import DynamoListStore
from pulse.aws.placement_objects import S3PlacementObjects
from pulse.core.rules import load_rules
from pulse.eligibility.evaluation import CurrentEligibility
from pulse.lists.publication import Placement, publish_lists
from pulse.lists.ranking import Ranked
from pulse_cli.lambdas import invoke
from pulse_cli.template import Stack
from tests.factories import creator, video

RULES = load_rules()
Deliver = Callable[..., list[Any]]
Events = Callable[[], list[dict[str, Any]]]


def _creators(upload: Callable[..., dict[str, Any]], snapshot: str, rows: list[dict[str, Any]]) -> None:
    upload("creators", snapshot, rows)


def _videos(
    upload: Callable[..., dict[str, Any]], snapshot: str, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    return upload("videos", snapshot, rows, part="p.csv.gz")


def _read_current(stack: Stack) -> tuple[str, dict[str, list[Ranked]], dict[str, Placement]] | None:
    """Everything a reader can see of the market's current lists, through the read paths."""
    store = DynamoListStore(stack.name_of("StateTable"))
    current = store.current("US")
    if current is None:
        return None
    lists = {c: list(store.entries("US", current.version, c)) for c in RULES.categories}
    videos = [e.video_id for entries in lists.values() for e in entries]
    return current.version, lists, store.placements("US", current.version, videos)


def _published_ids(lists: dict[str, list[Ranked]]) -> dict[str, list[tuple[int, str]]]:
    return {c: [(e.rank, e.video_id) for e in entries] for c, entries in lists.items() if entries}


@pytest.fixture
def listed(stack: Stack, upload_snapshot: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Four creators of every status and a snapshot where pets has 30 safe videos (k = 2)."""
    _creators(
        upload_snapshot,
        "2026-11-26",
        [
            creator("on1"),
            creator("on2"),
            creator("inv", enrolled=False),
            creator("low", followers=5),
        ],
    )
    pets = [video(f"p{i:02d}", ["on1", "inv", "on2", "low"][i % 4], "pets", views=i) for i in range(30)]
    rows = [
        *pets,
        video("unsafe", "on1", "pets", views=10_000, brand_safe=False),
        video("g1", "on2", "gaming", views=5),
        video("g2", "ghost", "gaming", views=50),
    ]
    return _videos(upload_snapshot, "2026-11-27", rows)


def test_a_videos_snapshot_publishes_the_top_k_of_active_creators(
    stack: Stack, bus_events: Events, listed: dict[str, Any]
) -> None:
    current = _read_current(stack)
    assert current is not None
    version, lists, placements = current
    # pets: 30 safe videos, k = ceil(30 * 4%) = 2: p29 (inv: invited) and p28 (on1: active).
    # gaming: 2 safe videos, k = 1: g2, whose creator is unknown.
    assert _published_ids(lists) == {"pets": [(2, "p28")]}
    assert placements == {"p28": Placement("p28", "pets", 2, "on1", 28)}
    outcome = listed["outcome"]
    assert outcome["pool_sizes"]["pets"] == 30
    assert outcome["top_k"]["pets"] == 2
    assert outcome["published"]["excluded"] == {"creator_invited": 1, "creator_unknown": 1}
    (event,) = [e for e in bus_events() if e["detail-type"] == "TopListsPublished"]
    assert event["detail"]["list_version"] == version
    assert event["detail"]["snapshot"] == "2026-11-27"
    assert event["detail"]["entries"]["pets"] == 1
    assert set(event["detail"]["entries"]) == set(RULES.categories)


def test_versions_increase_and_a_late_older_snapshot_does_not_replace_newer_lists(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]], listed: dict[str, Any]
) -> None:
    first = _read_current(stack)
    assert first is not None
    _videos(upload_snapshot, "2026-11-28", [video("n1", "on1", "music", views=1)])
    second = _read_current(stack)
    assert second is not None
    assert second[0] > first[0]
    assert _published_ids(second[1]) == {"music": [(1, "n1")]}
    late = _videos(upload_snapshot, "2026-11-20", [video("old", "on1", "music", views=1)])
    assert late["outcome"]["superseded_by"] == "2026-11-28"
    assert _read_current(stack) == second


def test_stale_eligibility_keeps_a_creator_off_the_lists(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]]
) -> None:
    _creators(upload_snapshot, "2026-11-19", [creator("on1")])
    fresh = _videos(upload_snapshot, "2026-11-26", [video("v1", "on1", views=1)])
    assert fresh["outcome"]["published"]["entries"]["pets"] == 1  # 7 days old: still fresh
    stale = _videos(upload_snapshot, "2026-11-27", [video("v1", "on1", views=1)])
    assert stale["outcome"]["published"]["entries"]["pets"] == 0
    assert stale["outcome"]["published"]["excluded"] == {"eligibility_stale": 1}


def test_the_daily_refresh_republishes_with_todays_eligibility(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]], bus_events: Events, listed: dict[str, Any]
) -> None:
    before = _read_current(stack)
    assert before is not None
    _creators(
        upload_snapshot,
        "2026-11-27",
        [
            creator("on1"),
            creator("on2", standing="banned"),
            creator("inv", enrolled=True),
            creator("low", followers=5),
        ],
    )
    result = invoke(stack, "ListsRefreshFunction", {"markets": ["US"]})
    (us,) = result["markets"]
    after = _read_current(stack)
    assert after is not None
    assert after[0] > before[0]
    assert _published_ids(after[1]) == {"pets": [(1, "p29"), (2, "p28")]}  # inv has enrolled
    assert us["published"]["list_version"] == after[0]
    published = [e for e in bus_events() if e["detail-type"] == "TopListsPublished"]
    assert published[-1]["detail"]["list_version"] == after[0]


def test_the_refresh_refuses_input_it_does_not_understand(stack: Stack) -> None:
    with pytest.raises(ValueError, match="markets"):
        invoke(stack, "ListsRefreshFunction", {"markets": "US"})
    with pytest.raises(ValueError, match="not launched"):
        invoke(stack, "ListsRefreshFunction", {"markets": ["ZZ"]})


def test_the_schedule_with_no_snapshots_yet_publishes_nothing(stack: Stack) -> None:
    result = invoke(stack, "ListsRefreshFunction", {})
    assert {m["market"] for m in result["markets"]} == {"US", "GB", "DE", "FR", "IT", "ES"}
    assert all(m["published"] is None for m in result["markets"])


class _KillAfter:
    """Fails the n-th DynamoDB write request of a publication, as a crash at that point would."""

    WRITES = frozenset({"PutItem", "UpdateItem", "BatchWriteItem", "DeleteItem"})

    def __init__(self, n: int) -> None:
        self.n = n
        self.writes = 0

    def __call__(self, model: Any, **_: Any) -> None:
        if model.name in self.WRITES:
            self.writes += 1
            if self.writes == self.n:
                raise RuntimeError(f"killed at write {self.n}")


def test_readers_see_one_whole_version_whichever_write_a_publication_dies_at(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]]
) -> None:
    _creators(upload_snapshot, "2026-11-26", [creator(f"c{i}") for i in range(10)])
    table = stack.name_of("StateTable")
    store, eligibility = DynamoListStore(table, workers=1), DynamoEligibilityStore(table)
    events = EventBridgePublisher(stack.name_of("EventBus"))

    def ranked(prefix: str, size: int) -> dict[str, list[Ranked]]:
        return {
            c: [Ranked(r, f"{prefix}{c}{r}", f"c{r % 10}", 100 - r) for r in range(1, size + 1)]
            for c in list(RULES.categories)[:3]
        }

    def publish(lists: dict[str, list[Ranked]]) -> None:
        publish_lists(
            "US",
            "2026-11-27",
            lists,
            eligibility=eligibility,
            store=store,
            objects=S3PlacementObjects(stack.name_of("ListsBucket")),
            events=events,
            rules=RULES,
            now=dt.datetime(2026, 11, 27, 3, tzinfo=dt.UTC),
        )

    old, new = ranked("a", 45), ranked("b", 45)  # 135 entries each: several BatchWriteItem calls each
    counter = _KillAfter(0)  # kills nothing: counts a whole publication's writes
    clients.dynamodb().meta.events.register("before-call.dynamodb", counter)
    publish(old)
    clients.dynamodb().meta.events.unregister("before-call.dynamodb", counter)
    expected_old = _read_current(stack)
    assert expected_old is not None
    assert sum(len(v) for v in expected_old[1].values()) == 135
    kills = 0
    for n in range(1, 1000):
        killer = _KillAfter(n)
        clients.dynamodb().meta.events.register("before-call.dynamodb", killer)
        try:
            publish(new)
        except RuntimeError:
            kills += 1
            seen = _read_current(stack)
            assert seen is not None
            if seen[0] != expected_old[0]:  # killed after the pointer moved: the new version, whole
                assert _published_ids(seen[1]) == _published_ids(new), f"kill at write {n}: a mixed list"
                assert sorted(seen[2]) == sorted(e.video_id for v in new.values() for e in v)
                continue
            assert seen[1] == expected_old[1], f"after a kill at write {n} readers saw a different list"
            assert seen[2] == expected_old[2]
            continue
        finally:
            clients.dynamodb().meta.events.unregister("before-call.dynamodb", killer)
        break
    assert kills == counter.writes  # every write of the publication was killed once
    assert kills >= 10
    final = _read_current(stack)
    assert final is not None
    assert final[0] > expected_old[0]
    assert _published_ids(final[1]) == {c: [(e.rank, e.video_id) for e in v] for c, v in new.items()}
    assert json.dumps(sorted(final[2])) == json.dumps(sorted(e.video_id for v in new.values() for e in v))


def test_unchanged_lists_are_republished_only_after_twelve_hours_and_outlive_their_retention(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]], bus_events: Events, dynamodb: Any
) -> None:
    _creators(upload_snapshot, "2026-11-26", [creator("c1")])
    table = stack.name_of("StateTable")
    store = DynamoListStore(table)
    lists = {"pets": [Ranked(1, "v1", "c1", 9)]}
    start = dt.datetime(2026, 11, 27, 3, tzinfo=dt.UTC)

    def publish(hours: float) -> Any:
        return publish_lists(
            "US",
            "2026-11-27",
            lists,
            eligibility=DynamoEligibilityStore(table),
            store=store,
            objects=S3PlacementObjects(stack.name_of("ListsBucket")),
            events=EventBridgePublisher(stack.name_of("EventBus")),
            rules=RULES,
            now=start + dt.timedelta(hours=hours),
        )

    first = publish(0)
    assert (first.unchanged, publish(11.9).unchanged) == (False, True)
    assert publish(11.9).version.version == first.version.version
    later = publish(12)
    assert (later.unchanged, later.version.version > first.version.version) == (False, True)
    announced = [e["detail"]["list_version"] for e in bus_events() if e["detail-type"] == "TopListsPublished"]
    assert announced == [first.version.version, later.version.version]
    # Every item of a version outlives its time as current (at most 36 hours) by the retention.
    items = dynamodb.scan(
        TableName=table,
        FilterExpression="contains(pk, :v)",
        ExpressionAttributeValues={":v": {"S": first.version.version}},
    )["Items"]
    assert len(items) >= 2  # its list entry and its placement at least
    floor = start.timestamp() + 36 * 3600 + RULES.list_retention_days * 86_400
    assert all(int(i["expires_at"]["N"]) >= floor for i in items), items


class _EveryoneActive:
    def current(self, market: str, creator_ids: Any) -> dict[str, CurrentEligibility]:
        return {c: CurrentEligibility(c, "active", "2026-11-27") for c in creator_ids}


def test_a_category_spread_over_many_keys_reads_back_whole_in_rank_order_from_any_rank(
    stack: Stack, dynamodb: Any
) -> None:
    """Entries go RANKS_PER_KEY ranks to a partition key (here 4, so that 30 entries make 8 keys
    with a gap of a whole key): paging from any rank, with any limit, reads the one list."""
    table = stack.name_of("StateTable")
    store = DynamoListStore(table, ranks_per_key=4)
    ranks = [r for r in range(1, 41) if not 9 <= r <= 16]  # ranks 9-16 left out (two whole keys)
    ranked = {"pets": [Ranked(r, f"v{r}", f"c{r % 3}", 1_000 - r) for r in ranks]}
    publish_lists(
        "US",
        "2026-11-27",
        ranked,
        eligibility=_EveryoneActive(),
        store=store,
        objects=S3PlacementObjects(stack.name_of("ListsBucket")),
        events=EventBridgePublisher(stack.name_of("EventBus")),
        rules=RULES,
        now=dt.datetime(2026, 11, 27, 3, tzinfo=dt.UTC),
    )
    current = store.current("US")
    assert current is not None
    keys = {i["pk"]["S"] for i in dynamodb.scan(TableName=table)["Items"] if i["pk"]["S"].startswith("LIST#")}
    assert len(keys) == 8  # ranks 1-8, 17-40: blocks 0, 1, 4..9
    reader = DynamoListStore(table)  # another container: the layout comes from the version record
    for after in (0, 3, 4, 7, 8, 12, 16, 17, 39, 40):
        for limit in (None, 1, 3, 5, 100):
            expected = [r for r in ranks if r > after][:limit]
            got = [e.rank for e in reader.entries("US", current.version, "pets", after, limit)]
            assert got == expected, (after, limit)
    assert list(reader.entries("US", current.version, "music")) == []


def test_a_version_written_with_one_key_a_category_is_still_read(stack: Stack, dynamodb: Any) -> None:
    """Versions published before entries were spread over keys stay readable for their retention."""
    table = stack.name_of("StateTable")
    dynamodb.put_item(
        TableName=table,
        Item={"pk": {"S": "LISTS#US"}, "sk": {"S": "VERSION#0000000007"}, "state": {"S": "complete"}},
    )
    for r in (1, 2, 5):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": "LIST#US#0000000007#pets"},
                "sk": {"S": f"{r:08d}"},
                "rank": {"N": str(r)},
                "video_id": {"S": f"v{r}"},
                "creator_id": {"S": "c1"},
                "score": {"N": "9"},
            },
        )
    store = DynamoListStore(table, ranks_per_key=2)
    assert [e.rank for e in store.entries("US", "0000000007", "pets", 1)] == [2, 5]
    assert [e.rank for e in store.entries("US", "0000000007", "pets", 0, 2)] == [1, 2]
