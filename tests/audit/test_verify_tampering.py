"""``verify`` catches every edit, delete, insert and reorder of journal rows made
behind the store's back, at random positions, and passes untouched journals;
journals written before chaining verify as "unchained up to seq N"."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable_flows.audit import verify_chain, verify_runs
from durable_flows.audit.verify import ChainReport
from durable_flows.storage import SqliteStore
from durable_flows.storage.chain import KEY_ENV
from durable_flows.storage.migrate import load_migrations
from durable_flows.storage.rows import JournalEntry, NewRun, SearchQuery

SIZES = {"a": 9, "b": 14, "c": 5}
SHIFT = 1_000_000  # renumbering goes through high seqs: (run_id, seq) is the primary key


def _entry(run_id: str, seq: int) -> JournalEntry:
    return JournalEntry(run_id, seq, "sent", f"s{seq % 3}", "x.E", f'{{"n": {seq}, "run": "{run_id}"}}', 1000.0 + seq)


async def _write(path: Path) -> None:
    async with SqliteStore(path) as store:
        for run_id, size in SIZES.items():
            lease = await store.create_run(NewRun(run_id, "wf", "{}"), [_entry(run_id, 1)])
            for first in range(2, size + 1, 3):  # appends of up to three entries
                await store.append(lease, [_entry(run_id, s) for s in range(first, min(first + 3, size + 1))])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chain") / "pristine.db"
    asyncio.run(_write(path))
    return path


def _verify(path: Path, run_ids: list[str] | None = None) -> list[ChainReport]:
    async def go() -> list[ChainReport]:
        async with SqliteStore(path) as store:
            return await verify_runs(store, run_ids)

    return asyncio.run(go())


def _shift(conn: sqlite3.Connection, run_id: str, from_seq: int, by: int) -> None:
    conn.execute("UPDATE journal SET seq = seq + ? WHERE run_id = ? AND seq >= ?", (SHIFT, run_id, from_seq))
    conn.execute("UPDATE journal SET seq = seq - ? + ? WHERE run_id = ? AND seq >= ?", (SHIFT, by, run_id, SHIFT))
    conn.execute("UPDATE runs SET last_seq = last_seq + ? WHERE run_id = ?", (by, run_id))


def _tamper(conn: sqlite3.Connection, op: str, run_id: str, k: int) -> int | None:
    """Change the journal behind the store's back; returns the seq verify must name."""
    n = SIZES[run_id]
    if op == "edit_payload":
        conn.execute("UPDATE journal SET payload = payload || ' ' WHERE run_id = ? AND seq = ?", (run_id, k))
    elif op == "edit_ts":
        conn.execute("UPDATE journal SET ts = ts + 0.001 WHERE run_id = ? AND seq = ?", (run_id, k))
    elif op == "edit_kind":
        conn.execute("UPDATE journal SET kind = 'produced' WHERE run_id = ? AND seq = ?", (run_id, k))
    elif op == "delete":
        conn.execute("DELETE FROM journal WHERE run_id = ? AND seq = ?", (run_id, k))
        return None if k == n else k
    elif op == "delete_renumber":
        conn.execute("DELETE FROM journal WHERE run_id = ? AND seq = ?", (run_id, k))
        _shift(conn, run_id, k + 1, -1)
        return None if k == n else k
    elif op == "insert":
        _shift(conn, run_id, k, 1)
        near = conn.execute(
            "SELECT hash FROM journal WHERE run_id = ? AND seq = ?", (run_id, k + 1)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec, hash) "
            "VALUES (?, ?, 'sent', 's0', 'x.E', '{\"forged\": true}', 1000.5, 'json', ?)",
            (run_id, k, near),
        )
    elif op == "reorder":
        k = min(k, n - 1)
        rows = conn.execute(
            "SELECT seq, kind, step, event_type, payload, ts, codec, hash FROM journal "
            "WHERE run_id = ? AND seq IN (?, ?) ORDER BY seq",
            (run_id, k, k + 1),
        ).fetchall()
        for (seq, *_), (_, *rest) in zip(rows, reversed(rows), strict=True):
            conn.execute(
                "UPDATE journal SET kind = ?, step = ?, event_type = ?, payload = ?, ts = ?, codec = ?, "
                "hash = ? WHERE run_id = ? AND seq = ?",
                (*rest, run_id, seq),
            )
    elif op == "strip_hash":
        conn.execute("UPDATE journal SET hash = NULL WHERE run_id = ? AND seq = ?", (run_id, k))
    return k


OPS = ["edit_payload", "edit_ts", "edit_kind", "delete", "delete_renumber", "insert", "reorder", "strip_hash"]


def test_untouched_journal_verifies(pristine: Path) -> None:
    reports = _verify(pristine)
    assert [(r.run_id, r.ok, r.entries, r.unchained_upto) for r in sorted(reports, key=lambda r: r.run_id)] == [
        ("a", True, 9, 0), ("b", True, 14, 0), ("c", True, 5, 0),
    ]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(OPS), run_id=st.sampled_from(sorted(SIZES)), data=st.data())
def test_every_tampering_is_caught_at_its_entry(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, op: str, run_id: str, data: st.DataObject
) -> None:
    k = data.draw(st.integers(1, SIZES[run_id]), label="seq")
    path = tmp_path_factory.mktemp("tampered") / "j.db"
    shutil.copy(pristine, path)
    conn = sqlite3.connect(path)
    expected = _tamper(conn, op, run_id, k)
    conn.commit()
    conn.close()
    reports = {r.run_id: r for r in _verify(path)}
    broken = reports[run_id]
    assert not broken.ok, (op, k)
    assert broken.seq == expected, (op, k, broken.problem)
    assert all(r.ok for other, r in reports.items() if other != run_id)


def test_keyed_chain_needs_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "s3cret")
    asyncio.run(_write(tmp_path / "k.db"))
    assert all(r.ok for r in _verify(tmp_path / "k.db"))
    conn = sqlite3.connect(tmp_path / "k.db")
    assert conn.execute("SELECT count(*) FROM journal WHERE hash NOT LIKE 'h:%'").fetchone() == (0,)
    monkeypatch.delenv(KEY_ENV)
    [report] = _verify(tmp_path / "k.db", ["a"])
    assert not report.ok and report.seq == 1 and KEY_ENV in report.problem
    monkeypatch.setenv(KEY_ENV, "wrong")
    [report] = _verify(tmp_path / "k.db", ["a"])
    assert not report.ok and report.seq == 1


def _version3_journal(path: Path) -> None:
    """A journal as durable_flows wrote it before chaining (schema version 3)."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    for migration in load_migrations()[:3]:
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (migration.version, migration.name))
    conn.execute(
        "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, waiting_for) "
        "VALUES ('old', 'wf', 'running', 1, 1, 4, '[]')"
    )
    conn.executemany(
        "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [tuple(_entry("old", s)) for s in range(1, 5)],
    )
    conn.commit()
    conn.close()


def test_journal_from_before_chaining_verifies_as_unchained_then_chains(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    _version3_journal(path)

    async def go() -> ChainReport:
        async with SqliteStore(path) as store:
            lease = await store.claim_lease("old")
            await store.append(lease, [_entry("old", 5), _entry("old", 6)])
            chain = await store.read_chain("old")
            assert chain is not None and chain.hashes[:4] == [None] * 4 and None not in chain.hashes[4:]
            return verify_chain(chain)

    report = asyncio.run(go())
    assert (report.ok, report.unchained_upto, report.entries) == (True, 4, 6)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE journal SET hash = NULL WHERE run_id = 'old' AND seq = 5")
    conn.commit()
    [stripped] = _verify(path, ["old"])
    assert not stripped.ok and stripped.seq == 5
    # Indexed on upgrade: the old entries are searchable.
    assert conn.execute("SELECT count(*) FROM journal_docs WHERE run_id = 'old'").fetchone() == (6,)

    async def search() -> list[int]:
        async with SqliteStore(path) as store:
            return sorted(h.seq for h in await store.search(SearchQuery("old")))

    assert asyncio.run(search()) == [1, 2, 3, 4, 5, 6]


def test_cli_verify_says_unchained_up_to_seq_n(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from durable_flows.cli import main

    path = tmp_path / "v3.db"
    _version3_journal(path)
    # verify only reads: an older journal is migrated first (issue 15), then verified.
    refused = CliRunner().invoke(main, ["verify", "--db", str(path)])
    assert refused.exit_code != 0 and "durable-flows migrate --db" in refused.output
    assert CliRunner().invoke(main, ["migrate", "--db", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["verify", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ok      old: 4 entries (unchained up to seq 4)",
        "1 run(s) checked, 0 broken",
    ]
