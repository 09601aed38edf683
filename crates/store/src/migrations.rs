//! Each backend's migrations, embedded in the binary.

use crate::{Backend, StoreError};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};

/// `(version, description, sqlite, postgres)`; append, never edit.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "runs",
        include_str!("../migrations/sqlite/0002_runs.sql"),
        include_str!("../migrations/postgres/0002_runs.sql"),
    ),
    (
        3,
        "history_index",
        include_str!("../migrations/sqlite/0003_history_index.sql"),
        include_str!("../migrations/postgres/0003_history_index.sql"),
    ),
    (
        4,
        "registry",
        include_str!("../migrations/sqlite/0004_registry.sql"),
        include_str!("../migrations/postgres/0004_registry.sql"),
    ),
    (
        5,
        "logged_models",
        include_str!("../migrations/sqlite/0005_logged_models.sql"),
        include_str!("../migrations/postgres/0005_logged_models.sql"),
    ),
    (
        6,
        "audit_events",
        include_str!("../migrations/sqlite/0006_audit_events.sql"),
        include_str!("../migrations/postgres/0006_audit_events.sql"),
    ),
    (
        7,
        "files",
        include_str!("../migrations/sqlite/0007_files.sql"),
        include_str!("../migrations/postgres/0007_files.sql"),
    ),
    (
        8,
        "sessions",
        include_str!("../migrations/sqlite/0008_sessions.sql"),
        include_str!("../migrations/postgres/0008_sessions.sql"),
    ),
    (
        9,
        "metric_points",
        include_str!("../migrations/sqlite/0009_metric_points.sql"),
        include_str!("../migrations/postgres/0009_metric_points.sql"),
    ),
    (
        10,
        "version_links",
        include_str!("../migrations/sqlite/0010_version_links.sql"),
        include_str!("../migrations/postgres/0010_version_links.sql"),
    ),
    (
        11,
        "workspaces",
        include_str!("../migrations/sqlite/0011_workspaces.sql"),
        include_str!("../migrations/postgres/0011_workspaces.sql"),
    ),
];

/// The migration that added projects' workspace names, which Rust code then fills in.
const WORKSPACES: i64 = 11;

pub async fn run(backend: Backend, pool: &AnyPool) -> Result<(), StoreError> {
    run_through(backend, pool, i64::MAX).await
}

/// Applies the pending migrations up to version `last`.
async fn run_through(backend: Backend, pool: &AnyPool, last: i64) -> Result<(), StoreError> {
    let migrations = MIGRATIONS
        .iter()
        .filter(|(version, ..)| *version <= last)
        .map(|(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *postgres,
            };
            Migration::new(
                *version,
                (*description).into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let migrator = Migrator::with_migrations(migrations);
    if backend == Backend::Postgres {
        migrator.run(pool).await?;
    } else {
        run_on_sqlite(&migrator, pool).await?;
    }
    if last >= WORKSPACES {
        crate::projects::name_unnamed_workspaces(pool).await?;
    }
    Ok(())
}

/// SQLite rebuilds a table to change a constraint, and dropping the old table would run its
/// children's ON DELETE actions: migrations run with foreign keys off (the pragma is a no-op
/// inside a transaction, so it is set around them), then, if any was applied, the whole
/// database is checked; the connection is closed rather than returned to the pool with the
/// pragma.
async fn run_on_sqlite(migrator: &Migrator, pool: &AnyPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?.detach();
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut conn)
        .await?;
    let before = applied_version(&mut conn).await;
    let migrated = migrator.run(&mut conn).await;
    let violations = if applied_version(&mut conn).await != before {
        sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut conn)
            .await?
            .len()
    } else {
        0
    };
    sqlx::Connection::close(conn).await?;
    migrated?;
    if violations > 0 {
        return Err(StoreError::Config(format!(
            "the migrated database has {violations} rows whose foreign keys point nowhere"
        )));
    }
    Ok(())
}

/// The newest migration applied (0 on a database that has none).
async fn applied_version(conn: &mut sqlx::AnyConnection) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
        .fetch_one(conn)
        .await
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// An empty database on each backend the tests have (PostgreSQL with
    /// `HANGAR_TEST_DATABASE_URL`, a database of its own that the test drops).
    async fn empty_databases(dir: &std::path::Path) -> Vec<(Backend, String)> {
        let mut out = vec![(
            Backend::Sqlite,
            format!("sqlite://{}?mode=rwc", dir.join("m.db").display()),
        )];
        if let Ok(admin) = std::env::var("HANGAR_TEST_DATABASE_URL") {
            let name = format!("hangar_migrations_{}", uuid::Uuid::new_v4().simple());
            on_postgres_server(&format!("CREATE DATABASE {name}")).await;
            let (base, _) = admin.rsplit_once('/').unwrap();
            out.push((Backend::Postgres, format!("{base}/{name}")));
        }
        out
    }

    /// Runs `statement` on the database `HANGAR_TEST_DATABASE_URL` names.
    async fn on_postgres_server(statement: &str) {
        let admin = std::env::var("HANGAR_TEST_DATABASE_URL").unwrap();
        let pool = AnyPool::connect(&admin).await.unwrap();
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        sqlx::query(statement).execute(&pool).await.unwrap();
        pool.close().await;
    }

    /// Migration 11 names project 1 `default` and every other project after its path: by
    /// id, so the older of two projects whose paths derive the same name keeps it, the
    /// younger gets a suffix, and no project gets `default` or a name MLflow refuses.
    #[tokio::test]
    async fn the_upgrade_names_every_projects_workspace() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        for (backend, url) in empty_databases(dir.path()).await {
            let pool = AnyPool::connect(&url).await.unwrap();
            run_through(backend, &pool, 10).await.unwrap();
            let (p100, p101) = ("p".repeat(100), "P".repeat(101));
            let projects: [(i64, &str, &str); 10] = [
                (1, "admin", "default"),
                (2, "team", "vision.x"),
                (3, "team", "vision_x"),
                (4, "Team-Vision", "X"),
                (5, "team", "vision-x-2"),
                (6, "_", "default"),
                (7, "_", "api"),
                (8, "_", "_"),
                (9, "n", &p100),
                (10, "n", &p101),
            ];
            for (id, namespace, path) in &projects {
                sqlx::query(
                    "INSERT INTO projects (id, namespace, path, name, visibility, registry_access, created_at, updated_at) VALUES ($1, $2, $3, 'p', 'private', 'enabled', 0, 0)",
                )
                .bind(*id)
                .bind(*namespace)
                .bind(*path)
                .execute(&pool)
                .await
                .unwrap();
            }
            run(backend, &pool).await.unwrap();
            let names: Vec<(i64, String)> =
                sqlx::query("SELECT id, workspace FROM projects ORDER BY id")
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| (r.get("id"), r.get("workspace")))
                    .collect();
            let long = format!("n-{}", "p".repeat(61));
            let long_2 = format!("n-{}-2", "p".repeat(59));
            let expected = [
                "default",
                "team-vision-x",
                "team-vision-x-2",
                "team-vision-x-3",
                // Its own derived name was given to project 3 first.
                "team-vision-x-2-2",
                "default-2",
                "api-2",
                "project",
                &long,
                &long_2,
            ];
            let expected: Vec<_> = projects
                .iter()
                .zip(expected)
                .map(|((id, ..), name)| (*id, name.to_string()))
                .collect();
            assert_eq!(names, expected, "{backend:?}");
            for (_, name) in &names {
                assert!(
                    hangar_core::workspace::validate(name).is_ok(),
                    "{backend:?} {name}"
                );
            }
            // Starting again changes nothing, and the names stay unique.
            run(backend, &pool).await.unwrap();
            let again: i64 = sqlx::query("SELECT COUNT(DISTINCT workspace) AS n FROM projects")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get("n");
            assert_eq!(again, 10);
            let clash = sqlx::query("UPDATE projects SET workspace = 'default' WHERE id = 2")
                .execute(&pool)
                .await;
            assert!(clash.is_err(), "{backend:?}: workspace names are unique");
            pool.close().await;
            if backend == Backend::Postgres {
                let name = url.rsplit_once('/').unwrap().1;
                on_postgres_server(&format!("DROP DATABASE {name} WITH (FORCE)")).await;
            }
        }
    }

    /// Before migration 9 a point logged twice was stored twice; the upgrade keeps one copy
    /// (MLflow's primary key is the whole point) and every distinct point.
    #[tokio::test]
    async fn the_upgrade_keeps_each_metric_point_once() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        for (backend, url) in empty_databases(dir.path()).await {
            let pool = AnyPool::connect(&url).await.unwrap();
            run_through(backend, &pool, 8).await.unwrap();
            for statement in [
                "INSERT INTO projects (id, namespace, path, name, visibility, registry_access, created_at, updated_at) VALUES (1, 'n', 'p', 'p', 'private', 'enabled', 0, 0)",
                "INSERT INTO experiments (id, project_id, iid, name, artifact_location, creation_time, last_update_time) VALUES (1, 1, 1, 'e', 'a', 0, 0)",
                "INSERT INTO runs (id, project_id, experiment_id, iid, run_uuid, name, status, start_time, artifact_uri) VALUES (1, 1, 1, 1, 'r', 'r', 'RUNNING', 0, 'a')",
                "INSERT INTO metrics (run_id, key, value, is_nan, timestamp, step) VALUES (1, 'm', 0.5, 0, 10, 1), (1, 'm', 0.5, 0, 10, 1), (1, 'm', 0.5, 0, 10, 2), (1, 'm', 0, 1, 10, 1), (1, 'm', 0, 1, 10, 1), (1, 'n', 0.5, 0, 10, 1)",
            ] {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            run(backend, &pool).await.unwrap();
            let points: Vec<(String, f64, i64, i64)> = sqlx::query(
                "SELECT key, value, is_nan, step FROM metrics WHERE run_id = 1 ORDER BY key, timestamp, step, value, is_nan",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("key"), r.get("value"), r.get("is_nan"), r.get("step")))
            .collect();
            let expected = [
                ("m", 0.0, 1, 1),
                ("m", 0.5, 0, 1),
                ("m", 0.5, 0, 2),
                ("n", 0.5, 0, 1),
            ];
            let expected: Vec<_> = expected
                .iter()
                .map(|(k, v, n, s)| (k.to_string(), *v, *n, *s))
                .collect();
            assert_eq!(points, expected, "{backend:?}");
            pool.close().await;
            if backend == Backend::Postgres {
                let name = url.rsplit_once('/').unwrap().1;
                on_postgres_server(&format!("DROP DATABASE {name} WITH (FORCE)")).await;
            }
        }
    }

    /// Migration 10 rebuilds `model_versions` on SQLite: what points at a version (tags,
    /// aliases, its package) must survive, and the same run may then back a second version.
    #[tokio::test]
    async fn the_version_links_upgrade_keeps_what_points_at_versions() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        for (backend, url) in empty_databases(dir.path()).await {
            let pool = AnyPool::connect(&url).await.unwrap();
            run_through(backend, &pool, 9).await.unwrap();
            for statement in [
                "INSERT INTO projects (id, namespace, path, name, visibility, registry_access, created_at, updated_at) VALUES (1, 'n', 'p', 'p', 'private', 'enabled', 0, 0)",
                "INSERT INTO experiments (id, project_id, iid, name, artifact_location, creation_time, last_update_time) VALUES (1, 1, 1, '[model]m', 'mlflow-artifacts:/1', 0, 0)",
                "INSERT INTO runs (id, project_id, experiment_id, iid, run_uuid, name, status, start_time, artifact_uri) VALUES (1, 1, 1, 1, 'r', 'r', 'RUNNING', 0, 'mlflow-artifacts:/1/r/artifacts')",
                "INSERT INTO registered_models (id, project_id, name, experiment_id, creation_time, last_updated_time, last_version_number, highest_semver, latest_version_id) VALUES (1, 1, 'm', 1, 0, 0, 1, '1.0.0', 7)",
                "INSERT INTO model_versions (id, model_id, number, semver, storage_location, run_id, creation_time, last_updated_time) VALUES (7, 1, 1, '1.0.0', 'mlflow-artifacts:/1/r/artifacts', 1, 0, 0)",
                "INSERT INTO model_version_tags (version_id, key, value) VALUES (7, 'gitlab.version', '1.0.0')",
                "INSERT INTO registered_model_aliases (model_id, alias, version_id) VALUES (1, 'champion', 7)",
                "INSERT INTO packages (project_id, package_type, name, version, root, model_version_id, created_at) VALUES (1, 'ml_model', 'm', '1.0.0', '1/r/artifacts', 7, 0)",
            ] {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            run(backend, &pool).await.unwrap();
            for (table, expected) in [
                ("model_version_tags WHERE version_id = 7", 1),
                ("registered_model_aliases WHERE version_id = 7", 1),
                ("packages WHERE model_version_id = 7", 1),
                (
                    "model_versions WHERE id = 7 AND run_id = 1 AND external_run_id = ''",
                    1,
                ),
            ] {
                let statement = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
                let n: i64 = sqlx::query_scalar(statement)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert_eq!(n, expected, "{backend:?}: {table}");
            }
            // The run backs a second version now; a version still cannot repeat a semver.
            sqlx::query("INSERT INTO model_versions (id, model_id, number, semver, storage_location, run_id, creation_time, last_updated_time) VALUES (8, 1, 2, '1.0.1', 's', 1, 0, 0)")
                .execute(&pool)
                .await
                .unwrap();
            let repeated = sqlx::query("INSERT INTO model_versions (id, model_id, number, semver, storage_location, run_id, creation_time, last_updated_time) VALUES (9, 1, 3, '1.0.1', 's', 1, 0, 0)")
                .execute(&pool)
                .await;
            assert!(repeated.is_err(), "{backend:?}");
            pool.close().await;
            if backend == Backend::Postgres {
                let name = url.rsplit_once('/').unwrap().1;
                on_postgres_server(&format!("DROP DATABASE {name} WITH (FORCE)")).await;
            }
        }
    }
}
