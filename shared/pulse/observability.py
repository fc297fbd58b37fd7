"""Structured JSON logs and CloudWatch EMF metrics, shared by every function.

Powertools' Logger and Metrics are cheap to create (no clients, no I/O), so they are module-level
singletons as Powertools intends; service name and namespace come from POWERTOOLS_* variables.
"""

import itertools
import logging
import threading
from typing import Any

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="pulse")
metrics = Metrics(namespace="Pulse", service="pulse")

# Every key a log line may carry: Powertools' own, then ours. Nothing from a request (a header, a
# parameter, a body field, a row) reaches a log line unless named here, and none of ours is a
# user identifier; tests/reliability/test_privacy.py checks every line the functions write.
POWERTOOLS_LOG_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "exception",
        "exception_name",
        "stack_trace",
    }
)
DECLARED_LOG_KEYS = frozenset(
    {
        "manifest_key",  # an ingest batch: the S3 key of its manifest
        "key",  # a manifest key outside the layout
        "code",  # a rejection's code
        "reason",  # a rejection's or a skipped refresh's reason
        "status",  # a batch's outcome
        "duplicate",  # a re-delivered batch or payout run
        "rows_read",
        "rows_rejected",
        "market",
        "markets",
        "month",
        "creators",  # statements in a payout run
        "published",  # a refresh's publication: version, snapshot, counts
        "list_version",  # a list version a lookup could not load, or will not hold
        "entries",  # the size of a list version too large to hold
    }
)

# The S3 request that created the manifest: it ties the logs of a batch to the upload in CloudTrail.
S3_NOTIFICATION_CORRELATION = 'Records[0].responseElements."x-amz-request-id"'


class LookupCounter:
    """Lookups served, published as an EMF metric at most once a minute per container.

    Publishing per request would cost tens of microseconds on the ad server's hot path; counting
    is an integer addition. Up to a minute of counts is lost if a container is recycled: API
    Gateway's own `Count` metric per route stays the exact figure.
    """

    def __init__(self, every_seconds: float = 60.0) -> None:
        import time  # noqa: PLC0415

        self._clock = time.monotonic
        self._every = every_seconds
        self._count = 0
        self._since = self._clock()

    def add(self, served: int) -> None:
        self._count += served
        if self._clock() - self._since >= self._every:
            self.flush()

    def flush(self) -> None:
        from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415

        if self._count:
            metrics.add_metric(name="LookupsServed", unit=MetricUnit.Count, value=self._count)
            metrics.flush_metrics()
        self._count = 0
        self._since = self._clock()


lookups_served = LookupCounter()


class InvocationKeys(logging.Filter):
    """The keys Powertools' `inject_lambda_context` puts on every log line (the Lambda context,
    `cold_start`, the correlation id), added only to the lines actually written.

    The decorator rebuilds them on every invocation, about 9 µs with `set_correlation_id`
    (measured by `make bench`): half the API's hot path, which writes no line at all when things
    go well. Here an invocation stores two references, and a line that is written reads them.
    As a handler filter it also reaches lines of child loggers (`pulse.lists.lookups`).
    """

    def __init__(self) -> None:
        super().__init__()
        # Per thread: on Lambda one invocation runs at a time, but the local stack runs every
        # function in one process, the API's requests on threads of their own.
        self._held = threading.local()
        self._invocations = itertools.count(1)  # of the container, any thread: the 1st is its cold start

    def invoked(self, context: Any, correlation_id: str | None) -> None:
        held = self._held
        held.context = context
        held.correlation_id = correlation_id
        held.cold_start = next(self._invocations) == 1  # next() on a count is atomic in CPython

    def filter(self, record: logging.LogRecord) -> bool:
        held = self._held
        context = getattr(held, "context", None)
        if context is not None:
            record.cold_start = held.cold_start
            record.function_name = context.function_name
            record.function_memory_size = context.memory_limit_in_mb
            record.function_arn = context.invoked_function_arn
            record.function_request_id = context.aws_request_id
            record.correlation_id = held.correlation_id
        return True
