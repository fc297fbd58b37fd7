"""The built wheel holds every package: the API, the adapters, the rules document, the tools."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_has_every_package_and_the_api_imports_from_it(tmp_path: Path) -> None:
    subprocess.run(  # noqa: S603  # our own interpreter, building this repository
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp_path,
            ROOT,
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("pulse-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        str(path.relative_to(ROOT / base))
        for base in ("shared", "infra")
        for path in (ROOT / base).rglob("*.py")
        if path.relative_to(ROOT / base).parts[0] in ("pulse", "pulse_local", "pulse_cli")
    }
    assert sources - names == set()
    assert "pulse/core/programme_rules.json" in names
    target = tmp_path / "site"
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel],
        check=True,
    )
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pulse.entrypoints.api import routes; from pulse.core.rules import load_rules;"
        "assert routes.__file__.startswith(sys.argv[1]), routes.__file__;"
        "print(len(load_rules().categories), routes.openapi_document()[:1])"
    )
    shown = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe, str(target)], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert shown.stdout.split() == ["12", "{"]
