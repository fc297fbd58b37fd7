"""The port every use case announces through (spec §6); EventBridge implements it (`pulse.aws.event_bus`)."""

from __future__ import annotations

from typing import Any, Protocol


class EventPublisher(Protocol):
    def publish(self, detail_type: str, details: list[dict[str, Any]]) -> None: ...
