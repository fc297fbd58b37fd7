"""Shard counts recorded with the data, on moto: a new market's eligibility and a new month's
statements go over 64 partition keys (the template's settings), while markets and months written
before counts were recorded keep their 16 and are still read, served and carried forward."""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pulse import bootstrap
from pulse.aws import clients
from pulse.aws.dynamo import batch_write
from pulse.aws.eligibility_table import DynamoEligibilityStore, to_item
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.aws.payout_table import DynamoPayoutStore, layout_key
from pulse.aws.rosters import S3RosterStore
from pulse.core.rules import load_rules
from pulse.eligibility.evaluation import evaluate
from pulse.ingest.records import CreatorRow
from pulse.money.ledger import LedgerEntry
from pulse.money.month_end import run_month_end
from pulse_cli.lambdas import function_environment, invoke
from pulse_cli.template import Stack
from pulse_local.apigw import rest_event
from tests.factories import creator

RULES = load_rules()
Upload = Callable[..., dict[str, Any]]
IDS = [f"c{i:03d}" for i in range(120)]


def _api(stack: Stack, url: str) -> tuple[int, Any]:
    response = invoke(stack, "ApiFunction", rest_event("GET", url))
    return response["statusCode"], json.loads(response["body"])


def _item(dynamodb: Any, stack: Stack, pk: str, sk: str) -> dict[str, Any] | None:
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    return dynamodb.get_item(TableName=stack.name_of("StateTable"), Key=key).get("Item")  # type: ignore[no-any-return]


def _keys(dynamodb: Any, stack: Stack, prefix: str) -> dict[str, str]:
    """sk -> pk of every item whose pk starts with `prefix`."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=stack.name_of("StateTable"))
    items = [item for page in pages for item in page["Items"]]
    return {i["sk"]["S"]: i["pk"]["S"] for i in items if i["pk"]["S"].startswith(prefix)}


def _shard(creator_id: str, shards: int) -> int:
    return zlib.crc32(creator_id.encode()) % shards


# One creator whose key differs between the two layouts: found only where its market's count says.
MOVED = next(c for c in IDS if _shard(c, 64) >= 16)


@pytest.fixture(autouse=True)
def _fresh_containers() -> None:
    # Functions invoked in this process share the composition root's cache: the first function
    # built decides the settings. Each test starts with none built.
    bootstrap.reset()


# ------------------------------------------------------------------------------------ eligibility


def test_a_new_market_records_64_shards_and_is_read_back_whole_and_per_creator(
    stack: Stack, upload_snapshot: Upload, dynamodb: Any
) -> None:
    rows = [creator(c, enrolled=i % 4 != 0) for i, c in enumerate(IDS)]
    assert upload_snapshot("creators", "2026-11-27", rows)["status"] == "processed"
    marker = _item(dynamodb, stack, "MARKET#US", "CREATORS")
    assert marker is not None
    assert (marker["shards"], marker["latest_snapshot"]) == ({"N": "64"}, {"S": "2026-11-27"})
    keys = _keys(dynamodb, stack, "ELIG#US#")
    assert keys == {c: f"ELIG#US#{_shard(c, 64):02d}" for c in IDS}
    assert len(set(keys.values())) > 16
    whole = DynamoEligibilityStore(stack.name_of("StateTable")).current("US", IDS)
    assert {c: e.status for c, e in whole.items()} == {
        c: "active" if i % 4 else "invited" for i, c in enumerate(IDS)
    }
    for creator_id in (IDS[0], IDS[1], MOVED, IDS[-1]):
        status, body = _api(stack, f"/v1/creators/{creator_id}?market=US")
        assert (status, body["status"]) == (200, whole[creator_id].status), creator_id
    status, body = _api(stack, "/v1/creators/nobody?market=US")
    assert (status, body["error"]["code"]) == (404, "creator_not_found")


def test_a_market_whose_marker_predates_the_count_keeps_its_16_shards(
    stack: Stack, upload_snapshot: Upload, dynamodb: Any
) -> None:
    table, ids = stack.name_of("StateTable"), IDS[:40]
    # GB as the code before counts left it: records under crc32 % 16, a marker with no count,
    # the snapshot's roster beside its report.
    old = [evaluate(CreatorRow.model_validate(creator(c, market="GB")), "2026-11-26", RULES) for c in ids]
    batch_write(table, [{"PutRequest": {"Item": to_item(r, "2026-11-26T06:00:00+00:00", 16)}} for r in old])
    dynamodb.put_item(
        TableName=table,
        Item={"pk": {"S": "MARKET#GB"}, "sk": {"S": "CREATORS"}, "latest_snapshot": {"S": "2026-11-26"}},
    )
    S3RosterStore(stack.name_of("ReportsBucket")).write("GB", "2026-11-26", ids)
    moved = next(c for c in ids[1:] if _shard(c, 64) != _shard(c, 16))  # ids[0] goes absent below

    store = DynamoEligibilityStore(table)
    assert store.shards("GB") == 16
    assert set(store.current("GB", ids)) == set(ids)
    status, body = _api(stack, f"/v1/creators/{moved}?market=GB")
    assert (status, body["status"]) == (200, "active")

    # The next snapshot, through the creators ingest (whose setting is 64): GB keeps its 16.
    rows = [creator(c, market="GB") for c in ids[1:]]
    rows[ids.index(moved) - 1]["standing"] = "banned"
    assert upload_snapshot("creators", "2026-11-27", rows, market="GB")["status"] == "processed"
    marker = _item(dynamodb, stack, "MARKET#GB", "CREATORS")
    assert marker == {
        "pk": {"S": "MARKET#GB"},
        "sk": {"S": "CREATORS"},
        "latest_snapshot": {"S": "2026-11-27"},
    }
    assert _keys(dynamodb, stack, "ELIG#GB#") == {c: f"ELIG#GB#{_shard(c, 16):02d}" for c in ids}
    gone = _item(dynamodb, stack, f"ELIG#GB#{_shard(ids[0], 16):02d}", ids[0])
    assert gone is not None
    assert gone["absent"] == {"BOOL": True}
    status, body = _api(stack, f"/v1/creators/{moved}?market=GB")
    assert (status, body["status"]) == (200, "ineligible")

    # ... while a new market's first snapshot in the same container records 64.
    upload_snapshot("creators", "2026-11-27", [creator("d1", market="DE")], market="DE")
    assert _item(dynamodb, stack, "MARKET#DE", "CREATORS")["shards"] == {"N": "64"}  # type: ignore[index]


def test_a_market_with_no_marker_answers_unknown_creator_until_its_first_snapshot(
    stack: Stack, upload_snapshot: Upload, dynamodb: Any
) -> None:
    status, body = _api(stack, f"/v1/creators/{MOVED}?market=FR")
    assert (status, body["error"]["code"]) == (404, "creator_not_found")
    assert _item(dynamodb, stack, "MARKET#FR", "CREATORS") is None  # a reader records nothing
    upload_snapshot("creators", "2026-11-27", [creator(c, market="FR") for c in IDS], market="FR")
    # The same (warm) API container: a market without a marker was not remembered as 16 shards.
    status, body = _api(stack, f"/v1/creators/{MOVED}?market=FR")
    assert (status, body["creator_id"]) == (200, MOVED)


def test_a_markets_marker_is_never_created_without_a_count(stack: Stack, dynamodb: Any) -> None:
    # A first snapshot that saved no record (the pipeline rejects an empty snapshot first, but
    # the store does not count on it) still records the count before its latest snapshot.
    DynamoEligibilityStore(stack.name_of("StateTable"), new_market_shards=64).set_latest_snapshot(
        "IT", "2026-11-27"
    )
    marker = _item(dynamodb, stack, "MARKET#IT", "CREATORS")
    assert marker is not None
    assert (marker["shards"], marker["latest_snapshot"]) == ({"N": "64"}, {"S": "2026-11-27"})


@pytest.fixture
def api_calls() -> Iterator[list[tuple[str, str]]]:
    """(operation, partition key) of every DynamoDB call the API makes from now on."""
    seen: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, params.get("Key", {}).get("pk", {}).get("S", "")))

    token = clients.use_budget("api")
    client = clients.dynamodb()
    clients.restore_budget(token)
    client.meta.events.register("provide-client-params.dynamodb", record)
    yield seen
    client.meta.events.unregister("provide-client-params.dynamodb", record)


def test_a_warm_creator_lookup_makes_no_request_for_the_count(
    stack: Stack, upload_snapshot: Upload, api_calls: list[tuple[str, str]]
) -> None:
    upload_snapshot("creators", "2026-11-27", [creator(c) for c in IDS])
    api_calls.clear()
    assert _api(stack, f"/v1/creators/{IDS[0]}?market=US")[0] == 200
    assert [pk for _, pk in api_calls].count("MARKET#US") == 2  # cold: the count, then the snapshot
    api_calls.clear()
    assert _api(stack, f"/v1/creators/{MOVED}?market=US")[0] == 200
    assert api_calls == [("GetItem", f"ELIG#US#{_shard(MOVED, 64):02d}"), ("GetItem", "MARKET#US")]


# ------------------------------------------------------------------------------------- statements


def _book(stack: Stack, month: str, amounts: dict[str, int]) -> None:
    entries = [
        LedgerEntry("revenue", f"r-{month}-{c}", "US", c, month, month, micros, 1, "t", {})
        for c, micros in amounts.items()
    ]
    recorded, repeated = DynamoLedgerStore(stack.name_of("StateTable")).record(entries)
    assert (len(recorded), repeated) == (len(entries), [])


def test_a_month_written_with_16_shards_is_served_and_opens_the_next_one_written_with_64(
    stack: Stack, dynamodb: Any
) -> None:
    table = stack.name_of("StateTable")
    # September: below the 50.00 minimum for most, so balances carry into October.
    _book(stack, "2026-09", {c: 20_000_000 + i * 1_000_000 for i, c in enumerate(IDS)})
    with function_environment(stack, "PayoutFunction"):
        # September as the code before counts wrote it: 16 shards, no layout record.
        old = dataclasses.replace(bootstrap.month_end(), store=DynamoPayoutStore(table))
        september = run_month_end("US", "2026-09", old).summary
    dynamodb.delete_item(TableName=table, Key=layout_key("US", "2026-09"))
    assert _keys(dynamodb, stack, "STMT#US#2026-09") == {
        c: f"STMT#US#2026-09#{_shard(c, 16):02d}" for c in IDS
    }
    carried = {
        c: s.closing_balance_micros
        for c in IDS
        if (s := DynamoPayoutStore(table).statement("US", "2026-09", c)) is not None
    }
    assert len(carried) == len(IDS)
    assert sum(carried.values()) == september.totals.closing_balance_micros > 0
    status, body = _api(stack, f"/v1/creators/{MOVED}/statements/2026-09?market=US")
    assert (status, body["closing_balance_micros"]) == (200, carried[MOVED])

    # October, through PayoutFunction (its setting: 64), opens with September's 16 shards.
    _book(stack, "2026-10", dict.fromkeys(IDS, 10_000_000))
    bootstrap.reset()
    (run,) = invoke(stack, "PayoutFunction", {"month": "2026-10", "markets": ["US"]})["runs"]
    assert run["totals"]["opening_balance_micros"] == sum(carried.values())
    layout = _item(dynamodb, stack, "STMT#US#2026-10", "LAYOUT")
    assert layout is not None
    assert layout["shards"] == {"N": "64"}
    october = {k: v for k, v in _keys(dynamodb, stack, "STMT#US#2026-10").items() if k != "LAYOUT"}
    assert october == {c: f"STMT#US#2026-10#{_shard(c, 64):02d}" for c in IDS}
    assert len(set(october.values())) > 16
    store = DynamoPayoutStore(table)
    statements = {c: store.statement("US", "2026-10", c) for c in IDS}
    assert {c: s.opening_balance_micros for c, s in statements.items() if s} == carried
    for month in ("2026-09", "2026-10"):
        status, body = _api(stack, f"/v1/creators/{MOVED}/statements/{month}?market=US")
        assert (status, body["month"]) == (200, month)
    # November's opening balances come from October's 64 shards, in creator order.
    closing = [(c, s.closing_balance_micros) for c, s in sorted(statements.items()) if s]
    assert list(store.closing_balances("US", "2026-10")) == [(c, b) for c, b in closing if b]


def test_a_months_recorded_count_holds_for_a_retry_with_another_setting(stack: Stack) -> None:
    table = stack.name_of("StateTable")
    DynamoPayoutStore(table, new_month_shards=64).save_statements("US", "2026-10", [])
    with function_environment(stack, "PayoutFunction"):
        deps = dataclasses.replace(bootstrap.month_end(), store=DynamoPayoutStore(table, new_month_shards=8))
        _book(stack, "2026-10", {"c1": 120_000_000})
        run_month_end("US", "2026-10", deps)
    assert DynamoPayoutStore(table).shards("US", "2026-10") == 64
    statement = DynamoPayoutStore(table).statement("US", "2026-10", "c1")
    assert statement is not None
    assert statement.payable_micros == 60_000_000
