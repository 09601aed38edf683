//! Files of a project's tree. A folder is not a row: it exists while a file lies below it,
//! and "below `d`" is the key range [`d/`, `d0`) (`0` follows `/` in byte order), which the
//! `(project_id, path)` index answers without `LIKE` or escaping.

use crate::model::*;
use crate::sql::{Cols, Sql};
use crate::{FileRepo, SqlStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;

const COLUMNS: &str = "id, project_id, path, size, sha256, blob_key, created_at";

fn file_from_row(row: &dyn Cols) -> Result<StoredFile, sqlx::Error> {
    Ok(StoredFile {
        id: row.i64("id")?,
        project_id: row.i64("project_id")?,
        path: row.string("path")?,
        size: row.i64("size")?,
        sha256: row.string("sha256")?,
        blob_key: row.string("blob_key")?,
        created_at: row.i64("created_at")?,
    })
}

/// Appends `AND path` bounds selecting everything strictly below the folder `dir`.
pub(crate) fn push_below(sql: &mut Sql, dir: &str) {
    if !dir.is_empty() {
        sql.push(" AND path >= ")
            .bind_str(&format!("{dir}/"))
            .push(" AND path < ")
            .bind_str(&format!("{dir}0"));
    }
}

/// The statement that deletes the files below `dir` except those below a folder of `kept`
/// (the roots of packages that still serve them), returning their blobs; None when a kept
/// folder holds `dir` itself (or `dir` is the whole tree).
pub(crate) fn delete_below_sql(
    backend: crate::Backend,
    project_id: i64,
    dir: &str,
    kept: &[String],
) -> Option<Sql> {
    let within = |inner: &str, outer: &str| {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
    };
    if dir.is_empty() || kept.iter().any(|k| within(dir, k)) {
        return None;
    }
    let mut sql = Sql::for_backend(backend, "DELETE FROM files WHERE project_id = ");
    sql.bind_i64(project_id);
    push_below(&mut sql, dir);
    for k in kept.iter().filter(|k| within(k, dir)) {
        sql.push(" AND NOT (path >= ")
            .bind_str(&format!("{k}/"))
            .push(" AND path < ")
            .bind_str(&format!("{k}0"))
            .push(")");
    }
    sql.push(" RETURNING blob_key");
    Some(sql)
}

#[async_trait]
impl FileRepo for SqlStore {
    async fn commit_file(&self, file: NewFile) -> Result<(StoredFile, Option<String>), StoreError> {
        self.write_returning(move |conn| {
            Box::pin(async move {
                let current =
                    Sql::new("SELECT blob_key FROM files WHERE project_id = $1 AND path = $2")
                        .arg(file.project_id)
                        .arg(&file.path);
                let replaced = conn
                    .fetch_optional(&current, |row| row.string("blob_key"))
                    .await?;
                let insert = Sql::new(&format!(
                    "INSERT INTO files (project_id, path, size, sha256, blob_key, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (project_id, path) DO UPDATE SET size = excluded.size,
                         sha256 = excluded.sha256, blob_key = excluded.blob_key,
                         created_at = excluded.created_at
                     RETURNING {COLUMNS}"
                ))
                .arg(file.project_id)
                .arg(&file.path)
                .arg(file.size)
                .arg(&file.sha256)
                .arg(&file.blob_key)
                .arg(hangar_core::now_millis());
                let stored = conn.fetch_one(&insert, file_from_row).await?;
                Ok((stored, replaced))
            })
        })
        .await
    }

    async fn get_file(
        &self,
        project_id: i64,
        path: &str,
    ) -> Result<Option<StoredFile>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM files WHERE project_id = $1 AND path = $2"
        )))
        .bind(project_id)
        .bind(path)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(|r| file_from_row(r)).transpose()?)
    }

    async fn get_file_by_id(
        &self,
        project_id: i64,
        id: i64,
    ) -> Result<Option<StoredFile>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM files WHERE project_id = $1 AND id = $2"
        )))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(|r| file_from_row(r)).transpose()?)
    }

    async fn files_under(&self, project_id: i64, dir: &str) -> Result<Vec<StoredFile>, StoreError> {
        let mut sql = Sql::for_backend(
            self.backend,
            &format!("SELECT {COLUMNS} FROM files WHERE project_id = "),
        );
        sql.bind_i64(project_id);
        push_below(&mut sql, dir);
        sql.push(" ORDER BY path");
        let rows = sql.build().fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|r| file_from_row(r))
            .collect::<Result<_, _>>()?)
    }

    async fn page_files_under(
        &self,
        project_id: i64,
        dir: &str,
        paging: Paging,
    ) -> Result<Page<StoredFile>, StoreError> {
        let mut count = Sql::for_backend(
            self.backend,
            "SELECT COUNT(*) AS n FROM files WHERE project_id = ",
        );
        count.bind_i64(project_id);
        push_below(&mut count, dir);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get("n")?;
        let mut sql = Sql::for_backend(
            self.backend,
            &format!("SELECT {COLUMNS} FROM files WHERE project_id = "),
        );
        sql.bind_i64(project_id);
        push_below(&mut sql, dir);
        sql.push(" ORDER BY path LIMIT ")
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        let rows = sql.build().fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(|r| file_from_row(r))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn delete_files(&self, project_id: i64, path: &str) -> Result<Vec<String>, StoreError> {
        let path = path.to_owned();
        let backend = self.backend;
        self.write_returning(move |conn| {
            Box::pin(async move {
                let mut sql = Sql::for_backend(backend, "DELETE FROM files WHERE project_id = ");
                sql.bind_i64(project_id);
                if path.is_empty() {
                    sql.push(" RETURNING blob_key");
                } else {
                    sql.push(" AND (path = ").bind_str(&path).push(" OR (1 = 1");
                    push_below(&mut sql, &path);
                    sql.push(")) RETURNING blob_key");
                }
                conn.fetch_all(&sql, |row| row.string("blob_key")).await
            })
        })
        .await
    }

    async fn referenced_blobs(&self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::for_backend(
            self.backend,
            "SELECT DISTINCT blob_key FROM files WHERE blob_key IN (",
        );
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_str(key);
        }
        sql.push(")");
        let rows = sql.build().fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("blob_key"))
            .collect::<Result<_, _>>()?)
    }
}
