-- MLflow's linking rules: a run (or a logged model) may back any number of versions, so a
-- version's run is no longer unique; a `run_id` that is not a run of the project is kept as
-- an external reference, shown but never resolved. Registered models keep MLflow 3's
-- deployment-job fields, and logged models their metrics and the runs that used them.
--
-- SQLite cannot drop a UNIQUE constraint: the table is rebuilt (the migration runner turns
-- foreign keys off around migrations, so dropping the old table cascades nowhere).
CREATE TABLE model_versions_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id          INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    semver            TEXT    NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    user_id           TEXT    NOT NULL DEFAULT '',
    source            TEXT    NOT NULL DEFAULT '',
    storage_location  TEXT    NOT NULL,
    -- the linked run: the run the version was created from, the source run of its logged
    -- model, or the candidate created for it
    run_id            INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    -- a `run_id` the client gave that is no run of this project (MLflow's registry may live
    -- apart from its tracking server); '' when none
    external_run_id   TEXT    NOT NULL DEFAULT '',
    run_link          TEXT    NOT NULL DEFAULT '',
    model_uuid        TEXT    NOT NULL DEFAULT '',
    current_stage     TEXT    NOT NULL DEFAULT 'None',
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0,
    UNIQUE (model_id, number),
    UNIQUE (model_id, semver)
);
INSERT INTO model_versions_new (id, model_id, number, semver, description, user_id, source,
    storage_location, run_id, run_link, model_uuid, current_stage, creation_time,
    last_updated_time, deleted)
SELECT id, model_id, number, semver, description, user_id, source, storage_location, run_id,
    run_link, model_uuid, current_stage, creation_time, last_updated_time, deleted
FROM model_versions;
DROP TABLE model_versions;
ALTER TABLE model_versions_new RENAME TO model_versions;
CREATE INDEX model_versions_updated ON model_versions (last_updated_time);
CREATE INDEX model_versions_run ON model_versions (run_id);

ALTER TABLE registered_models ADD COLUMN deployment_job_id TEXT NOT NULL DEFAULT '';
-- MLflow's DeploymentJobConnection.State name ('' when never set)
ALTER TABLE registered_models ADD COLUMN deployment_job_state TEXT NOT NULL DEFAULT '';

-- Metrics logged with a `model_id` (MLflow keys them by model, name, time, step and run).
CREATE TABLE logged_model_metrics (
    model_id       INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    value          REAL    NOT NULL,
    is_nan         INTEGER NOT NULL DEFAULT 0,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    run_id         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dataset_name   TEXT    NOT NULL DEFAULT '',
    dataset_digest TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, key, timestamp, step, run_id)
);
CREATE INDEX logged_model_metrics_run ON logged_model_metrics (run_id);

-- Logged models a run used as inputs (`log_inputs(models=[LoggedModelInput(…)])`).
CREATE TABLE run_model_inputs (
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    PRIMARY KEY (run_id, model_id)
);
