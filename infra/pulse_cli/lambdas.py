"""Invoke the template's functions in this process, as Lambda would: their environment, their
handler string, a Lambda context, and real S3 notification events for objects that match a route.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pulse_cli.template import ACCOUNT_ID, REGION, ROOT, Stack


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools and the handlers read."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@contextlib.contextmanager
def function_environment(stack: Stack, logical: str) -> Iterator[None]:
    """The function's environment variables set for the duration of one invocation."""
    env = stack.function_environment(logical)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_handler(stack: Stack, logical: str) -> Callable[[dict[str, Any], Any], Any]:
    """The handler callable, imported from the function's CodeUri as Lambda does from /var/task."""
    code_dir = str(ROOT / stack.functions[logical]["Properties"]["CodeUri"])
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module_name, _, attribute = stack.handler_of(logical).rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]


_ONE_AT_A_TIME = threading.RLock()


def invoke(stack: Stack, logical: str, event: dict[str, Any], request_id: str | None = None) -> Any:
    """Run the function's handler on `event` with its deployed environment. A `request_id` of an
    earlier call makes this call Lambda's retry of it (Lambda's retries keep the request id).

    Invocations in one process take turns: each sets its function's environment variables.
    """
    context = _context(stack, logical, request_id)
    with _ONE_AT_A_TIME, function_environment(stack, logical):
        return load_handler(stack, logical)(event, context)


def _context(stack: Stack, logical: str, request_id: str | None = None) -> LambdaContext:
    name = stack.name_of(logical)
    return LambdaContext(
        function_name=name,
        aws_request_id=request_id or str(uuid.uuid4()),
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
    )


def install_environment(stack: Stack, logical: str) -> None:
    """Set the function's environment in this process for good, so that it can be invoked by
    `invoke_concurrently`: refused if another function of the template gives one of its
    variables another value (an invocation of that one would change it under this one's feet)."""
    own = stack.function_environment(logical)
    for other in stack.functions:
        for key, value in stack.function_environment(other).items():
            if key in own and own[key] != value:
                raise RuntimeError(
                    f"{logical} and {other} set {key} differently: they cannot share a process"
                )
    os.environ.update(own)


def invoke_concurrently(stack: Stack, logical: str, event: dict[str, Any]) -> Any:
    """Invoke a function whose environment is installed (`install_environment`) without waiting
    for the other invocations: as Lambda runs a function in many containers at once, beside the
    others. (One process: the containers share the function's warm state, as one container's
    successive invocations would.)"""
    return load_handler(stack, logical)(event, _context(stack, logical))


def s3_put_event(bucket: str, key: str, size: int, etag: str, sequencer: str) -> dict[str, Any]:
    """An `s3:ObjectCreated:Put` notification exactly as S3 sends it (the key URL-encoded)."""
    from urllib.parse import quote_plus  # noqa: PLC0415

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-11-27T02:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": uuid.uuid4().hex,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "pulse-manifest",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag,
                        "sequencer": sequencer,
                    },
                },
            }
        ]
    }


def route_object(
    stack: Stack,
    bucket: str,
    key: str,
    *,
    size: int,
    etag: str,
    sequencer: str,
    request_id: str | None = None,
) -> list[Any]:
    """Deliver the notification for a new object to every function whose S3 event matches it."""
    event = s3_put_event(bucket, key, size, etag, sequencer)
    routes = [route for route in stack.s3_routes() if route.matches(bucket, key)]
    return [invoke(stack, route.function, event, request_id) for route in routes]
