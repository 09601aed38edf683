//! Projects: the tenants. Creating one also creates its owner's membership and its
//! `Default` experiment, which MLflow clients expect as experiment `0`, and gives it its
//! MLflow workspace name.

use crate::error::conflict;
use crate::model::*;
use crate::sql::Cols;
use crate::sql::Sql;
use crate::{ProjectRepo, SqlStore, StoreError};
use async_trait::async_trait;
use hangar_core::access::Role;
use hangar_core::workspace;
use sqlx::{AnyPool, Row};

const PROJECT_COLUMNS: &str = "p.id, p.namespace, p.path, p.name, p.description, p.visibility, \
     p.registry_access, p.ci_base_url, p.workspace, p.created_at, p.updated_at";

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
        // NULL only for a project an older replica created after the migration, until the
        // next start names it.
        workspace: row.opt_string("workspace")?.unwrap_or_default(),
        created_at: row.i64("created_at")?,
        updated_at: row.i64("updated_at")?,
    })
}

/// Appends the condition that picks the project `reference` names (a numeric id or
/// `namespace/path`, case-insensitive, or a workspace name); false when it cannot name a
/// project.
fn push_project_match(sql: &mut Sql, reference: ProjectRef<'_>) -> bool {
    let reference = match reference {
        ProjectRef::Workspace(name) => {
            sql.push("p.workspace = ").bind_str(name);
            return true;
        }
        ProjectRef::IdOrPath(reference) => reference,
    };
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

/// Appends ` AND …` keeping the projects `filter` lets through (`p` is the project).
fn push_visibility(sql: &mut Sql, filter: ProjectVisibilityFilter) {
    match filter {
        ProjectVisibilityFilter::All => {}
        ProjectVisibilityFilter::PublicOnly => {
            sql.push(" AND p.visibility = 'public'");
        }
        ProjectVisibilityFilter::VisibleTo(user) => {
            sql.push(
                " AND (p.visibility = 'public' OR EXISTS (SELECT 1 FROM members mv \
                 WHERE mv.project_id = p.id AND mv.user_id = ",
            )
            .bind_i64(user)
            .push("))");
        }
        ProjectVisibilityFilter::MemberOf(user) => {
            sql.push(
                " AND EXISTS (SELECT 1 FROM members mv WHERE mv.project_id = p.id AND mv.user_id = ",
            )
            .bind_i64(user)
            .push(")");
        }
    }
}

fn taken(namespace: &str, path: &str) -> String {
    format!("Project '{namespace}/{path}' has already been taken")
}

fn workspace_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("Workspace '{name}' already exists."))
}

/// True when a write broke the uniqueness of workspace names (rather than of paths).
fn is_workspace_clash(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            db.is_unique_violation()
                && (db.constraint() == Some("projects_workspace")
                    || db.message().contains("workspace"))
        }
        _ => false,
    }
}

/// Whether a project already has the workspace name `name`.
async fn workspace_in_use(conn: &mut sqlx::AnyConnection, name: &str) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM projects WHERE workspace = $1")
            .bind(name)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

impl SqlStore {
    /// One attempt at [`ProjectRepo::create_project`], in one transaction.
    async fn try_create_project(&self, project: &NewProject) -> Result<Project, StoreError> {
        let now = hangar_core::now_millis();
        let mut tx = self.writer.begin().await?;
        let name = match &project.workspace {
            Some(name) => {
                if workspace_in_use(&mut tx, name).await? {
                    return Err(workspace_taken(name));
                }
                name.clone()
            }
            None => {
                let mut free = None;
                for candidate in workspace::candidates(&project.namespace, &project.path) {
                    if !workspace_in_use(&mut tx, &candidate).await? {
                        free = Some(candidate);
                        break;
                    }
                }
                free.unwrap_or_default()
            }
        };
        let row = sqlx::query(
            "INSERT INTO projects (namespace, path, name, description, visibility,
                 registry_access, ci_base_url, workspace, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             RETURNING id, namespace, path, name, description, visibility,
                 registry_access, ci_base_url, workspace, created_at, updated_at",
        )
        .bind(&project.namespace)
        .bind(&project.path)
        .bind(&project.name)
        .bind(&project.description)
        .bind(project.visibility.as_str())
        .bind(project.registry_access.as_str())
        .bind(&project.ci_base_url)
        .bind(&name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let mut created = project_from_row(&row)?;
        // Project 1 is what a client without a workspace reaches, so it is MLflow's default
        // workspace whatever it was asked to be called.
        if created.id == 1 && created.workspace != workspace::DEFAULT {
            sqlx::query("UPDATE projects SET workspace = $1 WHERE id = 1")
                .bind(workspace::DEFAULT)
                .execute(&mut *tx)
                .await?;
            created.workspace = workspace::DEFAULT.to_owned();
        }
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
}

/// Names every project that has no workspace yet (all of them right after migration 11,
/// which names only project 1): by id, each the first free name derived from its path, so
/// the older of two projects whose paths derive the same name keeps it. Run after every
/// migration; it does nothing once every project has a name.
pub(crate) async fn name_unnamed_workspaces(pool: &AnyPool) -> Result<(), StoreError> {
    // A replica starting at the same time may name a project first; start over then.
    for _ in 0..8 {
        let unnamed = sqlx::query(
            "SELECT id, namespace, path FROM projects WHERE workspace IS NULL ORDER BY id",
        )
        .fetch_all(pool)
        .await?;
        if unnamed.is_empty() {
            return Ok(());
        }
        let mut in_use: std::collections::HashSet<String> =
            sqlx::query("SELECT workspace FROM projects WHERE workspace IS NOT NULL")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| row.try_get("workspace"))
                .collect::<Result<_, _>>()?;
        let mut raced = false;
        for row in &unnamed {
            let id: i64 = row.try_get("id")?;
            let namespace: String = row.try_get("namespace")?;
            let path: String = row.try_get("path")?;
            let name = if id == 1 {
                workspace::DEFAULT.to_owned()
            } else {
                workspace::candidates(&namespace, &path)
                    .find(|c| !in_use.contains(c))
                    .unwrap_or_default()
            };
            let named = sqlx::query(
                "UPDATE projects SET workspace = $1 WHERE id = $2 AND workspace IS NULL",
            )
            .bind(&name)
            .bind(id)
            .execute(pool)
            .await
            .map_err(StoreError::from);
            match named {
                Ok(_) => {
                    in_use.insert(name);
                }
                Err(e) if e.is_unique_violation() => {
                    raced = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if !raced {
            return Ok(());
        }
    }
    Err(StoreError::Conflict(
        "could not name every project's workspace; start again".into(),
    ))
}

#[async_trait]
impl ProjectRepo for SqlStore {
    async fn create_project(&self, project: NewProject) -> Result<Project, StoreError> {
        // Two creates on PostgreSQL may find the same derived name free at once; the one
        // that loses the race takes the next name.
        for _ in 0..8 {
            match self.try_create_project(&project).await {
                Err(e) if is_workspace_clash(&e) && project.workspace.is_none() => continue,
                Err(e) if is_workspace_clash(&e) => {
                    return Err(workspace_taken(
                        project.workspace.as_deref().unwrap_or_default(),
                    ));
                }
                Err(e) if e.is_unique_violation() => {
                    return Err(StoreError::Conflict(taken(
                        &project.namespace,
                        &project.path,
                    )));
                }
                other => return other,
            }
        }
        Err(StoreError::Conflict(
            "no free workspace name was found for this project; try again".into(),
        ))
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
        reference: ProjectRef<'_>,
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
        reference: ProjectRef<'_>,
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
            push_visibility(sql, filter);
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

    async fn list_project_access(
        &self,
        filter: ProjectVisibilityFilter,
        user_id: Option<i64>,
    ) -> Result<Vec<(Project, Option<Role>)>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(PROJECT_COLUMNS)
            .push(", m.access_level FROM projects p LEFT JOIN members m ON m.project_id = p.id AND m.user_id = ")
            .bind_i64(user_id.unwrap_or(-1))
            .push(" AND (m.expires_at IS NULL OR m.expires_at > ")
            .bind_str(&crate::members::today())
            .push(") WHERE p.workspace IS NOT NULL");
        push_visibility(&mut sql, filter);
        sql.push(" ORDER BY p.workspace");
        let rows = sql.build().fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|row| access_from_row(row))
            .collect::<Result<_, _>>()?)
    }

    async fn project_contents(&self, id: i64) -> Result<ProjectContents, StoreError> {
        let row = sqlx::query(
            "SELECT
                 (SELECT COUNT(*) FROM experiments WHERE project_id = $1 AND iid <> 0) AS experiments,
                 (SELECT COUNT(*) FROM runs WHERE project_id = $1) AS runs,
                 (SELECT COUNT(*) FROM registered_models WHERE project_id = $1) AS registered_models,
                 (SELECT COUNT(*) FROM logged_models WHERE project_id = $1) AS logged_models,
                 (SELECT COUNT(*) FROM files WHERE project_id = $1) AS files",
        )
        .bind(id)
        .fetch_one(&self.reader)
        .await?;
        Ok(ProjectContents {
            experiments: row.try_get("experiments")?,
            runs: row.try_get("runs")?,
            registered_models: row.try_get("registered_models")?,
            logged_models: row.try_get("logged_models")?,
            files: row.try_get("files")?,
        })
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
