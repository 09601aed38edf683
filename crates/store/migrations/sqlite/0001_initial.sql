-- Hangar's first schema (SQLite). Times are epoch milliseconds, as MLflow's; flags are
-- INTEGER 0/1 (sqlx's Any driver cannot decode SQLite BOOLEAN columns).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    email         TEXT,
    password_hash TEXT,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    is_bot        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE projects (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace           TEXT    NOT NULL,
    path                TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    description         TEXT    NOT NULL DEFAULT '',
    visibility          TEXT    NOT NULL,
    registry_access     TEXT    NOT NULL,
    ci_base_url         TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    -- the last per-project iid handed out to an experiment; bumped inside the creating
    -- transaction, so concurrent creates never share one
    last_experiment_iid INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX projects_path ON projects (lower(namespace), lower(path));

CREATE TABLE members (
    project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access_level INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   TEXT,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- set for project access tokens, whose user is the project's bot
    project_id   INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL,
    expires_at   TEXT,
    revoked      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_project ON tokens (project_id);

CREATE TABLE experiments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    iid              INTEGER NOT NULL,
    name             TEXT    NOT NULL,
    artifact_location TEXT   NOT NULL,
    lifecycle_stage  TEXT    NOT NULL DEFAULT 'active',
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    UNIQUE (project_id, iid),
    UNIQUE (project_id, name)
);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
);
