-- History DB, version 2 (issue 16): find a run's test set by the names of its tests.
-- Most runs of a profile run the same tests as an earlier run. Ingest hashes what a run ran (step/axes
-- variant, class and test names; history._names_digest) and looks the hash up here: when it is known, the
-- run gets that test set without mapping each of its test cases to a test id. A new hash is added with the
-- test set ingest computed the long way. Several hashes may name one test set (the same tests in another
-- order). Existing DBs start with this table empty; readers never need it.

CREATE TABLE testset_names (
    digest  TEXT PRIMARY KEY,              -- sha256, see history._names_digest
    testset INTEGER NOT NULL REFERENCES testsets(id)
) WITHOUT ROWID;
