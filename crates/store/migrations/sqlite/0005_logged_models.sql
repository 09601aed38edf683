-- MLflow 3's logged models (what `log_model` creates), their tags and params, and the models a
-- run outputs (`runs/outputs`).

CREATE TABLE logged_models (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id        INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    experiment_id     INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    -- MLflow's model_id: `m-` and 32 lowercase hex digits
    model_uuid        TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    model_type        TEXT    NOT NULL DEFAULT '',
    source_run_id     TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL,
    status_message    TEXT    NOT NULL DEFAULT '',
    artifact_uri      TEXT    NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX logged_models_experiment ON logged_models (experiment_id, creation_time);

CREATE TABLE logged_model_tags (
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_params (
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE run_outputs (
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    step     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, model_id)
);
