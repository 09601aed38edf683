-- The audit log: who created, changed or deleted which model, version, alias or setting, and when.

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- the user, kept as a name too so that the event outlives the account
    author_id   INTEGER,
    author_name TEXT    NOT NULL,
    -- e.g. model_created, model_version_deleted, alias_set, project_settings_updated
    event_name  TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    -- a JSON object with what changed
    details     TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);
CREATE INDEX audit_events_project ON audit_events (project_id, id);
