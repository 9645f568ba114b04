"""Benchmark durable_flows against upstream llama-index-workflows, side by side.

    python bench/run.py                 # every workload, 5 repetitions
    python bench/run.py --quick         # tiny sizes, 1 repetition (CI smoke run)
    python bench/run.py --only chain,loop --reps 7
    python bench/run.py --synchronous NORMAL --only chain,loop
    python bench/run.py --json > bench.json

Upstream runs in the same process when ``workflows`` (the ``bench`` extra:
``pip install -e '.[bench]'``) is importable. durable_flows journals to a fresh
SQLite file per repetition in a temporary directory, at default settings
(``synchronous=FULL``) unless ``--synchronous`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the ``bench`` package importable
    sys.path.append(str(ROOT))  # last, so PYTHONPATH can point at another durable_flows

from bench import durable_only, sqlite_ref, throughput  # noqa: E402
from bench.harness import DF, UP, Config, Results, dump_json  # noqa: E402
from bench.report import derived, table  # noqa: E402
from bench.workloads import available  # noqa: E402

WORKLOADS = {
    "chain": throughput.chain,
    "fanout": throughput.fanout,
    "loop": throughput.loop,
    "concurrent": throughput.concurrent,
    "resume": durable_only.resume,
    "recover": durable_only.recover,
    "memory": durable_only.memory,
    "journal": durable_only.journal,
    "sqlite": sqlite_ref.sqlite,
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repetition (smoke run)")
    parser.add_argument("--only", help=f"comma-separated workloads: {', '.join(WORKLOADS)}")
    parser.add_argument("--reps", type=int, help="repetitions per workload (default 5; --quick: 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--synchronous",
        default="FULL",
        choices=["FULL", "NORMAL"],
        help="durable_flows store setting",
    )
    parser.add_argument("--no-upstream", action="store_true", help="run durable_flows only")
    parser.add_argument("--tmp", help="directory for the journal files (default: a new temp dir)")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(
            f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
        )
    args.names = names
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def meta(args: argparse.Namespace, engines: list[str], tmp: Path) -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    def git(*cmd: str) -> str:
        try:
            out = subprocess.run(
                ["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
            return out.stdout.strip()
        except OSError:
            return ""

    dirty = git("status", "--porcelain", "--", "durable_flows", "migrations")
    import durable_flows

    where = Path(durable_flows.__file__).resolve().parent
    engine = f"{version('durable_flows')} @ {git('rev-parse', '--short', 'HEAD')}"
    engine += " + uncommitted engine changes" if dirty else ""
    if where != ROOT / "durable_flows":
        engine = f"{version('durable_flows')} imported from {where}"
    return {
        "command": "python bench/run.py " + shlex.join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "sqlite": sqlite3.sqlite_version,
        "durable_flows": engine,
        "llama-index-workflows": version("llama-index-workflows") if UP in engines else "not run",
        "synchronous": args.synchronous,
        "repetitions": args.reps,
        "journal dir": str(tmp),
    }


async def run(args: argparse.Namespace, cfg: Config) -> Results:
    """Every chosen workload; one that fails is reported and the others still run."""
    results = Results()
    for name in args.names:
        t0 = time.perf_counter()
        try:
            await WORKLOADS[name](cfg, results)
        except Exception as exc:  # noqa: BLE001 - keep the figures of the other workloads
            traceback.print_exc()
            results.failed.append(name)
            results.note(f"workload {name} FAILED: {type(exc).__name__}: {exc}")
        print(f"# {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    derived(results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    engines = [DF]
    if not args.no_upstream and available(UP):
        engines.append(UP)
    made_tmp = args.tmp is None
    tmp = Path(tempfile.mkdtemp(prefix="durable_flows-bench-") if made_tmp else args.tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = Config(
        reps=args.reps, quick=args.quick, tmp=tmp, engines=engines, synchronous=args.synchronous
    )
    info = meta(args, engines, tmp)
    t0 = time.perf_counter()
    try:
        results = asyncio.run(run(args, cfg))
    finally:
        if made_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    info["seconds"] = round(time.perf_counter() - t0, 1)
    if UP not in engines:
        results.note("upstream llama-index-workflows is not installed: durable_flows figures only")
    status = 1 if results.failed else 0
    if args.json:
        table(results, judge=not args.quick)  # fills in the verdicts
        print(dump_json(results, info))
        return status
    print("\n".join(f"{k}: {v}" for k, v in info.items()))
    print()
    print(table(results, judge=not args.quick))
    if results.notes:
        print()
    for note in results.notes:
        print(f"- {note}")
    return status


if __name__ == "__main__":
    sys.exit(main())
