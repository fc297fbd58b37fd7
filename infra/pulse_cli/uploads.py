"""Upload a batch the way producers do: part files first, `_manifest.json` last (spec §3)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulse.ingest.manifest import MANIFEST_NAME
from pulse.ingest.parts import write_part


@dataclass(frozen=True)
class Uploaded:
    key: str
    size: int
    etag: str


def put_bytes(s3: Any, bucket: str, key: str, body: bytes) -> Uploaded:
    response = s3.put_object(Bucket=bucket, Key=key, Body=body)
    return Uploaded(key, len(body), response["ETag"].strip('"'))


def upload_batch(
    s3: Any,
    bucket: str,
    folder: str,
    parts: Mapping[str, Iterable[Mapping[str, object]]],
    *,
    columns: Sequence[str] = (),
    snapshot: str | None = None,
    manifest_rows: Mapping[str, int] | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
) -> Uploaded:
    """Write each part, then the manifest naming them with their row counts (or `manifest_rows`)."""
    dataset, market_part = folder.split("/")[0:2]
    files = []
    for name, rows in parts.items():
        buffer = io.BytesIO()
        count = write_part(rows, name, buffer, columns)
        put_bytes(s3, bucket, folder + name, buffer.getvalue())
        files.append({"key": name, "rows": (manifest_rows or {}).get(name, count)})
    manifest: dict[str, Any] = {
        "dataset": dataset,
        "market": market_part.removeprefix("market="),
        "files": files,
    }
    if snapshot is not None:
        manifest["snapshot"] = snapshot
    manifest.update(manifest_extra or {})
    return put_bytes(s3, bucket, folder + MANIFEST_NAME, json.dumps(manifest).encode())


def write_batch_folder(
    root: Path, folder: str, rows: Iterable[Mapping[str, object]], fmt: str, *, snapshot: str | None
) -> Path:
    """A batch folder on local disk, as producers hand it over: one part file and the manifest."""
    from pulse.ingest.datasets import SPECS  # noqa: PLC0415

    dataset, market = folder.split("/", maxsplit=1)[0], folder.split("/")[1].removeprefix("market=")
    target = root / folder
    target.mkdir(parents=True, exist_ok=True)
    name = f"part-0000.{fmt}"
    with (target / name).open("wb") as handle:
        count = write_part(rows, name, handle, list(SPECS[dataset].field_kinds))
    manifest: dict[str, Any] = {"dataset": dataset, "market": market, "files": [{"key": name, "rows": count}]}
    if snapshot is not None:
        manifest["snapshot"] = snapshot
    (target / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return target


def upload_folder(s3: Any, bucket: str, folder: Path, key_prefix: str) -> Uploaded:
    """Upload every part of a local batch folder, then its manifest (which triggers processing)."""
    from pulse_cli.progress import Progress  # noqa: PLC0415

    parts = [p for p in sorted(folder.iterdir()) if p.name != MANIFEST_NAME and p.is_file()]
    bar = Progress(f"uploading {folder.name}", sum(p.stat().st_size for p in parts), "bytes")
    for path in parts:
        s3.upload_file(str(path), bucket, key_prefix + path.name, Callback=bar.advance)
    bar.finish()
    return put_bytes(s3, bucket, key_prefix + MANIFEST_NAME, (folder / MANIFEST_NAME).read_bytes())
