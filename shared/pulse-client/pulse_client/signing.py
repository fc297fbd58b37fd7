"""SigV4 for the API (IAM-authorised on API Gateway, service `execute-api`), by botocore.

The credentials are read afresh for every request: `get_frozen_credentials()` hands out one
consistent (key, secret, token) triple, and lets refreshable credentials (an instance role, an
assumed role) renew themselves before they expire, so a long-lived client never signs with an
expired session.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

from pulse_client.errors import PulseError

SERVICE = "execute-api"


def default_credentials() -> Credentials:
    """botocore's default chain: environment, shared files, SSO, container or instance role."""
    found = get_session().get_credentials()
    if found is None:
        raise PulseError("no_credentials", "no AWS credentials found by botocore's default chain")
    return found


class RequestSigner:
    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to send: `headers` with Authorization, X-Amz-Date and, for temporary
        credentials, X-Amz-Security-Token. `url` must be sent exactly as signed (its query encoded)."""
        request = AWSRequest(method=method, url=url, headers=dict(headers), data=body or b"")
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, self._region).add_auth(request)
        return dict(request.headers.items())
