"""Smoke run of ``bench/audit.py`` (issue 17): each mode runs and prints its
figures on a tiny size. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _audit_bench(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "audit.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.timeout(300)
def test_audit_bench_modes_print_their_figures(tmp_path: Path) -> None:
    writer = _audit_bench("writer", "--steps", "200", "--reps", "1")
    assert "hash chain adds" in writer and "search index" in writer
    chain = _audit_bench("chain", "--runs", "3", "--reps", "1")
    assert "hashing itself" in chain and "bytes per entry" in chain
    search = _audit_bench("search", "--entries", "3000", "--keep", str(tmp_path / "s.db"))
    assert "rare phrase 'refund 42'" in search and "a word in every entry" in search
