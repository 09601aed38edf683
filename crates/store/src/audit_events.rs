//! The audit log of registry changes, per project.

use crate::model::*;
use crate::sql::Sql;
use crate::write_conn::WriteConn;
use crate::{AuditRepo, SqlStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;

/// The statement that records `event`, to run inside the change's own transaction (so a
/// change and its record commit together).
pub(crate) fn insert_audit_event(conn: &dyn WriteConn, event: &NewAuditEvent) -> Sql {
    let mut sql = conn.sql(
        "INSERT INTO audit_events (project_id, author_id, author_name, event_name, \
         target_type, target, details, created_at) VALUES (",
    );
    sql.bind_i64(event.project_id).push(", ");
    match event.author_id {
        Some(id) => sql.bind_i64(id),
        None => sql.push("NULL"),
    };
    sql.push(", ")
        .bind_str(&event.author_name)
        .push(", ")
        .bind_str(&event.event_name)
        .push(", ")
        .bind_str(&event.target_type)
        .push(", ")
        .bind_str(&event.target)
        .push(", ")
        .bind_str(&event.details)
        .push(", ")
        .bind_i64(hangar_core::now_millis())
        .push(")");
    sql
}

#[async_trait]
impl AuditRepo for SqlStore {
    async fn record_audit_event(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        self.write(Box::new(move |conn| {
            Box::pin(async move {
                let insert = insert_audit_event(conn, &event);
                conn.execute(&insert).await?;
                Ok(())
            })
        }))
        .await
    }

    async fn list_audit_events(
        &self,
        project_id: i64,
        paging: Paging,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&self.reader)
                .await?;
        let rows = sqlx::query(
            "SELECT id, project_id, author_id, author_name, event_name, target_type, target, details,
                 created_at
             FROM audit_events WHERE project_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(project_id)
        .bind(paging.limit)
        .bind(paging.offset)
        .fetch_all(&self.reader)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(AuditEvent {
                    id: row.try_get("id")?,
                    project_id: row.try_get("project_id")?,
                    author_id: row.try_get("author_id")?,
                    author_name: row.try_get("author_name")?,
                    event_name: row.try_get("event_name")?,
                    target_type: row.try_get("target_type")?,
                    target: row.try_get("target")?,
                    details: row.try_get("details")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Page { items, total })
    }
}
