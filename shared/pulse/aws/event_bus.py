"""EventBridge as the `EventPublisher` of every use case (spec §6: bus `EventBus`, source `pulse`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pulse.aws import clients

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "pulse"
_ENTRIES_PER_CALL = 10  # PutEvents' limit
_ATTEMPTS = 5


class PublishError(RuntimeError):
    pass


class EventBridgePublisher:
    def __init__(self, bus_name: str) -> None:
        self._bus = bus_name

    def publish(self, detail_type: str, details: list[dict[str, Any]]) -> None:
        for start in range(0, len(details), _ENTRIES_PER_CALL):
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, separators=(",", ":")),
                    "EventBusName": self._bus,
                }
                for detail in details[start : start + _ENTRIES_PER_CALL]
            ]
            self._put(entries)

    def _put(self, entries: list[PutEventsRequestEntryTypeDef]) -> None:
        for _ in range(_ATTEMPTS):
            response = clients.events().put_events(Entries=entries)
            if not response.get("FailedEntryCount"):
                return
            # Only the failed entries go again; the others are already on the bus.
            failed = [e for e, r in zip(entries, response["Entries"], strict=True) if r.get("ErrorCode")]
            entries = failed
        raise PublishError(f"{len(entries)} events could not be published after {_ATTEMPTS} attempts")
