-- History DB, version 1.
-- Passing executions are not stored row by row: a run points at its *test set* (which test ran how many
-- times in which step/axes variant), deduplicated across runs because most runs of a profile run the same
-- tests. Only non-passing executions (failed, error, skipped, passed after reruns) get a row. This keeps
-- ingest append-only and lets the flaky query read a few thousand rows instead of every execution.

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    run_key     TEXT NOT NULL UNIQUE,      -- the bundle manifest digest: ingest is idempotent on it
    commit_sha  TEXT NOT NULL,
    branch      TEXT NOT NULL,
    repository  TEXT NOT NULL DEFAULT '',
    profile     TEXT NOT NULL DEFAULT '',
    started_at  REAL NOT NULL,             -- unix seconds
    source      TEXT NOT NULL DEFAULT '',  -- where it came from (bundle path, build URL)
    ingested_at REAL NOT NULL,
    testset     INTEGER NOT NULL REFERENCES testsets(id),
    executions  INTEGER NOT NULL,
    failures    INTEGER NOT NULL
);
CREATE INDEX runs_by_branch_time ON runs(branch, started_at);
CREATE INDEX runs_by_time ON runs(started_at);

CREATE TABLE testsets (
    id     INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    data   BLOB NOT NULL                   -- zstd(uint32 arrays: test ids, variant ids, counts)
);

CREATE TABLE classes (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE tests (
    id       INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id),
    name     TEXT NOT NULL,
    UNIQUE (class_id, name)
);

-- One step with one set of axis values (a cell without its split number): stable across runs.
CREATE TABLE variants (
    id    INTEGER PRIMARY KEY,
    step  TEXT NOT NULL,
    axes  TEXT NOT NULL,                   -- JSON object, keys sorted
    UNIQUE (step, axes)
);

CREATE TABLE cells (
    run        INTEGER NOT NULL REFERENCES runs(id),
    cell_id    TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    variant    INTEGER NOT NULL REFERENCES variants(id),
    node       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT '',   -- passed | failed | timeout | aborted | '' (unknown)
    duration_s REAL NOT NULL DEFAULT 0,
    executions INTEGER NOT NULL DEFAULT 0,
    failures   INTEGER NOT NULL DEFAULT 0,
    log_tail   TEXT NOT NULL DEFAULT '',   -- end of the console log, for infra signatures
    PRIMARY KEY (run, cell_id, attempt)
) WITHOUT ROWID;

-- Non-passing executions only (see the top of this file).
CREATE TABLE outcomes (
    run          INTEGER NOT NULL REFERENCES runs(id),
    test         INTEGER NOT NULL REFERENCES tests(id),
    cell_id      TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    variant      INTEGER NOT NULL REFERENCES variants(id),
    status       TEXT NOT NULL,            -- failed | error | skipped | passed (with flaky_reruns > 0)
    duration_s   REAL NOT NULL,
    flaky_reruns INTEGER NOT NULL,
    message      TEXT NOT NULL,
    details      TEXT NOT NULL
);
CREATE INDEX outcomes_by_test_run ON outcomes(test, run);
CREATE INDEX outcomes_by_run ON outcomes(run);

-- Seconds per test class per run and variant: what timing-based splits read.
CREATE TABLE class_durations (
    run      INTEGER NOT NULL REFERENCES runs(id),
    variant  INTEGER NOT NULL REFERENCES variants(id),
    class_id INTEGER NOT NULL REFERENCES classes(id),
    seconds  REAL NOT NULL,
    cases    INTEGER NOT NULL,
    PRIMARY KEY (run, variant, class_id)
) WITHOUT ROWID;
