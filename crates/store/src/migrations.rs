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
];

pub async fn run(backend: Backend, pool: &AnyPool) -> Result<(), StoreError> {
    let migrations = MIGRATIONS
        .iter()
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
    Ok(())
}
