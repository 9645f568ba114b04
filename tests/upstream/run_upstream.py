"""Run upstream llama-index-workflows' own tests against durable_flows.

    python tests/upstream/run_upstream.py UPSTREAM_TESTS_DIR [extra pytest args]

UPSTREAM_TESTS_DIR is the ``tests`` folder of llama-index-workflows (in a clone of
github.com/run-llama/workflows-py: packages/llama-index-workflows/tests). The PyPI
sdist ships no tests, so the folder is never vendored here (upstream's code stays out
of this repository); it is copied to a temporary directory and run there with
``import workflows`` mapped onto ``durable_flows`` (alias.py) and tests of upstream
internals marked skipped (upstream_plugin.py). Prints one summary line:

    upstream: P passed, F failed, E errors, X excluded (private internals), S skipped

and a list of failing test ids, then exits 0 (the counts are the result).
Needs the ``upstream`` extra (pip install -e '.[test,upstream]').
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Folders of upstream's suite that test its engine (control loop, ticks, runtime
# plugins), not the API: left out whole, and listed as excluded.
EXCLUDED_FOLDERS = {"runtime": "upstream's engine internals (control loop, ticks, plugins)"}
INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
timeout = 30
"""


def count(junit: Path) -> tuple[Counter[str], list[str], list[str]]:
    tally: Counter[str] = Counter()
    failing: list[str] = []
    excluded: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        tid = f"{case.get('classname')}::{case.get('name')}"
        skipped = case.find("skipped")
        if case.find("failure") is not None:
            tally["failed"] += 1
            failing.append(tid)
        elif case.find("error") is not None:
            tally["errors"] += 1
            failing.append(tid)
        elif skipped is not None:
            reason = skipped.get("message", "")
            if reason == "collection skipped":  # a whole module (upstream_plugin.py)
                whole = re.search(r"private internals: [^'\"]*", skipped.text or "")
                reason = whole.group(0) if whole else reason
            if "private internals" in reason:
                tally["excluded"] += 1
                excluded.append(f"{tid}  ({reason})")
            else:
                tally["skipped"] += 1
        else:
            tally["passed"] += 1
    return tally, failing, excluded


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    source = Path(argv[0])
    if not source.is_dir():
        print(f"error: {source} is not a directory; pass upstream's tests folder")
        return 2
    with tempfile.TemporaryDirectory(prefix="upstream-tests-") as tmp:
        root = Path(tmp)
        shutil.copytree(source, root / "tests")
        (root / "pytest.ini").write_text(INI)
        junit = root / "junit.xml"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "tests",
            "-q",
            "-p",
            "upstream_plugin",
            "-p",
            "no:cacheprovider",
            "--continue-on-collection-errors",
            *(f"--ignore=tests/{name}" for name in EXCLUDED_FOLDERS),
            f"--junitxml={junit}",
            "-rN",
            *argv[1:],
        ]
        env = {**__import__("os").environ, "PYTHONPATH": str(HERE)}
        subprocess.run(cmd, cwd=root, env=env, check=False)
        if not junit.exists():
            print("error: pytest wrote no report (see the output above)")
            return 1
        tally, failing, excluded = count(junit)
    print("failing:")
    for tid in failing:
        print("  " + tid)
    print("excluded:")
    for name, why in EXCLUDED_FOLDERS.items():
        print(f"  tests/{name}/  (whole folder: {why})")
    for tid in excluded:
        print("  " + tid)
    print(
        f"upstream: {tally['passed']} passed, {tally['failed']} failed, "
        f"{tally['errors']} errors, {tally['excluded']} excluded (private internals), "
        f"{tally['skipped']} skipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
