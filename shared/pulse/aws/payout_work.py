"""A large month end's work in WorkBucket (docs/design.md, "Large month ends"): each range's
statements, `statements.csv` rows and tally under its execution's own prefix,
`payouts/market=<market>/month=<month>/<execution>/range=<index>/` (`statements.jsonl`,
`statements.csv`, `tally.json`, written last). A retried step overwrites its own objects; the
bucket's lifecycle removes them after 7 days.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Literal

from pulse.aws import clients
from pulse.money.large_month_end import MachineRun
from pulse.money.payout import Tally


def range_prefix(run: MachineRun, index: int) -> str:
    return f"payouts/market={run.market}/month={run.month}/{run.execution}/range={index:05d}/"


class S3RangeWork:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def save(self, run: MachineRun, index: int, statements: Path, rows: Path, counted: Tally) -> None:
        prefix = range_prefix(run, index)
        s3 = clients.s3()
        s3.upload_file(str(statements), self._bucket, prefix + "statements.jsonl")
        s3.upload_file(str(rows), self._bucket, prefix + "statements.csv")
        s3.put_object(
            Bucket=self._bucket,
            Key=prefix + "tally.json",
            Body=json.dumps(counted.as_json()).encode(),
            ContentType="application/json",
        )

    def tally(self, run: MachineRun, index: int) -> Tally:
        body = clients.s3().get_object(Bucket=self._bucket, Key=range_prefix(run, index) + "tally.json")[
            "Body"
        ]
        return Tally.from_json(json.loads(body.read()))

    def fetch(
        self, run: MachineRun, index: int, name: Literal["statements.jsonl", "statements.csv"], dest: Path
    ) -> None:
        body = clients.s3().get_object(Bucket=self._bucket, Key=range_prefix(run, index) + name)["Body"]
        with dest.open("wb") as out:
            shutil.copyfileobj(body, out, 1 << 20)
