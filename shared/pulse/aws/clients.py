"""boto3 clients, created on first use and cached (never at import: cold starts stay short)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client


@cache
def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415  # imported on first use, not at cold start of every module
    from botocore.config import Config  # noqa: PLC0415

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=20)
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def events() -> EventBridgeClient:
    return _client("events")  # type: ignore[no-any-return]


def reset() -> None:
    """Forget every client (tests that start a fresh moto backend, the local stack's endpoint switch)."""
    _client.cache_clear()
