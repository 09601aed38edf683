//! Projects: the tenants. Creating one also creates its owner's membership and its
//! `Default` experiment, which MLflow clients expect as experiment `0`.

use crate::error::conflict;
use crate::model::*;
use crate::sql::Cols;
use crate::sql::Sql;
use crate::{ProjectRepo, SqlStore, StoreError};
use async_trait::async_trait;
use hangar_core::access::Role;
use sqlx::Row;

const PROJECT_COLUMNS: &str = "p.id, p.namespace, p.path, p.name, p.description, p.visibility, \
     p.registry_access, p.ci_base_url, p.created_at, p.updated_at";

fn project_from_row(row: &dyn Cols) -> Result<Project, sqlx::Error> {
    let decode = |column: &str, e: String| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: e.into(),
    };
    Ok(Project {
        id: row.i64("id")?,
        namespace: row.string("namespace")?,
        path: row.string("path")?,
        name: row.string("name")?,
        description: row.string("description")?,
        visibility: row
            .string("visibility")?
            .parse()
            .map_err(|e| decode("visibility", e))?,
        registry_access: row
            .string("registry_access")?
            .parse()
            .map_err(|e| decode("registry_access", e))?,
        ci_base_url: row.opt_string("ci_base_url")?,
        created_at: row.i64("created_at")?,
        updated_at: row.i64("updated_at")?,
    })
}

/// Appends the condition that picks the project `reference` names (a numeric id or
/// `namespace/path`, case-insensitive); false when it cannot name a project.
fn push_project_match(sql: &mut Sql, reference: &str) -> bool {
    if let Ok(id) = reference.parse::<i64>() {
        sql.push("p.id = ").bind_i64(id);
        return true;
    }
    match reference.split_once('/') {
        Some((namespace, path)) if !path.contains('/') => {
            sql.push("lower(p.namespace) = lower(")
                .bind_str(namespace)
                .push(") AND lower(p.path) = lower(")
                .bind_str(path)
                .push(")");
            true
        }
        _ => false,
    }
}

/// A project with the caller's role, from a row that selected `PROJECT_COLUMNS` and
/// `m.access_level`.
fn access_from_row(row: &dyn Cols) -> Result<(Project, Option<Role>), sqlx::Error> {
    let level: Option<i64> = row.opt_i64("access_level")?;
    Ok((
        project_from_row(row)?,
        level.and_then(Role::from_access_level),
    ))
}

fn taken(namespace: &str, path: &str) -> String {
    format!("Project '{namespace}/{path}' has already been taken")
}

#[async_trait]
impl ProjectRepo for SqlStore {
    async fn create_project(&self, project: NewProject) -> Result<Project, StoreError> {
        let now = hangar_core::now_millis();
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(
            "INSERT INTO projects (namespace, path, name, description, visibility,
                 registry_access, ci_base_url, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             RETURNING id, namespace, path, name, description, visibility,
                 registry_access, ci_base_url, created_at, updated_at",
        )
        .bind(&project.namespace)
        .bind(&project.path)
        .bind(&project.name)
        .bind(&project.description)
        .bind(project.visibility.as_str())
        .bind(project.registry_access.as_str())
        .bind(&project.ci_base_url)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict(taken(&project.namespace, &project.path)))?;
        let created = project_from_row(&row)?;
        if let Some(owner) = project.owner_id {
            sqlx::query(
                "INSERT INTO members (project_id, user_id, access_level, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(created.id)
            .bind(owner)
            .bind(Role::Owner.access_level())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO experiments (project_id, iid, name, artifact_location, lifecycle_stage,
                 creation_time, last_update_time)
             VALUES ($1, 0, 'Default', 'mlflow-artifacts:/0', 'active', $2, $2)",
        )
        .bind(created.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_project(&self, id: i64) -> Result<Option<Project>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(PROJECT_COLUMNS)
            .push(" FROM projects p WHERE p.id = ")
            .bind_i64(id);
        let row = sql.build().fetch_optional(&self.reader).await?;
        Ok(row.as_ref().map(|row| project_from_row(row)).transpose()?)
    }

    async fn find_project(
        &self,
        namespace: &str,
        path: &str,
    ) -> Result<Option<Project>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(PROJECT_COLUMNS)
            .push(" FROM projects p WHERE lower(p.namespace) = lower(")
            .bind_str(namespace)
            .push(") AND lower(p.path) = lower(")
            .bind_str(path)
            .push(")");
        let row = sql.build().fetch_optional(&self.reader).await?;
        Ok(row.as_ref().map(|row| project_from_row(row)).transpose()?)
    }

    async fn project_access(
        &self,
        reference: &str,
        user_id: Option<i64>,
    ) -> Result<Option<(Project, Option<Role>)>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(PROJECT_COLUMNS)
            .push(", m.access_level FROM projects p LEFT JOIN members m ON m.project_id = p.id AND m.user_id = ")
            .bind_i64(user_id.unwrap_or(-1))
            .push(" AND (m.expires_at IS NULL OR m.expires_at > ")
            .bind_str(&crate::members::today())
            .push(") WHERE ");
        if !push_project_match(&mut sql, reference) {
            return Ok(None);
        }
        let Some(row) = sql.build().fetch_optional(&self.reader).await? else {
            return Ok(None);
        };
        Ok(Some(access_from_row(&row)?))
    }

    async fn token_project_access(
        &self,
        token_hash: &str,
        reference: &str,
    ) -> Result<Option<TokenProjectAccess>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(crate::tokens::TOKEN_COLUMNS)
            .push(
                ", u.id AS u_id, u.username AS u_username, u.name AS u_name, u.email AS u_email, \
                 u.is_admin AS u_is_admin, u.is_bot AS u_is_bot, u.created_at AS u_created_at, ",
            )
            .push(PROJECT_COLUMNS)
            .push(", m.access_level FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN projects p ON ");
        if !push_project_match(&mut sql, reference) {
            sql.push("1 = 0");
        }
        sql.push(
            " LEFT JOIN members m ON m.project_id = p.id AND m.user_id = t.user_id \
             AND (m.expires_at IS NULL OR m.expires_at > ",
        )
        .bind_str(&crate::members::today())
        .push(") WHERE t.token_hash = ")
        .bind_str(token_hash);
        let found = self
            .read_all(&sql, false, |row| {
                let token = crate::tokens::token_from_row(row)?;
                let user = crate::users::user_from_prefixed_row(row, "u_")?;
                let project = match row.opt_i64("id")? {
                    Some(_) => Some(access_from_row(row)?),
                    None => None,
                };
                Ok((token, user, project))
            })
            .await?;
        Ok(found.into_iter().next())
    }

    async fn list_projects(
        &self,
        filter: ProjectVisibilityFilter,
        search: Option<&str>,
        paging: Paging,
    ) -> Result<Page<Project>, StoreError> {
        let condition = |sql: &mut Sql| {
            sql.push(" FROM projects p WHERE 1 = 1");
            match filter {
                ProjectVisibilityFilter::All => {}
                ProjectVisibilityFilter::PublicOnly => {
                    sql.push(" AND p.visibility = 'public'");
                }
                ProjectVisibilityFilter::VisibleTo(user) => {
                    sql.push(
                        " AND (p.visibility = 'public' OR EXISTS (SELECT 1 FROM members m \
                         WHERE m.project_id = p.id AND m.user_id = ",
                    )
                    .bind_i64(user)
                    .push("))");
                }
                ProjectVisibilityFilter::MemberOf(user) => {
                    sql.push(" AND EXISTS (SELECT 1 FROM members m WHERE m.project_id = p.id AND m.user_id = ")
                        .bind_i64(user)
                        .push(")");
                }
            }
            if let Some(search) = search.filter(|s| !s.is_empty()) {
                let pattern = format!("%{}%", search.to_lowercase());
                sql.push(" AND (lower(p.name) LIKE ")
                    .bind_str(&pattern)
                    .push(" OR lower(p.namespace || '/' || p.path) LIKE ")
                    .bind_str(&pattern)
                    .push(")");
            }
        };
        let mut count = Sql::new("SELECT COUNT(*) AS n");
        condition(&mut count);
        let mut select = Sql::new("SELECT ");
        select.push(PROJECT_COLUMNS);
        condition(&mut select);
        select
            .push(" ORDER BY p.id LIMIT ")
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get("n")?;
        let rows = select.build().fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(|row| project_from_row(row))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn update_project(&self, id: i64, update: ProjectUpdate) -> Result<Project, StoreError> {
        let mut sql = Sql::new("UPDATE projects SET updated_at = ");
        sql.bind_i64(hangar_core::now_millis());
        if let Some(name) = &update.name {
            sql.push(", name = ").bind_str(name);
        }
        if let Some(path) = &update.path {
            sql.push(", path = ").bind_str(path);
        }
        if let Some(description) = &update.description {
            sql.push(", description = ").bind_str(description);
        }
        if let Some(visibility) = update.visibility {
            sql.push(", visibility = ").bind_str(visibility.as_str());
        }
        if let Some(access) = update.registry_access {
            sql.push(", registry_access = ").bind_str(access.as_str());
        }
        match &update.ci_base_url {
            Some(Some(url)) => {
                sql.push(", ci_base_url = ").bind_str(url);
            }
            Some(None) => {
                sql.push(", ci_base_url = NULL");
            }
            None => {}
        }
        sql.push(" WHERE id = ")
            .bind_i64(id)
            .push(" RETURNING ")
            .push(&PROJECT_COLUMNS.replace("p.", ""));
        let row = sql
            .build()
            .fetch_optional(&self.writer)
            .await
            .map_err(conflict(format!(
                "Project path '{}' has already been taken",
                update.path.as_deref().unwrap_or_default()
            )))?;
        Ok(project_from_row(&row.ok_or(StoreError::NotFound)?)?)
    }

    async fn delete_project(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        // Project tokens act as bot users that exist only for this project.
        sqlx::query(
            "DELETE FROM users WHERE is_bot = 1 AND id IN (SELECT user_id FROM tokens WHERE project_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
