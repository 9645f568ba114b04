"""``verify``, ``search``, ``diff``, ``gc --archive``, ``import-archive`` and the
origin of outside events, through click's runner on the journal of real runs."""

from __future__ import annotations

import asyncio
import getpass
import gzip
import json
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from cli_helpers import Journal

from durable_flows.audit.archive import archive_bytes
from durable_flows.storage import SqliteStore

HUMAN = "durable_flows.events.HumanResponseEvent"


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_verify_passes_every_untouched_run_of_real_workflows(cli: Any, journal: Journal) -> None:
    """Chains written by create, append, fork, cancel and inbox intake all verify."""
    report = as_json(cli("verify", "--json"))
    assert report["ok"] is True
    ids = {r["run_id"] for r in report["runs"]}
    assert {journal.chain, journal.forked, journal.cancelled, journal.fan_out, journal.asking} <= ids
    conn = sqlite3.connect(journal.path)
    assert conn.execute("SELECT count(*) FROM journal WHERE hash IS NULL").fetchone() == (0,)
    counts = {r["run_id"]: r["entries"] for r in report["runs"]}
    assert counts[journal.chain] == conn.execute(
        "SELECT last_seq FROM runs WHERE run_id = ?", (journal.chain,)
    ).fetchone()[0]
    text = cli("verify", journal.chain)
    assert text.exit_code == 0 and text.output.startswith(f"ok      {journal.chain}: ")


def test_verify_names_the_altered_entry_and_exits_1(cli: Any, journal: Journal) -> None:
    conn = sqlite3.connect(journal.path)
    conn.execute(
        "UPDATE journal SET payload = payload || ' ' WHERE run_id = ? AND seq = 3",
        (journal.chain,),
    )
    conn.commit()
    result = cli("verify", journal.chain, journal.fan_out)
    assert result.exit_code == 1
    assert f"BROKEN  {journal.chain}: entry 3 does not match its hash" in result.output
    assert f"ok      {journal.fan_out}" in result.output
    assert "2 run(s) checked, 1 broken" in result.output


def test_verify_finds_entries_cut_off_the_end(cli: Any, journal: Journal) -> None:
    conn = sqlite3.connect(journal.path)
    last = conn.execute("SELECT last_seq FROM runs WHERE run_id = ?", (journal.chain,)).fetchone()[0]
    conn.execute("DELETE FROM journal WHERE run_id = ? AND seq = ?", (journal.chain, last))
    conn.commit()
    [run] = as_json_exit(cli("verify", journal.chain, "--json"), 1)["runs"]
    assert run["ok"] is False and "deleted from the end" in run["problem"]


def as_json_exit(result: Any, code: int) -> Any:
    assert result.exit_code == code, result.output
    return json.loads(result.output)


def test_search_finds_outside_input_and_errors_across_runs(cli: Any, journal: Journal) -> None:
    hits = as_json(cli("search", "cannot parse", "--json"))
    assert {h["run_id"] for h in hits} == {journal.broken}
    assert all("[cannot]" in h["snippet"].lower() or "[parse]" in h["snippet"].lower() for h in hits)
    failed_only = as_json(cli("search", "cannot parse", "--kind", "failed", "--json"))
    assert failed_only and {h["kind"] for h in failed_only} == {"failed"}
    assert as_json(cli("search", "cannot parse", "--status", "completed", "--json")) == []
    assert as_json(cli("search", "cannot parse", "--workflow", "Chain", "--json")) == []
    assert as_json(cli("search", "cannot parse", "--since", "2099-01-01", "--json")) == []
    table = cli("search", "parse")
    assert table.exit_code == 0 and journal.broken in table.output
    assert cli("search", "zzzqqq").output.strip() == "no entries match 'zzzqqq'"


def test_diff_of_a_fork_and_its_origin_diverges_after_the_fork_point(cli: Any, journal: Journal) -> None:
    result = as_json(cli("diff", journal.chain, journal.forked, "--json"))
    forked_at = sqlite3.connect(journal.path).execute(
        "SELECT forked_at_seq FROM runs WHERE run_id = ?", (journal.forked,)
    ).fetchone()[0]
    assert result["same"] is False
    first = result["first_divergence"]
    assert first["tag"] == "only_a" and first["b"] is None
    assert first["a"]["seq"] == forked_at + 1
    assert result["common_prefix"] == forked_at
    same = as_json(cli("diff", journal.chain, journal.chain, "--json"))
    assert same["same"] is True and same["first_divergence"] is None
    text = cli("diff", journal.chain, journal.forked).output
    assert text.startswith(f"{journal.chain} and {journal.forked} share {forked_at} entries, then diverge:")
    assert "  < " in text


def test_diff_of_two_runs_of_different_input_shows_the_changed_event(cli: Any, journal: Journal) -> None:
    result = as_json(cli("diff", journal.asking, journal.approval, "--json"))
    assert result["same"] is False and result["first_divergence"]["tag"] == "changed"


def test_send_journals_who_sent_it_and_show_displays_it(cli: Any, journal: Journal) -> None:
    sent = as_json(cli("send", "asking", HUMAN, "--data", '{"response": "ann"}', "--actor", "clerk-7", "--json"))
    row = sqlite3.connect(journal.path).execute(
        "SELECT origin FROM inbox WHERE id = ?", (sent["inbox_id"],)
    ).fetchone()
    origin = json.loads(row[0])
    assert origin == {
        "host": socket.gethostname(), "pid": os.getpid(), "user": getpass.getuser(),
        "via": "cli", "actor": "clerk-7",
    }  # fmt: skip
    assert as_json(cli("resume", "asking", "--workflow", "flows:AskName", "--json"))["status"] == "completed"
    sent_entries = [
        json.loads(p)
        for (p,) in sqlite3.connect(journal.path).execute(
            "SELECT payload FROM journal WHERE run_id = 'asking' AND kind = 'sent'"
        )
    ]
    assert [p["origin"] for p in sent_entries if p.get("source") == "inbox"] == [origin]
    shown = cli("show", "asking", "--width", "200").output
    assert f"actor clerk-7, via cli, by {getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}" in shown
    assert as_json(cli("verify", "asking", "--json"))["ok"] is True


def test_gc_archive_then_import_round_trips_byte_for_byte(cli: Any, journal: Journal, tmp_path: Path) -> None:
    archive = tmp_path / "old.jsonl.gz"
    before = sqlite3.connect(journal.path).execute(
        "SELECT count(*) FROM runs WHERE status IN ('completed', 'failed', 'cancelled')"
    ).fetchone()[0]
    gone = as_json(cli("gc", "--finished-before", "now", "--archive", str(archive), "--json"))
    assert gone["count"] == before >= 5
    assert sqlite3.connect(journal.path).execute(
        "SELECT count(*) FROM runs WHERE status IN ('completed', 'failed', 'cancelled')"
    ).fetchone() == (0,)
    lines = gzip.decompress(archive.read_bytes()).decode().splitlines()
    assert json.loads(lines[0]) == {"archive": "durable_flows", "version": 1}
    assert sum(json.loads(line)["table"] == "runs" for line in lines[1:]) == before
    assert as_json(cli("verify", "--archive", str(archive), "--json"))["ok"] is True

    target = tmp_path / "restored.db"  # import-archive creates it
    imported = as_json(cli("import-archive", str(archive), "--json", db=target))
    assert sorted(imported["run_ids"]) == sorted(gone["run_ids"])
    assert as_json(cli("verify", "--json", db=target))["ok"] is True
    again = asyncio.run(_export(target, gone["run_ids"]))
    assert again == archive.read_bytes()
    # Importing twice is refused whole, with one line.
    twice = cli("import-archive", str(archive), db=target)
    assert twice.exit_code == 1 and "Nothing was imported" in twice.output
    bad = cli("import-archive", str(tmp_path / "missing.gz"), db=tmp_path / "never.db")
    assert bad.exit_code == 1 and "no such file" in bad.output
    assert not (tmp_path / "never.db").exists()


def test_gc_deletes_nothing_when_the_archive_cannot_be_written(cli: Any, journal: Journal, tmp_path: Path) -> None:
    count = sqlite3.connect(journal.path).execute("SELECT count(*) FROM runs").fetchone()
    result = cli("gc", "--finished-before", "now", "--archive", str(tmp_path / "no" / "such" / "dir.gz"))
    assert result.exit_code == 1
    assert "cannot create it" in result.output and "Nothing was deleted" in result.output
    assert sqlite3.connect(journal.path).execute("SELECT count(*) FROM runs").fetchone() == count
    (tmp_path / "taken.gz").write_bytes(b"x")
    assert cli("gc", "--finished-before", "now", "--archive", str(tmp_path / "taken.gz")).exit_code == 1
    assert sqlite3.connect(journal.path).execute("SELECT count(*) FROM runs").fetchone() == count


def test_verify_of_a_tampered_archive_exits_1(cli: Any, journal: Journal, tmp_path: Path) -> None:
    archive = tmp_path / "a.gz"
    as_json(cli("gc", "--finished-before", "now", "--archive", str(archive), "--json"))
    text = gzip.decompress(archive.read_bytes()).decode().replace('"kind":"completed"', '"kind":"Completed"', 1)
    assert text.count("\"kind\":\"Completed\"") == 1
    archive.write_bytes(gzip.compress(text.encode()))
    assert cli("verify", "--archive", str(archive)).exit_code == 1


async def _export(path: Path, run_ids: list[str]) -> bytes:
    async with SqliteStore(path) as store:
        return archive_bytes(await store.dump_runs(run_ids))


def test_diff_html_and_report_compare_show_the_runs_side_by_side(cli: Any, journal: Journal, tmp_path: Path) -> None:
    page = tmp_path / "diff.html"
    result = cli("diff", journal.chain, journal.forked, "--html", str(page))
    assert result.exit_code == 0 and f"wrote {page}" in result.output
    html = page.read_text()
    assert f"{journal.chain} beside {journal.forked}" in html
    assert html.count('style="background:#fee2e2"') > 0  # entries only the original has
    assert '<tr id="d' in html and "first divergence" in html
    report = tmp_path / "report.html"
    assert cli("report", journal.chain, "-o", str(report), "--compare", journal.forked).exit_code == 0
    assert f"{journal.chain} beside {journal.forked}" in report.read_text()


def test_report_shows_who_sent_an_outside_event(cli: Any, journal: Journal, tmp_path: Path) -> None:
    cli("send", "asking", HUMAN, "--data", '{"response": "ann"}', "--actor", "clerk-7")
    assert cli("resume", "asking", "--workflow", "flows:AskName").exit_code == 0
    report = tmp_path / "r.html"
    assert cli("report", "asking", "-o", str(report)).exit_code == 0
    assert "actor clerk-7, via cli" in report.read_text()


def test_diff_of_two_runs_of_the_same_input_is_the_same(cli: Any, journal: Journal) -> None:
    """Two chain runs of equal input align entry for entry (ids, times ignored)."""

    async def again() -> None:
        import flows

        async with SqliteStore(journal.path) as store:
            assert await flows.Chain(store=store).run(n=4, run_id="chain-2") == 52

    asyncio.run(again())
    result = as_json(cli("diff", journal.chain, "chain-2", "--json"))
    assert result["same"] is True, result["first_divergence"]
    assert result["common_prefix"] == len(result["rows"]) > 5
