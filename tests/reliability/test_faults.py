"""Fault injection (spec §2.4, §2.5, §3): each AWS write of a whole invocation fails in turn, the
invocation is retried as Lambda retries it, and the outcome equals an undisturbed run.

Each sweep arms a fault at the 1st write, runs the invocation, retries it without the fault, then
arms the 2nd write, and so on until the fault lands past the invocation's last write. The retry
comes at once, as Lambda's does: a failed run must not leave its claim held.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from pulse.aws.dynamo import batch_write
from pulse.aws.ledger_table import DynamoLedgerStore
from pulse.aws.list_table import DynamoListStore
from pulse.aws.payout_table import DynamoPayoutStore
from pulse.core.runs import RunInProgress
from pulse.money.ledger import Kind, LedgerEntry, Totals
from pulse_cli.lambdas import invoke
from pulse_cli.template import Stack
from pulse_cli.uploads import Uploaded, upload_batch
from pulse_local.earnings_check import aggregates_equal, aggregates_equal_entries, entries_by_id
from tests.factories import REVENUE_COLUMNS, adjustment, creator, revenue, video
from tests.reliability.faults import WRITES, FaultAt, injected
from tests.reliability.state import ListsContent, fresh_account, lists_content, table_items

# The sweeps run on one worker, in this order, as in a single process (make test spreads the rest
# of the suite over workers around them).
pytestmark = pytest.mark.xdist_group("fault_sweeps")
Deliver = Callable[..., list[Any]]
Events = Callable[[], list[dict[str, Any]]]


@dataclass
class Sweep:
    """One fault per write of an invocation, each followed by its retry (see the module's doc)."""

    faults: int = 0
    failed_at: set[str] = field(default_factory=set)

    def run(
        self,
        attempt_for: Callable[[int], Callable[[], Any]],
        check: Callable[[int], None],
        after_fault: Callable[[int], None] = lambda _: None,
        longest_run: int | None = None,
    ) -> None:
        """Run 0, `attempt_for(0)`, is undisturbed and records the invocation's writes. Then for
        each of those writes in turn, run n: `attempt_for(n)` (what to invoke) runs with that write
        failing, `after_fault(n)` looks at what readers see, the invocation is retried at once, as
        Lambda retries it, and `check(n)` compares the outcome with an undisturbed run's."""
        recorder, attempt = FaultAt(), attempt_for(0)
        with injected(recorder):
            attempt()
        check(0)
        for n, (operation, occurrence) in enumerate(recorder.plan(longest_run), 1):
            attempt = attempt_for(n)
            fault = FaultAt(operation, occurrence)
            error: Exception | None = None
            with injected(fault):
                try:
                    attempt()
                except (ClientError, S3UploadFailedError) as raised:  # boto3's upload_file wraps it
                    error = raised
            assert (error is None) == (fault.failed is None), f"{fault.failed} failed unnoticed"
            assert error is None or "injected fault" in str(error), error
            if error is not None:
                self.faults += 1
                self.failed_at.add(operation)
                after_fault(n)
                attempt()  # Lambda's retry: the same event, without the fault
            check(n)

    def report(self, what: str) -> None:
        """The counts for the closing note (shown with `pytest -s`)."""
        print(f"{what}: {self.faults} faults injected, at {sorted(self.failed_at)}")


@pytest.fixture
def sweep() -> Sweep:
    return Sweep()


# --- revenue and adjustments ingest ------------------------------------------------------------


def _listed(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]]
) -> tuple[str, list[tuple[str, str]]]:
    """A US list version with 20 listed videos of creators c0..c9: (version, [(video, creator)])."""
    upload_snapshot("creators", "2026-11-26", [creator(f"c{i}") for i in range(10)])
    rows = [video(f"{c[0]}{i:03d}", f"c{i % 10}", c, views=i) for c in ("pets", "gaming") for i in range(250)]
    upload_snapshot("videos", "2026-11-27", rows, part="p.jsonl.gz")
    store = DynamoListStore(stack.name_of("StateTable"))
    current = store.current("US")
    assert current is not None
    listed = [
        (e.video_id, e.creator_id)
        for c in ("pets", "gaming")
        for e in store.entries("US", current.version, c)
    ]
    assert len(listed) == 20
    return current.version, listed


def _revenue_parts(
    prefix: str, version: str, listed: list[tuple[str, str]]
) -> dict[str, list[dict[str, Any]]]:
    rows = [
        revenue(
            f"{prefix}-r{i}",
            listed[i % 20][0],
            version,
            1_000_003 * (i % 7 + 1),
            impressions=i % 50 + 1,
            served_date="2026-10-31" if i % 9 == 0 else "2026-11-27",
        )
        for i in range(360)
    ]
    rows += [revenue(f"{prefix}-off{i}", f"p{i:03d}", version, 5) for i in range(8)]  # not on the list
    rows += [revenue(f"{prefix}-r{i}", listed[0][0], version, 99) for i in range(4)]  # repeated ids
    return {"part-0000.csv.gz": rows[:190], "part-0001.jsonl": rows[190:]}


def _adjustment_parts(prefix: str, _: str, listed: list[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    rows = [
        adjustment(f"{prefix}-a{i}", listed[i % 20][1], -(i * 1_001) + 40_000, month="2026-11")
        for i in range(300)
    ]
    rows += [adjustment(f"{prefix}-a{i}", "c1", 1) for i in range(3)]  # repeated ids
    return {"part-0000.jsonl": rows[:150], "part-0001.csv": rows[150:]}


@dataclass(frozen=True)
class LedgerDataset:
    name: str
    folder: Callable[[str], str]
    parts: Callable[[str, str, list[tuple[str, str]]], dict[str, list[dict[str, Any]]]]
    columns: tuple[str, ...]
    entry_kind: Kind
    id_column: str


LEDGER_DATASETS = [
    LedgerDataset(
        "revenue",
        lambda b: f"revenue/market=US/date=2026-11-27/{b}/",
        _revenue_parts,
        REVENUE_COLUMNS,
        "revenue",
        "row_id",
    ),
    LedgerDataset(
        "adjustments",
        lambda b: f"adjustments/market=US/{b}/",
        _adjustment_parts,
        ("adjustment_id", "market", "creator_id", "month", "revenue_micros", "reason"),
        "adjustment",
        "adjustment_id",
    ),
]


def _ledger_state(stack: Stack, creators: set[str]) -> dict[tuple[str, str], Totals]:
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    return {(m, c): ledger.totals("US", m, c) for m in ("2026-10", "2026-11") for c in sorted(creators)}


def _delta(after: dict[tuple[str, str], Totals], before: dict[tuple[str, str], Totals]) -> dict[Any, Any]:
    return {
        key: (
            a.gross_micros - before[key].gross_micros,
            a.adjustments_micros - before[key].adjustments_micros,
            a.impressions - before[key].impressions,
            a.entries - before[key].entries,
        )
        for key, a in after.items()
    }


def _batch_report(s3: Any, stack: Stack, dataset: str, batch: str) -> tuple[dict[str, Any], list[Any]]:
    """What a batch's report says, less its names and timings, and its rejected rows."""
    prefix = f"ingest-reports/{dataset}/market=US/{batch}/"
    bucket = stack.name_of("ReportsBucket")
    report = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "report.json")["Body"].read())
    rejected = s3.get_object(Bucket=bucket, Key=prefix + "rejected.jsonl")["Body"].read().decode()
    kept = ("status", "rows_read", "rows_accepted", "rows_rejected", "rejected_by_reason", "outcome")
    rows = sorted(
        (r["file"], r["line"], r["field"], r["reason"]) for r in map(json.loads, rejected.splitlines())
    )
    return {k: report[k] for k in kept}, rows


def _entries(
    stack: Stack, dataset: LedgerDataset, parts: dict[str, list[dict[str, Any]]]
) -> list[LedgerEntry]:
    """The ledger entries a batch booked, read by the ids of its rows (rejected ones included:
    an entry's id is its row's, so none can be booked under another)."""
    ids = [row[dataset.id_column] for rows in parts.values() for row in rows]
    return entries_by_id(stack, "US", dataset.entry_kind, ids)


@pytest.mark.parametrize("dataset", LEDGER_DATASETS, ids=lambda d: d.name)
def test_ledger_ingest_counts_every_row_once_whichever_write_fails(
    dataset: LedgerDataset,
    stack: Stack,
    s3: Any,
    deliver: Deliver,
    upload_snapshot: Callable[..., dict[str, Any]],
    sweep: Sweep,
) -> None:
    version, listed = _listed(stack, upload_snapshot)
    creators = {c for _, c in listed}

    def parts(batch: str) -> dict[str, list[dict[str, Any]]]:
        return dataset.parts(batch, version, listed)

    def upload(batch: str) -> Uploaded:
        return upload_batch(
            s3, stack.name_of("IngestBucket"), dataset.folder(batch), parts(batch), columns=dataset.columns
        )

    def booked(batch: str) -> list[tuple[str, int]]:
        entries = _entries(stack, dataset, parts(batch))
        every_entry.extend(entries)
        return sorted((e.entry_id.removeprefix(f"{batch}-"), e.revenue_micros) for e in entries)

    every_entry: list[LedgerEntry] = []
    before = _ledger_state(stack, creators)
    deliver(upload("ref"), "00000000000000FF")
    expected_delta = _delta(_ledger_state(stack, creators), before)
    expected_report = _batch_report(s3, stack, dataset.name, "ref")
    expected_entries = booked("ref")
    assert expected_report[0]["rows_accepted"] == len(expected_entries) > 200

    def attempt_for(n: int) -> Callable[[], Any]:
        uploaded = upload(f"f{n}")
        before.update(_ledger_state(stack, creators))
        return lambda: deliver(uploaded, f"{n:016X}")  # every retry: the same notification

    def check(n: int) -> None:
        assert _delta(_ledger_state(stack, creators), before) == expected_delta, f"fault at write {n}"
        assert _batch_report(s3, stack, dataset.name, f"f{n}") == expected_report, f"fault at write {n}"
        assert booked(f"f{n}") == expected_entries, f"fault at write {n}"
        # the earnings' aggregates (totals, late part, lines) equal every entry booked so far
        assert aggregates_equal(stack, "US", every_entry) >= len(creators), f"fault at write {n}"

    sweep.run(attempt_for, check)
    assert sweep.faults >= 8, sweep.failed_at
    sweep.report(f"{dataset.name} ingest")


# --- list publication: videos ingest and the daily refresh ---------------------------------------


def _snapshot_rows(variant: int) -> list[dict[str, Any]]:
    """Two snapshots whose lists differ everywhere: 6 categories of 400 videos (k = 16)."""
    return [
        video(f"v{variant}{c[:3]}{i:03d}", f"c{i % 10}", c, views=i * (2 * variant + 1) % 401)
        for c in ("pets", "music", "travel", "gaming", "cooking", "books")
        for i in range(400)
    ]


def test_readers_see_one_whole_version_and_retries_publish_the_undisturbed_lists(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]], bus_events: Events, sweep: Sweep
) -> None:
    day = iter(f"2026-12-{d:02d}" for d in range(1, 32))
    creators = [creator(f"c{i}") for i in range(10)]

    def publish(variant: int) -> Callable[[], Any]:
        snapshot = next(day)
        upload_snapshot("creators", snapshot, creators)
        return lambda: upload_snapshot("videos", snapshot, _snapshot_rows(variant), part="p.csv")

    publish(0)()
    undisturbed = [lists_content(stack)]
    publish(1)()
    undisturbed.append(lists_content(stack))
    assert undisturbed[0] != undisturbed[1]
    # The 12 lists of videos snapshot n are variant n % 2; before it, readers had variant (n - 1) % 2.
    sweep.run(
        attempt_for=lambda n: publish(n % 2),
        after_fault=lambda n: _assert_whole(lists_content(stack), undisturbed, n),
        check=lambda n: _assert_published(stack, bus_events, undisturbed[n % 2], n),
    )
    assert sweep.faults >= 10, sweep.failed_at
    sweep.report("list publication (videos ingest)")


def test_the_daily_refresh_survives_a_fault_at_every_write(
    stack: Stack, upload_snapshot: Callable[..., dict[str, Any]], bus_events: Events, sweep: Sweep
) -> None:
    upload_snapshot("videos", "2026-11-27", _snapshot_rows(0), part="p.csv")
    day = itertools.chain(
        (f"2026-11-{d:02d}" for d in range(28, 31)), (f"2026-12-{d:02d}" for d in range(1, 32))
    )

    def creators(variant: int) -> list[dict[str, Any]]:
        # variant 1: c7 and c9 are banned, so their videos leave the lists
        return [creator(f"c{i}", standing="banned" if variant and i in (7, 9) else "good") for i in range(10)]

    def refresh(variant: int) -> Callable[[], Any]:
        upload_snapshot("creators", next(day), creators(variant))
        return lambda: invoke(stack, "ListsRefreshFunction", {"markets": ["US"]})

    refresh(0)()
    undisturbed = [lists_content(stack)]
    refresh(1)()
    undisturbed.append(lists_content(stack))
    assert undisturbed[0] != undisturbed[1]
    sweep.run(
        attempt_for=lambda n: refresh(n % 2),  # run 0 changes variant 1's lists back to 0
        after_fault=lambda n: _assert_whole(lists_content(stack), undisturbed, n),
        check=lambda n: _assert_published(stack, bus_events, undisturbed[n % 2], n),
    )
    assert sweep.faults >= 10, sweep.failed_at
    sweep.report("list publication (daily refresh)")


def _assert_whole(seen: ListsContent, versions: list[ListsContent], n: int) -> None:
    """After a fault, readers see the old lists whole or the new ones whole, never a mix."""
    assert seen in versions, f"after a fault at write {n} readers saw a mixed version"


def _assert_published(stack: Stack, bus_events: Events, expected: ListsContent, n: int) -> None:
    """The retry left the undisturbed run's lists current, and announced them."""
    assert lists_content(stack) == expected, f"the retry after a fault at write {n} published other lists"
    current = DynamoListStore(stack.name_of("StateTable")).current("US")
    assert current is not None
    announced = [e["detail"]["list_version"] for e in bus_events() if e["detail-type"] == "TopListsPublished"]
    assert current.version in announced, f"after a fault at write {n} the current version was never announced"


# --- the month-end payout run --------------------------------------------------------------------


def _book_two_months(stack: Stack) -> None:
    """120 creators' September and October: payable, below minimum, negative and carried balances."""
    entries = []
    for i in range(120):
        september, october = (i * 7_919_993) % 90_000_001, (i * 3_141_593) % 60_000_007
        booked = [("revenue", "2026-09", september), ("revenue", "2026-10", october)]
        if i % 4 == 0:  # a clawback larger than both months' revenue: a negative balance
            booked.append(("adjustment", "2026-10", -(september + october + i * 10_007 + 1)))
        for kind, month, micros in booked:
            entry_id, impressions = f"{kind[0]}-{month}-{i}", i + 1 if kind == "revenue" else 0
            entries.append(
                LedgerEntry(kind, entry_id, "US", f"c{i:03d}", month, month, micros, impressions, "t", {})  # type: ignore[arg-type]
            )
    recorded, repeated = DynamoLedgerStore(stack.name_of("StateTable")).record(entries)
    assert (len(recorded), repeated) == (len(entries), [])


def _payout(stack: Stack, month: str) -> dict[str, Any]:
    (run,) = invoke(stack, "PayoutFunction", {"month": month, "markets": ["US"]})["runs"]
    return run  # type: ignore[no-any-return]


def _payout_outcome(stack: Stack, s3: Any) -> tuple[Any, ...]:
    """What finance, creators and the API see of October: the reports, every statement and its
    document, the closed month."""
    bucket, prefix = stack.name_of("ReportsBucket"), "payouts/market=US/month=2026-10/"
    sheet = s3.get_object(Bucket=bucket, Key=prefix + "statements.csv")["Body"].read().decode()
    summary = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "summary.json")["Body"].read())
    store = DynamoPayoutStore(stack.name_of("StateTable"))
    statements = [
        store.statement("US", "2026-10", row["creator_id"]) for row in csv.DictReader(io.StringIO(sheet))
    ]
    documents = {
        row["creator_id"]: s3.get_object(Bucket=bucket, Key=f"{prefix}statements/{row['creator_id']}.json")[
            "Body"
        ].read()
        for row in csv.DictReader(io.StringIO(sheet))
    }
    rerun = _payout(stack, "2026-10")
    assert rerun.pop("duplicate") is True
    return sheet, summary, statements, documents, rerun, store.last_closed("US")


def test_the_month_end_equals_an_undisturbed_run_whichever_write_fails(
    stack: Stack, s3: Any, sweep: Sweep
) -> None:
    fresh_account(stack)
    _book_two_months(stack)
    _payout(stack, "2026-09")
    booked = table_items(stack)

    def prepared() -> Callable[[], Any]:
        """The state table as it was before October's run, in a new account."""
        fresh_account(stack)
        batch_write(stack.name_of("StateTable"), [{"PutRequest": {"Item": item}} for item in booked])
        return lambda: _payout(stack, "2026-10")

    prepared()()
    undisturbed = _payout_outcome(stack, s3)
    _, summary, statements, _, _, closed = undisturbed
    assert (len(statements), closed) == (120, "2026-10")
    assert summary["statuses"]["payable"] > 0
    assert summary["statuses"]["negative_balance"] > 0
    assert all(summary["invariants"].values())
    sweep.run(
        attempt_for=lambda _: prepared(),
        check=lambda n: _assert_payout(_payout_outcome(stack, s3), undisturbed, n),
        longest_run=8,  # 120 documents: faulted at 5 of them (FaultAt.plan)
    )
    assert sweep.faults >= 10, sweep.failed_at
    sweep.report("payout run")


def _assert_payout(seen: tuple[Any, ...], expected: tuple[Any, ...], n: int) -> None:
    assert seen == expected, f"the retried month end after a fault at write {n} differs"


class _Crash:
    """A run that dies the hard way (out of memory, a runtime crash) after booking some entries:
    its second ledger transaction fails, and so does everything after it, its claim's release too."""

    def __init__(self) -> None:
        self.transactions = 0
        self.dead = False

    def __call__(self, model: Any, **_: Any) -> None:
        self.transactions += model.name == "TransactWriteItems"
        self.dead = self.dead or self.transactions == 2
        if self.dead and model.name in WRITES[model.service_model.service_name]:
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected crash"}}, model.name)


def test_lambdas_retry_takes_over_the_claim_a_crashed_run_still_holds(
    stack: Stack, s3: Any, deliver: Deliver, upload_snapshot: Callable[..., dict[str, Any]]
) -> None:
    version, listed = _listed(stack, upload_snapshot)
    creators = {c for _, c in listed}
    dataset, bucket = LEDGER_DATASETS[0], stack.name_of("IngestBucket")

    def upload(batch: str) -> Uploaded:
        parts = dataset.parts(batch, version, listed)
        return upload_batch(s3, bucket, dataset.folder(batch), parts, columns=dataset.columns)

    before = _ledger_state(stack, creators)
    deliver(upload("ref"), "00000000000000FF")
    expected = _delta(_ledger_state(stack, creators), before)
    assert any(gross for gross, *_ in expected.values())
    before = _ledger_state(stack, creators)
    uploaded, crash = upload("crash"), _Crash()
    with injected(crash), pytest.raises(ClientError, match="injected crash"):
        deliver(uploaded, "0000000000000C01", request_id="req-1")
    assert crash.transactions >= 2  # it died half-way through booking
    # The claim is still held: a second delivery of the notification (another invocation) waits...
    with pytest.raises(RunInProgress):
        deliver(uploaded, "0000000000000C01", request_id="req-2")
    # ... but Lambda's retry of the crashed invocation, which keeps its request id, finishes the run.
    (result,) = deliver(uploaded, "0000000000000C01", request_id="req-1")
    assert result["batches"][0]["duplicate"] is False
    assert _delta(_ledger_state(stack, creators), before) == expected
    assert aggregates_equal_entries(stack, "US", ("2026-10", "2026-11"), sorted(creators))
    assert _batch_report(s3, stack, "revenue", "crash") == _batch_report(s3, stack, "revenue", "ref")
