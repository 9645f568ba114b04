-- durable_flows journal schema for PostgreSQL, version 2: views for people and tools.
--
-- The PostgreSQL twins of migrations/0002_views.sql: same view names, same
-- columns in the same order, same meaning (docs/schema.md describes every
-- column). Views store nothing; the tables of 0001_init stay the only source
-- of truth. JSON fields come out as typed values (BIGINT ids, DOUBLE
-- PRECISION seconds) and events as JSONB.
--
-- Times are epoch seconds; the `*_at` columns repeat them as ISO 8601 text
-- in UTC. Durations are in seconds.

-- Epoch seconds as ISO 8601 text in UTC with milliseconds, like SQLite's
-- strftime('%Y-%m-%dT%H:%M:%fZ', ts, 'unixepoch').
CREATE FUNCTION durable_flows_iso(ts DOUBLE PRECISION) RETURNS TEXT
    LANGUAGE sql STABLE STRICT
    AS $$ SELECT to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- The text parsed as JSONB, or NULL when it is not JSON (SQLite's json_valid
-- test); used for runs.outcome and runs.error, which may hold plain text.
CREATE FUNCTION durable_flows_try_jsonb(value TEXT) RETURNS JSONB
    LANGUAGE plpgsql IMMUTABLE STRICT
    AS $$
BEGIN
    RETURN value::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- One row per attempt of a step execution: an `accepted` entry, and the
-- first later entry that ended it: `completed`, `failed` (outcome `retry`
-- when another attempt follows), `waiter` (the step parked in
-- wait_for_event; it is accepted again when the answer arrives), a run-level
-- end (`cancelled`, `timed_out`, `run_failed`: outcome `stopped`), or a
-- `resumed` entry (the process died while the attempt ran: `interrupted`).
-- `ended` is NULL while the attempt is running.
CREATE VIEW step_attempts AS
SELECT
    a.run_id,
    (a.p ->> 'exec')::BIGINT AS exec,
    a.step,
    (a.p ->> 'worker')::BIGINT AS worker,
    (a.p ->> 'attempt')::BIGINT AS attempt,
    (SELECT ev.event_type FROM journal ev
      WHERE ev.run_id = a.run_id AND ev.seq = (a.p ->> 'event_seq')::BIGINT) AS event_type,
    a.seq AS accepted_seq,
    e.seq AS ended_seq,
    a.ts AS started,
    e.ts AS ended,
    durable_flows_iso(a.ts) AS started_at,
    durable_flows_iso(e.ts) AS ended_at,
    e.ts - a.ts AS duration,
    CASE
        WHEN e.kind IS NULL THEN 'running'
        WHEN e.kind = 'completed' THEN 'completed'
        WHEN e.kind = 'failed' AND e.p ->> 'retry_in' IS NOT NULL THEN 'retry'
        WHEN e.kind = 'failed' THEN 'failed'
        WHEN e.kind = 'waiter' THEN 'waiting'
        WHEN e.kind IN ('cancelled', 'timed_out', 'run_failed') THEN 'stopped'
        ELSE 'interrupted'
    END AS outcome,
    CASE WHEN e.kind = 'waiter' THEN e.p ->> 'event_type' END AS waits_for,
    CASE WHEN e.kind = 'failed' THEN e.p -> 'error' ->> 'type' END AS error_type,
    CASE WHEN e.kind = 'failed' THEN e.p -> 'error' ->> 'message' END AS error_message,
    CASE WHEN e.kind = 'failed' THEN (e.p ->> 'retry_in')::DOUBLE PRECISION END AS retry_in
FROM (SELECT j.*, j.payload::jsonb AS p FROM journal j WHERE j.kind = 'accepted') a
LEFT JOIN LATERAL (
    SELECT x.seq, x.kind, x.ts, x.payload::jsonb AS p FROM journal x
     WHERE x.run_id = a.run_id AND x.seq > a.seq
       AND (x.kind IN ('resumed', 'cancelled', 'timed_out', 'run_failed')
            OR (x.kind IN ('accepted', 'completed', 'failed', 'waiter')
                AND x.payload::jsonb -> 'exec' = a.p -> 'exec'))
     ORDER BY x.seq
     LIMIT 1
) e ON true;

-- One row per step execution (one accepted event, across its attempts and
-- waits): when it first started, when its last attempt ended, how many
-- attempts it took and how the last one ended. `busy` is the time its
-- attempts actually ran; `duration` also counts retry delays and waits.
CREATE VIEW step_executions AS
SELECT
    run_id, exec, step, worker, event_type,
    first_started AS started,
    ended,
    durable_flows_iso(first_started) AS started_at,
    durable_flows_iso(ended) AS ended_at,
    attempt AS attempts,
    outcome,
    ended - first_started AS duration,
    busy,
    waits_for,
    error_type,
    error_message
FROM (
    SELECT
        *,
        row_number() OVER (PARTITION BY run_id, exec ORDER BY accepted_seq DESC) AS latest,
        min(started) OVER (PARTITION BY run_id, exec) AS first_started,
        sum(coalesce(duration, 0)) OVER (PARTITION BY run_id, exec) AS busy
    FROM step_attempts
) attempts
WHERE latest = 1;

-- Every event that moved through a run: `sent` (the start event, events sent
-- from outside or by a step with ctx.send_event, a failure handed to a
-- @catch_error step), `produced` (returned by a step) and `stream` (written
-- to the event stream). `from_step` is the step whose execution `exec` sent
-- it; `target` the step a `sent` event was addressed to, if any.
CREATE VIEW run_events AS
SELECT
    j.run_id,
    j.seq,
    j.ts,
    durable_flows_iso(j.ts) AS at,
    j.kind,
    j.event_type,
    CASE j.kind WHEN 'sent' THEN j.p ->> 'source' ELSE 'step' END AS source,
    CASE
        WHEN j.kind = 'sent' AND j.p ->> 'exec' IS NOT NULL THEN (
            SELECT s.step FROM journal s
             WHERE s.run_id = j.run_id AND s.kind = 'accepted' AND s.seq < j.seq
               AND s.payload::jsonb -> 'exec' = j.p -> 'exec'
             ORDER BY s.seq DESC LIMIT 1)
        WHEN j.kind = 'sent' THEN NULL
        ELSE j.step
    END AS from_step,
    (j.p ->> 'exec')::BIGINT AS exec,
    CASE j.kind WHEN 'sent' THEN j.p ->> 'target' END AS target,
    (j.p ->> 'inbox')::BIGINT AS inbox_id,
    j.p -> 'event' AS event
FROM (SELECT journal.*, journal.payload::jsonb AS p FROM journal
       WHERE journal.kind IN ('sent', 'produced', 'stream')) j;

-- One row per run: its row from `runs` with counts from its journal and the
-- error split into type and message (plain text when a damaged journal
-- marked the run failed).
CREATE VIEW run_summary AS
SELECT
    r.run_id,
    r.workflow,
    r.status,
    r.created_at,
    r.updated_at,
    durable_flows_iso(r.created_at) AS started_at,
    durable_flows_iso(r.updated_at) AS last_activity_at,
    r.updated_at - r.created_at AS duration,
    r.last_seq AS entries,
    (SELECT count(DISTINCT j.payload::jsonb ->> 'exec') FROM journal j
      WHERE j.run_id = r.run_id AND j.kind = 'accepted') AS steps_run,
    (SELECT count(*) FROM journal j
      WHERE j.run_id = r.run_id AND j.kind = 'accepted') AS attempts,
    (SELECT count(*) FROM journal j
      WHERE j.run_id = r.run_id AND j.kind = 'failed') AS failures,
    (SELECT count(*) FROM journal j
      WHERE j.run_id = r.run_id AND j.kind IN ('sent', 'produced')) AS events,
    (SELECT count(*) FROM inbox i
      WHERE i.run_id = r.run_id AND i.consumed_seq IS NULL) AS pending_inbox,
    r.waiting_for,
    r.owner,
    r.parent_run_id,
    r.forked_at_seq,
    durable_flows_try_jsonb(r.outcome) ->> 'type' AS outcome_type,
    durable_flows_try_jsonb(r.outcome) -> 'event' AS outcome,
    CASE
        WHEN r.error IS NULL THEN NULL
        WHEN durable_flows_try_jsonb(r.error) IS NOT NULL THEN coalesce(
            durable_flows_try_jsonb(r.error) ->> 'type', durable_flows_try_jsonb(r.error) ->> 'kind')
        ELSE 'error'
    END AS error_type,
    CASE
        WHEN r.error IS NULL THEN NULL
        WHEN durable_flows_try_jsonb(r.error) IS NOT NULL THEN coalesce(
            durable_flows_try_jsonb(r.error) ->> 'message', durable_flows_try_jsonb(r.error) ->> 'reason')
        ELSE r.error
    END AS error_message
FROM runs r;
