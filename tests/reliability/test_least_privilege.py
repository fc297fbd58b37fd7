"""Least privilege, per function (spec §7), proved by use rather than by reading the template.

A realistic scenario runs every function of template.yaml on moto (snapshots, a rejected batch with
a missing part file, report objects that are gone, re-delivered notifications, transient failures
that release a run's claim, the daily refresh, a month end and every API route) while a botocore
hook records each AWS call and the function that made it. Each call is mapped to the IAM requests
it makes (action, resource ARN, condition keys) and checked against the function's inline policy
with a small IAM evaluator:

- every call is allowed: the deployed function has what it needs (no under-grant);
- every (action, resource) that a policy grants is used by some call (no over-grant).

A call of an operation this test does not map to IAM yet fails the test too, so a new kind of call
has to be mapped here before it can pass unchecked.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
import pytest
from botocore.exceptions import ClientError

from pulse import bootstrap
from pulse.aws import clients
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.aws.rankings import ranking_key
from pulse.aws.rosters import roster_key
from pulse.ingest.datasets import SPECS
from pulse.money.ledger import LedgerEntry
from pulse.money.month_end import MonthOrderError
from pulse_cli import lambdas
from pulse_cli.template import ACCOUNT_ID, PARTITION, REGION, ROOT, Stack
from pulse_cli.uploads import Uploaded, upload_batch
from pulse_local import step_functions
from pulse_local.apigw import STAGE, rest_event
from pulse_local.resources import create_resources
from tests.factories import REVENUE_COLUMNS, adjustment, creator, revenue, video

STACK = Stack()
FUNCTIONS = sorted(STACK.functions)
ARN = f"arn:{PARTITION}"

# ---------------------------------------------------------------------------------------------- calls


@dataclass
class Call:
    """One AWS API call a function made: its IAM service prefix, operation and parameters."""

    function: str
    service: str
    operation: str
    params: dict[str, Any]
    status: int | None = None
    error: str | None = None

    @property
    def not_found(self) -> bool:
        return self.status == 404 or self.error in ("NoSuchKey", "404", "NotFound")

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


_CALL = "pulse_least_privilege_call"


class Recorder:
    """Records every API call made by any botocore client while a function is being invoked.

    Its handlers go into botocore's built-in handlers, which every new session registers (that is
    how moto itself hooks in), so the functions' own lazily built clients carry them, and so would
    any other client they might create. Calls made while no function runs (the test's own uploads
    and checks) are not recorded. `fail_once` injects a failure, as botocore raises it once its
    retries are spent, into the named function's next call of an operation.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.function: str | None = None
        # The test's own thread: while a state machine's task runs in the interpreter's thread,
        # the test goes on uploading and describing executions, and those calls are not the task's.
        self._test = threading.current_thread()
        self._runner: threading.Thread | None = None
        self._faults: list[tuple[str, str]] = []
        self._lock = threading.Lock()  # the functions call AWS from worker threads too

    def handlers(self) -> list[tuple[str, Callable[..., Any]]]:
        return [
            ("before-parameter-build", self._record),
            ("before-call", self._inject),
            ("after-call", self._outcome),
        ]

    @contextlib.contextmanager
    def running(self, function: str) -> Iterator[None]:
        assert self.function is None, "invocations do not nest"
        self.function, self._runner = function, threading.current_thread()
        try:
            yield
        finally:
            self.function, self._runner = None, None

    def fail_once(self, function: str, call: str) -> None:
        self._faults.append((function, call))

    def _record(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        here = threading.current_thread()
        if self.function is None or (here is self._test and self._runner is not here):
            return
        if model.service_model.signing_name == "lambda":
            # lambda:InvokeFunction is made by the state machines' interpreter, between and beside
            # the tasks it runs (their roles: test_state_machine_roles_invoke_exactly_their_tasks).
            return
        call = Call(
            self.function,
            model.service_model.signing_name,
            model.name,
            {k: v for k, v in params.items() if k != "Body"},
        )
        context[_CALL] = call
        with self._lock:
            self.calls.append(call)

    def _inject(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get(_CALL)
        if call is None:
            return
        with self._lock:
            if (call.function, str(call)) not in self._faults:
                return
            self._faults.remove((call.function, str(call)))
        call.error = "InternalFailure"
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected"}}, model.name)

    def _outcome(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get(_CALL)
        if call is not None:
            call.status = http_response.status_code
            call.error = parsed.get("Error", {}).get("Code")


# ------------------------------------------------------------------------------ calls -> IAM requests


@dataclass(frozen=True)
class Need:
    """One IAM authorisation a call needs: an action on a resource, with its condition keys."""

    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    because: str = ""

    def keys(self) -> dict[str, tuple[str, ...]]:
        return {k.lower(): v for k, v in self.context}

    def __str__(self) -> str:
        condition = "".join(f" [{k}={'|'.join(v)}]" for k, v in self.context)
        return f"{self.action} on {self.resource}{condition} (from {self.because})"


class UnmappedCall(LookupError):
    pass


def _table_arn(table: str, index: str | None = None) -> str:
    if table.startswith("arn:"):
        return table if index is None else f"{table}/index/{index}"
    base = f"{ARN}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}"
    return base if index is None else f"{base}/index/{index}"


def _partition_keys(stack: Stack) -> dict[str, str]:
    """Each table's and index's partition key attribute, by table ARN (or index ARN)."""
    keys: dict[str, str] = {}
    for logical, table in stack.of_type("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        arn = _table_arn(stack.name_of(logical))
        keys[arn] = next(k["AttributeName"] for k in props["KeySchema"] if k["KeyType"] == "HASH")
        for index in props.get("GlobalSecondaryIndexes", []):
            hash_key = next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH")
            keys[f"{arn}/index/{index['IndexName']}"] = hash_key
    return keys


def _scalar(value: Mapping[str, Any]) -> str:
    return str(next(iter(value.values())))


_S3_OBJECT = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject",
}
_DYNAMO_ITEM = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def needs(call: Call, stack: Stack) -> list[Need]:
    """The IAM authorisations the call needs (the Service Authorization Reference, for these calls)."""
    p, op, because = call.params, call.operation, str(call)
    if call.service == "s3":
        bucket_arn = f"{ARN}:s3:::{p['Bucket']}"
        if op in _S3_OBJECT:
            found = [Need(_S3_OBJECT[op], f"{bucket_arn}/{p['Key']}", because=because)]
            if call.not_found:
                # S3 answers 404 (not 403) for a missing key only to a caller that may list the key.
                found.append(
                    Need("s3:ListBucket", bucket_arn, (("s3:prefix", (p["Key"],)),), f"{because} → 404")
                )
            return found
        if op in ("ListObjectsV2", "ListObjects"):
            return [Need("s3:ListBucket", bucket_arn, (("s3:prefix", (p.get("Prefix", ""),)),), because)]
    if call.service == "dynamodb":
        hash_keys = _partition_keys(stack)

        def item_need(action: str, table: str, key: Mapping[str, Any], via: str) -> Need:
            arn = _table_arn(table)
            leading = (_scalar(key[hash_keys[arn]]),) if arn in hash_keys and hash_keys[arn] in key else ()
            return Need(f"dynamodb:{action}", arn, (("dynamodb:LeadingKeys", leading),), via)

        if op in _DYNAMO_ITEM:
            return [item_need(op, p["TableName"], p.get("Key") or p["Item"], because)]
        if op == "TransactWriteItems":
            found = []
            for item in p["TransactItems"]:
                ((kind, spec),) = item.items()
                key = spec.get("Key") or spec["Item"]
                found.append(item_need(_TRANSACT[kind], spec["TableName"], key, f"{because}.{kind}"))
            return found
        if op == "BatchGetItem":
            found = []
            for table, request in p["RequestItems"].items():
                hash_key = hash_keys[_table_arn(table)]
                read = tuple(_scalar(k[hash_key]) for k in request["Keys"])
                context = (("dynamodb:LeadingKeys", read),)
                found.append(Need("dynamodb:BatchGetItem", _table_arn(table), context, because))
            return found
        if op == "BatchWriteItem":
            found = []
            for table, requests in p["RequestItems"].items():
                hash_key = hash_keys[_table_arn(table)]
                written = tuple(
                    _scalar((r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"])[hash_key])
                    for r in requests
                )
                context = (("dynamodb:LeadingKeys", written),)
                found.append(Need("dynamodb:BatchWriteItem", _table_arn(table), context, because))
            return found
        if op in ("Query", "Scan"):
            arn = _table_arn(p["TableName"], p.get("IndexName"))
            queried: tuple[str, ...] = ()
            if op == "Query":
                names = p.get("ExpressionAttributeNames", {})
                for name, value in re.findall(r"(#?\w+)\s*=\s*(:\w+)", p["KeyConditionExpression"]):
                    if names.get(name, name) == hash_keys.get(arn):
                        queried = (_scalar(p["ExpressionAttributeValues"][value]),)
            return [Need(f"dynamodb:{op}", arn, (("dynamodb:LeadingKeys", queried),), because)]
    if call.service == "s3" and op == "GetBucketLocation":
        return [Need("s3:GetBucketLocation", f"{ARN}:s3:::{p['Bucket']}", because=because)]
    if call.service == "states" and op == "StartExecution":
        return [Need("states:StartExecution", p["stateMachineArn"], because=because)]
    if call.service == "states" and op == "DescribeExecution":
        return [Need("states:DescribeExecution", p["executionArn"], because=because)]
    if call.service == "athena" and op in ("StartQueryExecution", "GetQueryExecution"):
        # A query belongs to a work group; the stack has one (a GetQueryExecution names only the id).
        (group,) = (stack.name_of(w) for w in stack.of_type("AWS::Athena::WorkGroup"))
        workgroup = f"{ARN}:athena:{REGION}:{ACCOUNT_ID}:workgroup/{p.get('WorkGroup', group)}"
        return [Need(f"athena:{op}", workgroup, because=because)]
    if call.service == "glue" and op in ("GetDatabase", "GetTable"):
        glue = f"{ARN}:glue:{REGION}:{ACCOUNT_ID}"
        database = p.get("DatabaseName", p.get("Name"))
        found = [Need(f"glue:{op}", f"{glue}:catalog", because=because)]
        found.append(Need(f"glue:{op}", f"{glue}:database/{database}", because=because))
        if op == "GetTable":
            found.append(Need(f"glue:{op}", f"{glue}:table/{database}/{p['Name']}", because=because))
        return found
    if call.service == "events" and op == "PutEvents":
        buses = {e.get("EventBusName", "default") for e in p["Entries"]}
        return [
            Need(
                "events:PutEvents",
                bus if bus.startswith("arn:") else f"{ARN}:events:{REGION}:{ACCOUNT_ID}:event-bus/{bus}",
                because=because,
            )
            for bus in sorted(buses)
        ]
    raise UnmappedCall(f"{call.function} called {because}, which this test does not map to IAM yet")


# ------------------------------------------------------------------------------------- IAM evaluation


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def _arn_like(pattern: str, arn: str) -> bool:
    """ARN matching as IAM does it: segment by segment, the resource part may span `:` and `/`."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(_like(w, a) for w, a in zip(wanted, actual, strict=True))


class UnsupportedPolicy(ValueError):
    pass


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], keys: Mapping[str, Sequence[str]]) -> bool:
    for operator, tests in condition.items():
        qualifier, _, test = operator.rpartition(":")
        if test not in ("StringLike", "StringEquals") or qualifier not in ("", "ForAllValues", "ForAnyValue"):
            raise UnsupportedPolicy(f"condition operator {operator} is not evaluated by this test")
        for key, wanted in tests.items():
            patterns = wanted if isinstance(wanted, list) else [wanted]
            values = keys.get(key.lower(), ())

            def match(
                value: str, patterns: list[str] = patterns, exact: bool = test == "StringEquals"
            ) -> bool:
                return any(value == p if exact else _like(p, value) for p in patterns)

            if qualifier == "ForAllValues":  # true for an absent or empty key, as in IAM
                if not all(match(v) for v in values):
                    return False
            elif qualifier == "ForAnyValue":
                if not any(match(v) for v in values):
                    return False
            elif len(values) != 1 or not match(values[0]):  # a single-valued key must be present
                return False
    return True


@dataclass(frozen=True)
class Grant:
    """One action on one resource pattern of a policy statement, with the statement's condition."""

    sid: str
    effect: str
    action: str
    resource: str
    condition: str = "{}"

    def covers(self, need: Need) -> bool:
        return (
            _like(self.action, need.action, ignore_case=True)
            and _arn_like(self.resource, need.resource)
            and _condition_holds(json.loads(self.condition), need.keys())
        )

    def __str__(self) -> str:
        condition = "" if self.condition == "{}" else f" if {self.condition}"
        return f"{self.sid}: {self.action} on {self.resource}{condition}"


STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(statements: Sequence[Mapping[str, Any]]) -> list[Grant]:
    found = []
    for i, statement in enumerate(statements):
        if not set(statement) <= STATEMENT_KEYS:
            raise UnsupportedPolicy(f"statement keys {sorted(set(statement) - STATEMENT_KEYS)}: {statement}")
        condition = json.dumps(statement.get("Condition", {}), sort_keys=True)
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                found.append(
                    Grant(statement.get("Sid", f"#{i}"), statement["Effect"], action, resource, condition)
                )
    return found


def allowed(policy: Sequence[Grant], need: Need) -> bool:
    matching = [g for g in policy if g.covers(need)]
    return any(g.effect == "Allow" for g in matching) and not any(g.effect == "Deny" for g in matching)


def function_statements(stack: Stack, logical: str) -> list[dict[str, Any]]:
    """The function's inline policy statements, resolved with the stack's physical names."""
    policies = stack.functions[logical]["Properties"].get("Policies", [])
    for policy in policies:
        inline = isinstance(policy, dict) and set(policy) <= {"Statement", "Version"}
        assert inline, f"{logical}: only inline statements can be checked here, not {policy!r}"
    return [s for policy in stack.resolve(policies) for s in policy["Statement"]]


def privilege_problems(stack: Stack, logical: str, calls: Sequence[Call]) -> list[str]:
    """What is wrong with the function's policy for these calls: every needed authorisation it
    lacks, every call nobody mapped, and every grant that none of the calls used."""
    policy = grants(function_statements(stack, logical))
    problems: list[str] = []
    used: set[Grant] = set()
    for call in calls:
        try:
            call_needs = needs(call, stack)
        except UnmappedCall as unmapped:
            problems.append(f"unmapped call: {unmapped}")
            continue
        for need in call_needs:
            covering = [g for g in policy if g.effect == "Allow" and g.covers(need)]
            used.update(covering)
            if not allowed(policy, need):
                problems.append(f"missing grant: {need}")
    problems += [f"unused grant: {g}" for g in policy if g.effect == "Allow" and g not in used]
    return sorted(set(problems))


# ---------------------------------------------------------------------------------------- scenario


@pytest.fixture
def stack(aws: None) -> Stack:
    """The template's stack, with snapshots past 100 rows on VideosSnapshotMachine."""
    built = Stack(parameters={"DistributedVideoRows": "100"})
    create_resources(built)
    step_functions.install(built)
    step_functions.create_state_machines(built)
    return built


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> Recorder:
    """Every AWS call of every function invoked through `pulse_cli.lambdas` from now on."""
    recorded = Recorder()
    monkeypatch.setattr(
        botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS, *recorded.handlers()]
    )
    clients.reset()  # the functions' clients are built again, with the hooks
    bootstrap.reset()
    invoke = lambdas.invoke

    def recording_invoke(
        stack: Stack, logical: str, event: dict[str, Any], request_id: str | None = None
    ) -> Any:
        # One at a time, as `invoke` runs them: the state machines' tasks come from other threads.
        with lambdas._ONE_AT_A_TIME, recorded.running(logical):
            return invoke(stack, logical, event, request_id)

    monkeypatch.setattr(lambdas, "invoke", recording_invoke)  # route_object (deliver) calls it too
    return recorded


Deliver = Callable[..., list[Any]]


@dataclass
class Scenario:
    stack: Stack
    s3: Any
    deliver: Deliver
    recorder: Recorder
    sequence: Iterator[int] = field(default_factory=lambda: iter(range(1, 1000)))

    def upload(
        self, folder: str, parts: dict[str, list[dict[str, Any]]], *, snapshot: str | None = None
    ) -> Uploaded:
        dataset = folder.split("/", maxsplit=1)[0]
        columns = REVENUE_COLUMNS if dataset == "revenue" else list(SPECS[dataset].field_kinds)
        bucket = self.stack.name_of("IngestBucket")
        return upload_batch(self.s3, bucket, folder, parts, columns=columns, snapshot=snapshot)

    def run(self, uploaded: Uploaded, sequencer: str | None = None) -> dict[str, Any]:
        (result,) = self.deliver(uploaded, sequencer or f"{next(self.sequence):016X}")
        return result["batches"][0]  # type: ignore[no-any-return]

    def run_after_a_failure(self, uploaded: Uploaded, function: str, call: str) -> dict[str, Any]:
        """The first attempt fails at `call`; Lambda retries the same notification, which runs again."""
        sequencer = f"{next(self.sequence):016X}"
        self.recorder.fail_once(function, call)
        with pytest.raises(ClientError, match="injected"):
            self.deliver(uploaded, sequencer)
        first = self.run(uploaded, sequencer)
        again = self.run(uploaded, sequencer)  # and S3 delivers that notification twice
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        return first

    def rejected_for_a_missing_part(self, folder: str, rows: list[dict[str, Any]], **kw: Any) -> None:
        """A batch whose manifest lists a part file that is not there: rejected whole."""
        uploaded = self.upload(folder, {"part-0.jsonl": rows, "part-1.jsonl": rows[:1]}, **kw)
        self.s3.delete_object(Bucket=self.stack.name_of("IngestBucket"), Key=folder + "part-1.jsonl")
        result = self.run(uploaded)
        assert (result["status"], result["error"]["code"]) == ("rejected", "missing_file"), result

    def remove_report(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.stack.name_of("ReportsBucket"), Key=key)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return lambdas.invoke(self.stack, function, event)

    def api(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        raw = None if body is None else json.dumps(body)
        response = self.invoke("ApiFunction", rest_event(method, url, raw))
        return response["statusCode"], json.loads(response["body"])


def _campaign(markets: list[str]) -> dict[str, Any]:
    return {
        "advertiser": "Acme Pet Food",
        "markets": markets,
        "categories": ["pets"],
        "start": "2026-01-01",
        "end": "2099-12-31",
        "priority": 50,
        "status": "active",
    }


def _creators(s: Scenario) -> None:
    folder = "creators/market=US/snapshot={}/"
    first = [creator("on1"), creator("on2"), creator("inv", enrolled=False), creator("gone")]
    uploaded = s.upload(folder.format("2026-11-25"), {"p.jsonl": first}, snapshot="2026-11-25")
    assert s.run(uploaded)["rows_accepted"] == 4
    # The next snapshot compares with the last one's roster: "gone" is marked absent; one row is bad.
    second = [creator("on1"), creator("on2"), creator("inv", enrolled=False), creator("bad", followers="x")]
    uploaded = s.upload(folder.format("2026-11-26"), {"p.jsonl": second}, snapshot="2026-11-26")
    assert s.run(uploaded, "00AA")["outcome"]["marked_absent"] == 1
    assert s.run(uploaded, "00AA")["duplicate"] is True  # the same notification, delivered again
    s.rejected_for_a_missing_part(folder.format("2026-11-28"), [creator("on1")], snapshot="2026-11-28")
    # The last roster is gone (expired): nobody can be called absent; EventBridge fails once.
    s.remove_report(roster_key("US", "2026-11-26"))
    third = s.upload(folder.format("2026-11-27"), {"p.jsonl": second[:3]}, snapshot="2026-11-27")
    assert s.run_after_a_failure(third, "CreatorsIngestFunction", "events:PutEvents")["status"] == "processed"


def _videos(s: Scenario) -> str:
    folder = "videos/market={}/snapshot={}/"
    rows = [video(f"p{i:02d}", "on1" if i % 2 == 0 else "on2", "pets", views=i) for i in range(50)]
    result = s.run_after_a_failure(
        s.upload(folder.format("US", "2026-11-27"), {"p.jsonl": rows}, snapshot="2026-11-27"),
        "VideosIngestFunction",
        "events:PutEvents",
    )
    s.rejected_for_a_missing_part(folder.format("US", "2026-11-28"), rows, snapshot="2026-11-28")
    gb = [video("g1", "on1", "pets", views=1, market="GB")]
    s.run(s.upload(folder.format("GB", "2026-11-27"), {"p.jsonl": gb}, snapshot="2026-11-27"))
    s.remove_report(ranking_key("GB", "2026-11-27"))  # the refresh finds GB's ranking gone
    return result["outcome"]["published"]["list_version"]  # type: ignore[no-any-return]


def _large_videos(s: Scenario) -> None:
    """A snapshot past DistributedVideoRows: VideosSnapshotMachine's steps, a bad row and a
    duplicate across parts among them; the same notification again starts nothing."""
    pets = [video(f"p{i:02d}", "on1" if i % 2 == 0 else "on2", "pets", views=i) for i in range(50)]
    rows = [*pets, *(video(f"q{i:03d}", ("on1", "on2")[i % 2], "music", views=i) for i in range(70))]
    parts = {"p0.jsonl": rows[:70], "p1.jsonl": [*rows[70:], rows[3], video("bad", "on1", views_24h=-1)]}
    folder = "videos/market=US/snapshot={}/"
    machine = s.stack.arn_of("VideosSnapshotMachine")

    def executed() -> list[dict[str, Any]]:
        return [step_functions.wait(e["executionArn"]) for e in step_functions.executions(machine)]

    uploaded = s.upload(folder.format("2026-11-28"), parts, snapshot="2026-11-28")
    first = s.run(uploaded, "0B00")
    assert (first["status"], s.run(uploaded, "0B00")["execution"]) == ("started", first["execution"])
    assert [json.loads(e["output"])["summary"]["status"] for e in executed()] == ["processed"]
    # A part file that is not there: the part step finds it missing, the batch is rejected whole.
    missing = s.upload(folder.format("2026-11-24"), {**parts, "p2.jsonl": rows[:1]}, snapshot="2026-11-24")
    s.s3.delete_object(Bucket=s.stack.name_of("IngestBucket"), Key=folder.format("2026-11-24") + "p2.jsonl")
    assert s.run(missing)["status"] == "started"
    # Athena failing at every attempt: the run fails and gives its claim back.
    for _ in range(3):
        s.recorder.fail_once("VideosRankFunction", "athena:StartQueryExecution")
    failing = s.upload(folder.format("2026-11-23"), parts, snapshot="2026-11-23")
    assert s.run(failing)["status"] == "started"
    assert sorted(e["status"] for e in executed()) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]


def _ledger(s: Scenario, version: str) -> None:
    folder = "revenue/market=US/date={}/{}/"
    rows = [
        revenue("r1", "p49", version, 1_500_000),
        revenue("r2", "p48", version, 250_000_000, served_date="2026-10-31"),
        revenue("r3", "p10", version, 9),  # not on the list
    ]
    uploaded = s.upload(folder.format("2026-11-27", "b1"), {"part-0000.csv.gz": rows})
    assert s.run_after_a_failure(uploaded, "RevenueIngestFunction", "events:PutEvents")["rows_rejected"] == 1
    s.rejected_for_a_missing_part(folder.format("2026-11-27", "b2"), rows)
    adjustments = [adjustment("a1", "on1", -1_000, month="2026-10"), adjustment("a2", "on2", -7)]
    uploaded = s.upload("adjustments/market=US/ivt-1/", {"a.jsonl": adjustments})
    booked = s.run_after_a_failure(uploaded, "AdjustmentsIngestFunction", "events:PutEvents")
    assert booked["rows_accepted"] == 2
    s.rejected_for_a_missing_part("adjustments/market=US/ivt-2/", adjustments)


def _schedules(s: Scenario) -> None:
    # on2 is banned: the refresh has new lists to publish (unchanged lists are not republished).
    banned = [creator("on1"), creator("on2", standing="banned"), creator("inv", enrolled=False)]
    s.run(s.upload("creators/market=US/snapshot=2026-11-29/", {"p.jsonl": banned}, snapshot="2026-11-29"))
    markets = {m["market"]: m for m in s.invoke("ListsRefreshFunction", {})["markets"]}
    assert markets["US"]["published"]["unchanged"] is False
    assert markets["GB"]["reason"] == "ranking of 2026-11-27 is missing"
    (run,) = s.invoke("PayoutFunction", {"month": "2026-10", "markets": ["US"]})["runs"]
    assert (run["duplicate"], run["creators"]) == (False, 1)
    assert s.invoke("PayoutFunction", {"month": "2026-10", "markets": ["US"]})["runs"][0]["duplicate"]
    with pytest.raises(MonthOrderError):  # after its claim: the claim is released
        s.invoke("PayoutFunction", {"month": "2026-08", "markets": ["US"]})


def _large_month_end(s: Scenario) -> None:
    """GB's October on PayoutMachine (the same stack, DistributedCreators 0): every step; the
    same invocation again finds the execution done; a month before the last closed one fails in
    the begin step and the execution releases its claim."""
    ledger = DynamoLedgerStore(s.stack.name_of("StateTable"))
    for month in ("2026-08", "2026-10"):  # booked directly: no function's calls
        ledger.record(
            [
                LedgerEntry("revenue", f"gb-{month}-{c}", "GB", c, month, month, micros, 3, "t", {})
                for c, micros in (("on1", 60_000_000), ("on2", 7))
            ]
        )
    on_machine = Stack(
        name=s.stack.name,
        parameters={**s.stack.parameters, "DistributedCreators": "0", "PayoutRangeCreators": "1"},
    )
    step_functions.install(on_machine)
    machine = on_machine.arn_of("PayoutMachine")
    try:
        bootstrap.reset()
        (run,) = lambdas.invoke(on_machine, "PayoutFunction", {"month": "2026-10", "markets": ["GB"]})["runs"]
        assert run["state_machine"]["started"] is True
        (done,) = [step_functions.wait(e["executionArn"]) for e in step_functions.executions(machine)]
        assert (done["status"], json.loads(done["output"])["creators"]) == ("SUCCEEDED", 2)
        (again,) = lambdas.invoke(on_machine, "PayoutFunction", {"month": "2026-10", "markets": ["GB"]})[
            "runs"
        ]
        assert again["duplicate"] is True
        (old,) = lambdas.invoke(on_machine, "PayoutFunction", {"month": "2026-08", "markets": ["GB"]})["runs"]
        failed = step_functions.wait(
            machine.replace(":stateMachine:", ":execution:") + f":{old['state_machine']['execution']}"
        )
        assert failed["status"] == "FAILED"
    finally:
        step_functions.install(s.stack)
        bootstrap.reset()


def _api(s: Scenario) -> None:
    assert s.api("PUT", "/v1/campaigns/k1", _campaign(["US", "GB"]))[0] == 200
    assert s.api("PUT", "/v1/campaigns/k1", _campaign(["US"]))[0] == 200  # leaves GB: a delete
    assert s.api("GET", "/v1/campaigns/k1")[0] == 200
    status, placement = s.api("GET", "/v1/placements/p48?market=US")  # on1: still listed
    assert (status, placement["placeable"], len(placement["campaigns"])) == (200, True, 1)
    status, batch = s.api("POST", "/v1/placements/batch", {"market": "US", "video_ids": ["p48", "zz"]})
    assert (status, [r["placeable"] for r in batch["results"]]) == (200, [True, False])
    assert s.api("GET", "/v1/toplists/US/pets?limit=1")[0] == 200
    assert s.api("GET", "/v1/creators/on1?market=US")[0] == 200
    assert s.api("GET", "/v1/creators/on1/statements/2026-10?market=US")[0] == 200
    assert s.api("GET", "/v1/creators/on1/statements/2026-10/document?market=US")[0] == 200
    assert s.api("GET", "/v1/creators/on1/statements/2026-09/document?market=US")[0] == 404
    status, earned = s.api("GET", "/v1/creators/on1/earnings/2026-10?market=US")  # closed: its statement
    assert (status, earned["closed"]) == (200, True)
    status, earned = s.api("GET", "/v1/creators/on1/earnings/2026-12?market=US")  # open, nothing yet
    assert (status, earned["closed"], earned["videos"]) == (200, False, [])
    assert s.api("GET", "/v1/rules")[0] == 200
    assert s.api("GET", "/v1/openapi.json")[0] == 200
    assert s.api("GET", "/v1/nothing")[0] == 404
    assert s.api("DELETE", "/v1/campaigns/k1")[0] == 405
    status, snapshot = s.api("GET", "/v1/placements/snapshot?market=US")
    assert (status, snapshot["list_version"]) == (200, batch["list_version"])
    # A new container that finds the version's object damaged answers from the table instead.
    lists = s.stack.name_of("ListsBucket")
    s.s3.put_object(
        Bucket=lists, Key=f"placements/market=US/version={batch['list_version']}.json.gz", Body=b"?"
    )
    bootstrap.reset()
    status, again = s.api("POST", "/v1/placements/batch", {"market": "US", "video_ids": ["p48", "zz"]})
    assert (status, again["results"]) == (200, batch["results"])


def test_every_function_is_granted_exactly_the_calls_it_makes(
    stack: Stack, s3: Any, deliver: Deliver, recorder: Recorder
) -> None:
    scenario = Scenario(stack, s3, deliver, recorder)
    _creators(scenario)
    version = _videos(scenario)
    _large_videos(scenario)
    _ledger(scenario, version)
    _schedules(scenario)
    _large_month_end(scenario)
    _api(scenario)

    by_function: dict[str, list[Call]] = {f: [] for f in FUNCTIONS}
    for call in recorder.calls:
        by_function[call.function].append(call)
    never_ran = [f for f, calls in by_function.items() if not calls]
    assert not never_ran, f"the scenario never ran {never_ran}"
    report = {f: privilege_problems(stack, f, calls) for f, calls in by_function.items()}
    assert not any(report.values()), "\n".join(
        f"{f}:\n    " + "\n    ".join(problems) for f, problems in report.items() if problems
    )


# --------------------------------------------------------------------------- the policies themselves

# Actions that would let a function act beyond its own data: change IAM, assume or pass roles.
FORBIDDEN_SERVICES = ("iam:", "sts:", "organizations:", "kms:CreateGrant")
# The account's Glue Data Catalog (one per region): Glue's IAM asks for it beside the database and
# the table a function reads, so it is the one resource here that no stack owns.
GLUE_CATALOG = f"{ARN}:glue:{REGION}:{ACCOUNT_ID}:catalog"
# Actions that have no resource-level permissions, so only `Resource: "*"` can grant them.
RESOURCE_STAR_ONLY = frozenset(
    {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData"}
)


@pytest.mark.parametrize("logical", FUNCTIONS)
def test_policies_grant_named_actions_on_this_stacks_resources_only(logical: str) -> None:
    statements = function_statements(STACK, logical)
    assert statements, f"{logical} has no inline policy"
    for statement in statements:
        assert set(statement) <= STATEMENT_KEYS, statement  # no NotAction / NotResource
        assert statement["Effect"] == "Allow", statement
        for action in _listed(statement["Action"]):
            assert not re.search(r"[*?]", action), f"wildcard action in {statement}"
            assert not action.startswith(FORBIDDEN_SERVICES), f"{action} in {logical}'s policy"
            for resource in _listed(statement["Resource"]):
                if action in RESOURCE_STAR_ONLY:
                    continue
                assert resource != "*", f"{action} on every resource in {logical}'s policy"
                service, region, account = resource.split(":")[2:5]
                assert f"{service}:" == action[: len(service) + 1], f"{action} on a {service} resource"
                assert region in ("", REGION), resource
                assert account in ("", ACCOUNT_ID), resource
                if resource == GLUE_CATALOG and action in ("glue:GetDatabase", "glue:GetTable"):
                    continue  # Glue authorises reading a database or table on the catalog too
                assert STACK.name in resource, f"{resource} is not one of this stack's resources"


@pytest.mark.parametrize(
    "key",
    [
        "ENTRY#US#R#r1",
        "BATCH#revenue/market=US/date=2026-11-27/b1/",
        "PAYOUT#US#2026-10",
    ],
)
def test_the_api_cannot_read_the_ledger_or_the_runs(key: str) -> None:
    """ApiFunction faces the ad server: a flaw in it must not reach money or ingest state."""
    policy = grants(function_statements(STACK, "ApiFunction"))
    table = _table_arn(STACK.name_of("StateTable"))
    for action in ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:PutItem"):
        assert not allowed(policy, Need(action, table, (("dynamodb:LeadingKeys", (key,)),))), (action, key)
    assert allowed(policy, Need("dynamodb:GetItem", table, (("dynamodb:LeadingKeys", ("LISTS#US",)),)))


@pytest.mark.parametrize("key", ["TOTAL#US#2026-10#on1#3", "EARN#US#2026-10#on1#5"])
def test_the_api_reads_a_creator_months_totals_and_lines_and_never_writes_them(key: str) -> None:
    """Earnings (spec §8.2) are answered from the aggregates the ledger keeps, read-only."""
    policy = grants(function_statements(STACK, "ApiFunction"))
    table = _table_arn(STACK.name_of("StateTable"))
    for action in ("dynamodb:Query", "dynamodb:BatchGetItem"):
        assert allowed(policy, Need(action, table, (("dynamodb:LeadingKeys", (key,)),))), (action, key)
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert not allowed(policy, Need(action, table, (("dynamodb:LeadingKeys", (key,)),))), (action, key)


def test_no_other_iam_resource_grants_admin_or_pass_role() -> None:
    for logical, resource in STACK.resources.items():
        if not resource["Type"].startswith("AWS::IAM::"):
            continue
        assert resource["Type"] == "AWS::IAM::ManagedPolicy", f"{logical}: roles come from SAM"
        for statement in STACK.resolve(resource["Properties"]["PolicyDocument"])["Statement"]:
            for action in _listed(statement["Action"]):
                assert "*" not in action, statement
                assert not action.startswith(FORBIDDEN_SERVICES), statement


def _route_requests() -> list[tuple[str, str, str]]:
    """(event, method, a request path) for each API route of the template, with sample values."""
    events = {
        name: event["Properties"]
        for name, event in STACK.functions["ApiFunction"]["Properties"]["Events"].items()
        if event["Type"] == "Api"
    }
    requests = []
    for name, props in events.items():
        path = re.sub(r"\{proxy\+\}", "v1/some/other/path", props["Path"])
        path = re.sub(r"\{(\w+)\}", r"sample-\1", path)
        # ANY covers the methods the resource does not declare itself (API Gateway prefers those).
        declared = {p["Method"].upper() for p in events.values() if p["Path"] == props["Path"]}
        methods = [m for m in ("GET", "POST", "PUT", "DELETE") if m not in declared]
        requests += [
            (name, m, path) for m in (methods if props["Method"].upper() == "ANY" else [props["Method"]])
        ]
    return requests


def test_the_ad_server_may_invoke_the_placement_routes_and_nothing_else() -> None:
    document = STACK.resolve(STACK.resources["AdServerApiPolicy"]["Properties"]["PolicyDocument"])
    policy = grants(document["Statement"])
    assert {g.action for g in policy} == {"execute-api:Invoke"}
    assert {g.effect for g in policy} == {"Allow"}
    api_id = STACK.name_of("PulseApi")
    for grant in policy:
        prefix = f"{ARN}:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{STAGE}/"
        assert grant.resource.startswith(prefix), grant
        method = grant.resource.removeprefix(prefix).split("/")[0]
        assert method in ("GET", "POST", "PUT", "DELETE", "PATCH"), f"every method: {grant}"

    invocations = {
        (name, Need("execute-api:Invoke", f"{ARN}:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{STAGE}/{m}{p}"))
        for name, m, p in _route_requests()
    }
    assert {name for name, need in invocations if allowed(policy, need)} == {
        "GetPlacement",
        "BatchPlacements",
        "GetPlacementsSnapshot",
        "BatchMethods",  # GET /v1/placements/batch is under GET /v1/placements/*: it answers 405
    }
    used = {g for g in policy for _, need in invocations if g.covers(need)}
    assert used == set(policy), f"grants that match no route: {set(policy) - used}"


# ---------------------------------------------------------------------------- the checker can fail


def _call(function: str, service: str, operation: str, **params: Any) -> Call:
    return Call(function, service, operation, params)


BUCKET = STACK.name_of("IngestBucket")
TABLE = STACK.name_of("StateTable")
TABLE_ARN = _table_arn(TABLE)


def test_calls_map_to_the_iam_actions_and_resources_aws_checks() -> None:
    head = _call("F", "s3", "HeadObject", Bucket=BUCKET, Key="creators/x")
    head.status = 404
    assert [(n.action, n.resource, n.keys()) for n in needs(head, STACK)] == [
        ("s3:GetObject", f"{ARN}:s3:::{BUCKET}/creators/x", {}),
        ("s3:ListBucket", f"{ARN}:s3:::{BUCKET}", {"s3:prefix": ("creators/x",)}),
    ]
    listing = _call("F", "s3", "ListObjectsV2", Bucket=BUCKET, Prefix="videos/")
    assert [(n.action, n.keys()) for n in needs(listing, STACK)] == [
        ("s3:ListBucket", {"s3:prefix": ("videos/",)})
    ]
    transaction = _call(
        "F",
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "MARKET#US"}, "sk": {"S": "CLOSED"}},
                }
            },
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "ENTRY#1"}, "sk": {"S": "E"}}}},
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "TOTAL#1"}, "sk": {"S": "T"}}}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "CAMPAIGNS#GB"}, "sk": {"S": "k"}}}},
        ],
    )
    assert [(n.action, n.resource, n.keys()["dynamodb:leadingkeys"]) for n in needs(transaction, STACK)] == [
        ("dynamodb:ConditionCheckItem", TABLE_ARN, ("MARKET#US",)),
        ("dynamodb:PutItem", TABLE_ARN, ("ENTRY#1",)),
        ("dynamodb:UpdateItem", TABLE_ARN, ("TOTAL#1",)),
        ("dynamodb:DeleteItem", TABLE_ARN, ("CAMPAIGNS#GB",)),
    ]
    query = _call(
        "F",
        "dynamodb",
        "Query",
        TableName=TABLE,
        IndexName="ledger",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": {"S": "TOTALS#US#2026-10"}},
    )
    ((need,),) = [needs(query, STACK)]
    assert (need.resource, need.keys()["dynamodb:leadingkeys"]) == (
        f"{TABLE_ARN}/index/ledger",
        ("TOTALS#US#2026-10",),
    )
    with pytest.raises(UnmappedCall, match="sqs:SendMessage"):
        needs(_call("F", "sqs", "SendMessage", QueueUrl="q"), STACK)


def test_the_evaluator_follows_iam_for_wildcards_and_conditions() -> None:
    policy = grants(
        [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": "s3:getobject",
                "Resource": f"{ARN}:s3:::b/creators/*",
            },
            {
                "Sid": "List",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"{ARN}:s3:::b",
                "Condition": {"StringLike": {"s3:prefix": "creators/*"}},
            },
            {
                "Sid": "Campaigns",
                "Effect": "Allow",
                "Action": "dynamodb:PutItem",
                "Resource": f"{ARN}:dynamodb:{REGION}:{ACCOUNT_ID}:table/t?",
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CAMPAIGN#*"]}},
            },
            {
                "Sid": "NotThat",
                "Effect": "Deny",
                "Action": "s3:GetObject",
                "Resource": f"{ARN}:s3:::b/creators/secret",
            },
        ]
    )

    def ok(action: str, resource: str, **keys: tuple[str, ...]) -> bool:
        context = tuple((k.replace("_", ":", 1), v) for k, v in keys.items())
        return allowed(policy, Need(action, resource, context))

    assert ok("s3:GetObject", f"{ARN}:s3:::b/creators/market=US/p.jsonl")
    assert not ok("s3:GetObject", f"{ARN}:s3:::b/videos/p.jsonl")
    assert not ok("s3:GetObject", f"{ARN}:s3:::b/creators/secret")
    assert not ok("s3:PutObject", f"{ARN}:s3:::b/creators/p.jsonl")
    assert ok("s3:ListBucket", f"{ARN}:s3:::b", s3_prefix=("creators/x",))
    assert not ok("s3:ListBucket", f"{ARN}:s3:::b", s3_prefix=("videos/x",))
    assert not ok("s3:ListBucket", f"{ARN}:s3:::b")  # no prefix: the condition does not hold
    table = f"{ARN}:dynamodb:{REGION}:{ACCOUNT_ID}:table/t1"
    assert ok("dynamodb:PutItem", table, dynamodb_LeadingKeys=("CAMPAIGN#k1",))
    assert not ok("dynamodb:PutItem", table, dynamodb_LeadingKeys=("CAMPAIGN#k1", "LISTS#US"))
    assert not ok("dynamodb:PutItem", f"{table}0", dynamodb_LeadingKeys=("CAMPAIGN#k1",))
    assert not ok("dynamodb:PutItem", f"{ARN}:dynamodb:eu-west-1:{ACCOUNT_ID}:table/t1")
    with pytest.raises(UnsupportedPolicy):
        grants([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}])
    with pytest.raises(UnsupportedPolicy):
        _condition_holds({"StringLikeIfExists": {"s3:prefix": "x"}}, {})


def test_a_missing_grant_an_unused_grant_and_an_unmapped_call_are_reported() -> None:
    stack = Stack()
    function = stack.functions["ListsRefreshFunction"]["Properties"]
    statements = function["Policies"][0]["Statement"]
    function["Policies"][0]["Statement"] = [s for s in statements if s["Sid"] != "PublishEvents"]
    calls = [
        _call(
            "ListsRefreshFunction",
            "events",
            "PutEvents",
            Entries=[{"EventBusName": stack.name_of("EventBus")}],
        ),
        _call("ListsRefreshFunction", "dynamodb", "GetItem", TableName=TABLE, Key={"pk": {"S": "LISTS#US"}}),
        _call("ListsRefreshFunction", "sqs", "SendMessage"),
    ]
    problems = privilege_problems(stack, "ListsRefreshFunction", calls)
    assert (
        f"missing grant: events:PutEvents on {stack.arn_of('EventBus')} (from events:PutEvents)" in problems
    )
    assert (
        "unmapped call: ListsRefreshFunction called sqs:SendMessage, which this test does not map to IAM yet"
        in problems
    )
    assert f"unused grant: ListsAndEligibility: dynamodb:BatchWriteItem on {TABLE_ARN}" in problems
    assert not any("dynamodb:GetItem" in p for p in problems)


# ---------------------------------------------------------------------------- the state machines' roles


def _states(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for state in definition["States"].values():
        yield state
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if nested:
                yield from _states(nested)


@pytest.mark.parametrize("logical", sorted(STACK.of_type("AWS::Serverless::StateMachine")))
def test_state_machine_roles_invoke_exactly_their_tasks(logical: str) -> None:
    """A machine's role may invoke the functions its Task states name and nothing else, and start
    (and follow) its own executions only where a Distributed Map needs them."""
    props = STACK.resources[logical]["Properties"]
    definition = json.loads((ROOT / props["DefinitionUri"]).read_text(encoding="utf-8"))
    substitutions = props["DefinitionSubstitutions"]
    tasks = {
        substitutions[state["Parameters"]["FunctionName"][2:-1]]["Fn::GetAtt"][0]
        for state in _states(definition)
        if state["Type"] == "Task"
    }
    assert all(
        state["Resource"] == "arn:aws:states:::lambda:invoke"
        for state in _states(definition)
        if state["Type"] == "Task"
    )
    invokable = {
        p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in props["Policies"] if "LambdaInvokePolicy" in p
    }
    assert invokable == tasks
    statements = [s for p in STACK.resolve(props["Policies"]) if "Statement" in p for s in p["Statement"]]
    distributed = any(
        s.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
        for s in _states(definition)
    )
    own = STACK.arn_of(logical)
    expected = (
        [
            ("states:StartExecution", own),
            ("states:DescribeExecution", own.replace(":stateMachine:", ":execution:") + "/*"),
            ("states:StopExecution", own.replace(":stateMachine:", ":execution:") + "/*"),
        ]
        if distributed
        else []
    )
    granted = [(a, r) for s in statements for a in _listed(s["Action"]) for r in _listed(s["Resource"])]
    assert sorted(granted) == sorted(expected)
