//! Project members and their roles. A project always keeps at least one owner.

use crate::error::conflict;
use crate::model::{Member, Page, Paging};
use crate::users::user_from_row;
use crate::{MemberRepo, SqlStore, StoreError};
use async_trait::async_trait;
use hangar_core::access::Role;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

const MEMBER_SELECT: &str = "SELECT m.project_id, m.access_level, m.created_at AS member_since, \
     m.expires_at, u.id, u.username, u.name, u.email, u.is_admin, u.is_bot, u.created_at \
     FROM members m JOIN users u ON u.id = m.user_id";

fn member_from_row(row: &AnyRow) -> Result<Member, sqlx::Error> {
    let level: i64 = row.try_get("access_level")?;
    Ok(Member {
        project_id: row.try_get("project_id")?,
        user: user_from_row(row)?,
        role: Role::from_access_level(level).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "access_level".into(),
            source: format!("unknown access level {level}").into(),
        })?,
        created_at: row.try_get("member_since")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// Today's date in UTC as `YYYY-MM-DD`, for comparing with `expires_at`.
pub(crate) fn today() -> String {
    let days = hangar_core::now_millis().div_euclid(86_400_000);
    civil_from_days(days)
}

/// Howard Hinnant's days-to-civil algorithm; avoids a date crate in the store.
fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn fetch_member(
    tx: &mut Transaction<'_, Any>,
    project_id: i64,
    user_id: i64,
) -> Result<Option<Member>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{MEMBER_SELECT} WHERE m.project_id = $1 AND m.user_id = $2"
    )))
    .bind(project_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.as_ref().map(member_from_row).transpose()?)
}

/// Refuses a change that would leave the project without an owner.
async fn keep_an_owner(
    tx: &mut Transaction<'_, Any>,
    project_id: i64,
    user_id: i64,
) -> Result<(), StoreError> {
    let other_owners: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM members WHERE project_id = $1 AND user_id <> $2 AND access_level >= $3",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(Role::Owner.access_level())
    .fetch_one(&mut **tx)
    .await?;
    if other_owners == 0 {
        return Err(StoreError::Invalid(
            "The last owner cannot be removed or demoted; make another member owner first".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl MemberRepo for SqlStore {
    async fn member_role(&self, project_id: i64, user_id: i64) -> Result<Option<Role>, StoreError> {
        let level: Option<i64> = sqlx::query_scalar(
            "SELECT access_level FROM members
             WHERE project_id = $1 AND user_id = $2 AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(today())
        .fetch_optional(&self.reader)
        .await?;
        Ok(level.and_then(Role::from_access_level))
    }

    async fn list_members(
        &self,
        project_id: i64,
        paging: Paging,
    ) -> Result<Page<Member>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MEMBER_SELECT} WHERE m.project_id = $1 ORDER BY u.id LIMIT $2 OFFSET $3"
        )))
        .bind(project_id)
        .bind(paging.limit)
        .bind(paging.offset)
        .fetch_all(&self.reader)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&self.reader)
            .await?;
        let items = rows.iter().map(member_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn get_member(
        &self,
        project_id: i64,
        user_id: i64,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MEMBER_SELECT} WHERE m.project_id = $1 AND m.user_id = $2"
        )))
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(member_from_row).transpose()?)
    }

    async fn add_member(
        &self,
        project_id: i64,
        user_id: i64,
        role: Role,
        expires_at: Option<String>,
    ) -> Result<Member, StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO members (project_id, user_id, access_level, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(role.access_level())
        .bind(hangar_core::now_millis())
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict("Member already exists"))?;
        let member = fetch_member(&mut tx, project_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(member)
    }

    async fn update_member(
        &self,
        project_id: i64,
        user_id: i64,
        role: Role,
        expires_at: Option<Option<String>>,
    ) -> Result<Member, StoreError> {
        let mut tx = self.writer.begin().await?;
        let current = fetch_member(&mut tx, project_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if current.role == Role::Owner && role != Role::Owner {
            keep_an_owner(&mut tx, project_id, user_id).await?;
        }
        let expires_at = expires_at.unwrap_or(current.expires_at);
        sqlx::query(
            "UPDATE members SET access_level = $1, expires_at = $2 WHERE project_id = $3 AND user_id = $4",
        )
        .bind(role.access_level())
        .bind(expires_at)
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        let member = fetch_member(&mut tx, project_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(member)
    }

    async fn remove_member(&self, project_id: i64, user_id: i64) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let current = fetch_member(&mut tx, project_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if current.role == Role::Owner {
            keep_an_owner(&mut tx, project_id, user_id).await?;
        }
        sqlx::query("DELETE FROM members WHERE project_id = $1 AND user_id = $2")
            .bind(project_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), "1970-01-01");
        assert_eq!(super::civil_from_days(20_820), "2027-01-02");
        assert_eq!(super::civil_from_days(11_016), "2000-02-29");
    }
}
