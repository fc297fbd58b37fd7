"""`make load` reads locust's final figures, fails on any 5xx, and loads nothing but 127.0.0.1."""

import json
from pathlib import Path

import pytest

from pulse_local import load


def _locust_output(prefix: Path, failures: dict[str, int], failed: int) -> None:
    single = {
        "name": "GET /v1/placements/{video_id}",
        "start_time": 100.0,
        "last_request_timestamp": 110.0,
        "num_requests": 1_000,
        "num_failures": failed,
        "response_times": {"10": 500, "11": 480, "40": 20},
    }
    batch = {**single, "name": "POST /v1/placements/batch (100)", "num_requests": 100, "num_failures": 0}
    batch["response_times"] = {"12": 99, "60": 1}
    Path(f"{prefix}.json").write_text(json.dumps([single, batch]))
    rows = "".join(f"GET,x,{error},{n}\n" for error, n in failures.items())
    Path(f"{prefix}_failures.csv").write_text("Method,Name,Error,Occurrences\n" + rows)


def test_the_figures_are_locust_s_and_a_clean_run_passes(tmp_path: Path) -> None:
    _locust_output(tmp_path / "load", {}, 0)
    report = load.read_stats(str(tmp_path / "load"), seconds=10, users=4)
    single, batch = report.calls
    assert (single.requests, single.rps, single.p50_ms, single.p99_ms) == (1_000, 100.0, 10.0, 40.0)
    assert (batch.p50_ms, batch.p99_ms) == (12.0, 12.0)
    assert (report.total.requests, report.total.p99_ms) == (1_100, 40.0)
    assert report.passed
    assert "  5xx answers: 0" in report.lines()


def test_a_single_5xx_fails_the_run(tmp_path: Path) -> None:
    _locust_output(tmp_path / "load", {"CatchResponseError('HTTP 503')": 1}, 1)  # as locust writes it
    report = load.read_stats(str(tmp_path / "load"), seconds=10, users=4)
    assert (report.server_errors, report.passed) == (1, False)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:3000", "https://127.0.0.1:3000", "http://localhost.example"]
)
def test_only_the_loopback_is_loaded(url: str) -> None:
    with pytest.raises(SystemExit, match="only loads"):
        load._loopback(url)


def test_a_run_that_made_no_request_fails_without_a_crash(tmp_path: Path) -> None:
    Path(f"{tmp_path / 'load'}.json").write_text("[]")  # locust leaves out calls with no request
    Path(f"{tmp_path / 'load'}_failures.csv").write_text("Method,Name,Error,Occurrences\n")
    report = load.read_stats(str(tmp_path / "load"), seconds=10, users=4)
    assert (report.total.requests, report.passed) == (0, False)
