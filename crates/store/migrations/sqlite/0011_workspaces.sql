-- Every project is an MLflow workspace, named by a lowercase name the MLflow 3 client accepts
-- (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`). Project 1, which a client without a workspace reaches,
-- is MLflow's `default`; the other projects get their names derived from their paths by the
-- store right after this migration (the rule and its collisions are Rust's, in
-- hangar_core::workspace, so that one copy of it exists).
ALTER TABLE projects ADD COLUMN workspace TEXT;
UPDATE projects SET workspace = 'default' WHERE id = 1;
CREATE UNIQUE INDEX projects_workspace ON projects (workspace);
