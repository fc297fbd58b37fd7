"""The built wheel holds every package: the API, the adapters, the rules document, the tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_has_every_package_and_the_api_imports_from_it(tmp_path: Path) -> None:
    # Built from a copy of the sources: an in-tree build/ left by an earlier build could otherwise
    # put modules that no longer exist into the wheel.
    source = tmp_path / "src"
    for name in ("shared", "infra"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", tmp_path, source], check=True)  # noqa: S603  # our own interpreter
    (wheel,) = tmp_path.glob("pulse-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        str(path.relative_to(ROOT / base))
        for base in ("shared", "infra")
        for path in (ROOT / base).rglob("*.py")
        if path.relative_to(ROOT / base).parts[0] in ("pulse", "pulse_local", "pulse_cli")
    }
    shipped = {name for name in names if name.endswith(".py")}
    assert shipped == sources, (sources - shipped, shipped - sources)
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
