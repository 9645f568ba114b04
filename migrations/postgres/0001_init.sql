-- durable_flows journal schema for PostgreSQL, version 1.
--
-- The same tables and columns as migrations/0001_init.sql (SQLite), so that
-- the runtime, the CLI and people reading the journal see one schema. Applied
-- by durable_flows/storage/_pg_migrate.py in one transaction, together with
-- its row in schema_migrations, under an advisory lock (many workers starting
-- at once migrate exactly once). Never edit a released migration: add
-- NNNN_name.sql with the next number instead.
--
-- Times are seconds since the Unix epoch (DOUBLE PRECISION), read from the
-- database server's clock so that workers on many machines agree on lease
-- expiry. JSON columns hold JSON text exactly as written (TEXT, not JSONB,
-- which would reorder keys); the views of 0002_views parse it.

-- One row per run: who it is, where it stands, who executes it, how it ended.
-- Every append updates its row (last_seq, updated_at, lease_expires): the
-- fill factor leaves room on each page for those updates to stay HOT.
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
    created_at    DOUBLE PRECISION NOT NULL,
    updated_at    DOUBLE PRECISION NOT NULL,
    -- seq of the newest journal entry (0 when the journal is empty).
    last_seq      BIGINT NOT NULL DEFAULT 0,
    -- Lease holder as host:pid:random, NULL when nobody executes the run.
    owner         TEXT,
    -- Fencing token: grows by one at every claim; appends carrying an older
    -- token are refused.
    lease_token   BIGINT NOT NULL DEFAULT 0,
    -- When the lease runs out unless renewed (NULL when released).
    lease_expires DOUBLE PRECISION,
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
    forked_at_seq BIGINT
) WITH (fillfactor = 80);

CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_workflow_status ON runs (workflow, status);
CREATE INDEX runs_owner ON runs (owner);
-- Workers look for runs to claim among the active ones, oldest first.
CREATE INDEX runs_active ON runs (workflow, created_at) WHERE status IN ('running', 'waiting');

-- Every run's append-only journal: one row per record, numbered 1, 2, 3, ...
-- without gaps per run; the primary key is the only index to update per insert.
CREATE TABLE journal (
    -- The run the record belongs to.
    run_id     TEXT NOT NULL REFERENCES runs (run_id),
    -- Position in the run's journal, from 1, gap-free.
    seq        BIGINT NOT NULL CHECK (seq >= 1),
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
    ts         DOUBLE PRECISION NOT NULL,
    -- Serializer that wrote the payload: 'json' or 'jsonpickle'.
    codec      TEXT NOT NULL DEFAULT 'json',
    PRIMARY KEY (run_id, seq)
);

-- Events sent into a run from outside (another process, the CLI, a human
-- answer). The run's owner takes them into its journal and then sets
-- consumed_seq; rows stay for audit. Senders lock the run's row first, so the
-- ids of one run become visible in increasing order.
CREATE TABLE inbox (
    -- Increasing id: the order events were sent in.
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The run the event is for.
    run_id       TEXT NOT NULL REFERENCES runs (run_id),
    -- Qualified type name of the event.
    event_type   TEXT NOT NULL,
    -- The event, encoded by the codec named in `codec`.
    payload      TEXT NOT NULL,
    codec        TEXT NOT NULL,
    -- When it was sent.
    created_at   DOUBLE PRECISION NOT NULL,
    -- seq of the journal append that took the event in; NULL while pending.
    consumed_seq BIGINT
);

CREATE INDEX inbox_run_pending ON inbox (run_id, consumed_seq);
