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
    """The package root holds only the faces at upstream's import paths (and ``types``)."""
    faces = {"__init__", "collect", "decorators", "errors", "events", "handler", "representation", "types", "workflow"}
    modules = {p.stem for p in (ROOT / "durable_flows").glob("*.py")}
    assert modules - faces == set()
