"""The operator as a package, the way the image builds it: a wheel from the files the Docker build
context holds, installed into a clean virtual environment, whose `computenet` entry point answers.
There is no Docker engine here, so the Dockerfile itself is checked for what the image must be.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# What the image is built from: .dockerignore lets exactly these through, the Dockerfile copies them.
BUILD_CONTEXT = ("pyproject.toml", "README.md", "operator")
PIP_S = 540.0  # a cold install downloads the dependencies from PyPI; pip caches them afterwards


def run(*argv: str | Path, cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run outside the checkout with no trace of the development venv, so nothing leaks in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{' '.join(proc.args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the build context, never writing into the shared tree."""
    src = tmp_path_factory.mktemp("context")
    for name in BUILD_CONTEXT:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheels")
    ok(run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", out, src, cwd=out, timeout=PIP_S))
    (built,) = out.glob("computenet-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtual environment with the wheel and its dependencies, and nothing from this checkout."""
    root = tmp_path_factory.mktemp("venv")
    ok(run(sys.executable, "-m", "venv", root / "env", cwd=root))
    ok(run(root / "env/bin/python", "-m", "pip", "install", "--quiet", wheel, cwd=root, timeout=PIP_S))
    return root / "env"


def test_wheel_holds_the_package_and_its_entry_point(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (entry_points,) = (n for n in names if n.endswith(".dist-info/entry_points.txt"))
        (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        entry_text, metadata_text = zf.read(entry_points).decode(), zf.read(metadata).decode()
    assert {"computenet/__init__.py", "computenet/__main__.py", "computenet/py.typed"} <= names
    assert not [n for n in names if n.startswith(("tests/", "operator/", "charts/"))]
    assert re.search(r"^computenet = computenet\.__main__:main$", entry_text, re.M), entry_text
    # kubectl finds the plugin on PATH by this script's name: `kubectl computenet VERB`.
    assert re.search(r"^kubectl-computenet = computenet\.cli\.main:main$", entry_text, re.M), entry_text
    for dependency in ("kopf", "kubernetes", "pydantic", "prometheus-client"):
        assert re.search(rf"^Requires-Dist: {dependency}\b", metadata_text, re.M | re.I), dependency


def test_installed_package_comes_from_the_venv(venv: Path, tmp_path: Path) -> None:
    proc = ok(run(venv / "bin/python", "-c", "import computenet; print(computenet.__file__)", cwd=tmp_path))
    assert Path(proc.stdout.strip()).is_relative_to(venv), proc.stdout
    ok(run(venv / "bin/python", "-m", "pip", "check", cwd=tmp_path))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--help"], "run", id="computenet --help lists the run command"),
        pytest.param(["run", "--help"], "usage:", id="computenet run --help answers without a cluster"),
    ],
)
def test_entry_point_answers(venv: Path, tmp_path: Path, argv: list[str], expected: str) -> None:
    proc = ok(run(venv / "bin/computenet", *argv, cwd=tmp_path))
    assert proc.stdout.lower().startswith("usage:"), proc.stdout
    assert expected in proc.stdout.lower()


# --- the Dockerfile -----------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (m.group(1).upper(), m.group(2))
        for line in lines
        if line and not line.startswith("#") and (m := re.match(r"(\w+)\s+(.*)", line))
    ]


def test_dockerfile_builds_a_wheel_and_runs_it_as_non_root() -> None:
    steps = instructions()
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    froms = [a.replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", "")) for k, a in steps if k == "FROM"]
    assert len(froms) == 2, f"multi-stage: a build stage and a runtime stage, got {froms}"
    assert all(re.match(r"python:3\.11-slim\b", f) for f in froms), froms
    runtime = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    assert any(k == "RUN" and "pip wheel" in a for k, a in steps), "the build stage builds a wheel"
    assert not any(k == "RUN" for k, _ in runtime), "the runtime stage needs no shell"
    (user,) = [a for k, a in runtime if k == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit(), "a numeric user, so runAsNonRoot can be verified"
    assert int(uid) != 0
    chart_values = yaml.safe_load((REPO / "charts/computenet/values.yaml").read_text())
    assert chart_values["podSecurityContext"]["runAsUser"] == int(uid), "the chart runs the image's user"
    assert [a for k, a in runtime if k == "ENTRYPOINT"] == ['["computenet"]']
    assert [a for k, a in runtime if k == "CMD"] == ['["run"]']


def test_docker_context_holds_what_the_dockerfile_copies() -> None:
    ignore = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in ignore if line and not line.startswith("#")]
    assert patterns[0] == "*", "an allowlist: everything is excluded unless named"
    allowed = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    assert allowed == set(BUILD_CONTEXT)
    copied = set()
    for kind, arg in instructions():
        if kind == "COPY" and not arg.startswith("--from"):
            *sources, _dest = arg.split()
            copied |= {s.rstrip("/") for s in sources}
    assert copied == set(BUILD_CONTEXT)
