//! GitLab's packages over the file tree: each package names a folder (`root`) whose files
//! are its package files.

use crate::files::delete_below_sql;
use crate::model::*;
use crate::registered_models::escape_like;
use crate::sql::Sql;
use crate::{PackageRepo, SqlStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str =
    "id, project_id, package_type, name, version, root, model_version_id, run_id, created_at";

fn package_from_row(row: &AnyRow) -> Result<Package, StoreError> {
    let kind: String = row.try_get("package_type")?;
    Ok(Package {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        package_type: PackageType::parse(&kind)
            .ok_or_else(|| StoreError::Config(format!("unknown package type '{kind}'")))?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        root: row.try_get("root")?,
        model_version_id: row.try_get("model_version_id")?,
        run_id: row.try_get("run_id")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The folder of the tree that holds a version's files: its storage location when that is
/// in Hangar's tree, else a folder of its own.
pub(crate) fn version_root(storage_location: &str, version_id: i64) -> String {
    match storage_location.strip_prefix("mlflow-artifacts:/") {
        Some(path) => path.trim_matches('/').to_owned(),
        None => format!("packages/ml_model/{version_id}"),
    }
}

/// The statement that creates the `ml_model` package of a new version, to run inside the
/// version's transaction.
pub(crate) fn insert_version_package(
    conn: &dyn crate::write_conn::WriteConn,
    project_id: i64,
    version: &ModelVersion,
) -> Sql {
    let mut sql = conn.sql(
        "INSERT INTO packages (project_id, package_type, name, version, root, model_version_id, \
         created_at) VALUES (",
    );
    sql.bind_i64(project_id)
        .push(", 'ml_model', ")
        .bind_str(&version.model_name)
        .push(", ")
        .bind_str(&version.semver)
        .push(", ")
        .bind_str(&version_root(&version.storage_location, version.id))
        .push(", ")
        .bind_i64(version.id)
        .push(", ")
        .bind_i64(version.creation_time)
        .push(")");
    sql
}

fn push_filter(sql: &mut Sql, project_id: i64, filter: &PackageFilter) {
    sql.push(" WHERE project_id = ").bind_i64(project_id);
    if let Some(name) = &filter.name {
        let pattern = format!("%{}%", escape_like(&name.to_lowercase()));
        sql.push(" AND LOWER(name) LIKE ")
            .bind_str(&pattern)
            .push(" ESCAPE '\\'");
    }
    if let Some(kind) = filter.package_type {
        sql.push(" AND package_type = ").bind_str(kind.as_str());
    }
}

impl SqlStore {
    /// The package whose `column` (a trusted column name) is `id`.
    async fn package_by(&self, column: &str, id: i64) -> Result<Option<Package>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM packages WHERE {column} = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(package_from_row).transpose()
    }
}

#[async_trait]
impl PackageRepo for SqlStore {
    async fn ensure_package(&self, package: NewPackage) -> Result<Package, StoreError> {
        sqlx::query(
            "INSERT INTO packages (project_id, package_type, name, version, root, run_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
        )
        .bind(package.project_id)
        .bind(package.package_type.as_str())
        .bind(&package.name)
        .bind(&package.version)
        .bind(&package.root)
        .bind(package.run_id)
        .bind(hangar_core::now_millis())
        .execute(&self.writer)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM packages
             WHERE project_id = $1 AND package_type = $2 AND name = $3 AND version = $4"
        )))
        .bind(package.project_id)
        .bind(package.package_type.as_str())
        .bind(&package.name)
        .bind(&package.version)
        .fetch_one(&self.writer)
        .await?;
        package_from_row(&row)
    }

    async fn get_package(&self, project_id: i64, id: i64) -> Result<Option<Package>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM packages WHERE project_id = $1 AND id = $2"
        )))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(package_from_row).transpose()
    }

    async fn find_package(
        &self,
        project_id: i64,
        name: &str,
        version: &str,
    ) -> Result<Option<Package>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM packages WHERE project_id = $1 AND name = $2 AND version = $3
             ORDER BY package_type DESC LIMIT 1"
        )))
        .bind(project_id)
        .bind(name)
        .bind(version)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(package_from_row).transpose()
    }

    async fn package_of_version(
        &self,
        model_version_id: i64,
    ) -> Result<Option<Package>, StoreError> {
        self.package_by("model_version_id", model_version_id).await
    }

    async fn candidate_package(
        &self,
        project_id: i64,
        iid: i64,
        create: bool,
    ) -> Result<Option<Package>, StoreError> {
        let row = sqlx::query(
            "SELECT r.id, r.artifact_uri, e.iid AS experiment_iid, rm.name AS model_name,
                 (SELECT MIN(p.id) FROM packages p JOIN model_versions v ON v.id = p.model_version_id
                  WHERE v.run_id = r.id AND v.deleted = 0
                    AND p.root = substr(r.artifact_uri, 19)) AS version_package,
                 (SELECT p.id FROM packages p WHERE p.run_id = r.id) AS own_package
             FROM runs r JOIN experiments e ON e.id = r.experiment_id
             LEFT JOIN registered_models rm ON rm.experiment_id = e.id
             WHERE r.project_id = $1 AND r.iid = $2",
        )
        .bind(project_id)
        .bind(iid)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let existing: Option<i64> = row
            .try_get::<Option<i64>, _>("version_package")?
            .or(row.try_get("own_package")?);
        if let Some(id) = existing {
            return self.get_package(project_id, id).await;
        }
        let run_row_id: i64 = row.try_get("id")?;
        let artifact_uri: String = row.try_get("artifact_uri")?;
        let model_name: Option<String> = row.try_get("model_name")?;
        let experiment_iid: i64 = row.try_get("experiment_iid")?;
        let package = NewPackage {
            project_id,
            package_type: PackageType::MlModel,
            // GitLab's `experiment.package_name`.
            name: model_name.unwrap_or_else(|| format!("ml_experiment_{experiment_iid}")),
            version: format!("candidate_{iid}"),
            root: version_root(&artifact_uri, 0),
            run_id: Some(run_row_id),
        };
        if create {
            return self.ensure_package(package).await.map(Some);
        }
        Ok(Some(Package {
            id: 0,
            project_id,
            package_type: package.package_type,
            name: package.name,
            version: package.version,
            root: package.root,
            model_version_id: None,
            run_id: package.run_id,
            created_at: 0,
        }))
    }

    async fn list_packages(
        &self,
        project_id: i64,
        filter: &PackageFilter,
        paging: Paging,
    ) -> Result<Page<Package>, StoreError> {
        let order = if filter.descending { "DESC" } else { "ASC" };
        let mut count = Sql::for_backend(self.backend, "SELECT COUNT(*) AS n FROM packages");
        push_filter(&mut count, project_id, filter);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get("n")?;
        let mut sql = Sql::for_backend(self.backend, &format!("SELECT {COLUMNS} FROM packages"));
        push_filter(&mut sql, project_id, filter);
        sql.push(&format!(" ORDER BY created_at {order}, id {order} LIMIT "))
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        let rows = sql.build().fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(package_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn delete_package(&self, package: &Package) -> Result<Vec<String>, StoreError> {
        let (id, project_id, root) = (package.id, package.project_id, package.root.clone());
        let backend = self.backend;
        self.write_returning(move |conn| {
            Box::pin(async move {
                // Versions may share files (a copy, or several versions of one run): what
                // another package still serves stays.
                let others =
                    Sql::new("SELECT root FROM packages WHERE project_id = $1 AND id <> $2")
                        .arg(project_id)
                        .arg(id);
                let kept = conn.fetch_all(&others, |row| row.string("root")).await?;
                let blobs = match delete_below_sql(backend, project_id, &root, &kept) {
                    Some(sql) => conn.fetch_all(&sql, |row| row.string("blob_key")).await?,
                    None => Vec::new(),
                };
                conn.execute(&Sql::new("DELETE FROM packages WHERE id = $1").arg(id))
                    .await?;
                Ok(blobs)
            })
        })
        .await
    }
}
