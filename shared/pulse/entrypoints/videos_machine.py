"""VideosSnapshotMachine's Lambda tasks: each event names its step and carries the batch (the
execution's input); the step runs and answers what the state machine's next state reads."""

from __future__ import annotations

from typing import Any

from pulse import bootstrap
from pulse.lists.snapshot_machine import BatchRef
from pulse.observability import logger


def _batch(event: dict[str, Any]) -> BatchRef:
    return BatchRef.model_validate(event["batch"])


def part_step(event: dict[str, Any]) -> dict[str, Any]:
    """VideoPartFunction: one part of the snapshot (an item of the Distributed Map)."""
    result = bootstrap.snapshot_parts().read_part(_batch(event), event["item"])
    logger.info("part read", extra={"key": event["item"]["key"], "rows_read": result.rows_read})
    return {"index": result.index, "rows_read": result.rows_read}


def rank_step(event: dict[str, Any]) -> dict[str, Any]:
    """VideosRankFunction: start the ranking queries, or say where they are."""
    queries = bootstrap.snapshot_ranking()
    if event["step"] == "start":
        return queries.start(_batch(event), event["parts"])
    if event["step"] == "status":
        return queries.status(list(event["queries"]))
    raise ValueError(f"VideosRankFunction runs no step {event['step']!r}")


def steps(event: dict[str, Any]) -> dict[str, Any]:
    """VideosStepsFunction: plan, prepare, write a block, finish, or release a failed run."""
    machine = bootstrap.snapshot_steps()
    batch, step = _batch(event), event["step"]
    if step == "plan":
        return machine.plan(batch)
    if step == "prepare":
        return machine.prepare(batch, event["parts"])
    if step == "write_block":
        machine.write_block(batch, str(event["item"]))
        return {"block": event["item"]}
    if step == "finish":
        summary = machine.finish(batch, event["parts"])
        logger.info(
            "batch done",
            extra={
                "manifest_key": batch.manifest_key,
                "status": summary["status"],
                "rows_read": summary["rows_read"],
            },
        )
        return summary
    if step == "release":
        logger.error(
            "large snapshot failed",
            extra={"manifest_key": batch.manifest_key, "reason": str(event.get("error"))},
        )
        machine.release(batch)
        return {"released": True}
    raise ValueError(f"VideosStepsFunction runs no step {step!r}")
