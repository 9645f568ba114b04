"""A stateful model of the SQLite store: every operation agrees with a plain dict model.

Rules: create runs, append (alone or as concurrent groups that the writer
commits in one transaction, some of them invalid on purpose), claim and release
leases across several store objects ("processes"), send to a run's inbox and
consume it with an append, mark failed, and crash in three ways: a raw
connection dropped mid-transaction, a subprocess SIGKILLed mid-transaction, and
a store object abandoned without closing (a dead process: its leases stay).
After every step all reads (journal, inbox, run rows, listings) must match the
model.

Store objects come in two kinds: "live" ones, whose owner id names this
process (their leases hold until released or expired), and "ghost" ones,
whose owner id names a process that has exited (their leases can be taken over
at once, as after a crash on the same host).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from soak import examples, time_budget

import durable_flows.storage.sqlite.store as sqlite_module
from durable_flows.errors import (
    InboxConsumeError,
    JournalSeqError,
    LeaseHeldError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
)
from durable_flows.storage import ALL_STATUSES, FINISHED_STATUSES, SqliteStore
from durable_flows.storage.owners import make_owner_id
from durable_flows.storage.rows import JournalEntry, Lease, NewRun, RunUpdate


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


DEAD_PID = _dead_pid()

KINDS = ["sent", "accepted", "produced", "completed", "state"]
texts = st.text(max_size=12)  # any unicode, including surrogate-free astral characters
payloads = st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), texts, st.none()), max_size=3)


@dataclass
class ModelRun:
    workflow: str
    fingerprint: str
    status: str = "running"
    entries: list[tuple[int, str, str | None, str | None, str, float, str]] = field(default_factory=list)
    token: int = 1
    owner: str | None = None  # store name
    waiting_for: list[str] = field(default_factory=list)
    outcome: str | None = None
    error: str | None = None


@dataclass
class ModelStore:
    name: str
    store: SqliteStore
    ghost: bool
    held: dict[str, int] = field(default_factory=dict)


class StoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="df-model-")
        self.path = os.path.join(self.folder, "model.db")
        self.loop = asyncio.new_event_loop()
        self.stores: dict[str, ModelStore] = {}
        self.abandoned: list[SqliteStore] = []
        self.dead: set[str] = set()  # owner names of abandoned live stores (leases stuck)
        self.runs: dict[str, ModelRun] = {}
        self.leases: list[tuple[str, Lease]] = []  # (store name, lease)
        self.inbox: dict[int, tuple[str, str, str, str, int | None]] = {}
        self.counter = 0
        self.owner_names: dict[str, str] = {}  # owner id -> store name, for every store ever opened

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    # -- helpers -------------------------------------------------------------------

    def _new_store(self, ghost: bool) -> str:
        self.counter += 1
        name = f"p{self.counter}"
        owner = f"{make_owner_id().rsplit(':', 2)[0]}:{DEAD_PID}:{name}" if ghost else None
        if owner is None:
            store = SqliteStore(self.path, synchronous="NORMAL", busy_timeout=5)
        else:
            with mock.patch.object(sqlite_module, "make_owner_id", lambda: owner):
                store = SqliteStore(self.path, synchronous="NORMAL", busy_timeout=5)
        self.stores[name] = ModelStore(name, store, ghost)
        self.owner_names[store.owner_id] = name
        return name

    def _owner_name(self, owner_id: str | None) -> str | None:
        return None if owner_id is None else self.owner_names.get(owner_id, owner_id)

    def _entries(self, run_id: str, first: int, data: st.DataObject, n: int) -> list[JournalEntry]:
        out = []
        for seq in range(first, first + n):
            kind = data.draw(st.sampled_from(KINDS))
            step = data.draw(st.one_of(st.none(), texts))
            event_type = data.draw(st.one_of(st.none(), st.just("pkg.mod.Ev")))
            payload = json.dumps(data.draw(payloads), ensure_ascii=False)
            ts = data.draw(st.floats(0, 2e9, allow_nan=False))
            out.append(JournalEntry(run_id, seq, kind, step, event_type, payload, ts, "json"))
        return out

    def _apply_append(
        self, store_name: str, lease: Lease, entries: list[JournalEntry], update: RunUpdate | None, ids: list[int]
    ) -> type[Exception] | None:
        """What the model says an append does; applies it when it succeeds."""
        run = self.runs.get(lease.run_id)
        if run is None:
            return RunNotFoundError
        if run.token != lease.token:
            m = self.stores.get(store_name)
            if m is not None and m.held.get(lease.run_id) == lease.token:
                del m.held[lease.run_id]
            return StaleLeaseError
        if [e.seq for e in entries] != list(range(len(run.entries) + 1, len(run.entries) + 1 + len(entries))):
            return JournalSeqError
        if len(set(ids)) != len(ids) or any(
            i not in self.inbox or self.inbox[i][0] != lease.run_id or self.inbox[i][4] is not None for i in ids
        ):
            return InboxConsumeError
        run.entries.extend((e.seq, e.kind, e.step, e.event_type, e.payload, e.ts, e.codec) for e in entries)
        if update is not None:
            if update.status is not None:
                run.status = update.status
            if update.waiting_for is not None:
                run.waiting_for = list(update.waiting_for)
            if update.outcome is not None:
                run.outcome = update.outcome
            if update.error is not None:
                run.error = update.error
        for i in ids:
            run_id, et, payload, codec, _ = self.inbox[i]
            self.inbox[i] = (run_id, et, payload, codec, len(run.entries))
        return None

    def _claim_outcome(self, name: str, run_id: str) -> type[Exception] | None:
        run = self.runs.get(run_id)
        if run is None:
            return RunNotFoundError
        if run.owner is not None:
            if run.owner == name:
                if run_id in self.stores[name].held:
                    return LeaseHeldError
            elif run.owner in self.dead or (run.owner in self.stores and not self.stores[run.owner].ghost):
                return LeaseHeldError
        return None

    # -- rules ---------------------------------------------------------------------

    @initialize()
    def first_store(self) -> None:
        self._new_store(ghost=False)

    @precondition(lambda self: len(self.stores) < 3)
    @rule(ghost=st.booleans())
    def open_store(self, ghost: bool) -> None:
        self._new_store(ghost)

    @rule(data=st.data(), n=st.integers(0, 3))
    def create_run(self, data: st.DataObject, n: int) -> None:
        name = data.draw(st.sampled_from(sorted(self.stores)))
        existing = sorted(self.runs)
        reuse = bool(existing) and data.draw(st.booleans(), label="reuse an id")
        run_id = data.draw(st.sampled_from(existing)) if reuse else f"run{len(self.runs)}"
        entries = self._entries(run_id, 1, data, n)
        m = self.stores[name]
        new = NewRun(run_id=run_id, workflow=f"wf{len(run_id) % 2}", fingerprint="fp")
        if run_id in self.runs:
            with pytest.raises(RunExistsError):
                self.run(m.store.create_run(new, entries))
            return
        lease = self.run(m.store.create_run(new, entries))
        assert lease.token == 1
        self.runs[run_id] = ModelRun(new.workflow, new.fingerprint, owner=name)
        self.runs[run_id].entries = [(e.seq, e.kind, e.step, e.event_type, e.payload, e.ts, e.codec) for e in entries]
        m.held[run_id] = 1
        self.leases.append((name, lease))

    def _draw_append(self, data: st.DataObject, lease: Lease, planned_len: int) -> tuple[list[JournalEntry], RunUpdate | None, list[int]]:
        n = data.draw(st.integers(0, 3))
        skew = data.draw(st.sampled_from([0, 0, 0, 0, 1, -1]))  # sometimes a gap or a duplicate
        entries = self._entries(lease.run_id, max(1, planned_len + 1 + skew), data, n)
        update = None
        if data.draw(st.booleans()):
            update = RunUpdate(
                status=data.draw(st.one_of(st.none(), st.sampled_from(sorted(ALL_STATUSES)))),
                waiting_for=data.draw(st.one_of(st.none(), st.lists(texts, max_size=2))),
                outcome=data.draw(st.one_of(st.none(), texts)),
            )
        pending = [i for i, item in self.inbox.items() if item[0] == lease.run_id and item[4] is None]
        others = [i for i, item in self.inbox.items() if item[0] != lease.run_id or item[4] is not None]
        ids = data.draw(st.lists(st.sampled_from(pending), unique=True)) if pending else []
        if others and data.draw(st.integers(0, 9)) == 0:
            ids.append(data.draw(st.sampled_from(others)))  # not consumable: refused
        return entries, update, ids

    @precondition(lambda self: self.leases)
    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        name, lease = data.draw(st.sampled_from(self.leases))
        run = self.runs[lease.run_id]
        entries, update, ids = self._draw_append(data, lease, len(run.entries))
        expected = self._apply_append(name, lease, entries, update, ids)
        call = self.stores[name].store.append(lease, entries, update, ids)
        if expected is None:
            self.run(call)
        else:
            with pytest.raises(expected):
                self.run(call)

    @precondition(lambda self: self.leases)
    @rule(data=st.data(), size=st.integers(2, 6))
    def append_batch(self, data: st.DataObject, size: int) -> None:
        """Several appends submitted at once: one writer transaction, each checked on its own."""
        name = data.draw(st.sampled_from(sorted(self.stores)))
        planned: dict[str, int] = {}
        calls = []
        for _ in range(size):
            _, lease = data.draw(st.sampled_from(self.leases))
            length = planned.get(lease.run_id, len(self.runs[lease.run_id].entries))
            entries, update, ids = self._draw_append(data, lease, length)
            calls.append((lease, entries, update, ids))
            planned[lease.run_id] = length + len(entries)
        store = self.stores[name].store

        async def submit_all() -> list[Any]:
            return await asyncio.gather(
                *(store.append(lease, e, u, i) for lease, e, u, i in calls), return_exceptions=True
            )

        results = self.run(submit_all())
        for (lease, entries, update, ids), got in zip(calls, results, strict=True):
            expected = self._apply_append(name, lease, entries, update, ids)
            if expected is None:
                assert got is None, got
            else:
                assert isinstance(got, expected), (expected, got)

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        if not self.runs:
            return
        name = data.draw(st.sampled_from(sorted(self.stores)))
        run_id = data.draw(st.sampled_from(sorted(self.runs)))
        expected = self._claim_outcome(name, run_id)
        if expected is not None:
            with pytest.raises(expected):
                self.run(self.stores[name].store.claim_lease(run_id))
            return
        lease = self.run(self.stores[name].store.claim_lease(run_id))
        run = self.runs[run_id]
        run.token += 1
        run.owner = name
        assert lease.token == run.token
        self.stores[name].held[run_id] = lease.token
        self.leases.append((name, lease))

    @precondition(lambda self: self.leases)
    @rule(data=st.data())
    def stale_token_refused(self, data: st.DataObject) -> None:
        """A lease whose run was claimed again since can no longer append."""
        stale = [(n, lease) for n, lease in self.leases if self.runs[lease.run_id].token != lease.token]
        if not stale:
            return
        name, lease = data.draw(st.sampled_from(stale))
        run = self.runs[lease.run_id]
        entry = self._entries(lease.run_id, len(run.entries) + 1, data, 1)
        assert self._apply_append(name, lease, entry, None, []) is StaleLeaseError
        with pytest.raises(StaleLeaseError):
            self.run(self.stores[name].store.append(lease, entry))

    @precondition(lambda self: self.leases)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        name, lease = data.draw(st.sampled_from(self.leases))
        self.run(self.stores[name].store.release_lease(lease))
        run = self.runs[lease.run_id]
        if run.token == lease.token and run.owner == name:
            run.owner = None
        m = self.stores[name]
        if m.held.get(lease.run_id) == lease.token:
            del m.held[lease.run_id]

    @rule(data=st.data())
    def send_to_inbox(self, data: st.DataObject) -> None:
        if not self.runs:
            return
        name = data.draw(st.sampled_from(sorted(self.stores)))
        run_id = data.draw(st.sampled_from([*sorted(self.runs), "nope"]))
        payload = data.draw(texts)
        call = self.stores[name].store.send_to_inbox(run_id, "pkg.mod.Ev", payload)
        if run_id not in self.runs:
            with pytest.raises(RunNotFoundError):
                self.run(call)
        elif self.runs[run_id].status in FINISHED_STATUSES:
            with pytest.raises(RunFinishedError):
                self.run(call)
        else:
            inbox_id = self.run(call)
            assert inbox_id not in self.inbox
            self.inbox[inbox_id] = (run_id, "pkg.mod.Ev", payload, "json", None)

    @rule(data=st.data())
    def set_failed(self, data: st.DataObject) -> None:
        if not self.runs:
            return
        name = data.draw(st.sampled_from(sorted(self.stores)))
        run_id = data.draw(st.sampled_from(sorted(self.runs)))
        reason = data.draw(texts)
        self.run(self.stores[name].store.set_failed(run_id, reason))
        self.runs[run_id].status = "failed"
        self.runs[run_id].error = reason

    @rule(data=st.data())
    def crash_raw_connection(self, data: st.DataObject) -> None:
        """A writer dies mid-transaction: its rows must never become visible."""
        con = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            for run_id, run in self.runs.items():
                con.execute(
                    "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) "
                    "VALUES (?, ?, 'sent', NULL, NULL, '{}', 0, 'json')",
                    (run_id, len(run.entries) + 1),
                )
                con.execute("UPDATE runs SET status='completed', last_seq=last_seq+1 WHERE run_id=?", (run_id,))
                con.execute(
                    "INSERT INTO inbox (run_id, event_type, payload, codec, created_at) VALUES (?, 'x', 'y', 'json', 0)",
                    (run_id,),
                )
        finally:
            con.close()  # no COMMIT: rolled back

    @precondition(lambda self: self.runs)
    @rule()
    def crash_subprocess_mid_write(self) -> None:
        """A process is SIGKILLed inside a write transaction (its WAL frames are uncommitted)."""
        script = (
            "import os, signal, sqlite3, sys\n"
            "con = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)\n"
            "con.execute('BEGIN IMMEDIATE')\n"
            "for i in range(200):\n"
            "    con.execute(\"INSERT INTO inbox (run_id, event_type, payload, codec, created_at) "
            "VALUES (?, 'x', ?, 'json', 0)\", (sys.argv[2], 'p' * 2000))\n"
            "con.execute(\"UPDATE runs SET status='cancelled'\")\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n"
        )
        run_id = sorted(self.runs)[0]
        proc = subprocess.run([sys.executable, "-c", script, self.path, run_id], timeout=30)
        assert proc.returncode == -signal.SIGKILL

    @precondition(lambda self: len(self.stores) > 1)
    @rule(data=st.data())
    def reopen(self, data: st.DataObject) -> None:
        """A process stops cleanly (its leases are released) and another opens the file."""
        name = data.draw(st.sampled_from(sorted(self.stores)))
        m = self.stores.pop(name)
        self.run(m.store.close())
        for run_id in m.held:
            if self.runs[run_id].owner == name:
                self.runs[run_id].owner = None
        self._forget(name)
        self._new_store(data.draw(st.booleans()))

    @precondition(lambda self: len(self.stores) > 1)
    @rule(data=st.data())
    def die(self, data: st.DataObject) -> None:
        """A process dies without closing: its leases stay until expiry (or at once if its pid is gone)."""
        name = data.draw(st.sampled_from(sorted(self.stores)))
        m = self.stores.pop(name)
        self.abandoned.append(m.store)
        if not m.ghost:
            self.dead.add(name)
        self._forget(name)

    def _forget(self, name: str) -> None:
        self.leases = [(n, lease) for n, lease in self.leases if n != name]

    # -- the model and the store agree ----------------------------------------------

    @invariant()
    def reads_match_the_model(self) -> None:
        if not self.stores:
            return
        store = self.stores[sorted(self.stores)[-1]].store

        async def read_all() -> tuple[Any, ...]:
            journals = {r: await store.read(r) for r in self.runs}
            inboxes = {r: await store.read_inbox(r) for r in self.runs}
            infos = {r: await store.get_run(r) for r in self.runs}
            listed = await store.list_runs()
            failed = await store.list_runs(status="failed")
            tail = {r: await store.read(r, after_seq=len(self.runs[r].entries) // 2) for r in self.runs}
            return journals, inboxes, infos, listed, failed, tail

        journals, inboxes, infos, listed, failed, tail = self.run(read_all())
        for run_id, run in self.runs.items():
            got = [(e.seq, e.kind, e.step, e.event_type, e.payload, e.ts, e.codec) for e in journals[run_id]]
            assert got == run.entries, run_id
            half = len(run.entries) // 2
            assert [e.seq for e in tail[run_id]] == [e[0] for e in run.entries[half:]]
            pending = [
                (i, item[1], item[2], item[3])
                for i, item in sorted(self.inbox.items())
                if item[0] == run_id and item[4] is None
            ]
            assert [(i.id, i.event_type, i.payload, i.codec) for i in inboxes[run_id]] == pending
            info = infos[run_id]
            assert info is not None
            assert (info.status, info.last_seq, info.lease_token) == (run.status, len(run.entries), run.token)
            assert self._owner_name(info.owner) == run.owner, (run_id, info.owner, run.owner)
            assert info.waiting_for == run.waiting_for
            assert info.outcome == run.outcome
            assert info.error == run.error
            assert (info.workflow, info.fingerprint) == (run.workflow, run.fingerprint)
        assert {i.run_id for i in listed} == set(self.runs)
        assert {i.run_id for i in failed} == {r for r, run in self.runs.items() if run.status == "failed"}

    def teardown(self) -> None:
        try:
            for m in self.stores.values():
                with suppress(Exception):
                    self.run(m.store.close())
            for store in self.abandoned:
                with suppress(Exception):
                    self.run(store.close())
            con = sqlite3.connect(self.path)
            try:
                assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            finally:
                con.close()
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)


StoreModel.TestCase.settings = settings(max_examples=examples(40), stateful_step_count=40)
TestStoreModel = pytest.mark.timeout(time_budget(120))(StoreModel.TestCase)
