"""Which failures of an AWS call mean "overloaded, try again later", not "this request is wrong".

botocore retries throttling and 5xx itself (standard mode, 5 attempts); what still fails after
that reaches the API as one of these, and is answered 503 with Retry-After instead of a crash
(which API Gateway would turn into a 502).
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from pulse.aws.dynamo import Throttled

# DynamoDB's and S3's throttling and capacity errors, and AWS's generic ones.
OVERLOAD_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalError",
    }
)


def is_overloaded(error: BaseException) -> bool:
    if isinstance(error, Throttled | ConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in OVERLOAD_CODES or status >= 500
    return False
