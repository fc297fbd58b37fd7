"""What `make load` runs in locust (its own process: locust patches the standard library with
gevent): the ad server's two calls, a single lookup and a batch of 100, on listed and unlisted
videos. The ids come from the file that PULSE_LOAD_VIDEOS names, one per line; the market from
PULSE_LOAD_MARKET. Every answer other than a 200 is a failure, named by its status."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, task

VIDEOS = Path(os.environ["PULSE_LOAD_VIDEOS"]).read_text().split()
MARKET = os.environ.get("PULSE_LOAD_MARKET", "US")
BATCH = 100
# A tenth of the lookups ask about a video that is on no list, as most ad decisions do.
UNLISTED = [f"unlisted-{n:06d}" for n in range(1_000)]


def _video(rng: random.Random) -> str:
    return rng.choice(UNLISTED) if rng.random() < 0.1 else rng.choice(VIDEOS)


class AdServer(FastHttpUser):
    wait_time = constant(0)  # closed loop: each user asks again as soon as it is answered

    def on_start(self) -> None:
        self.rng = random.Random()

    @task(9)
    def single_lookup(self) -> None:
        video = _video(self.rng)
        with self.client.get(
            f"/v1/placements/{video}?market={MARKET}",
            name="GET /v1/placements/{video_id}",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")

    @task(1)
    def batch_of_100(self) -> None:
        listed = self.rng.sample(VIDEOS, min(len(VIDEOS), BATCH * 9 // 10))
        wanted = listed + self.rng.sample(UNLISTED, BATCH - len(listed))  # 100 distinct ids
        body = json.dumps({"market": MARKET, "video_ids": wanted})
        with self.client.post(
            "/v1/placements/batch",
            data=body,
            headers={"Content-Type": "application/json"},
            name="POST /v1/placements/batch (100)",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
