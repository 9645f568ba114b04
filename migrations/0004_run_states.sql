-- durable_flows journal schema, version 4: where each run really stands.
--
-- `runs.status` says what a run's journal reached; `state` also says whether
-- a process is working on it: `running`/`waiting` while a live owner holds
-- its lease, else `queued` (never started: submitted, or forked and not
-- resumed), `orphaned` (started, owner gone: needs resume, recover or a
-- worker) or `parked` (waits for outside input, nobody holds it). Judged by
-- lease expiry: an owner killed less than its lease time ago still counts as
-- live here (`durable-flows runs` also sees at once that a local owner died).
CREATE VIEW run_states AS
SELECT
    r.run_id,
    r.workflow,
    r.status,
    CASE
        WHEN r.status IN ('completed', 'failed', 'cancelled', 'timed_out') THEN r.status
        WHEN r.owner IS NOT NULL
             AND r.lease_expires > (julianday('now') - 2440587.5) * 86400.0 THEN r.status
        WHEN r.status = 'waiting' THEN 'parked'
        WHEN r.parent_run_id IS NOT NULL AND r.forked_at_seq IS NOT NULL
             AND r.last_seq <= r.forked_at_seq THEN 'queued'
        WHEN r.parent_run_id IS NULL AND r.last_seq <= 2 THEN 'queued'
        ELSE 'orphaned'
    END AS state,
    r.owner,
    r.lease_expires,
    r.waiting_for,
    r.updated_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', r.updated_at, 'unixepoch') AS last_activity_at
FROM runs r;
