"""S3 notifications for the local stack: moto's server stores objects but cannot invoke our
functions (that would need Docker), so new objects matching a template S3 event are found by
listing the bucket and delivered to their function as the real `ObjectCreated:Put` event.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulse_cli.lambdas import route_object
from pulse_cli.template import S3Route, Stack


@dataclass
class NotificationPump:
    stack: Stack
    s3: Any
    on_result: Callable[[str, Any], None] = lambda key, result: None
    _seen: dict[tuple[str, str], str] = field(default_factory=dict)
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def pump(self) -> int:
        """Deliver every matching object created or overwritten since the last call."""
        delivered = 0
        for route in self.stack.s3_routes():
            for obj in self._list(route):
                marker = f"{obj['ETag']}:{obj['LastModified'].isoformat()}"
                if self._seen.get((route.bucket, obj["Key"])) == marker:
                    continue
                self._seen[(route.bucket, obj["Key"])] = marker
                sequencer = f"{next(self._sequence):016X}"
                for result in route_object(
                    self.stack,
                    route.bucket,
                    obj["Key"],
                    size=obj["Size"],
                    etag=obj["ETag"].strip('"'),
                    sequencer=sequencer,
                ):
                    self.on_result(obj["Key"], result)
                delivered += 1
        return delivered

    def _list(self, route: S3Route) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=route.bucket, Prefix=route.prefix
        ):
            found.extend(o for o in page.get("Contents", []) if o["Key"].endswith(route.suffix))
        return sorted(found, key=lambda o: (o["LastModified"], o["Key"]))
