//! The store's one error type; surfaces map it to their own envelopes.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the text names what clashed.
    #[error("{0}")]
    Conflict(String),
    /// The request contradicts the stored state (e.g. removing the last owner).
    #[error("{0}")]
    Invalid(String),
    /// A params write would change values already logged: `(key, old, new)` for each.
    #[error("params already logged with other values")]
    ParamsChanged(Vec<(String, String, String)>),
    /// The store is misconfigured (bad URL, unreachable database at start).
    #[error("{0}")]
    Config(String),
    /// The database's disk is full (a failure shared by the writes of one group commit).
    #[error("the database's disk is full")]
    StorageFull,
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// An error of the inline SQLite reader (see `sqlite_inline`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            _ => StoreError::Database(e),
        }
    }
}

impl StoreError {
    /// The database's disk is full (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full` class
    /// 53100): no retry helps until space is freed.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::StorageFull => true,
            StoreError::Database(sqlx::Error::Database(db)) => {
                if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    return pg.code() == "53100";
                }
                // SQLite's extended result code: the primary code is its low byte.
                db.try_downcast_ref::<sqlx::sqlite::SqliteError>()
                    .and_then(sqlx::error::DatabaseError::code)
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(|code| code & 0xff == rusqlite::ffi::SQLITE_FULL)
            }
            StoreError::Database(sqlx::Error::Io(io)) => {
                io.kind() == std::io::ErrorKind::StorageFull
            }
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            _ => false,
        }
    }

    /// True when the database reported a unique-constraint violation.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

/// Maps a unique violation to [`StoreError::Conflict`] with `what`, anything else as usual.
pub(crate) fn conflict<E: Into<StoreError>>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> StoreError {
    let what = what.into();
    move |e| {
        let e = e.into();
        if e.is_unique_violation() {
            StoreError::Conflict(what)
        } else {
            e
        }
    }
}
