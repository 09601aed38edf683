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
    Migrator::with_migrations(migrations).run(pool).await?;
    if last >= WORKSPACES {
        crate::projects::name_unnamed_workspaces(pool).await?;
    }
    Ok(())
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
            run_through(backend, &pool, 9).await.unwrap();
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
}
