-- MLflow's linking rules: a run (or a logged model) may back any number of versions, so a
-- version's run is no longer unique; a `run_id` that is not a run of the project is kept as
-- an external reference, shown but never resolved. Registered models keep MLflow 3's
-- deployment-job fields, and logged models their metrics and the runs that used them.
ALTER TABLE model_versions DROP CONSTRAINT model_versions_run_id_key;
CREATE INDEX model_versions_run ON model_versions (run_id);
-- a `run_id` the client gave that is no run of this project; '' when none
ALTER TABLE model_versions ADD COLUMN external_run_id TEXT NOT NULL DEFAULT '';

ALTER TABLE registered_models ADD COLUMN deployment_job_id TEXT NOT NULL DEFAULT '';
-- MLflow's DeploymentJobConnection.State name ('' when never set)
ALTER TABLE registered_models ADD COLUMN deployment_job_state TEXT NOT NULL DEFAULT '';

-- Metrics logged with a `model_id` (MLflow keys them by model, name, time, step and run).
CREATE TABLE logged_model_metrics (
    model_id       BIGINT           NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key            TEXT             NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    is_nan         BIGINT           NOT NULL DEFAULT 0,
    timestamp      BIGINT           NOT NULL,
    step           BIGINT           NOT NULL,
    run_id         BIGINT           NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dataset_name   TEXT             NOT NULL DEFAULT '',
    dataset_digest TEXT             NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, key, timestamp, step, run_id)
);
CREATE INDEX logged_model_metrics_run ON logged_model_metrics (run_id);

-- Logged models a run used as inputs (`log_inputs(models=[LoggedModelInput(…)])`).
CREATE TABLE run_model_inputs (
    run_id   BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model_id BIGINT NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    PRIMARY KEY (run_id, model_id)
);
