"""Commands that only read never write (issue 15, item 3).

Before: ``runs``, ``show`` and ``gc --dry-run`` on a foreign SQLite file added
durable_flows' tables to it, a 0-byte file became a 57 KB journal, a
mistyped PostgreSQL ``?schema=`` was created, and a worker idled on a
journal it had just created from a typo. Every case here runs the real
``durable-flows`` process and compares the file's bytes before and after.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import Journal, start_cli, subprocess_env

pytestmark = pytest.mark.timeout(180)

READ_COMMANDS = [
    ["runs"],
    ["runs", "--json"],
    ["show", "chain"],
    ["show", "chain", "--json"],
    ["export", "chain"],
    ["report", "chain", "-o", "{tmp}/r.html"],
    ["check", "--workflow", "flows:Chain"],
    ["gc", "--finished-before", "0d", "--dry-run"],
]
WRITE_COMMANDS = [
    ["send", "chain", "flows:Counted", "--data", '{"n": 1}'],
    ["cancel", "chain"],
    ["fork", "chain", "--at", "2"],
    ["resume", "chain", "--workflow", "flows:Chain"],
    ["recover", "--workflow", "flows:Chain"],
    ["gc", "--finished-before", "0d"],
]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable_flows.cli", *args],
        capture_output=True, text=True, env=subprocess_env(), timeout=timeout,
    )  # fmt: skip


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with a hash of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def foreign_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO customers (name) VALUES (?)", [("ada",), ("grace",)])
    con.commit()
    con.close()
    return path


def one_line_refusal(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr


@pytest.mark.parametrize("command", READ_COMMANDS + WRITE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_foreign_sqlite_file_is_refused_and_left_byte_identical(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    db = foreign_db(folder / "app.db")
    before = fingerprint(folder)
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    result = cli(*args, "--db", str(db))
    one_line_refusal(result, "not a durable_flows journal", "nothing was changed")
    assert fingerprint(folder) == before
    con = sqlite3.connect(db)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["customers"]
    con.close()


@pytest.mark.parametrize("command", READ_COMMANDS + WRITE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_empty_file_is_refused_and_stays_empty(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "empty.db"
    db.touch()
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    one_line_refusal(cli(*args, "--db", str(db)), "it is an empty file")
    assert db.stat().st_size == 0
    assert [p.name for p in folder.iterdir()] == ["empty.db"]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c))
def test_read_commands_leave_a_real_journal_byte_identical(journal: Journal, tmp_path: Path, command: list[str]) -> None:
    before = hashlib.sha256(journal.path.read_bytes()).hexdigest()
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    result = cli(*args, "--db", str(journal.path))
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(journal.path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in journal.path.parent.iterdir() if p.name.startswith("runs.db")) == ["runs.db"]


def test_migrate_creates_only_when_asked(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    one_line_refusal(cli("migrate", "--db", str(db)), "no journal database at", "--create")
    assert not db.exists()
    created = cli("migrate", "--create", "--db", str(db))
    assert created.returncode == 0, created.stderr
    listed = cli("runs", "--json", "--db", str(db))
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]")
    assert cli("migrate", "--db", str(db)).returncode == 0  # already current: fine


def test_a_worker_refuses_a_mistyped_db(tmp_path: Path) -> None:
    typo = tmp_path / "ruhs.db"
    started = time.monotonic()
    result = cli("worker", "--workflow", "flows:Chain", "--db", str(typo), timeout=30)
    one_line_refusal(result, "no journal database at", "--create")
    assert time.monotonic() - started < 30 and not typo.exists()


def test_a_worker_with_create_starts_a_journal(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    proc = start_cli("worker", "--workflow", "flows:Chain", "--db", str(db), "--create")
    try:
        for _ in range(300):
            if db.exists() and cli("runs", "--db", str(db)).returncode == 0:
                break
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "worker stopped: 0 runs finished" in out


@pytest.mark.parametrize("command", [["runs"], ["show", "x"], ["gc", "--finished-before", "1d", "--dry-run"],
                                     ["send", "x", "flows:Counted", "--data", '{"n": 1}'],
                                     ["worker", "--workflow", "flows:Chain"]],
                         ids=lambda c: c[0])
def test_a_mistyped_postgresql_schema_is_not_created(command: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pg_support import connect, new_schema_name, pg_dsn_or_skip

    dsn = pg_dsn_or_skip()
    schema = new_schema_name()
    result = cli(*command, "--db", f"{dsn}?schema={schema}", timeout=60)
    one_line_refusal(result, f"schema {schema!r} does not exist")

    async def exists() -> bool:
        conn = await connect(dsn)
        try:
            return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema))
        finally:
            await conn.close()

    assert asyncio.run(exists()) is False


def test_read_commands_read_a_postgresql_journal_read_only(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pg_support import drop_schema, new_schema_name, pg_dsn_or_skip

    dsn = pg_dsn_or_skip()
    schema = new_schema_name()
    url = f"{dsn}?schema={schema}"
    try:
        assert cli("migrate", "--create", "--db", url).returncode == 0
        listed = cli("runs", "--json", "--db", url)
        assert (listed.returncode, listed.stdout.strip()) == (0, "[]"), listed.stderr
    finally:
        asyncio.run(drop_schema(dsn, schema))


def test_an_older_journal_is_not_migrated_by_a_read(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    # A journal written by schema version 2 (the whole-state golden set, committed as is).
    shutil.copyfile(Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "finished.db", db)
    before = fingerprint(tmp_path)
    one_line_refusal(cli("runs", "--db", str(db)), "schema version 2, older", f"durable-flows migrate --db {db}")
    assert fingerprint(tmp_path) == before
    assert cli("migrate", "--db", str(db)).returncode == 0
    assert len(json.loads(cli("runs", "--json", "--db", str(db)).stdout)) == 1
