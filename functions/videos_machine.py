"""VideosSnapshotMachine's functions (a videos snapshot larger than one invocation): one part read
(VideoPartFunction), the ranking queries (VideosRankFunction), the other steps (VideosStepsFunction)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pulse.entrypoints import videos_machine
from pulse.observability import logger


@logger.inject_lambda_context
def part(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return videos_machine.part_step(event)


@logger.inject_lambda_context
def rank(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return videos_machine.rank_step(event)


@logger.inject_lambda_context
def steps(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return videos_machine.steps(event)
