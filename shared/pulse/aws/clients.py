"""boto3 clients, created on first use and cached (never at import: cold starts stay short).

Two retry budgets. The pipelines' functions run for minutes and retry a throttled call 5 times
(botocore's standard mode: capped exponential backoff with jitter, up to 1 + 2 + 4 + 8 s). The
API answers a waiting ad server within a 10 s function timeout: 3 attempts (at most 1 + 2 s of
backoff), short timeouts, then a 503 with Retry-After rather than a timeout. ApiFunction's handler
sets its budget for the invocation (`use_budget`); a context variable, so that the local stack's
concurrent API threads and its pipelines keep theirs.
"""

from __future__ import annotations

import contextvars
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient


@cache
def _models() -> Any:
    """botocore's loader of service models and endpoints, shared by every session of the process:
    it parses each JSON file once (a fresh loader re-reads endpoints.json, 0.1-0.2 s, per session)."""
    from botocore.loaders import create_loader  # noqa: PLC0415

    return create_loader()


def session() -> Any:
    """A new boto3 session (its own credentials and state) that shares the parsed models."""
    import boto3  # noqa: PLC0415  # imported on first use, not at cold start of every module
    import botocore.session  # noqa: PLC0415

    core = botocore.session.get_session()
    core.register_component("data_loader", _models())
    return boto3.session.Session(botocore_session=core)


Budget = Literal["pipeline", "api"]
BUDGETS: dict[str, dict[str, Any]] = {
    "pipeline": {
        "retries": {"mode": "standard", "max_attempts": 5},
        "connect_timeout": 3,
        "read_timeout": 20,
    },
    "api": {"retries": {"mode": "standard", "max_attempts": 3}, "connect_timeout": 1, "read_timeout": 2},
}
_budget: contextvars.ContextVar[str] = contextvars.ContextVar("pulse_aws_budget", default="pipeline")


def use_budget(budget: Budget) -> contextvars.Token[str]:
    """Calls from this context on retry within `budget`; `restore_budget(token)` undoes it."""
    return _budget.set(budget)


def restore_budget(token: contextvars.Token[str]) -> None:
    _budget.reset(token)


@cache
def _client(service: str, budget: str) -> Any:
    from botocore.config import Config  # noqa: PLC0415

    config = Config(**BUDGETS[budget])
    if service == "s3":  # presigned links in SigV4 (botocore may still presign SigV2 by default)
        config = config.merge(Config(signature_version="s3v4"))
    return session().client(service, config=config)


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb", _budget.get())  # type: ignore[no-any-return]


def s3() -> S3Client:
    return _client("s3", _budget.get())  # type: ignore[no-any-return]


def events() -> EventBridgeClient:
    return _client("events", _budget.get())  # type: ignore[no-any-return]


def stepfunctions() -> SFNClient:
    return _client("stepfunctions", _budget.get())  # type: ignore[no-any-return]


def athena() -> Any:
    return _client("athena", _budget.get())


def reset() -> None:
    """Forget every client (tests that start a fresh moto backend, the local stack's endpoint switch)."""
    _client.cache_clear()
