"""`pulse`: the operators' and engineers' command line.

  pulse rank --market US --snapshot 2026-11-27 --videos part-0000.jsonl.gz \\
             [--creators creators.jsonl] [--out lists.json]

`rank` is the dry run of ranking (spec §2.3) on local files: the same row validation and the same
ranking code as VideosIngestFunction, with eligibility computed from `--creators` files (every
creator counts as active without them). It touches no AWS at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pulse.datasets import CREATORS, DatasetSpec, R, Rejection
from pulse.eligibility import evaluate
from pulse.manifest import BatchError, BatchLocation, locate_batch
from pulse.parts import iter_rows
from pulse.ranking import Ranked, RankingSpill, published
from pulse.rules import Rules, load_rules
from pulse.snapshot_reader import SnapshotReader


def _valid_rows(
    paths: list[Path], spec: DatasetSpec[R], location: BatchLocation, rejected: Counter[str]
) -> Iterator[R]:
    """Valid rows of local part files, first occurrence of an id winning, as the ingest does."""
    seen: set[str] = set()
    rules = load_rules()
    for path in paths:
        with path.open("rb") as stream:
            for raw in iter_rows(stream, path.name, spec.field_kinds):
                if raw.document is None:
                    rejected[raw.error[0] if raw.error else "malformed_row"] += 1
                    continue
                verdict = spec.validate_row(raw.document, location, rules)
                if isinstance(verdict, Rejection):
                    rejected[verdict.reason] += 1
                    continue
                row_id = spec.row_id(verdict)
                if row_id in seen:
                    rejected["duplicate_id"] += 1
                    continue
                seen.add(row_id)
                yield verdict


def rank_videos(
    paths: list[Path], location: BatchLocation, rules: Rules
) -> tuple[dict[str, list[Ranked]], int, Counter[str]]:
    """The ranked top k of local video files; a second pass only if some video id repeats."""
    watch: set[str] | None = None
    while True:
        with SnapshotReader(location, rules, watch) as reader, RankingSpill(list(rules.categories)) as spill:
            with contextlib.ExitStack() as files:
                parts = [(path.name, files.enter_context(path.open("rb"))) for path in paths]
                for block in reader.blocks(parts):
                    spill.add_many(block)
            duplicates = reader.duplicate_ids() if watch is None else set()
            if not duplicates:
                return spill.select(rules.top_percent_bps), spill.rows_seen, reader.rejected
        watch = duplicates


def rank_files(market: str, snapshot: str, videos: list[Path], creators: list[Path] | None) -> dict[str, Any]:
    rules = load_rules()
    rejected: Counter[str] = Counter()
    active: set[str] | None = None
    if creators is not None:
        at = locate_batch(f"creators/market={market}/snapshot={snapshot}/_manifest.json")
        active = {
            row.creator_id
            for row in _valid_rows(creators, CREATORS, at, rejected)
            if evaluate(row, snapshot, rules).status == "active"
        }
    location = locate_batch(f"videos/market={market}/snapshot={snapshot}/_manifest.json")
    ranked, rows, video_rejections = rank_videos(videos, location, rules)
    rejected.update(video_rejections)
    lists = ranked if active is None else published(ranked, active.__contains__)
    return {
        "market": market,
        "snapshot": snapshot,
        "rules_version": rules.version,
        "lists": {
            category: [
                {"rank": e.rank, "video_id": e.video_id, "creator_id": e.creator_id, "score": e.score}
                for e in entries
            ]
            for category, entries in lists.items()
        },
        "_stats": {"videos_valid": rows, "rejected": dict(rejected)},
    }


def _cmd_rank(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    result = rank_files(args.market, args.snapshot, args.videos, args.creators)
    stats = result.pop("_stats")
    out: IO[str]
    with open(args.out, "w", encoding="utf-8") if args.out else sys.stdout as out:
        json.dump(result, out, separators=(",", ":"))
        out.write("\n")
    listed = sum(len(v) for v in result["lists"].values())
    print(
        f"ranked {stats['videos_valid']:,} valid videos ({sum(stats['rejected'].values()):,} rejected"
        f" {stats['rejected'] or ''}) into {listed:,} list entries in {time.perf_counter() - started:.2f}s",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rank = commands.add_parser("rank", help="compute a snapshot's lists from local files (dry run)")
    rank.add_argument("--market", required=True)
    rank.add_argument("--snapshot", required=True, help="YYYY-MM-DD")
    rank.add_argument("--videos", required=True, nargs="+", type=Path, help=".jsonl/.csv, optionally .gz")
    rank.add_argument(
        "--creators", nargs="+", type=Path, help="creators files; without them all creators are active"
    )
    rank.add_argument("--out", help="write the lists here instead of standard output")
    rank.set_defaults(run=_cmd_rank)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (OSError, ValueError, BatchError) as exc:
        print(f"pulse: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
