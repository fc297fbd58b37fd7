"""Each function's environment, validated once and cached (the template sets every value)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


def available_cpus() -> int:
    """The CPUs this process may run on (on Lambda: the vCPUs its memory size gives)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Env(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class PipelineSettings(_Env):
    """The ingest functions, the daily refresh and the month end: state, reports and events."""

    state_table: str = Field(alias="STATE_TABLE", min_length=1)
    reports_bucket: str = Field(alias="REPORTS_BUCKET", min_length=1)
    # Where publication writes each list version's object (the ingests and the refresh, not the
    # month end, which publishes nothing).
    lists_bucket: str = Field(default="", alias="LISTS_BUCKET")
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    # Where spill files go: /tmp on Lambda (sized by EphemeralStorage in the template).
    workdir: str | None = Field(default=None, alias="PULSE_WORKDIR")
    # Processes that judge a large part's blocks: by default one per vCPU the function has
    # (Lambda gives one per 1,769 MB), 1 to read in the function's own process only.
    read_workers: int = Field(default_factory=available_cpus, alias="PULSE_READ_WORKERS", ge=1, le=16)
    # Partition keys a market's first creators snapshot spreads its eligibility records over, and
    # a month end its statements over; each is recorded with the data (docs/design.md,
    # "Eligibility shards"), so changing it changes only markets and months not yet written.
    # Unset: 16, the one count there was before counts were recorded.
    eligibility_shards: int = Field(default=16, alias="PULSE_ELIGIBILITY_SHARDS", ge=1, le=100)
    statement_shards: int = Field(default=16, alias="PULSE_STATEMENT_SHARDS", ge=1, le=100)
    # PayoutFunction: a market's month with more creators than this runs on the state machine
    # `PAYOUT_MACHINE` (its ARN; unset: every month runs in the invocation). docs/design.md,
    # "Large month ends".
    payout_machine: str = Field(default="", alias="PAYOUT_MACHINE")
    distributed_creators: int = Field(default=1_000_000, alias="PULSE_DISTRIBUTED_CREATORS", ge=0)
    # VideosIngestFunction: a snapshot of more rows than this (by its manifest) runs on the state
    # machine `VIDEOS_MACHINE_ARN` (unset: every snapshot runs in the invocation). docs/design.md,
    # "Past one invocation".
    videos_machine: str = Field(default="", alias="VIDEOS_MACHINE_ARN")
    distributed_video_rows: int = Field(default=10_000_000, alias="PULSE_DISTRIBUTED_VIDEO_ROWS", ge=0)


class PayoutMachineSettings(_Env):
    """The steps of the PayoutMachine state machine: one environment for all of them (each step's
    policy grants only what that step calls)."""

    state_table: str = Field(alias="STATE_TABLE", min_length=1)
    work_bucket: str = Field(alias="WORK_BUCKET", min_length=1)
    reports_bucket: str = Field(alias="REPORTS_BUCKET", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    workdir: str | None = Field(default=None, alias="PULSE_WORKDIR")
    statement_shards: int = Field(default=16, alias="PULSE_STATEMENT_SHARDS", ge=1, le=100)
    # Creators per range of the machine's Map (the begin step's plan).
    range_creators: int = Field(default=100_000, alias="PULSE_PAYOUT_RANGE_CREATORS", ge=1)


class VideosMachineSettings(_Env):
    """The steps of VideosSnapshotMachine: each function is given only the names it uses."""

    state_table: str = Field(default="", alias="STATE_TABLE")
    reports_bucket: str = Field(default="", alias="REPORTS_BUCKET")
    lists_bucket: str = Field(default="", alias="LISTS_BUCKET")
    event_bus_name: str = Field(default="", alias="EVENT_BUS_NAME")
    ingest_bucket: str = Field(default="", alias="INGEST_BUCKET")
    work_bucket: str = Field(alias="WORK_BUCKET", min_length=1)
    work_database: str = Field(default="", alias="WORK_DATABASE")
    videos_rows_table: str = Field(default="", alias="VIDEOS_ROWS_TABLE")
    athena_workgroup: str = Field(default="", alias="ATHENA_WORKGROUP")
    workdir: str | None = Field(default=None, alias="PULSE_WORKDIR")


class ApiSettings(_Env):
    """ApiFunction: what it answers from, how long lookups cache the current version's pointer and
    the campaigns, how long a snapshot link stays valid, and the largest version it holds in
    memory. A statement document's link lasts as long as a snapshot's."""

    state_table: str = Field(alias="STATE_TABLE", min_length=1)
    lists_bucket: str = Field(alias="LISTS_BUCKET", min_length=1)
    reports_bucket: str = Field(alias="REPORTS_BUCKET", min_length=1)
    cache_seconds: float = Field(default=10.0, alias="PULSE_LOOKUP_CACHE_SECONDS", ge=0, le=300)
    snapshot_link_seconds: int = Field(default=300, alias="PULSE_SNAPSHOT_LINK_SECONDS", ge=1, le=3600)
    max_held_entries: int = Field(default=1_000_000, alias="PULSE_MAX_HELD_ENTRIES", ge=0)


@cache
def pipeline_settings() -> PipelineSettings:
    return PipelineSettings.model_validate(dict(os.environ))


@cache
def api_settings() -> ApiSettings:
    return ApiSettings.model_validate(dict(os.environ))


@cache
def payout_machine_settings() -> PayoutMachineSettings:
    return PayoutMachineSettings.model_validate(dict(os.environ))


def videos_machine_settings() -> VideosMachineSettings:
    """Read when a step's adapters are built (once per container): not cached here, since the
    machine's three functions have different environments (and share a process locally)."""
    return VideosMachineSettings.model_validate(dict(os.environ))


def reset() -> None:
    pipeline_settings.cache_clear()
    api_settings.cache_clear()
    payout_machine_settings.cache_clear()
