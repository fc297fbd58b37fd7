"""The ingest report a batch leaves in ReportsBucket (spec §3), and the event that announces it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from pulse.core.summary import Summary
from pulse.ingest.manifest import Dataset


class Outcome(Summary):
    """What a dataset's apply phase did. Each dataset's applier returns its own subclass (for
    example `pulse.lists.videos_snapshot.VideosOutcome`); a batch rejected before the apply phase
    has the empty outcome. A report read back from JSON keeps every field of the outcome it had."""

    model_config = ConfigDict(frozen=True, extra="allow")


class BatchProblem(BaseModel):
    code: str
    message: str
    file: str | None = None


class FileCount(BaseModel):
    key: str
    rows_expected: int
    rows_read: int


class IngestReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: Dataset
    market: str
    batch: str
    manifest_key: str
    status: Literal["processed", "rejected"]
    rows_read: int = Field(ge=0)
    rows_accepted: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    rejected_by_reason: dict[str, int]
    error: BatchProblem | None = None
    files: list[FileCount] = Field(default_factory=list)
    outcome: SerializeAsAny[Outcome] = Field(default_factory=Outcome)
    rules_version: str
    started_at: str
    finished_at: str
    report_key: str
    rejected_key: str

    @model_validator(mode="after")
    def _counts_reconcile(self) -> IngestReport:
        if self.rows_read != self.rows_accepted + self.rows_rejected:
            raise ValueError("rows_read must equal rows_accepted + rows_rejected")
        if sum(self.rejected_by_reason.values()) != self.rows_rejected:
            raise ValueError("rejected_by_reason must add up to rows_rejected")
        return self

    def event_detail(self) -> dict[str, Any]:
        """The detail of IngestBatchProcessed / IngestBatchRejected (spec §6)."""
        detail: dict[str, Any] = {
            "dataset": self.dataset,
            "market": self.market,
            "batch": self.batch,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": self.rejected_by_reason,
            "report_key": self.report_key,
        }
        if self.error is not None:
            detail["error"] = self.error.model_dump()
        return detail

    @property
    def event_type(self) -> str:
        return "IngestBatchProcessed" if self.status == "processed" else "IngestBatchRejected"
