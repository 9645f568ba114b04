-- durable_flows journal schema, version 1.
--
-- Applied by durable_flows/storage/migrate.py inside one transaction together
-- with its row in schema_migrations. Never edit a released migration: add
-- NNNN_name.sql with the next number instead.
--
-- Times are seconds since the Unix epoch (REAL). JSON columns hold JSON text.
-- The engine never deletes rows: the file is the audit trail of every run.

-- One row per run: who it is, where it stands, who executes it, how it ended.
CREATE TABLE runs (
    -- Unique run id, chosen by the caller or generated at start.
    run_id        TEXT PRIMARY KEY,
    -- Name of the workflow class that runs it.
    workflow      TEXT NOT NULL,
    -- running / waiting (idle until outside input) / completed / failed /
    -- cancelled / timed_out. The last four are final.
    status        TEXT NOT NULL CHECK (status IN (
                      'running', 'waiting', 'completed', 'failed', 'cancelled', 'timed_out')),
    -- When the run was created, and when its row or journal last changed.
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    -- seq of the newest journal entry (0 when the journal is empty).
    last_seq      INTEGER NOT NULL DEFAULT 0,
    -- Lease holder as host:pid:random, NULL when nobody executes the run.
    owner         TEXT,
    -- Fencing token: grows by one at every claim; appends carrying an older
    -- token are refused.
    lease_token   INTEGER NOT NULL DEFAULT 0,
    -- When the lease runs out unless renewed (NULL when released).
    lease_expires REAL,
    -- Hash of the workflow's steps and event types when the run started.
    fingerprint   TEXT,
    -- JSON list of event type names the run waits for (status 'waiting').
    waiting_for   TEXT,
    -- JSON text of the result (stop) event, once completed.
    outcome       TEXT,
    -- Failure message (and traceback) when failed, cancelled or timed out.
    error         TEXT,
    -- For a fork: the run it was copied from, and the last seq copied.
    parent_run_id TEXT,
    forked_at_seq INTEGER
);

CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_workflow_status ON runs (workflow, status);
CREATE INDEX runs_owner ON runs (owner);

-- Every run's append-only journal: one row per record, numbered 1, 2, 3, ...
-- without gaps per run. WITHOUT ROWID stores the rows in (run_id, seq) order,
-- so replaying one run reads neighbouring pages, and the primary key is the
-- only b-tree to update per insert.
CREATE TABLE journal (
    -- The run the record belongs to.
    run_id     TEXT NOT NULL REFERENCES runs (run_id),
    -- Position in the run's journal, from 1, gap-free.
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    -- Record kind: run_started, sent, accepted, produced, state, completed, ...
    -- (see durable_flows/runtime/records.py for each kind's payload fields).
    kind       TEXT NOT NULL,
    -- Step the record concerns, if any.
    step       TEXT,
    -- Qualified type name (module.Class) of the event carried, if any.
    event_type TEXT,
    -- The record's fields, encoded by the codec named in `codec`.
    payload    TEXT NOT NULL,
    -- When the record was written live.
    ts         REAL NOT NULL,
    -- Serializer that wrote the payload: 'json' or 'jsonpickle'.
    codec      TEXT NOT NULL DEFAULT 'json',
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- Events sent into a run from outside (another process, the CLI, a human
-- answer). The run's owner takes them into its journal and then sets
-- consumed_seq; rows stay for audit.
CREATE TABLE inbox (
    -- Increasing id: the order events were sent in.
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The run the event is for.
    run_id       TEXT NOT NULL REFERENCES runs (run_id),
    -- Qualified type name of the event.
    event_type   TEXT NOT NULL,
    -- The event, encoded by the codec named in `codec`.
    payload      TEXT NOT NULL,
    codec        TEXT NOT NULL,
    -- When it was sent.
    created_at   REAL NOT NULL,
    -- seq of the journal append that took the event in; NULL while pending.
    consumed_seq INTEGER
);

CREATE INDEX inbox_run_pending ON inbox (run_id, consumed_seq);
