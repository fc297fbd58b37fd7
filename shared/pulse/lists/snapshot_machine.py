"""A videos snapshot too large for one invocation, as the steps of VideosSnapshotMachine (Step
Functions): the same batch run as `ingest_batch` + `VideosApplier`, cut where the work outgrows
one Lambda (docs/design.md, "Past one invocation").

1. `plan` (SnapshotSteps): claim the batch as every run does, read the manifest;
2. `read_part` (PartReader, one Lambda per part, a Distributed Map): the read phase's own checks
   on one part; its valid rows (with part index and line) go to the Glue table's run partition,
   its rejected rows and counts beside them;
3. `start` / `status` (RankingQueries): Athena removes duplicate ids by part and line order and
   ranks each category's top k (`ranking_sql`), each written with UNLOAD under the run;
4. `prepare` (SnapshotSteps): the report's counts, the rankings kept, the version prepared (its
   object written, its record `writing`) and cut into blocks of RANKS_PER_KEY ranks;
5. `write_block` (SnapshotSteps, a Distributed Map): one block's entries and placements;
6. `finish` (SnapshotSteps): the version completed, the pointer moved once, the report with its
   rejected rows in part and line order, the event, the claim completed.
`release` gives the claim back when a step failed for good.

The report, `rejected.jsonl`, the events and the lists equal what one invocation gives for the
same batch (tests/integration/test_videos_machine.py compares them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import heapq
import io
import json
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec
from pydantic import BaseModel, ConfigDict

from pulse.core.events import EventPublisher
from pulse.core.rules import Rules
from pulse.core.runs import ClaimStore
from pulse.ingest.batch import ReportSink, batch_report
from pulse.ingest.batch_run import BatchRunSummary
from pulse.ingest.datasets import SPECS
from pulse.ingest.manifest import BatchError, BatchLocation, locate_batch, parse_manifest
from pulse.ingest.read_phase import PartSource, ReadPhase, RejectLog, duplicate_id, keep_rows, stored_row
from pulse.ingest.report import BatchProblem, FileCount, IngestReport, Outcome
from pulse.lists import ranking_sql
from pulse.lists.publication import ListVersion, PreparedVersion, Publication
from pulse.lists.ranking import Ranked
from pulse.lists.videos_snapshot import ListPublisher, RankingStore, VideosOutcome, superseded_by

ROWS_PREFIX = "videos/rows/"  # the Glue table's location (template.yaml, VideosRowsTable)
RUNS_PREFIX = "videos/runs/"


class WorkStore(Protocol):
    """The state machines' intermediate objects (WorkBucket)."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def keys(self, prefix: str) -> list[str]: ...


class QueryEngine(Protocol):
    """Runs a SELECT over the work tables and writes its rows as gzip JSON Lines under a prefix of
    the work bucket (Athena's UNLOAD in production, DuckDB locally)."""

    def start(self, sql: str, output_prefix: str, partition: dict[str, str]) -> str:
        """The query's id. `partition` names the run the SQL reads (Athena finds it by projection)."""
        ...

    def state(self, query_id: str) -> str:
        """RUNNING, SUCCEEDED, or FAILED followed by the reason."""
        ...


class VersionWriter(Protocol):
    """A version's items written by many writers (DynamoListStore)."""

    @property
    def ranks_per_key(self) -> int: ...

    def layout_of(self, lists: dict[str, list[Ranked]]) -> Any: ...

    def begin_version(self, version: ListVersion, layout: Any, expires_at: int) -> None: ...

    def write_entries(
        self, version: ListVersion, category: str, entries: Sequence[Ranked], expires_at: int
    ) -> None: ...

    def complete_version(self, version: ListVersion) -> None: ...

    def current(self, market: str) -> ListVersion | None: ...


class BatchRef(BaseModel):
    """What every step is given: the manifest's notification (the execution's input)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    manifest_key: str
    token: str  # S3's ETag:sequencer, as a single invocation's claim
    run: str  # 32 hex digits, from the manifest key and the token

    @classmethod
    def of(cls, bucket: str, manifest_key: str, token: str) -> BatchRef:
        run = hashlib.sha256(f"{manifest_key}@{token}".encode()).hexdigest()[:32]
        return cls(bucket=bucket, manifest_key=manifest_key, token=token, run=run)

    @property
    def execution_name(self) -> str:
        """Step Functions' execution name: the same notification always starts the same one."""
        location = self.location
        return f"videos-{location.market}-{location.snapshot}-{self.run}"

    @property
    def location(self) -> BatchLocation:
        return dataclasses.replace(locate_batch(self.manifest_key), upload=self.token)

    @property
    def claim_id(self) -> str:
        return f"BATCH#{self.location.folder}"

    def key(self, *parts: str) -> str:
        return RUNS_PREFIX + self.run + "/" + "/".join(parts)


class PartResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    rows_read: int
    rows_accepted: int
    rejected_by_reason: dict[str, int]
    file: FileCount | None
    problem: BatchProblem | None


def manifest_rows(manifest: bytes, location: BatchLocation) -> int | None:
    """The rows a manifest announces (None for a manifest the batch run must reject itself)."""
    try:
        return sum(part.rows for part in parse_manifest(manifest, location).files)
    except BatchError:
        return None


def _part_ref(index: int, key: str, rows: int) -> dict[str, Any]:
    return {"index": index, "key": key, "rows": rows}


def _problem(error: BatchError) -> BatchProblem:
    return BatchProblem(code=error.code, message=error.message, file=error.file)


class _RowsFile:
    """A part's valid rows as the Glue table reads them: one JSON object a line, gzip."""

    def __init__(self, path: Path, index: int) -> None:
        self._out = gzip.GzipFile(path, "wb", compresslevel=3, mtime=0)
        self._index = index
        self._encoder = msgspec.json.Encoder()

    @property
    def reducer(self) -> Callable[[Sequence[Any]], list[Any]]:
        return keep_rows

    def add_reduced(self, key: str, lines: Sequence[int], reduced: list[Any]) -> None:
        index = self._index
        self._out.write(
            self._encoder.encode_lines(
                [
                    {"f": index, "l": line, **msgspec.structs.asdict(row)}
                    for line, row in zip(lines, reduced, strict=True)
                ]
            )
        )

    def close(self) -> None:
        self._out.close()


@dataclasses.dataclass(frozen=True)
class PartReader:
    """Step 2: one part of the snapshot, read with the read phase's checks, ids not compared
    across rows (Athena does that for the whole batch)."""

    source: PartSource
    work: WorkStore
    rules: Rules
    workdir: str | None = None

    def read_part(self, batch: BatchRef, part: dict[str, Any]) -> PartResult:
        index, key, expected = int(part["index"]), str(part["key"]), int(part["rows"])
        location = batch.location
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix="pulse-part-") as tmp:
            rows_path, rejected_path = Path(tmp, "rows.jsonl.gz"), Path(tmp, "rejected.jsonl")
            with rejected_path.open("w", encoding="utf-8") as rejected:
                rejects = RejectLog(rejected)
                phase: ReadPhase[Any, _RowsFile] = ReadPhase(
                    SPECS["videos"], location, self.rules, rejects, lambda: _RowsFile(rows_path, index), tmp
                )
                file: FileCount | None = None
                problem: BatchProblem | None = None
                try:
                    with self.source.open_part(location, key) as stream:
                        rows = phase.read_part(key, stream)
                    file = FileCount(key=key, rows_expected=expected, rows_read=rows)
                    if rows != expected:
                        problem = BatchProblem(
                            code="row_count_mismatch",
                            message=f"manifest says {expected} rows, the file has {rows}",
                            file=key,
                        )
                except BatchError as error:
                    problem = _problem(error)
                finally:
                    phase.close()
            self.work.put(f"{ROWS_PREFIX}run={batch.run}/part-{index:06d}.jsonl.gz", rows_path.read_bytes())
            self.work.put(batch.key("rejected", f"{index:06d}.jsonl"), rejected_path.read_bytes())
        result = PartResult(
            index=index,
            rows_read=phase.rows_read,
            rows_accepted=phase.rows_accepted,
            rejected_by_reason=dict(sorted(rejects.by_reason.items())),
            file=file,
            problem=problem,
        )
        self.work.put(batch.key("parts", f"{index:06d}.json"), result.model_dump_json().encode())
        return result


def _part_results(work: WorkStore, batch: BatchRef, parts: Sequence[dict[str, Any]]) -> list[PartResult]:
    return [
        PartResult.model_validate_json(work.get(batch.key("parts", f"{int(p['index']):06d}.json")))
        for p in parts
    ]


def _read_rows(work: WorkStore, prefix: str) -> Iterator[dict[str, Any]]:
    """The rows a query wrote under `prefix` (gzip JSON Lines, in any number of files)."""
    for key in sorted(work.keys(prefix)):
        data = work.get(key)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for line in io.BytesIO(data):
            if line.strip():
                yield json.loads(line)


@dataclasses.dataclass(frozen=True)
class RankingQueries:
    """Step 3: the two queries over the run's rows, started and followed."""

    work: WorkStore
    engine: QueryEngine
    database: str
    table: str
    rules: Rules
    poll_seconds: int = 10

    def start(self, batch: BatchRef, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        results = _part_results(self.work, batch, parts)
        if any(r.problem for r in results) or not sum(r.rows_accepted for r in results):
            return self._answer("SKIPPED", [])  # the batch is rejected: nothing to rank
        attempt = uuid.uuid4().hex  # UNLOAD wants an empty prefix: each attempt its own
        outputs = {
            "ranked": batch.key("ranked", attempt) + "/",
            "duplicates": batch.key("duplicates", attempt) + "/",
        }
        partition = {"run": batch.run}
        queries = [
            self.engine.start(
                ranking_sql.ranking_query(self.database, self.table, batch.run, self.rules.top_percent_bps),
                outputs["ranked"],
                partition,
            ),
            self.engine.start(
                ranking_sql.duplicates_query(self.database, self.table, batch.run),
                outputs["duplicates"],
                partition,
            ),
        ]
        self.work.put(batch.key("queries.json"), json.dumps(outputs).encode())
        return self.status(queries)

    def status(self, queries: list[str]) -> dict[str, Any]:
        states = [self.engine.state(query) for query in queries]
        failed = [state for state in states if state.startswith("FAILED")]
        if failed:
            raise RuntimeError(f"ranking query failed: {failed[0]}")
        done = all(state == "SUCCEEDED" for state in states)
        return self._answer("SUCCEEDED" if done else "RUNNING", queries)

    def _answer(self, state: str, queries: list[str]) -> dict[str, Any]:
        return {"state": state, "queries": queries, "wait_seconds": self.poll_seconds}


class _Prepared(BaseModel):
    """What `prepare` leaves for the blocks and `finish` (WorkStore, under the run)."""

    model_config = ConfigDict(extra="forbid")

    started_at: str
    rows_read: int
    rejected_by_reason: dict[str, int]
    files: list[FileCount]
    problem: BatchProblem | None
    last_part: int  # the parts whose rejected rows the report holds: up to a rejected batch's bad one
    duplicates: int
    outcome: VideosOutcome | None
    version: dict[str, Any] | None = None  # a version to complete and make current
    blocks: list[str] = []  # its blocks, for WriteBlocks
    excluded: dict[str, int] | None = None
    expires_at: int = 0


@dataclasses.dataclass(frozen=True)
class SnapshotSteps:
    """Steps 1, 4, 5 and 6, and the release of a failed run."""

    source: PartSource
    work: WorkStore
    claims: ClaimStore
    sink: ReportSink
    events: EventPublisher
    rankings: RankingStore
    publisher: ListPublisher
    versions: VersionWriter
    rules: Rules
    now: Callable[[], dt.datetime]
    lease_seconds: int = 21_600  # the state machine's TimeoutSeconds
    workdir: str | None = None

    def plan(self, batch: BatchRef) -> dict[str, Any]:
        earlier = self.claims.claim(batch.claim_id, batch.token, self.lease_seconds, batch.execution_name)
        if earlier is not None:
            return {"action": "done", "parts": []}
        location = batch.location
        plan: dict[str, Any] = {"started_at": self.now().isoformat(), "problem": None}
        try:
            manifest = parse_manifest(self.source.read_manifest(location), location)
        except BatchError as error:
            plan["problem"] = _problem(error).model_dump()
            parts: list[dict[str, Any]] = []
        else:
            parts = [_part_ref(i, f.key, f.rows) for i, f in enumerate(manifest.files)]
        self.work.put(batch.key("plan.json"), json.dumps(plan).encode())
        return {"action": "report" if plan["problem"] else "read", "parts": parts}

    def prepare(self, batch: BatchRef, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        done = batch.key("prepared.json")
        if self.work.keys(done):  # a retry after it was written: the version is already taken
            return {"blocks": self._prepared(batch).blocks}
        plan = json.loads(self.work.get(batch.key("plan.json")))
        results = _part_results(self.work, batch, parts)
        prepared = _Prepared(
            started_at=plan["started_at"],
            rows_read=0,
            rejected_by_reason={},
            files=[],
            problem=BatchProblem.model_validate(plan["problem"]) if plan["problem"] else None,
            last_part=-1,
            duplicates=0,
            outcome=None,
        )
        by_reason: Counter[str] = Counter()
        for result in results:  # as one invocation reads them: in order, up to a bad file
            prepared.rows_read += result.rows_read
            prepared.files += [result.file] if result.file else []
            prepared.last_part = result.index
            by_reason.update(result.rejected_by_reason)
            if result.problem is not None:
                prepared.problem = result.problem
                break
        if prepared.problem is None and not sum(r.rows_accepted for r in results):
            prepared.problem = BatchProblem(
                code="empty_snapshot",
                message="the videos snapshot has no valid row; the last one stays in force",
            )
        blocks: list[str] = []
        if prepared.problem is None:
            outputs = json.loads(self.work.get(batch.key("queries.json")))
            keys = {int(p["index"]): str(p["key"]) for p in parts}
            prepared.duplicates = self._keep_duplicates(batch, outputs["duplicates"], keys)
            if prepared.duplicates:
                by_reason["duplicate_id"] += prepared.duplicates
            blocks = self._rank_and_prepare(batch, outputs["ranked"], prepared)
        prepared.rejected_by_reason = dict(sorted(by_reason.items()))
        prepared.blocks = blocks
        self.work.put(done, prepared.model_dump_json().encode())
        return {"blocks": blocks}

    def _keep_duplicates(self, batch: BatchRef, prefix: str, keys: dict[int, str]) -> int:
        """The later occurrences of ids, kept by part as RejectLog writes rejected rows: `finish`
        merges each part's own rejected rows with them, by line."""
        spec = SPECS["videos"]
        by_part: dict[int, list[tuple[int, str, str]]] = {}
        count = 0
        for row in _read_rows(self.work, prefix):
            fields = {name: row[name] for name in ranking_sql.RECORD_FIELDS}
            by_part.setdefault(int(row["f"]), []).append(
                (int(row["l"]), fields["video_id"], json.dumps(fields))
            )
            count += 1
        for part, found in by_part.items():
            out = io.StringIO()
            log = RejectLog(out)
            for line, video_id, encoded in sorted(found):
                log.add(keys[part], line, duplicate_id(spec, video_id), stored_row(json.loads(encoded)))
            self.work.put(batch.key("duplicates-by-part", f"{part:06d}.jsonl"), out.getvalue().encode())
        return count

    def _rank_and_prepare(self, batch: BatchRef, prefix: str, prepared: _Prepared) -> list[str]:
        location = batch.location
        market, snapshot = location.market, location.snapshot
        assert snapshot is not None  # the videos folder layout always names its snapshot
        ranked: dict[str, list[Ranked]] = {category: [] for category in self.rules.categories}
        pools = dict.fromkeys(self.rules.categories, 0)
        for row in _read_rows(self.work, prefix):
            category = row["category"]
            ranked[category].append(
                Ranked(int(row["rank"]), row["video_id"], row["creator_id"], int(row["score"]))
            )
            pools[category] = int(row["pool_size"])
        for entries in ranked.values():
            entries.sort(key=lambda entry: entry.rank)
        self.rankings.save(market, snapshot, ranked)
        top_k = {category: len(entries) for category, entries in ranked.items()}
        latest = superseded_by(self.rankings, market, snapshot)
        if latest is not None:
            prepared.outcome = VideosOutcome(
                snapshot=snapshot, pool_sizes=pools, top_k=top_k, superseded_by=latest, published=None
            )
            return []
        ready = self.publisher.prepare(market, snapshot, ranked)
        if isinstance(ready, Publication):  # unchanged: nothing to write
            self.rankings.set_latest_snapshot(market, snapshot)
            prepared.outcome = VideosOutcome(
                snapshot=snapshot, pool_sizes=pools, top_k=top_k, published=ready.outcome()
            )
            return []
        prepared.outcome = VideosOutcome(snapshot=snapshot, pool_sizes=pools, top_k=top_k, published=None)
        prepared.version = dataclasses.asdict(ready.version)
        prepared.excluded = ready.excluded
        prepared.expires_at = ready.expires_at
        self.versions.begin_version(ready.version, self.versions.layout_of(ready.lists), ready.expires_at)
        blocks = []
        for category, entries in ready.lists.items():
            for block, chunk in _blocks(entries, self.versions.ranks_per_key):
                name = f"{category}/{block}"
                rows = [[e.rank, e.video_id, e.creator_id, e.score] for e in chunk]
                self.work.put(batch.key("blocks", name + ".json"), json.dumps(rows).encode())
                blocks.append(name)
        return blocks

    def write_block(self, batch: BatchRef, block: str) -> None:
        prepared = self._prepared(batch)
        assert prepared.version is not None
        category = block.split("/", 1)[0]
        rows = json.loads(self.work.get(batch.key("blocks", block + ".json")))
        entries = [Ranked(int(rank), video, creator, int(score)) for rank, video, creator, score in rows]
        self.versions.write_entries(ListVersion(**prepared.version), category, entries, prepared.expires_at)

    def finish(self, batch: BatchRef, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        earlier = self.claims.claim(batch.claim_id, batch.token, self.lease_seconds, batch.execution_name)
        if earlier is not None:  # a retry after the run completed: nothing more to do
            return earlier
        prepared = self._prepared(batch)
        location = batch.location
        outcome = prepared.outcome
        if prepared.version is not None and outcome is not None:
            version = ListVersion(**prepared.version)
            self.versions.complete_version(version)
            publication = self.publisher.commit(
                PreparedVersion(version, {}, prepared.excluded or {}, prepared.expires_at)
            )
            self.rankings.set_latest_snapshot(location.market, outcome.snapshot)
            outcome = outcome.model_copy(update={"published": publication.outcome()})
        report = self._report(batch, prepared, outcome)
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix="pulse-finish-") as tmp:
            rejected = Path(tmp, "rejected.jsonl")
            with rejected.open("wb") as out:
                for part in parts[: prepared.last_part + 1]:
                    out.writelines(self._rejected_rows(batch, int(part["index"]), prepared.problem is None))
            self.sink.write(report, rejected)
        self.events.publish(report.event_type, [report.event_detail()])
        summary = BatchRunSummary.of(report)
        self.claims.complete(batch.claim_id, batch.token, summary.as_json())
        return summary.as_json()

    def release(self, batch: BatchRef) -> None:
        self.claims.release(batch.claim_id, batch.token, batch.execution_name)  # only this run's claim

    def _prepared(self, batch: BatchRef) -> _Prepared:
        return _Prepared.model_validate_json(self.work.get(batch.key("prepared.json")))

    def _rejected_rows(self, batch: BatchRef, part: int, with_duplicates: bool) -> Iterator[bytes]:
        """A part's rejected rows and, if the batch was read whole, its duplicates, by line."""
        own = self.work.get(batch.key("rejected", f"{part:06d}.jsonl")).splitlines(keepends=True)
        later: list[bytes] = []
        if with_duplicates:
            key = batch.key("duplicates-by-part", f"{part:06d}.jsonl")
            later = self.work.get(key).splitlines(keepends=True) if key in self.work.keys(key) else []
        yield from heapq.merge(own, later, key=lambda line: json.loads(line)["line"])

    def _report(self, batch: BatchRef, prepared: _Prepared, outcome: VideosOutcome | None) -> IngestReport:
        return batch_report(
            batch.location,
            self.rules,
            rows_read=prepared.rows_read,
            rejected_by_reason=prepared.rejected_by_reason,
            files=prepared.files,
            problem=prepared.problem,
            outcome=outcome if prepared.problem is None and outcome is not None else Outcome(),
            started_at=prepared.started_at,
            finished_at=self.now().isoformat(),
        )


def _blocks(entries: list[Ranked], ranks_per_key: int) -> Iterator[tuple[int, list[Ranked]]]:
    """A category's entries cut where the list table's keys are: `ranks_per_key` ranks a block."""
    current: list[Ranked] = []
    block = -1
    for entry in entries:
        this = (entry.rank - 1) // ranks_per_key
        if this != block and current:
            yield block, current
            current = []
        block = this
        current.append(entry)
    if current:
        yield block, current
