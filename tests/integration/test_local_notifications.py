"""The local stack's stand-in for S3 notifications delivers each new manifest once, as S3 would."""

from typing import Any

from pulse_cli.template import Stack
from pulse_cli.uploads import upload_batch
from pulse_local.notifications import NotificationPump
from tests.factories import creator


def test_each_new_manifest_is_delivered_once_and_parts_never(stack: Stack, s3: Any) -> None:
    delivered: list[str] = []
    pump = NotificationPump(stack, s3, on_result=lambda key, result: delivered.append(key))
    folder = "creators/market=US/snapshot=2026-11-27/"
    upload_batch(
        s3, stack.name_of("IngestBucket"), folder, {"p.jsonl": [creator("a")]}, snapshot="2026-11-27"
    )
    assert pump.pump() == 1
    assert pump.pump() == 0
    assert delivered == [folder + "_manifest.json"]
    upload_batch(
        s3,
        stack.name_of("IngestBucket"),
        folder,
        {"p.jsonl": [creator("a"), creator("b")]},
        snapshot="2026-11-27",
    )
    assert pump.pump() == 1
