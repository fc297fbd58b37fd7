"""pulse-client: the ad server's client for the Pulse placements API (see README.md)."""

from pulse_client.client import LOOKUP_RETRY, REFRESH_RETRY, PulseClient
from pulse_client.errors import (
    ClientClosedError,
    PulseError,
    PulseProtocolError,
    PulseRequestError,
    PulseUnavailableError,
    SnapshotRefusedError,
)
from pulse_client.placement import Campaign, Placement, Source
from pulse_client.retry import RetryPolicy
from pulse_client.snapshot_holder import RefreshOutcome
from pulse_client.stats import ClientStats

__version__ = "0.1.0"

__all__ = [
    "LOOKUP_RETRY",
    "REFRESH_RETRY",
    "Campaign",
    "ClientClosedError",
    "ClientStats",
    "Placement",
    "PulseClient",
    "PulseError",
    "PulseProtocolError",
    "PulseRequestError",
    "PulseUnavailableError",
    "RefreshOutcome",
    "RetryPolicy",
    "SnapshotRefusedError",
    "Source",
    "__version__",
]
