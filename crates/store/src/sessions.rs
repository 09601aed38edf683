//! Web UI sessions, by the hash of the cookie's secret.

use crate::model::{NewSession, Session, User};
use crate::users::user_from_row;
use crate::{SessionRepo, SqlStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl SessionRepo for SqlStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        let now = hangar_core::now_millis();
        // Expired sessions go whenever a new one starts: no background job needed.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.writer)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id)
        .bind(&session.csrf_token)
        .bind(now)
        .bind(session.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<(Session, User)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.csrf_token, s.expires_at, u.id, u.username, u.name, u.email, u.is_admin,
                 u.is_bot, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(hangar_core::now_millis())
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let session = Session {
            user_id: user.id,
            csrf_token: row.try_get("csrf_token")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok(Some((session, user)))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
