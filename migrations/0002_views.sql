-- durable_flows journal schema, version 2: views for people and tools.
--
-- Read-only views over `runs` and `journal` for sqlite3, sqlite-utils and
-- Datasette users: what ran, when, how often and how it ended, without
-- decoding record kinds by hand (docs/schema.md describes every column).
-- Views store nothing; the tables of 0001_init stay the only source of truth.
--
-- Times are epoch seconds (REAL); the `*_at` columns repeat them as ISO 8601
-- text in UTC. Durations are in seconds.

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
    json_extract(a.payload, '$.exec') AS exec,
    a.step,
    json_extract(a.payload, '$.worker') AS worker,
    json_extract(a.payload, '$.attempt') AS attempt,
    (SELECT ev.event_type FROM journal ev
      WHERE ev.run_id = a.run_id AND ev.seq = json_extract(a.payload, '$.event_seq')) AS event_type,
    a.seq AS accepted_seq,
    e.seq AS ended_seq,
    a.ts AS started,
    e.ts AS ended,
    strftime('%Y-%m-%dT%H:%M:%fZ', a.ts, 'unixepoch') AS started_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.ts, 'unixepoch') AS ended_at,
    e.ts - a.ts AS duration,
    CASE
        WHEN e.kind IS NULL THEN 'running'
        WHEN e.kind = 'completed' THEN 'completed'
        WHEN e.kind = 'failed' AND json_extract(e.payload, '$.retry_in') IS NOT NULL THEN 'retry'
        WHEN e.kind = 'failed' THEN 'failed'
        WHEN e.kind = 'waiter' THEN 'waiting'
        WHEN e.kind IN ('cancelled', 'timed_out', 'run_failed') THEN 'stopped'
        ELSE 'interrupted'
    END AS outcome,
    CASE WHEN e.kind = 'waiter' THEN json_extract(e.payload, '$.event_type') END AS waits_for,
    CASE WHEN e.kind = 'failed' THEN json_extract(e.payload, '$.error.type') END AS error_type,
    CASE WHEN e.kind = 'failed' THEN json_extract(e.payload, '$.error.message') END AS error_message,
    CASE WHEN e.kind = 'failed' THEN json_extract(e.payload, '$.retry_in') END AS retry_in
FROM journal a
LEFT JOIN journal e ON e.run_id = a.run_id AND e.seq = (
    SELECT x.seq FROM journal x
     WHERE x.run_id = a.run_id AND x.seq > a.seq
       AND (x.kind IN ('resumed', 'cancelled', 'timed_out', 'run_failed')
            OR (x.kind IN ('accepted', 'completed', 'failed', 'waiter')
                AND json_extract(x.payload, '$.exec') = json_extract(a.payload, '$.exec')))
     ORDER BY x.seq
     LIMIT 1)
WHERE a.kind = 'accepted';

-- One row per step execution (one accepted event, across its attempts and
-- waits): when it first started, when its last attempt ended, how many
-- attempts it took and how the last one ended. `busy` is the time its
-- attempts actually ran; `duration` also counts retry delays and waits.
CREATE VIEW step_executions AS
SELECT
    run_id, exec, step, worker, event_type,
    first_started AS started,
    ended,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_started, 'unixepoch') AS started_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', ended, 'unixepoch') AS ended_at,
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
)
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
    strftime('%Y-%m-%dT%H:%M:%fZ', j.ts, 'unixepoch') AS at,
    j.kind,
    j.event_type,
    CASE j.kind WHEN 'sent' THEN json_extract(j.payload, '$.source') ELSE 'step' END AS source,
    CASE
        WHEN j.kind = 'sent' AND json_extract(j.payload, '$.exec') IS NOT NULL THEN (
            SELECT s.step FROM journal s
             WHERE s.run_id = j.run_id AND s.kind = 'accepted' AND s.seq < j.seq
               AND json_extract(s.payload, '$.exec') = json_extract(j.payload, '$.exec')
             ORDER BY s.seq DESC LIMIT 1)
        WHEN j.kind = 'sent' THEN NULL
        ELSE j.step
    END AS from_step,
    json_extract(j.payload, '$.exec') AS exec,
    CASE j.kind WHEN 'sent' THEN json_extract(j.payload, '$.target') END AS target,
    json_extract(j.payload, '$.inbox') AS inbox_id,
    json_extract(j.payload, '$.event') AS event
FROM journal j
WHERE j.kind IN ('sent', 'produced', 'stream');

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
    strftime('%Y-%m-%dT%H:%M:%fZ', r.created_at, 'unixepoch') AS started_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', r.updated_at, 'unixepoch') AS last_activity_at,
    r.updated_at - r.created_at AS duration,
    r.last_seq AS entries,
    (SELECT count(DISTINCT json_extract(j.payload, '$.exec')) FROM journal j
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
    CASE WHEN json_valid(r.outcome) THEN json_extract(r.outcome, '$.type') END AS outcome_type,
    CASE WHEN json_valid(r.outcome) THEN json_extract(r.outcome, '$.event') END AS outcome,
    CASE
        WHEN r.error IS NULL THEN NULL
        WHEN json_valid(r.error) THEN coalesce(json_extract(r.error, '$.type'), json_extract(r.error, '$.kind'))
        ELSE 'error'
    END AS error_type,
    CASE
        WHEN r.error IS NULL THEN NULL
        WHEN json_valid(r.error) THEN coalesce(json_extract(r.error, '$.message'), json_extract(r.error, '$.reason'))
        ELSE r.error
    END AS error_message
FROM runs r;
