"""Fixtures: a moto account holding the template's resources, and ways to drive the functions."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pulse import bootstrap
from pulse.core.clock import RunningClock
from pulse_cli.lambdas import route_object
from pulse_cli.template import REGION, Stack
from pulse_cli.uploads import Uploaded
from pulse_local import moto_patches, step_functions
from pulse_local.resources import create_resources
from tests.factories import TEST_NOW


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-years-ahead",
        type=int,
        default=0,
        help="move this process's wall clock N years ahead for the whole run (make test-future)",
    )


_MOTO_SUITES = ("integration", "reliability", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The suites that run AWS on moto are marked `moto` (make test-unit leaves them out); the
    fault sweeps (every test that takes the `sweep` fixture) are marked `sweep`, and tests/reliability
    `reliability` (make test-future leaves both out)."""
    for item in items:
        if any(part in _MOTO_SUITES for part in item.path.parts[-3:-1]):
            item.add_marker(pytest.mark.moto)
        if "reliability" in item.path.parts[-3:-1]:
            item.add_marker(pytest.mark.reliability)
        if "sweep" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.sweep)


def pytest_configure(config: pytest.Config) -> None:
    years = config.getoption("--clock-years-ahead")
    if years:
        import datetime as dt  # noqa: PLC0415

        import time_machine  # noqa: PLC0415

        now = dt.datetime.now(dt.UTC)
        ahead = now.replace(year=now.year + years, day=min(now.day, 28))
        # Started before collection, so imports see it too; ticks on from there in real time.
        time_machine.travel(ahead, tick=True).start()


@pytest.fixture(autouse=True, scope="session")
def test_clock() -> Iterator[None]:
    """The system runs on a clock that starts at TEST_NOW: the suite means the same on any date."""
    bootstrap.use_clock(RunningClock(TEST_NOW))
    yield
    bootstrap.use_clock(None)


@contextlib.contextmanager
def moto_account() -> Iterator[None]:
    """A private, empty moto account; no request leaves the process. For module-scoped accounts
    too, hence a context manager and not only the `aws` fixture."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        moto_patches.install()  # the local stack's moto, so the tests check the patch too
        with mock_aws(config=step_functions.CONFIG):
            bootstrap.reset()
            try:
                yield
            finally:
                bootstrap.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    with moto_account():
        yield


@pytest.fixture
def stack(aws: None) -> Stack:
    """The template's tables, buckets, bus and queues, created on moto from template.yaml, and its
    state machines, whose Lambda tasks run the template's handlers in this process."""
    built = Stack()
    create_resources(built)
    step_functions.install(built)
    step_functions.create_state_machines(built)
    return built


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def bus_capture(stack: Stack) -> Callable[[], list[dict[str, Any]]]:
    """Every event put on the stack's EventBus from now on, read back through a rule and an SQS
    queue: the returned function drains the queue into one list and returns that list."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName="test-bus-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.name_of("EventBus")
    events.put_rule(Name="capture-all", EventBusName=bus, EventPattern=json.dumps({"source": ["pulse"]}))
    events.put_targets(Rule="capture-all", EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def drain() -> list[dict[str, Any]]:
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return seen
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


@pytest.fixture
def bus_events(stack: Stack) -> Callable[[], list[dict[str, Any]]]:
    """Every event put on EventBus from now on, read back through a rule and an SQS queue."""
    return bus_capture(stack)


_sequencer = itertools.count(0x5F0000000000000)


@pytest.fixture
def deliver(stack: Stack) -> Callable[[Uploaded], list[Any]]:
    """S3's notification of an uploaded object, delivered to the functions its key routes to."""

    def _deliver(
        uploaded: Uploaded, sequencer: str | None = None, request_id: str | None = None
    ) -> list[Any]:
        seq = sequencer or f"{next(_sequencer):016X}"
        return route_object(
            stack,
            stack.name_of("IngestBucket"),
            uploaded.key,
            size=uploaded.size,
            etag=uploaded.etag,
            sequencer=seq,
            request_id=request_id,
        )

    return _deliver


@pytest.fixture
def upload_snapshot(
    stack: Stack, s3: Any, deliver: Callable[..., list[Any]]
) -> Callable[..., dict[str, Any]]:
    """Upload a creators or videos snapshot of US (or `market`) and deliver its notification;
    returns the batch's summary."""
    from pulse.ingest.datasets import SPECS  # noqa: PLC0415
    from pulse_cli.uploads import upload_batch  # noqa: PLC0415

    def _upload(
        dataset: str, snapshot: str, rows: list[dict[str, Any]], market: str = "US", part: str = "p.jsonl"
    ) -> dict[str, Any]:
        folder = f"{dataset}/market={market}/snapshot={snapshot}/"
        uploaded = upload_batch(
            s3,
            stack.name_of("IngestBucket"),
            folder,
            {part: rows},
            columns=list(SPECS[dataset].field_kinds),
            snapshot=snapshot,
        )
        (result,) = deliver(uploaded)
        return result["batches"][0]  # type: ignore[no-any-return]

    return _upload
