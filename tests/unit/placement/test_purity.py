"""Placement stays pure: the same rule as the import-linter contract, checked by `make test` too."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import computenet.placement

PACKAGE = Path(computenet.placement.__file__).parent
FORBIDDEN_ROOTS = {"kopf", "kubernetes", "aiohttp", "pydantic"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for item in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(item, ast.Import):
            found |= {alias.name for alias in item.names}
        elif isinstance(item, ast.ImportFrom) and item.module and item.level == 0:
            found.add(item.module)
            found |= {f"{item.module}.{alias.name}" for alias in item.names}
    return found


def test_placement_source_imports_nothing_forbidden() -> None:
    offenders = []
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    for source in sources:
        for module in imported_modules(source):
            root = module.split(".")[0]
            outside = module.startswith("computenet.") and not module.startswith("computenet.placement")
            if root in FORBIDDEN_ROOTS or outside:
                offenders.append(f"{source.relative_to(PACKAGE)}: {module}")
    assert offenders == []


def test_importing_placement_loads_no_forbidden_package() -> None:
    probe = (
        "import sys, computenet.placement, computenet.placement.filters, computenet.placement.scores\n"
        "ours = {m for m in sys.modules if m.startswith('computenet.')}\n"
        "loaded = {m.split('.')[0] for m in sys.modules} | ours\n"
        "print(' '.join(sorted(loaded)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    )
    assert loaded & FORBIDDEN_ROOTS == set()
    assert {m for m in loaded if m.startswith("computenet.") and not m.startswith("computenet.placement")} == set()
