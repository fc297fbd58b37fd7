"""`pulse`: the operators' and engineers' command line.

  pulse rank --market US --snapshot 2026-11-27 --videos part-0000.jsonl.gz \\
             [--creators creators.jsonl] [--out lists.json]

`rank` is the dry run of ranking (spec §2.3) on local files: the same row validation and the same
ranking code as VideosIngestFunction, with eligibility computed from `--creators` files (every
creator counts as active without them). It touches no AWS at all.

Against a running local stack (`make run`; AWS_ENDPOINT_URL as it prints) or a deployed one:
  pulse generate --dataset videos --market US --rows 100000 --snapshot 2026-11-27 --out batches/
  pulse upload batches/videos/market=US/snapshot=2026-11-27/
  pulse refresh [--markets US GB]
  pulse payout --month 2026-10 [--markets US]
  pulse show lists --market US [--category pets]   |   show creator ID --market US
  pulse show statement ID --market US --month 2026-10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from pulse.core.rules import Rules, load_rules
from pulse.eligibility.evaluation import evaluate
from pulse.ingest.datasets import CREATORS, VIDEOS, DatasetSpec
from pulse.ingest.fast_records import FastCreator
from pulse.ingest.manifest import DATASETS, BatchError, BatchLocation, locate_batch
from pulse.ingest.read_phase import Collector, ReadPhase, RejectLog, keep_rows
from pulse.lists.ranking import Ranked, RankingSpill, published
from pulse.settings import available_cpus

C = TypeVar("C", bound=Collector[Any])


def _read_files(
    paths: list[Path],
    spec: DatasetSpec[Any, Any],
    location: BatchLocation,
    rules: Rules,
    collector: Callable[[], C],
) -> ReadPhase[Any, C]:
    """Local part files through the ingest's own read phase: the same verdicts, the same first
    occurrence of an id winning, the same counts of rejections by reason. The caller closes it."""
    by_key = {str(path): path for path in paths}
    workers = available_cpus()
    phase = ReadPhase(spec, location, rules, RejectLog(), collector, workers=workers)
    try:
        phase.read([(key, None) for key in by_key], lambda key: by_key[key].open("rb"))
    except BaseException:
        phase.close()
        raise
    return phase


class _ActiveCreators:
    """The creators of a local snapshot who are active on its day (a Collector)."""

    def __init__(self, snapshot: str, rules: Rules) -> None:
        self._snapshot, self._rules = snapshot, rules
        self.found: set[str] = set()

    @property
    def reducer(self) -> Callable[[Sequence[FastCreator]], list[FastCreator]]:
        return keep_rows

    def add_reduced(self, key: str, lines: Sequence[int], rows: list[FastCreator]) -> None:
        self.found.update(
            r.creator_id for r in rows if evaluate(r, self._snapshot, self._rules).status == "active"
        )

    def close(self) -> None:
        return None


def rank_videos(
    paths: list[Path], location: BatchLocation, rules: Rules
) -> tuple[dict[str, list[Ranked]], int, Counter[str]]:
    """The ranked top k of local video files, as VideosIngestFunction ranks a snapshot."""
    phase = _read_files(paths, VIDEOS, location, rules, lambda: RankingSpill(list(rules.categories)))
    try:
        return phase.collector.select(rules.top_percent_bps), phase.rows_accepted, phase.rejects.by_reason
    finally:
        phase.close()


def rank_files(market: str, snapshot: str, videos: list[Path], creators: list[Path] | None) -> dict[str, Any]:
    rules = load_rules()
    rejected: Counter[str] = Counter()
    active: set[str] | None = None
    if creators is not None:
        at = locate_batch(f"creators/market={market}/snapshot={snapshot}/_manifest.json")
        phase = _read_files(creators, CREATORS, at, rules, lambda: _ActiveCreators(snapshot, rules))
        rejected.update(phase.rejects.by_reason)
        active = phase.collector.found
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


def _cmd_generate(args: argparse.Namespace) -> int:
    from pulse_cli import datagen  # noqa: PLC0415
    from pulse_cli.progress import tracked  # noqa: PLC0415
    from pulse_cli.uploads import write_batch_folder  # noqa: PLC0415

    rules = load_rules()
    if args.dataset == "creators":
        folder = f"creators/market={args.market}/snapshot={args.snapshot}/"
        rows: Iterator[dict[str, Any]] = datagen.creators(args.market, args.rows, seed=args.seed)
    elif args.dataset == "videos":
        folder = f"videos/market={args.market}/snapshot={args.snapshot}/"
        rows = datagen.videos(args.market, args.rows, args.creators, list(rules.categories), seed=args.seed)
    else:
        folder = f"revenue/market={args.market}/date={args.snapshot}/{args.batch_id}/"
        rows = datagen.revenue(args.market, args.rows, args.list_version, args.listed, seed=args.seed)
    rows = tracked(rows, f"generating {args.dataset}", args.rows)
    path = write_batch_folder(
        Path(args.out),
        folder,
        rows,
        args.format,
        snapshot=args.snapshot if args.dataset != "revenue" else None,
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _cmd_upload(args: argparse.Namespace) -> int:
    import boto3  # noqa: PLC0415

    from pulse_cli.template import Stack  # noqa: PLC0415
    from pulse_cli.uploads import upload_folder  # noqa: PLC0415

    folder = Path(args.folder)
    parts = folder.resolve().parts
    starts = [i for i, part in enumerate(parts) if part in DATASETS]
    if not starts:
        raise ValueError(f"{folder} is not a batch folder (creators/…, videos/…, revenue/… or adjustments/…)")
    key_prefix = "/".join(parts[starts[-1] :]) + "/"
    bucket = args.bucket or Stack(name=args.stack_name).name_of("IngestBucket")
    uploaded = upload_folder(boto3.client("s3"), bucket, folder, key_prefix)
    print(f"uploaded s3://{bucket}/{uploaded.key} (manifest last)", file=sys.stderr)
    return 0


def _invoke(args: argparse.Namespace, function: str, event: dict[str, Any]) -> int:
    from pulse_cli.lambdas import invoke  # noqa: PLC0415
    from pulse_cli.template import Stack  # noqa: PLC0415

    with contextlib.redirect_stdout(sys.stderr):  # the function's metrics go with its logs
        result = invoke(Stack(name=args.stack_name), function, event)
    sys.stdout.write(json.dumps(result) + "\n")  # the result: the last line, one JSON document
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import urllib.request  # noqa: PLC0415

    api = args.api.rstrip("/")
    if args.what == "lists":
        categories = [args.category] if args.category else list(load_rules().categories)
        for category in categories:
            url = f"{api}/v1/toplists/{args.market}/{category}?limit={args.limit}"
            with urllib.request.urlopen(url) as r:  # noqa: S310  # nosec B310  # the API the operator names
                page = json.loads(r.read())
            print(f"{args.market} {category} (list version {page['list_version']})")
            print(f"  {'rank':>5}  {'video_id':<20} {'creator_id':<20} {'score':>12}")
            for e in page["entries"]:
                print(f"  {e['rank']:>5}  {e['video_id']:<20} {e['creator_id']:<20} {e['score']:>12,}")
        return 0
    path = (
        f"/v1/creators/{args.id}?market={args.market}"
        if args.what == "creator"
        else f"/v1/creators/{args.id}/statements/{args.month}?market={args.market}"
    )
    try:
        with urllib.request.urlopen(api + path) as r:  # noqa: S310  # nosec B310  # the API the operator names
            document = json.loads(r.read())
    except urllib.error.HTTPError as error:
        document = json.loads(error.read())
    for name, value in document.items():
        print(f"  {name:<24} {value if not isinstance(value, (list, dict)) else json.dumps(value)}")
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

    generate = commands.add_parser("generate", help="write a deterministic batch folder (parts + manifest)")
    generate.add_argument("--dataset", choices=["creators", "videos", "revenue"], required=True)
    generate.add_argument("--market", default="US")
    generate.add_argument("--rows", type=int, required=True)
    generate.add_argument("--snapshot", required=True, help="the snapshot date (the served date for revenue)")
    generate.add_argument("--out", default="batches")
    generate.add_argument("--format", choices=["jsonl.gz", "jsonl", "csv", "csv.gz"], default="jsonl.gz")
    generate.add_argument("--seed", default="pulse")
    generate.add_argument("--creators", type=int, default=50_000, help="videos: how many creators post them")
    generate.add_argument("--list-version", default="0000000001", help="revenue: the list version served")
    generate.add_argument(
        "--listed", type=int, default=40_000, help="revenue: how many videos vd000000000.. it names"
    )
    generate.add_argument("--batch-id", default="batch-0001")
    generate.set_defaults(run=_cmd_generate)

    upload = commands.add_parser("upload", help="upload a batch folder to the ingest bucket, manifest last")
    upload.add_argument("folder")
    upload.add_argument("--bucket", help="default: the local stack's IngestBucket")
    upload.add_argument("--stack-name", default="pulse-local")
    upload.set_defaults(run=_cmd_upload)

    refresh = commands.add_parser("refresh", help="fire the daily list refresh")
    refresh.add_argument("--markets", nargs="+")
    refresh.add_argument("--stack-name", default="pulse-local")
    refresh.set_defaults(
        run=lambda a: _invoke(a, "ListsRefreshFunction", {"markets": a.markets} if a.markets else {})
    )

    payout = commands.add_parser("payout", help="fire the month end for a month before the current one")
    payout.add_argument("--month", required=True)
    payout.add_argument("--markets", nargs="+")
    payout.add_argument("--stack-name", default="pulse-local")
    payout.set_defaults(
        run=lambda a: _invoke(
            a, "PayoutFunction", {"month": a.month, **({"markets": a.markets} if a.markets else {})}
        )
    )

    show = commands.add_parser("show", help="lists, a creator or a statement, as tables, from the API")
    show.add_argument("what", choices=["lists", "creator", "statement"])
    show.add_argument("id", nargs="?")
    show.add_argument("--market", default="US")
    show.add_argument("--category")
    show.add_argument("--month")
    show.add_argument("--limit", type=int, default=10)
    show.add_argument("--api", default="http://127.0.0.1:3000")
    show.set_defaults(run=_cmd_show)
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
