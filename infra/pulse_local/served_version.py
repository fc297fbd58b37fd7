"""A local stack that serves one published version, for `make load` and the client's benchmark:
a moto server built from template.yaml, a version of `per_category` placements in each category
published through the same code as VideosIngestFunction (every creator active), one active
campaign per category PUT through the API, and the local API on a free port of 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from pulse import bootstrap
from pulse.core.rules import load_rules
from pulse.lists.ranking import Ranked
from pulse_cli.template import Stack
from pulse_local.http_api import serve_in_background
from pulse_local.moto_server import aws_environment, free_port, moto_server
from pulse_local.published import publish_all_active
from pulse_local.resources import create_resources


@dataclass(frozen=True)
class Served:
    api: str
    market: str
    list_version: str
    video_ids: list[str]


def _put_campaign(api: str, campaign_id: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(  # noqa: S310  # http://127.0.0.1 only
        f"{api}/v1/campaigns/{campaign_id}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310  # 127.0.0.1
        assert response.status == 200, response.status


@contextlib.contextmanager
def served_version(per_category: int, market: str = "US") -> Iterator[Served]:
    saved = dict(os.environ)
    try:
        with moto_server() as endpoint:
            os.environ.update(aws_environment(endpoint))
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
            bootstrap.reset()
            stack = Stack()
            create_resources(stack, endpoint)
            categories = list(load_rules().categories)
            ranked = {
                category: [
                    Ranked(r, f"vd{c:02d}{r:07d}", f"c{(c * per_category + r) % 5_000:05d}", 10**9 - r)
                    for r in range(1, per_category + 1)
                ]
                for c, category in enumerate(categories)
            }
            publication = publish_all_active(stack, market, ranked)
            server = serve_in_background(stack, free_port())
            api = f"http://127.0.0.1:{server.server_address[1]}"
            try:
                for i, category in enumerate(categories):
                    _put_campaign(
                        api,
                        f"load-{category}",
                        {
                            "advertiser": f"Advertiser {i}",
                            "markets": [market],
                            "categories": [category],
                            "start": "2026-01-01",
                            "end": "2099-12-31",
                            "priority": 10 + i,
                            "status": "active",
                        },
                    )
                videos = [e.video_id for entries in ranked.values() for e in entries]
                yield Served(api, market, publication.version.version, videos)
            finally:
                server.shutdown()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.reset()
