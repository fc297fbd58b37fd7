"""A large month end on the PayoutMachine state machine (docs/design.md, "Large month ends"), on
moto's Step Functions interpreter with the template's handlers as its Lambda tasks.

The same ledger is booked on two stacks: `stack` (the fixture) runs every month in one invocation
of PayoutFunction; `machine` (another stack beside it, with `DistributedCreators` 0 and ranges of
25 creators) runs every month on the state machine. Statements, `statements.csv`, `summary.json`
and the PayoutRunCompleted event must be identical.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from pulse import bootstrap
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.money import large_month_end, month_end
from pulse.money.ledger import LedgerEntry
from pulse.money.month_end import MonthOrderError
from pulse.money.payout import PayoutTerms, Statement
from pulse.money.payout import statement as real_statement
from pulse_cli.lambdas import invoke
from pulse_cli.template import REGION, Stack
from pulse_local import step_functions
from pulse_local.resources import create_resources

# Both paths on the same data under one clock, compared: in `make test`; left out of `make
# test-future` for CI's time, where the claims and publication they share with one invocation run.
pytestmark = pytest.mark.twin

RANGE = 16
# Ids whose prefixes are other ids, so that range bounds fall between "ab" and "ab-c" and so on.
CREATORS = [f"c{i:04d}" for i in range(200)] + ["a", "ab", "ab-c", "ab_c", "abc", "A", "Z9", "z", "z-"]


def _entries(month: str, creators: list[str], seed: int) -> list[LedgerEntry]:
    rng = random.Random(seed)
    entries = []
    for creator in creators:
        micros = rng.choice([0, 1, 999_999, 10_000_001, 99_999_999, 100_000_000, 250_000_333])
        micros += rng.randrange(0, 5_000_000)
        entries.append(
            LedgerEntry("revenue", f"r-{month}-{creator}", "US", creator, month, month, micros, 7, "t", {})
        )
        if rng.random() < 0.2:
            claw = -rng.randrange(1, 120_000_000)
            entries.append(
                LedgerEntry(
                    "adjustment", f"a-{month}-{creator}", "US", creator, month, month, claw, 0, "t", {}
                )
            )
    return entries


def _book(stack: Stack) -> None:
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    # September: most creators; October: some of them, and some new (the rest have a balance only).
    ledger.record(_entries("2026-09", CREATORS[:160] + CREATORS[200:], seed=9))
    ledger.record(_entries("2026-10", CREATORS[40:], seed=10))


def _copy_ledger(source: Stack, target: Stack) -> None:
    """The same ledger on another stack: its items copied as they are (booking is slow on moto)."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    pages = dynamodb.get_paginator("scan").paginate(TableName=source.name_of("StateTable"))
    items = [item for page in pages for item in page["Items"]]
    table = target.name_of("StateTable")
    for start in range(0, len(items), 25):
        chunk: list[Any] = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: chunk})


def _capture(stack: Stack, name: str) -> Callable[[], list[dict[str, Any]]]:
    """Every PayoutRunCompleted put on the stack's bus from now on (a rule to an SQS queue)."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName=f"capture-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.name_of("EventBus")
    pattern = json.dumps({"source": ["pulse"], "detail-type": ["PayoutRunCompleted"]})
    events.put_rule(Name=f"capture-{name}", EventBusName=bus, EventPattern=pattern)
    events.put_targets(Rule=f"capture-{name}", EventBusName=bus, Targets=[{"Id": "c", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def drain() -> list[dict[str, Any]]:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                seen.append(json.loads(message["Body"])["detail"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    return drain


@pytest.fixture(autouse=True)
def _fresh_deps() -> None:
    bootstrap.reset()


@pytest.fixture
def machine(stack: Stack) -> Iterator[Stack]:
    """A second stack beside `stack`, whose month ends all run on its state machine."""
    other = Stack(
        name="pulse-machine", parameters={"DistributedCreators": "0", "PayoutRangeCreators": str(RANGE)}
    )
    create_resources(other)
    step_functions.create_state_machines(other)
    step_functions.install(other)  # the machine's Lambda tasks run with this stack's environment
    yield other
    step_functions.install(stack)


def _payout(stack: Stack, month: str) -> dict[str, Any]:
    bootstrap.reset()  # two stacks in one process: each invocation builds its own function's objects
    return invoke(stack, "PayoutFunction", {"month": month, "markets": ["US"]})["runs"][0]  # type: ignore[no-any-return]


def _on_machine(stack: Stack, month: str) -> dict[str, Any]:
    """Invoke PayoutFunction, which starts the month's execution; wait for it to end."""
    run = _payout(stack, month)
    assert run["state_machine"]["started"] is True, run
    described = step_functions.wait(_execution_arn(stack, run["state_machine"]["execution"]))
    return {"status": described["status"], "output": json.loads(described.get("output") or "null"), **run}


def _execution_arn(stack: Stack, name: str) -> str:
    return stack.arn_of("PayoutMachine").replace(":stateMachine:", ":execution:") + f":{name}"


def _statements(stack: Stack, month: str) -> list[dict[str, Any]]:
    """The month's statement items, as stored (keys included), and its layout item."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = stack.name_of("StateTable")
    layout = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"STMT#US#{month}"}, "sk": {"S": "LAYOUT"}})
    if "Item" not in layout:
        return []
    found = [layout["Item"]]
    for shard in range(int(layout["Item"]["shards"]["N"])):
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"STMT#US#{month}#{shard:02d}"}},
        )
        found += [item for page in pages for item in page["Items"]]
    return found


def _report(stack: Stack, month: str, name: str) -> str | None:
    s3 = boto3.client("s3", region_name=REGION)
    try:
        body = s3.get_object(
            Bucket=stack.name_of("ReportsBucket"), Key=f"payouts/market=US/month={month}/{name}"
        )
    except s3.exceptions.NoSuchKey:
        return None
    return body["Body"].read().decode()


def _documents(stack: Stack, month: str) -> dict[str, bytes]:
    """The month's statement documents, by key."""
    s3 = boto3.client("s3", region_name=REGION)
    bucket, prefix = stack.name_of("ReportsBucket"), f"payouts/market=US/month={month}/statements/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def _results(stack: Stack, month: str) -> tuple[Any, ...]:
    return (
        _statements(stack, month),
        _report(stack, month, "statements.csv"),
        _report(stack, month, "summary.json"),
        _documents(stack, month),
    )


def _executions(stack: Stack) -> list[dict[str, Any]]:
    return step_functions.executions(stack.arn_of("PayoutMachine"))


def _both(
    stack: Stack, machine: Stack, faults: Callable[[], None] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Book the same ledger on both stacks, pay September and October on each (October after
    `faults` were injected); the summaries."""
    single_events, machine_events = _capture(stack, "single"), _capture(machine, "machine")
    _book(stack)
    _copy_ledger(stack, machine)
    singles, machines = {}, {}
    for month in ("2026-09", "2026-10"):
        if month == "2026-10" and faults is not None:
            faults()
        singles[month] = _payout(stack, month)
        ran = _on_machine(machine, month)
        assert ran["status"] == "SUCCEEDED", ran
        machines[month] = ran["output"]
    assert [e["month"] for e in single_events()] == ["2026-09", "2026-10"]
    assert machine_events() == single_events()  # the same PayoutRunCompleted, in the same order
    return singles, machines


def _assert_identical(
    stack: Stack, machine: Stack, singles: dict[str, Any], machines: dict[str, Any]
) -> None:
    for month in ("2026-09", "2026-10"):
        assert machines[month] == {k: v for k, v in singles[month].items() if k != "duplicate"}
        single, on_machine = _results(stack, month), _results(machine, month)
        assert all(single), "the single run published"
        assert on_machine == single, month


def test_the_machine_gives_the_single_invocations_results_even_when_steps_fail_once(
    stack: Stack, machine: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """September runs cleanly; in October a range's computation fails once, and a range's
    publication fails once after writing its statements: the retries give the same results."""
    failed: list[str] = []

    def once(step: Callable[..., Any], name: str, index: int) -> Callable[..., Any]:
        def flaky(run: Any, creators: Any, deps: Any) -> Any:
            if creators.index == index and name not in failed:
                failed.append(name)
                if name == "publish_range":  # its statements written, then it fails
                    step(run, creators, deps)
                raise RuntimeError(f"injected failure of {name} {index}")
            return step(run, creators, deps)

        return flaky

    def faults() -> None:
        compute, publish = large_month_end.compute_range, large_month_end.publish_range
        monkeypatch.setattr(large_month_end, "compute_range", once(compute, "compute_range", 3))
        monkeypatch.setattr(large_month_end, "publish_range", once(publish, "publish_range", 5))

    singles, machines = _both(stack, machine, faults)
    assert failed == ["compute_range", "publish_range"]
    _assert_identical(stack, machine, singles, machines)
    october = singles["2026-10"]
    assert october["creators"] == len(CREATORS)  # the ones with a balance only are there too
    assert october["creators"] > 10 * RANGE  # at least 11 ranges
    assert all(october["invariants"].values())
    names = sorted(e["name"] for e in _executions(machine))
    assert names == ["US-2026-09-1", "US-2026-10-1"]  # one execution each: the steps were retried


def test_a_second_invocation_starts_nothing_and_changes_nothing(stack: Stack, machine: Stack) -> None:
    _book(machine)
    first = _on_machine(machine, "2026-09")
    assert first["status"] == "SUCCEEDED"
    before = _results(machine, "2026-09"), _executions(machine)
    again = _payout(machine, "2026-09")
    assert again["duplicate"] is True
    assert again["state_machine"] == {"execution": "US-2026-09-1", "started": False, "status": "SUCCEEDED"}
    assert {k: v for k, v in again.items() if k not in ("duplicate", "state_machine")} == first["output"]
    assert (_results(machine, "2026-09"), _executions(machine)) == before
    # The month's claim holds the summary: the single invocation, too, finds it done.
    assert _payout(Stack(name=machine.name), "2026-09")["duplicate"] is True


def test_a_broken_invariant_publishes_nothing_and_releases_the_claim(
    machine: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _capture(machine, "broken")
    _book(machine)

    def off_by_one(creator: str, month: str, totals: Any, opening: int, terms: PayoutTerms) -> Statement:
        s = real_statement(creator, month, totals, opening, terms)
        if creator == "c0100":  # one cent too much, in one range
            return Statement(**{**s.as_dict(), "payable_micros": s.payable_micros + 10_000})
        return s

    monkeypatch.setattr(month_end, "statement", off_by_one)
    failed = _on_machine(machine, "2026-09")
    assert failed["status"] == "FAILED"
    assert _results(machine, "2026-09") == ([], None, None, {})
    assert events() == []
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = machine.name_of("StateTable")
    claim = dynamodb.get_item(TableName=table, Key={"pk": {"S": "PAYOUT#US#2026-09"}, "sk": {"S": "CLAIM"}})
    assert "Item" not in claim  # released: the month can run again
    closed = dynamodb.get_item(TableName=table, Key={"pk": {"S": "MARKET#US"}, "sk": {"S": "CLOSED"}})["Item"]
    assert closed["last_closed"]["S"] == "2026-09"  # and stays closed: late revenue goes to October
    # Fixed, invoked again: the month's next execution runs it.
    monkeypatch.setattr(month_end, "statement", real_statement)
    again = _on_machine(machine, "2026-09")
    assert (again["status"], again["state_machine"]["execution"]) == ("SUCCEEDED", "US-2026-09-2")
    assert len(events()) == 1


def test_months_close_in_order_on_the_machine(machine: Stack) -> None:
    ledger = DynamoLedgerStore(machine.name_of("StateTable"))
    for month, seed in (("2026-06", 6), ("2026-07", 7), ("2026-09", 9)):
        ledger.record(_entries(month, CREATORS[:40], seed))
    assert _on_machine(machine, "2026-07")["status"] == "SUCCEEDED"  # a market's first may be any
    with pytest.raises(MonthOrderError):  # August is not closed: September cannot be yet
        _payout(machine, "2026-09")
    assert [e["name"] for e in _executions(machine)] == ["US-2026-07-1"]
    august = _on_machine(machine, "2026-08")  # balances only
    assert (august["status"], august["output"]["creators"]) == ("SUCCEEDED", 40)
    # June never ran and is before the last closed month: the begin step refuses it, and the
    # execution releases the claim it took.
    assert _on_machine(machine, "2026-06")["status"] == "FAILED"
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    claim = dynamodb.get_item(
        TableName=machine.name_of("StateTable"), Key={"pk": {"S": "PAYOUT#US#2026-06"}, "sk": {"S": "CLAIM"}}
    )
    assert "Item" not in claim
    assert _on_machine(machine, "2026-09")["status"] == "SUCCEEDED"
