-- Files (artifacts and package files) and packages.
--
-- Every project has one file tree, the one MLflow's `mlflow-artifacts` paths address
-- (`<experiment>/<run>/artifacts/...`, `<experiment>/models/<model>/artifacts/...`). A row
-- is written only after its blob is complete, so a listed file is always whole; a
-- re-upload points the row at a new blob and the old one becomes garbage for `hangar admin gc`.

CREATE TABLE files (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- the file's place in the project's tree: confined segments joined by '/'
    path       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    -- hex SHA-256 of the bytes, computed while they streamed in
    sha256     TEXT    NOT NULL,
    -- the object in the blob store that holds the bytes
    blob_key   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, path)
);
CREATE INDEX files_blob ON files (blob_key);

-- GitLab's packages: a model version is the `ml_model` package <model>/<semver> (created with
-- the version); a run uploaded to as `candidate:<iid>` the `ml_model` package
-- <experiment package name>/candidate_<iid>; anything else a `generic` package. A package's
-- files are the files under its `root` folder of the tree.
CREATE TABLE packages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    package_type     TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    root             TEXT    NOT NULL,
    model_version_id INTEGER UNIQUE REFERENCES model_versions (id) ON DELETE CASCADE,
    run_id           INTEGER UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    created_at       INTEGER NOT NULL,
    UNIQUE (project_id, package_type, name, version)
);

-- Versions registered before packages existed get theirs.
INSERT INTO packages (project_id, package_type, name, version, root, model_version_id, created_at)
SELECT rm.project_id, 'ml_model', rm.name, v.semver,
       CASE WHEN v.storage_location LIKE 'mlflow-artifacts:/%'
            THEN substr(v.storage_location, 19) ELSE 'packages/ml_model/' || v.id END,
       v.id, v.creation_time
FROM model_versions v JOIN registered_models rm ON rm.id = v.model_id
WHERE v.deleted = 0;
