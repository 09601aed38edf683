//! Personal and project access tokens. Only hashes are stored. A project token belongs to a
//! bot user that is a member of the project with the token's role, as in GitLab.

use crate::model::*;
use crate::sql::Cols;
use crate::sql::{Sql, flag};
use crate::users::user_from_row;
use crate::{SqlStore, StoreError, TokenRepo};
use async_trait::async_trait;
use hangar_core::access::{Role, Scope};
use sqlx::Row;

pub(crate) const TOKEN_COLUMNS: &str = "t.id AS token_id, t.user_id, t.project_id, t.name AS token_name, \
     t.scope, t.expires_at, t.revoked, t.created_at AS token_created_at, t.last_used_at";

pub(crate) fn token_from_row(row: &dyn Cols) -> Result<Token, sqlx::Error> {
    Ok(Token {
        id: row.i64("token_id")?,
        user_id: row.i64("user_id")?,
        project_id: row.opt_i64("project_id")?,
        name: row.string("token_name")?,
        scope: if row.string("scope")? == "api" {
            Scope::Api
        } else {
            Scope::ReadApi
        },
        expires_at: row.opt_string("expires_at")?,
        revoked: flag(row, "revoked")?,
        created_at: row.i64("token_created_at")?,
        last_used_at: row.opt_i64("last_used_at")?,
    })
}

fn scope_name(scope: Scope) -> &'static str {
    hangar_core::token::scope_names(scope)[0]
}

#[async_trait]
impl TokenRepo for SqlStore {
    async fn create_personal_token(
        &self,
        user_id: i64,
        token: NewToken,
    ) -> Result<Token, StoreError> {
        let mut sql = Sql::new(
            "INSERT INTO tokens (user_id, name, token_hash, scope, expires_at, created_at) VALUES (",
        );
        sql.bind_i64(user_id)
            .push(", ")
            .bind_str(&token.name)
            .push(", ")
            .bind_str(&token.token_hash)
            .push(", ")
            .bind_str(scope_name(token.scope))
            .push(", ");
        match &token.expires_at {
            Some(date) => sql.bind_str(date),
            None => sql.push("NULL"),
        };
        sql.push(", ")
            .bind_i64(hangar_core::now_millis())
            .push(") RETURNING ")
            .push(&TOKEN_COLUMNS.replace("t.", ""));
        let row = sql.build().fetch_one(&self.writer).await?;
        Ok(token_from_row(&row)?)
    }

    async fn create_project_token(
        &self,
        project_id: i64,
        role: Role,
        token: NewToken,
    ) -> Result<ProjectToken, StoreError> {
        let now = hangar_core::now_millis();
        let mut tx = self.writer.begin().await?;
        // GitLab names the bot `project_<id>_bot_<random>`; the hash prefix is random enough.
        let username = format!("project_{project_id}_bot_{}", &token.token_hash[..12]);
        let bot_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, name, is_admin, is_bot, created_at)
             VALUES ($1, $2, 0, 1, $3) RETURNING id",
        )
        .bind(&username)
        .bind(&token.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO members (project_id, user_id, access_level, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project_id)
        .bind(bot_id)
        .bind(role.access_level())
        .bind(now)
        .bind(&token.expires_at)
        .execute(&mut *tx)
        .await?;
        let mut sql = Sql::new(
            "INSERT INTO tokens (user_id, project_id, name, token_hash, scope, expires_at, created_at) VALUES (",
        );
        sql.bind_i64(bot_id)
            .push(", ")
            .bind_i64(project_id)
            .push(", ")
            .bind_str(&token.name)
            .push(", ")
            .bind_str(&token.token_hash)
            .push(", ")
            .bind_str(scope_name(token.scope))
            .push(", ");
        match &token.expires_at {
            Some(date) => sql.bind_str(date),
            None => sql.push("NULL"),
        };
        sql.push(", ")
            .bind_i64(now)
            .push(") RETURNING ")
            .push(&TOKEN_COLUMNS.replace("t.", ""));
        let row = sql.build().fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(ProjectToken {
            token: token_from_row(&row)?,
            role: Some(role),
        })
    }

    async fn find_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Token, User)>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(TOKEN_COLUMNS)
            .push(", u.id, u.username, u.name, u.email, u.is_admin, u.is_bot, u.created_at")
            .push(" FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ")
            .bind_str(token_hash);
        let row = sql.build().fetch_optional(&self.reader).await?;
        match row {
            Some(row) => Ok(Some((token_from_row(&row)?, user_from_row(&row)?))),
            None => Ok(None),
        }
    }

    async fn get_token(&self, id: i64) -> Result<Option<Token>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(TOKEN_COLUMNS)
            .push(" FROM tokens t WHERE t.id = ")
            .bind_i64(id);
        let row = sql.build().fetch_optional(&self.reader).await?;
        Ok(row.as_ref().map(|row| token_from_row(row)).transpose()?)
    }

    async fn list_tokens(
        &self,
        filter: TokenFilter,
        paging: Paging,
    ) -> Result<Page<Token>, StoreError> {
        let condition = |sql: &mut Sql| {
            sql.push(" FROM tokens t WHERE 1 = 1");
            if let Some(user) = filter.user_id {
                sql.push(" AND t.user_id = ").bind_i64(user);
            }
            if let Some(project) = filter.project_id {
                sql.push(" AND t.project_id = ").bind_i64(project);
            }
        };
        let mut count = Sql::new("SELECT COUNT(*) AS n");
        condition(&mut count);
        let mut select = Sql::new("SELECT ");
        select.push(TOKEN_COLUMNS);
        condition(&mut select);
        select
            .push(" ORDER BY t.id LIMIT ")
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get("n")?;
        let rows = select.build().fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(|row| token_from_row(row))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn project_token_role(&self, token: &Token) -> Result<Option<Role>, StoreError> {
        let Some(project_id) = token.project_id else {
            return Ok(None);
        };
        let level: Option<i64> = sqlx::query_scalar(
            "SELECT access_level FROM members WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project_id)
        .bind(token.user_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(level.and_then(Role::from_access_level))
    }

    async fn revoke_token(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(
            "UPDATE tokens SET revoked = 1 WHERE id = $1 RETURNING user_id, project_id",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let project_id: Option<i64> = row.try_get("project_id")?;
        if let Some(project_id) = project_id {
            let bot: i64 = row.try_get("user_id")?;
            sqlx::query("DELETE FROM members WHERE project_id = $1 AND user_id = $2")
                .bind(project_id)
                .bind(bot)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn touch_token(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
