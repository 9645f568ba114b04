-- durable_flows journal schema, version 6: how worker processes died.
--
-- A supervised `durable-flows worker` runs its work in a child process and
-- knows how that child ended (exit status or signal, and the fatal-error
-- report Python's faulthandler wrote, if any). It records each abnormal end
-- here, keyed by host and process id. A process that resumes a run whose
-- lease that child held finds the row (the earliest death of that host and
-- pid after the run's last write) and journals the evidence in the run's
-- `resumed` record (`died`, see durable_flows/runtime/records.py). Rows are
-- facts about processes, not runs: replay never reads them, and rows older
-- than 30 days are deleted when a new one is recorded.

CREATE TABLE process_deaths (
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    -- when the process was started and when its end was seen (seconds since epoch)
    started_at  REAL NOT NULL,
    ended_at    REAL NOT NULL,
    -- exit status when it exited, the signal's name (SIGKILL, SIGSEGV, ...) when killed
    exit_code   INTEGER,
    signal      TEXT,
    -- the head of the fatal-error report faulthandler wrote (truncated), if any
    fatal_error TEXT,
    -- the supervisor that saw it end: host:pid
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (host, pid, ended_at)
);
