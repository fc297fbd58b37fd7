"""boto3 clients, created on first use and cached (never at import: cold starts stay short)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client


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


@cache
def _client(service: str) -> Any:
    from botocore.config import Config  # noqa: PLC0415

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=20)
    return session().client(service, config=config)


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def events() -> EventBridgeClient:
    return _client("events")  # type: ignore[no-any-return]


def reset() -> None:
    """Forget every client (tests that start a fresh moto backend, the local stack's endpoint switch)."""
    _client.cache_clear()
