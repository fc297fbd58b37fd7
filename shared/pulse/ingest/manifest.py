"""Where a batch lives and what its `_manifest.json` promises (spec §3)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pulse.core.types import DATE_PATTERN, ID_PATTERN, MARKET_PATTERN

Dataset = Literal["creators", "videos", "revenue", "adjustments"]
DATASETS: tuple[Dataset, ...] = ("creators", "videos", "revenue", "adjustments")
MANIFEST_NAME = "_manifest.json"
PART_SUFFIXES = (".jsonl", ".jsonl.gz", ".csv", ".csv.gz")
# A manifest is a few lines of JSON; anything far larger is not a manifest.
MANIFEST_MAX_BYTES = 1_048_576
_UTF8_BOM = b"\xef\xbb\xbf"

_ID = ID_PATTERN.pattern.strip("^$")
_MARKET = MARKET_PATTERN.pattern.strip("^$")
_DATE = DATE_PATTERN.pattern.strip("^$")
_FOLDERS: dict[str, re.Pattern[str]] = {
    "creators": re.compile(rf"^creators/market=(?P<market>{_MARKET})/snapshot=(?P<snapshot>{_DATE})/$"),
    "videos": re.compile(rf"^videos/market=(?P<market>{_MARKET})/snapshot=(?P<snapshot>{_DATE})/$"),
    "revenue": re.compile(
        rf"^revenue/market=(?P<market>{_MARKET})/date=(?P<date>{_DATE})/(?P<batch_id>{_ID})/$"
    ),
    "adjustments": re.compile(rf"^adjustments/market=(?P<market>{_MARKET})/(?P<batch_id>{_ID})/$"),
}
# A part file is named plainly inside its folder: no sub-folders, no "..", no absolute paths.
_PART_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$")


class BatchError(Exception):
    """The batch as a whole cannot be applied; `code` goes into the report and the event."""

    def __init__(self, code: str, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file


@dataclass(frozen=True, slots=True)
class BatchLocation:
    """A batch folder in the ingest bucket, parsed from its manifest's key."""

    dataset: Dataset
    market: str
    folder: str  # "creators/market=US/snapshot=2026-11-27/"
    snapshot: str | None = None
    date: str | None = None
    batch_id: str | None = None
    # Which upload of the manifest is being run (S3's ETag:sequencer): the same for every retry
    # and re-delivery of one notification, new for a new upload of the folder. Set by run_batch.
    upload: str = ""

    @property
    def folder_name(self) -> str:
        """The last component of the folder: `snapshot=2026-11-27` or the batch id."""
        return self.folder.rstrip("/").rsplit("/", 1)[-1]

    @property
    def manifest_key(self) -> str:
        return self.folder + MANIFEST_NAME

    @property
    def report_prefix(self) -> str:
        return f"ingest-reports/{self.dataset}/market={self.market}/{self.folder_name}/"

    def part_key(self, relative: str) -> str:
        return self.folder + relative


def locate_batch(manifest_key: str) -> BatchLocation:
    """Parse `<folder>/_manifest.json`; raises BatchError for any key outside the layout of §3."""
    if not manifest_key.endswith("/" + MANIFEST_NAME):
        raise BatchError("not_a_manifest", f"{manifest_key!r} is not a {MANIFEST_NAME} key")
    folder = manifest_key[: -len(MANIFEST_NAME)]
    dataset = folder.split("/", 1)[0]
    pattern = _FOLDERS.get(dataset)
    match = pattern.match(folder) if pattern else None
    if match is None:
        raise BatchError(
            "bad_batch_folder", f"{folder!r} does not follow the batch folder layout of its dataset"
        )
    groups = match.groupdict()
    return BatchLocation(
        dataset=dataset,  # type: ignore[arg-type]  # checked by the pattern lookup above
        market=groups["market"],
        folder=folder,
        snapshot=groups.get("snapshot"),
        date=groups.get("date"),
        batch_id=groups.get("batch_id"),
    )


class ManifestFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    key: str
    rows: int = Field(ge=0)

    @field_validator("key")
    @classmethod
    def _plain_name(cls, key: str) -> str:
        # "../x", "/x", "s3://b/x", "sub/x", a backslash or a NUL: refused, and named in the reason.
        if not _PART_KEY.fullmatch(key):
            raise ValueError(f"{key[:100]!r} is not the plain name of a file in the batch folder")
        return key

    @model_validator(mode="after")
    def _known_format(self) -> ManifestFile:
        if not self.key.endswith(PART_SUFFIXES):
            raise ValueError(f"{self.key!r}: part files end in one of {', '.join(PART_SUFFIXES)}")
        return self


class Manifest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    dataset: Dataset
    market: str
    snapshot: str | None = None
    files: list[ManifestFile] = Field(min_length=1, max_length=10_000)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def parse_manifest(document: bytes, location: BatchLocation) -> Manifest:
    """Validate the manifest against itself and against the folder it was found in."""
    # A UTF-8 byte order mark is a signature some tools write, not JSON: dropped, as in part files.
    document = document.removeprefix(_UTF8_BOM)
    try:
        document.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BatchError(
            "bad_manifest", f"manifest is not UTF-8 text ({exc.reason} at byte {exc.start})", MANIFEST_NAME
        ) from exc
    try:
        manifest = Manifest.model_validate_json(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise BatchError("bad_manifest", f"{where}: {first['msg']}", MANIFEST_NAME) from exc
    if manifest.dataset != location.dataset or manifest.market != location.market:
        raise BatchError(
            "manifest_mismatch",
            f"manifest says {manifest.dataset}/{manifest.market}, "
            f"folder is {location.dataset}/{location.market}",
            MANIFEST_NAME,
        )
    if location.snapshot is not None and manifest.snapshot != location.snapshot:
        raise BatchError(
            "manifest_mismatch",
            f"manifest snapshot {manifest.snapshot!r} differs from folder snapshot {location.snapshot}",
            MANIFEST_NAME,
        )
    keys = [f.key for f in manifest.files]
    twice = [key for key, times in Counter(keys).items() if times > 1]
    if twice:
        raise BatchError("bad_manifest", f"{twice[0]!r} is listed twice", MANIFEST_NAME)
    if MANIFEST_NAME in keys:
        raise BatchError("bad_manifest", "the manifest cannot list itself", MANIFEST_NAME)
    return manifest
