-- The model registry: registered models, their versions (semver + per-model number), tags and
-- user aliases.

CREATE TABLE registered_models (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id          INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    description         TEXT    NOT NULL DEFAULT '',
    -- the creator's username (MLflow's user_id)
    user_id             TEXT    NOT NULL DEFAULT '',
    -- the default experiment `[model]<name>`, created and deleted with the model
    experiment_id       INTEGER NOT NULL REFERENCES experiments (id),
    creation_time       INTEGER NOT NULL,
    last_updated_time   INTEGER NOT NULL,
    -- the last version number handed out, deleted versions included: numbers are never reused
    last_version_number INTEGER NOT NULL DEFAULT 0,
    -- the highest semver ever given (deleted versions included), for the next one
    highest_semver      TEXT,
    -- the live version with the highest semver ("latest"), kept on every create and delete
    latest_version_id   INTEGER,
    UNIQUE (project_id, name)
);

CREATE TABLE registered_model_tags (
    model_id INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE model_versions (
    -- the global version id (GitLab's model_version_id in package URLs)
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id          INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    -- MLflow's `version`: 1, 2, 3 … per model
    number            INTEGER NOT NULL,
    semver            TEXT    NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    user_id           TEXT    NOT NULL DEFAULT '',
    source            TEXT    NOT NULL DEFAULT '',
    -- where `get-download-uri` points: the candidate's, run's or logged model's artifacts
    storage_location  TEXT    NOT NULL,
    -- the candidate: a run promoted to this version, or one created for it
    run_id            INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    run_link          TEXT    NOT NULL DEFAULT '',
    model_uuid        TEXT    NOT NULL DEFAULT '',
    current_stage     TEXT    NOT NULL DEFAULT 'None',
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    -- a deleted version stays as a tombstone so its number and semver are never reused
    deleted           INTEGER NOT NULL DEFAULT 0,
    UNIQUE (model_id, number),
    UNIQUE (model_id, semver),
    -- a run belongs to one version at most
    UNIQUE (run_id)
);
CREATE INDEX model_versions_updated ON model_versions (last_updated_time);

CREATE TABLE model_version_tags (
    version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (version_id, key)
);

CREATE TABLE registered_model_aliases (
    model_id   INTEGER NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
    alias      TEXT    NOT NULL,
    version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    PRIMARY KEY (model_id, alias)
);
CREATE INDEX registered_model_aliases_version ON registered_model_aliases (version_id);
