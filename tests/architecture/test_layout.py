"""The map of docs/design.md, enforced: which package may import which, and who reads the clock.

Every module of shared/, functions/ and infra/ is parsed (not imported) and each of its imports is
checked against the rules of its layer. A new import across the map fails here, with the module
and the line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ("pulse.ingest", "pulse.eligibility", "pulse.lists", "pulse.money", "pulse.campaigns")
AWS_SDK = ("boto3", "botocore", "mypy_boto3_dynamodb", "mypy_boto3_s3", "mypy_boto3_events")
TOOLS = ("pulse_local", "pulse_cli")

# layer -> the imports it must never make (prefixes).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "pulse.core": ("pulse.", *AWS_SDK, "aws_lambda_powertools", *TOOLS),
    "domain": (
        *AWS_SDK,
        "aws_lambda_powertools",
        "pulse.aws",
        "pulse.entrypoints",
        "pulse.bootstrap",
        "pulse.observability",
        *TOOLS,
    ),
    "pulse.aws": ("pulse.entrypoints", "pulse.bootstrap", "aws_lambda_powertools", *TOOLS),
    "pulse.entrypoints": (*AWS_SDK, "pulse.aws", *TOOLS),
    "pulse.bootstrap": TOOLS,
    "pulse": TOOLS,  # settings, observability
    "functions": ("pulse.aws", "pulse.bootstrap", *DOMAIN, "pulse.core", *AWS_SDK, *TOOLS),
    "pulse_cli": ("pulse_local",),
    "pulse_local": (),
}
# pulse.core may import itself; a domain area may import pulse.core and the other areas.
ALLOWED_WITHIN = {"pulse.core": ("pulse.core",)}


def _modules() -> Iterator[tuple[str, Path]]:
    for base in ("shared", "infra"):
        for path in sorted((ROOT / base).rglob("*.py")):
            parts = path.relative_to(ROOT / base).with_suffix("").parts
            yield ".".join(p for p in parts if p != "__init__"), path
    for path in sorted((ROOT / "functions").glob("*.py")):
        yield f"functions.{path.stem}", path


def _layer(module: str) -> str:
    if module.startswith("functions."):
        return "functions"
    for layer in (
        "pulse.core",
        "pulse.aws",
        "pulse.entrypoints",
        "pulse.bootstrap",
        "pulse_cli",
        "pulse_local",
    ):
        if module == layer or module.startswith(layer + "."):
            return layer
    if module.startswith(DOMAIN):
        return "domain"
    return "pulse"


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from pulse import bootstrap` imports pulse.bootstrap
                yield node.lineno, f"{node.module}.{alias.name}"


def _breaks(imported: str, prefixes: tuple[str, ...]) -> bool:
    return any(
        imported == p.rstrip(".") or imported.startswith(p if p.endswith(".") else p + ".") for p in prefixes
    )


def test_every_module_imports_only_what_its_layer_may() -> None:
    wrong = []
    for module, path in _modules():
        layer = _layer(module)
        allowed = ALLOWED_WITHIN.get(layer, ())
        for line, imported in _imports(path):
            if _breaks(imported, FORBIDDEN[layer]) and not _breaks(imported, allowed):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({layer}) imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_the_map_knows_every_package() -> None:
    packages = {_layer(m) for m, _ in _modules()}
    assert packages <= set(FORBIDDEN), packages - set(FORBIDDEN)
    areas = {p.name for p in (ROOT / "shared" / "pulse").iterdir() if (p / "__init__.py").exists()}
    assert areas == {"core", "ingest", "eligibility", "lists", "money", "campaigns", "entrypoints", "aws"}


_WALL_CLOCK = re.compile(r"\b(?:datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")


@pytest.mark.parametrize("base", ["shared", "functions", "infra/pulse_cli"])
def test_only_the_clock_module_reads_the_wall_clock(base: str) -> None:
    """Everything else asks the composition root's clock, which tests set."""
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / base).rglob("*.py"))
        if path != ROOT / "shared/pulse/core/clock.py"
        for number, text in enumerate(path.read_text().splitlines(), 1)
        if _WALL_CLOCK.search(text)
    ]
    assert not readers, readers


def test_a_domain_import_of_boto3_would_be_caught(tmp_path: Path) -> None:
    """The check itself can fail: a domain module that imports boto3 breaks its layer's rules."""
    bad = tmp_path / "bad.py"
    bad.write_text("import boto3\nfrom pulse_local.run import main\n")
    found = [imported for _, imported in _imports(bad) if _breaks(imported, FORBIDDEN["domain"])]
    assert found == ["boto3", "pulse_local.run", "pulse_local.run.main"]
