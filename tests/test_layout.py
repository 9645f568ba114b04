"""The package's shape: the import layers hold and every package ships in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_layers_hold() -> None:
    """``lint-imports`` (the contract in pyproject.toml) passes on this tree."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "lint-imports missing: the test extra installs import-linter (pip install -e '.[test]')"
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout
    assert "0 broken" in done.stdout


def test_every_package_is_listed_for_the_wheel() -> None:
    """[tool.setuptools] packages names every directory of durable_flows with an __init__.py."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "durable_flows").rglob("__init__.py")
    }
    assert found - listed == set()


def test_no_internal_module_left_at_the_root() -> None:
    """The package root holds only the faces at upstream's import paths (and ``types``, ``utils``)."""
    faces = {"__init__", "collect", "decorators", "events", "handler", "types", "utils", "workflow"}
    modules = {p.stem for p in (ROOT / "durable_flows").glob("*.py")}
    assert modules - faces == set()


def test_no_module_over_400_lines() -> None:
    """Modules stay small (issue 13): one over 400 lines is split by concept."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "durable_flows").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_no_import_cycle_between_packages() -> None:
    """No cycle among durable_flows' top-level packages and modules, type-checking imports included."""
    grimp = pytest.importorskip("grimp")  # installed with import-linter (test extra)
    graph = grimp.build_graph("durable_flows", cache_dir=None)
    tops = sorted({".".join(m.split(".")[:2]) for m in graph.modules} - {"durable_flows"})
    cycles = []
    for i, a in enumerate(tops):
        for b in tops[i + 1 :]:
            if graph.chain_exists(importer=a, imported=b, as_packages=True) and graph.chain_exists(
                importer=b, imported=a, as_packages=True
            ):
                cycles.append((a, b))
    assert cycles == []
