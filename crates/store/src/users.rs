//! Users.

use crate::error::conflict;
use crate::model::{NewUser, Page, Paging, User};
use crate::sql::Cols;
use crate::sql::flag;
use crate::{SqlStore, StoreError, UserRepo};
use async_trait::async_trait;
use sqlx::Row;

pub(crate) fn user_from_row(row: &dyn Cols) -> Result<User, sqlx::Error> {
    user_from_prefixed_row(row, "")
}

/// The user columns, selected as `<prefix><column>` (a query that also selects a project).
pub(crate) fn user_from_prefixed_row(row: &dyn Cols, prefix: &str) -> Result<User, sqlx::Error> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(User {
        id: row.i64(&column("id"))?,
        username: row.string(&column("username"))?,
        name: row.string(&column("name"))?,
        email: row.opt_string(&column("email"))?,
        is_admin: flag(row, &column("is_admin"))?,
        is_bot: flag(row, &column("is_bot"))?,
        created_at: row.i64(&column("created_at"))?,
    })
}

#[async_trait]
impl UserRepo for SqlStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let row = sqlx::query(
            "INSERT INTO users (username, name, email, password_hash, is_admin, is_bot, created_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6)
             RETURNING id, username, name, email, is_admin, is_bot, created_at",
        )
        .bind(&user.username)
        .bind(&user.name)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(i64::from(user.is_admin))
        .bind(hangar_core::now_millis())
        .fetch_one(&self.writer)
        .await
        .map_err(conflict(format!(
            "Username '{}' has already been taken",
            user.username
        )))?;
        Ok(user_from_row(&row)?)
    }

    async fn get_user(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.name, u.email, u.is_admin, u.is_bot, u.created_at
             FROM users u WHERE u.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(|row| user_from_row(row)).transpose()?)
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .find_user_with_password(username)
            .await?
            .map(|(u, _)| u))
    }

    async fn find_user_with_password(
        &self,
        username: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.name, u.email, u.is_admin, u.is_bot, u.created_at, u.password_hash
             FROM users u WHERE lower(u.username) = lower($1)",
        )
        .bind(username)
        .fetch_optional(&self.reader)
        .await?;
        match row {
            Some(row) => Ok(Some((user_from_row(&row)?, row.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    async fn list_users(&self, paging: Paging) -> Result<Page<User>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.name, u.email, u.is_admin, u.is_bot, u.created_at
             FROM users u ORDER BY u.id LIMIT $1 OFFSET $2",
        )
        .bind(paging.limit)
        .bind(paging.offset)
        .fetch_all(&self.reader)
        .await?;
        let items = rows
            .iter()
            .map(|row| user_from_row(row))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total: self.count_users().await?,
        })
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.reader)
            .await?)
    }
}
