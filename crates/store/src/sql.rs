//! A small builder for dynamic SQL with `$N` placeholders, which both backends accept
//! (sqlx's `QueryBuilder<Any>` emits `?`, which PostgreSQL refuses).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

/// A bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    I64(i64),
    /// An integer or NULL.
    OptI64(Option<i64>),
    F64(f64),
    Str(String),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Str(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Str(v.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Str(v.clone())
    }
}

/// SQL text and its arguments, built together so placeholders always match.
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
    /// Placeholders as `?` in argument order instead of `$N`.
    anonymous: bool,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
            anonymous: false,
        }
    }

    /// Like `new`, with the placeholders `backend` binds fastest: SQLite looks every `$N` up
    /// by name in a linear list (quadratic in a statement's arguments, 23% of a 1000-point
    /// log-batch), while an anonymous `?` binds by position.
    pub fn for_backend(backend: crate::Backend, text: &str) -> Self {
        let mut sql = Sql::new(text);
        sql.anonymous = backend == crate::Backend::Sqlite;
        sql
    }

    /// Adds the argument of the text's next `$N` placeholder (for SQL written with them).
    pub fn arg(mut self, arg: impl Into<Arg>) -> Self {
        debug_assert!(!self.anonymous);
        self.args.push(arg.into());
        self
    }

    /// Appends trusted SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        if self.anonymous {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.args.len().to_string());
        }
        self
    }

    pub fn bind_str(&mut self, s: &str) -> &mut Self {
        self.bind(Arg::Str(s.to_string()))
    }

    pub fn bind_i64(&mut self, v: i64) -> &mut Self {
        self.bind(Arg::I64(v))
    }

    /// The query, ready to run. The text only ever contains SQL written in this crate;
    /// user input travels as arguments.
    pub fn build(&self) -> Query<'_, Any, AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(self.text.clone()));
        for arg in &self.args {
            query = match arg {
                Arg::I64(v) => query.bind(*v),
                Arg::OptI64(v) => query.bind(*v),
                Arg::F64(v) => query.bind(*v),
                Arg::Str(v) => query.bind(v.as_str()),
            };
        }
        query
    }

    /// Runs the query on a synchronous SQLite connection (the store's inline reader), mapping
    /// every row as it is stepped.
    pub fn query_rusqlite<T>(
        &self,
        conn: &rusqlite::Connection,
        map: &mut dyn FnMut(&dyn Cols) -> Result<T, crate::StoreError>,
    ) -> Result<Vec<T>, crate::StoreError> {
        let mut statement = self.prepare_rusqlite(conn)?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(map(row)?);
        }
        Ok(out)
    }

    /// Runs the statement on a synchronous SQLite connection; the rows it changed.
    pub fn execute_rusqlite(&self, conn: &rusqlite::Connection) -> Result<u64, crate::StoreError> {
        Ok(self.prepare_rusqlite(conn)?.raw_execute()? as u64)
    }

    /// The statement from `conn`'s cache, its arguments bound.
    fn prepare_rusqlite<'c>(
        &self,
        conn: &'c rusqlite::Connection,
    ) -> Result<rusqlite::CachedStatement<'c>, rusqlite::Error> {
        let mut statement = conn.prepare_cached(&self.text)?;
        for (i, arg) in self.args.iter().enumerate() {
            // `$N` is a named parameter to SQLite; `?` binds by position.
            let index = if self.anonymous {
                i + 1
            } else {
                statement
                    .parameter_index(&format!("${}", i + 1))?
                    .ok_or(rusqlite::Error::InvalidParameterName(format!("${}", i + 1)))?
            };
            match arg {
                Arg::I64(v) => statement.raw_bind_parameter(index, v)?,
                Arg::OptI64(v) => statement.raw_bind_parameter(index, v)?,
                Arg::F64(v) => statement.raw_bind_parameter(index, v)?,
                Arg::Str(v) => statement.raw_bind_parameter(index, v.as_str())?,
            }
        }
        Ok(statement)
    }
}

/// Reading columns by name from either kind of row: sqlx's `AnyRow`, or `rusqlite`'s row of
/// the SQLite reads (`sqlite_inline`), so one row mapping serves both.
pub trait Cols {
    fn i64(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_i64(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn f64(&self, column: &str) -> Result<f64, sqlx::Error>;
    fn string(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_string(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
}

macro_rules! cols_for {
    ($row:ty) => {
        impl Cols for $row {
            fn i64(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_i64(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn f64(&self, column: &str) -> Result<f64, sqlx::Error> {
                self.try_get(column)
            }
            fn string(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_string(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
        }
    };
}
cols_for!(AnyRow);

impl Cols for rusqlite::Row<'_> {
    fn i64(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.get(column).map_err(|e| column_error(column, e))
    }
    fn opt_i64(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.get(column).map_err(|e| column_error(column, e))
    }
    fn f64(&self, column: &str) -> Result<f64, sqlx::Error> {
        self.get(column).map_err(|e| column_error(column, e))
    }
    fn string(&self, column: &str) -> Result<String, sqlx::Error> {
        self.get(column).map_err(|e| column_error(column, e))
    }
    fn opt_string(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.get(column).map_err(|e| column_error(column, e))
    }
}

fn column_error(column: &str, e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.into(),
        source: Box::new(e),
    }
}

/// Reads an integer flag column as a bool.
pub fn flag(row: &dyn Cols, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.i64(column)? != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlStore;

    async fn store() -> (tempfile::TempDir, std::sync::Arc<SqlStore>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::open(&url).await.unwrap();
        (dir, store)
    }

    /// A write binds `?` and `$N` arguments of every type on the writer's connection, reads its
    /// own rows back, reports a unique violation as one, and the inline reader reads back
    /// every type, NULL included.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_bind_every_argument_and_inline_reads_see_them() {
        let (_dir, store) = store().await;
        let returned = store
            .write_returning(|conn| {
                Box::pin(async move {
                    let create = conn.sql("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL)");
                    let mut first = conn.sql("INSERT INTO t VALUES (");
                    first.bind_i64(1).push(", ").bind_str("one").push(", ");
                    first.bind(Arg::F64(1.5)).push(")");
                    let second = Sql::new("INSERT INTO t VALUES ($1, NULL, $2)")
                        .arg(2)
                        .arg(Arg::F64(-2.0));
                    for statement in [create, first, second] {
                        conn.execute(&statement).await?;
                    }
                    let update = Sql::new("UPDATE t SET b = $2 WHERE a = $1 RETURNING a, b")
                        .arg(2)
                        .arg("two");
                    conn.fetch_one(&update, |row| Ok((row.i64("a")?, row.string("b")?)))
                        .await
                })
            })
            .await
            .unwrap();
        assert_eq!(returned, (2, "two".to_owned()));
        let clash = store
            .write(Box::new(|conn| {
                Box::pin(async move {
                    let again = Sql::new("INSERT INTO t (a) VALUES ($1)").arg(1);
                    conn.execute(&again).await?;
                    Ok(())
                })
            }))
            .await
            .unwrap_err();
        assert!(clash.is_unique_violation(), "{clash:?}");
        let mut read = Sql::for_backend(store.backend(), "SELECT a, b, c FROM t WHERE a >= ");
        read.bind_i64(1).push(" ORDER BY a");
        let rows = store
            .read_all(&read, false, |row| {
                Ok((row.i64("a")?, row.opt_string("b")?, row.f64("c")?))
            })
            .await
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, Some("one".to_owned()), 1.5),
                (2, Some("two".to_owned()), -2.0)
            ]
        );
        // The same rows through the bulk reader's native connection.
        let bulk = store
            .read_all(&read, true, |row| Ok((row.i64("a")?, row.string("b")?)))
            .await
            .unwrap();
        assert_eq!(bulk, vec![(1, "one".to_owned()), (2, "two".to_owned())]);
        // A `$N` statement binds by name on the inline reader too; a wrong type is an error.
        let mut named = Sql::new("SELECT a, b, c FROM t WHERE b = ");
        named.bind_str("one");
        let typed = store.read_all(&named, false, |row| row.i64("b")).await;
        assert!(typed.is_err(), "{typed:?}");
        let found = store
            .read_all(&named, false, |row| row.i64("a"))
            .await
            .unwrap();
        assert_eq!(found, vec![1]);
    }
}
