"""Structured JSON logs and CloudWatch EMF metrics, shared by every function.

Powertools' Logger and Metrics are cheap to create (no clients, no I/O), so they are module-level
singletons as Powertools intends; service name and namespace come from POWERTOOLS_* variables.
"""

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
