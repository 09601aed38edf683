//! Model versions: a per-model number (MLflow's `version`) and a semantic version, both
//! unique and never reused; tags, user aliases, stages, and the candidate run of each.

use crate::model::*;
use crate::packages::insert_version_package;
use crate::registered_models::{escape_like, push_ids, upsert_tags};
use crate::runs::insert_run_into;
use crate::sql::{Cols, Sql};
use crate::write_conn::WriteConn;
use crate::{ModelVersionRepo, SqlStore, StoreError};
use async_trait::async_trait;
use hangar_core::filter::{Clause, OrderBy};
use hangar_core::registry::{SEMVER_TAG, Stage, VersionRef};
use hangar_core::semver;
use sqlx::Row;
use std::collections::HashMap;

pub(crate) const VERSION_COLUMNS: &str = "v.id, v.model_id, m.name AS model_name, v.number, v.semver, \
     v.description, v.user_id, v.source, v.storage_location, r.run_uuid, v.external_run_id, \
     v.run_link, v.model_uuid, v.current_stage, v.creation_time, v.last_updated_time";
pub(crate) const VERSION_FROM: &str = " FROM model_versions v JOIN registered_models m ON m.id = v.model_id \
     LEFT JOIN runs r ON r.id = v.run_id";

fn version_from_row(row: &dyn Cols) -> Result<ModelVersion, sqlx::Error> {
    Ok(ModelVersion {
        id: row.i64("id")?,
        model_id: row.i64("model_id")?,
        model_name: row.string("model_name")?,
        number: row.i64("number")?,
        semver: row.string("semver")?,
        description: row.string("description")?,
        user_id: row.string("user_id")?,
        source: row.string("source")?,
        storage_location: row.string("storage_location")?,
        run_uuid: row.opt_string("run_uuid")?,
        external_run_id: row.string("external_run_id")?,
        run_link: row.string("run_link")?,
        model_uuid: row.string("model_uuid")?,
        stage: Stage::parse(&row.string("current_stage")?).unwrap_or(Stage::None),
        creation_time: row.i64("creation_time")?,
        last_updated_time: row.i64("last_updated_time")?,
        tags: Vec::new(),
        aliases: Vec::new(),
    })
}

fn touch_version_sql(backend: crate::Backend, version_id: i64) -> Sql {
    let mut sql = Sql::for_backend(backend, "UPDATE model_versions SET last_updated_time = ");
    sql.bind_i64(hangar_core::now_millis())
        .push(" WHERE id = ")
        .bind_i64(version_id);
    sql
}

fn version_clause(sql: &mut Sql, reference: &VersionRef) {
    match reference {
        VersionRef::Number(n) => sql.push(" AND v.number = ").bind_i64(*n),
        VersionRef::Semver(s) => sql.push(" AND v.semver = ").bind_str(s),
    };
}

/// The id of the live version with the highest semver among `rows` of `(id, semver)`.
fn highest_of(rows: &[(i64, String)]) -> Option<i64> {
    let parsed: Vec<(i64, semver::Version)> = rows
        .iter()
        .filter_map(|(id, s)| semver::parse(s).ok().map(|v| (*id, v)))
        .collect();
    let best = semver::highest(parsed.iter().map(|(_, v)| v))?;
    parsed
        .iter()
        .find(|(_, v)| std::ptr::eq(v, best))
        .map(|(id, _)| *id)
}

/// The model row as a version create's first statement leaves it.
struct BumpedModel {
    id: i64,
    number: i64,
    highest_semver: Option<String>,
    experiment_id: i64,
    experiment_iid: i64,
    location: String,
    latest_semver: Option<String>,
}

/// Creates one version inside the caller's transaction; returns its id. The model row is
/// updated first, which on PostgreSQL locks it until commit: concurrent creates on one model
/// queue there, so number and semver are computed from committed state (SQLite has a
/// single writer anyway). Unique constraints back both up.
async fn insert_version(
    conn: &mut dyn WriteConn,
    project_id: i64,
    model_name: String,
    new: NewModelVersion,
) -> Result<ModelVersion, StoreError> {
    let now = hangar_core::now_millis();
    let bump = Sql::new(
        "UPDATE registered_models SET last_version_number = last_version_number + 1,
             last_updated_time = $1
         WHERE project_id = $2 AND name = $3
         RETURNING id, last_version_number, highest_semver, experiment_id,
             (SELECT e.iid FROM experiments e WHERE e.id = experiment_id) AS experiment_iid,
             (SELECT e.artifact_location FROM experiments e WHERE e.id = experiment_id) AS location,
             (SELECT v.semver FROM model_versions v WHERE v.id = latest_version_id) AS latest_semver",
    )
    .arg(now)
    .arg(project_id)
    .arg(&model_name);
    let model = conn
        .fetch_one(&bump, |row| {
            Ok(BumpedModel {
                id: row.i64("id")?,
                number: row.i64("last_version_number")?,
                highest_semver: row.opt_string("highest_semver")?,
                experiment_id: row.i64("experiment_id")?,
                experiment_iid: row.i64("experiment_iid")?,
                location: row.string("location")?,
                latest_semver: row.opt_string("latest_semver")?,
            })
        })
        .await?;
    let (model_id, number, experiment_id) = (model.id, model.number, model.experiment_id);
    let highest = model
        .highest_semver
        .as_deref()
        .and_then(|s| semver::parse(s).ok());

    // The next patch is above every version the model ever had (`highest_semver` is never
    // lowered, deleted versions included), so only a given semver can be taken.
    let next = || semver::next_after(highest.as_ref());
    let version = match &new.semver {
        SemverChoice::Next => next(),
        SemverChoice::Exact(given) | SemverChoice::Preferred(given) => {
            let given = semver::parse(given).map_err(StoreError::Invalid)?;
            let sql =
                Sql::new("SELECT deleted FROM model_versions WHERE model_id = $1 AND semver = $2")
                    .arg(model_id)
                    .arg(given.to_string());
            match conn.fetch_optional(&sql, |row| row.i64("deleted")).await? {
                None => given,
                Some(_) if matches!(new.semver, SemverChoice::Preferred(_)) => next(),
                Some(deleted) => {
                    let why = if deleted != 0 {
                        " (it was deleted; a version's semver is never reused)"
                    } else {
                        ""
                    };
                    return Err(StoreError::Conflict(format!(
                        "Model version {given} of model '{model_name}' already exists{why}."
                    )));
                }
            }
        }
    };
    let version_text = version.to_string();

    // The linked run: the given run when it is one of this project's (any number of versions
    // may share it), else a fresh candidate; a given id that is no run here is only recorded.
    let given_run = match &new.run_uuid {
        Some(run_uuid) => {
            let sql = Sql::new(
                "SELECT id, artifact_uri FROM runs WHERE project_id = $1 AND run_uuid = $2",
            )
            .arg(project_id)
            .arg(run_uuid);
            let found = conn
                .fetch_optional(&sql, |row| {
                    Ok((row.i64("id")?, row.string("artifact_uri")?))
                })
                .await?;
            Some((run_uuid.clone(), found))
        }
        None => None,
    };
    let (run_row, run_uuid, external_run_id, artifact_uri) = match given_run {
        Some((run_uuid, Some((id, artifact_uri)))) => {
            (Some(id), Some(run_uuid), String::new(), Some(artifact_uri))
        }
        Some((external, None)) => (None, None, external, None),
        None => {
            let run = insert_run_into(
                conn,
                project_id,
                experiment_id,
                &model.location,
                NewRun {
                    experiment_iid: model.experiment_iid,
                    user_id: new.user_id.clone(),
                    name: format!("{model_name}-{version_text}"),
                    start_time: now,
                    tags: vec![("mlflow.user".into(), new.user_id.clone())],
                },
            )
            .await?;
            (
                Some(run.info.row_id),
                Some(run.info.run_uuid),
                String::new(),
                Some(run.info.artifact_uri),
            )
        }
    };
    let storage_location = match (&new.storage, artifact_uri) {
        (VersionStorage::Fixed(location), _) => location.clone(),
        (VersionStorage::Candidate(path), Some(root)) if path.is_empty() => root,
        (VersionStorage::Candidate(path), Some(root)) => {
            format!("{}/{}", root.trim_end_matches('/'), path)
        }
        // An external run's files are not here: the source is recorded, never read.
        (VersionStorage::Candidate(_), None) => new.source.clone(),
    };
    let insert = Sql::new(
        "INSERT INTO model_versions (model_id, number, semver, description, user_id, source,
             storage_location, run_id, external_run_id, run_link, model_uuid, current_stage,
             creation_time, last_updated_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'None', $12, $12) RETURNING id",
    )
    .arg(model_id)
    .arg(number)
    .arg(&version_text)
    .arg(&new.description)
    .arg(&new.user_id)
    .arg(&new.source)
    .arg(&storage_location)
    .arg(run_row)
    .arg(&external_run_id)
    .arg(&new.run_link)
    .arg(&new.model_uuid)
    .arg(now);
    let id = conn
        .fetch_one(&insert, |row| row.i64("id"))
        .await
        .map_err(crate::error::conflict(format!(
            "Model version {version_text} of model '{model_name}' already exists."
        )))?;
    let mut tags: Vec<(String, String)> = new
        .tags
        .into_iter()
        .filter(|(k, _)| k != SEMVER_TAG)
        .collect();
    tags.push((SEMVER_TAG.to_owned(), version_text.clone()));
    upsert_tags(conn, "model_version_tags", "version_id", id, &tags).await?;

    let is_highest = highest
        .as_ref()
        .is_none_or(|h| semver::precedence(&version, h).is_gt());
    let is_latest = model
        .latest_semver
        .as_deref()
        .and_then(|s| semver::parse(s).ok())
        .is_none_or(|l| semver::precedence(&version, &l).is_gt());
    // Only the columns that change: assigning the primary key, even to itself, would make
    // SQLite check every table that references the model.
    let mut update = conn.sql("UPDATE registered_models SET ");
    if is_highest {
        update
            .push("highest_semver = ")
            .bind_str(&version.to_string());
    }
    if is_latest {
        update
            .push(if is_highest { ", " } else { "" })
            .push("latest_version_id = ")
            .bind_i64(id);
    }
    if is_highest || is_latest {
        update.push(" WHERE id = ").bind_i64(model_id);
        conn.execute(&update).await?;
    }
    // The last value of a repeated key wins, as the upsert did; listed by key.
    tags.reverse();
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    tags.dedup_by(|a, b| a.0 == b.0);
    let version = ModelVersion {
        id,
        model_id,
        model_name,
        number,
        semver: version_text,
        description: new.description,
        user_id: new.user_id,
        source: new.source,
        storage_location,
        run_uuid,
        external_run_id,
        run_link: new.run_link,
        model_uuid: new.model_uuid,
        stage: Stage::None,
        creation_time: now,
        last_updated_time: now,
        tags,
        aliases: Vec::new(),
    };
    if !version.model_uuid.is_empty() {
        record_on_logged_model(conn, project_id, &version).await?;
    }
    let package = insert_version_package(conn, project_id, &version);
    conn.execute(&package).await?;
    let event = NewAuditEvent {
        project_id,
        author_id: new.author.id,
        author_name: new.author.name,
        event_name: "model_version_created".into(),
        target_type: "model_version".into(),
        target: format!("{}/{}", version.model_name, version.semver),
        details: serde_json::json!({
            "number": version.number, "source": version.source,
            "run_id": version.run_uuid.as_deref().unwrap_or(&version.external_run_id),
        })
        .to_string(),
    };
    let audit = crate::audit_events::insert_audit_event(conn, &event);
    conn.execute(&audit).await?;
    Ok(version)
}

/// Adds the version to its logged model's `mlflow.modelVersions` tag (a JSON list of
/// `{name, version}`), as MLflow's server does, so the model tells which versions it backs.
async fn record_on_logged_model(
    conn: &mut dyn WriteConn,
    project_id: i64,
    version: &ModelVersion,
) -> Result<(), StoreError> {
    let sql = Sql::new(
        "SELECT lm.id, (SELECT t.value FROM logged_model_tags t
             WHERE t.model_id = lm.id AND t.key = 'mlflow.modelVersions') AS versions
         FROM logged_models lm WHERE lm.project_id = $1 AND lm.model_uuid = $2",
    )
    .arg(project_id)
    .arg(&version.model_uuid);
    let Some((model_row, listed)) = conn
        .fetch_optional(&sql, |row| {
            Ok((row.i64("id")?, row.opt_string("versions")?))
        })
        .await?
    else {
        return Ok(());
    };
    let mut list: Vec<serde_json::Value> = listed
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    let entry =
        serde_json::json!({"name": version.model_name, "version": version.number.to_string()});
    if !list.contains(&entry) {
        list.push(entry);
    }
    let tag = [(
        "mlflow.modelVersions".to_owned(),
        serde_json::Value::Array(list).to_string(),
    )];
    upsert_tags(conn, "logged_model_tags", "model_id", model_row, &tag).await
}

impl SqlStore {
    /// Loads versions with their tags and aliases: three queries for any number of rows.
    async fn load_versions(&self, sql: &Sql) -> Result<Vec<ModelVersion>, StoreError> {
        let mut versions = self.read_all(sql, false, version_from_row).await?;
        if versions.is_empty() {
            return Ok(versions);
        }
        // Tags and aliases of every version in one round trip.
        let ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
        let mut sql = Sql::new(
            "SELECT version_id, 't' AS kind, key, value FROM model_version_tags WHERE version_id IN (",
        );
        push_ids(&mut sql, &ids);
        sql.push(
            ") UNION ALL SELECT version_id, 'a' AS kind, alias AS key, '' AS value \
             FROM registered_model_aliases WHERE version_id IN (",
        );
        push_ids(&mut sql, &ids);
        sql.push(") ORDER BY key");
        let mut tags: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
        let rows = self
            .read_all(&sql, false, |row| {
                Ok((
                    row.i64("version_id")?,
                    row.string("kind")?,
                    row.string("key")?,
                    row.string("value")?,
                ))
            })
            .await?;
        for (id, kind, key, value) in rows {
            if kind == "t" {
                tags.entry(id).or_default().push((key, value));
            } else {
                aliases.entry(id).or_default().push(key);
            }
        }
        for v in &mut versions {
            v.tags = tags.remove(&v.id).unwrap_or_default();
            v.aliases = aliases.remove(&v.id).unwrap_or_default();
        }
        Ok(versions)
    }

    /// Live versions by id, in no particular order.
    pub(crate) async fn versions_by_ids(
        &self,
        ids: &[i64],
    ) -> Result<Vec<ModelVersion>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT ");
        sql.push(VERSION_COLUMNS)
            .push(VERSION_FROM)
            .push(" WHERE v.deleted = 0 AND v.id IN (");
        push_ids(&mut sql, ids);
        sql.push(")");
        self.load_versions(&sql).await
    }
}

#[async_trait]
impl ModelVersionRepo for SqlStore {
    async fn create_model_version(
        &self,
        project_id: i64,
        model_name: &str,
        version: NewModelVersion,
    ) -> Result<ModelVersion, StoreError> {
        let model_name = model_name.to_owned();
        self.write_returning(move |conn| {
            Box::pin(insert_version(conn, project_id, model_name, version))
        })
        .await
    }

    async fn get_model_version(
        &self,
        project_id: i64,
        model_name: &str,
        version: &VersionRef,
    ) -> Result<Option<ModelVersion>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(VERSION_COLUMNS)
            .push(VERSION_FROM)
            .push(" WHERE m.project_id = ")
            .bind_i64(project_id)
            .push(" AND m.name = ")
            .bind_str(model_name)
            .push(" AND v.deleted = 0");
        version_clause(&mut sql, version);
        Ok(self.load_versions(&sql).await?.pop())
    }

    async fn list_model_versions(
        &self,
        model_id: i64,
        semver_prefix: Option<&str>,
        paging: Paging,
    ) -> Result<Page<ModelVersion>, StoreError> {
        let pattern = semver_prefix.map(|p| format!("{}%", escape_like(p)));
        let mut count =
            Sql::new("SELECT COUNT(*) FROM model_versions v WHERE v.deleted = 0 AND v.model_id = ");
        count.bind_i64(model_id);
        let mut sql = Sql::new("SELECT ");
        sql.push(VERSION_COLUMNS)
            .push(VERSION_FROM)
            .push(" WHERE v.deleted = 0 AND v.model_id = ")
            .bind_i64(model_id);
        if let Some(pattern) = &pattern {
            for q in [&mut count, &mut sql] {
                q.push(" AND v.semver LIKE ")
                    .bind_str(pattern)
                    .push(" ESCAPE '\\'");
            }
        }
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get(0)?;
        sql.push(" ORDER BY v.number DESC LIMIT ")
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        Ok(Page {
            items: self.load_versions(&sql).await?,
            total,
        })
    }

    async fn versions_of_run(
        &self,
        project_id: i64,
        run_uuid: &str,
    ) -> Result<Vec<ModelVersion>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(VERSION_COLUMNS)
            .push(VERSION_FROM)
            .push(" WHERE r.project_id = ")
            .bind_i64(project_id)
            .push(" AND r.run_uuid = ")
            .bind_str(run_uuid)
            .push(" AND v.deleted = 0 ORDER BY v.id");
        self.load_versions(&sql).await
    }

    async fn version_run_ids(&self, model_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT r.run_uuid FROM model_versions v JOIN runs r ON r.id = v.run_id \
             WHERE v.model_id = $1 AND v.deleted = 0",
        )
        .bind(model_id)
        .fetch_all(&self.reader)
        .await?)
    }

    async fn get_model_version_by_id(
        &self,
        model_id: i64,
        version_id: i64,
    ) -> Result<Option<ModelVersion>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(VERSION_COLUMNS)
            .push(VERSION_FROM)
            .push(" WHERE v.deleted = 0 AND v.model_id = ")
            .bind_i64(model_id)
            .push(" AND v.id = ")
            .bind_i64(version_id);
        Ok(self.load_versions(&sql).await?.pop())
    }

    async fn candidate_ci_tags(
        &self,
        version_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<(String, String)>>, StoreError> {
        let mut tags: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        if version_ids.is_empty() {
            return Ok(tags);
        }
        let mut sql = Sql::new(
            "SELECT v.id, t.key, t.value FROM model_versions v JOIN run_tags t ON t.run_id = v.run_id
             WHERE t.key LIKE 'gitlab.%' AND v.id IN (",
        );
        push_ids(&mut sql, version_ids);
        sql.push(")");
        for row in sql.build().fetch_all(&self.reader).await? {
            tags.entry(row.try_get("id")?)
                .or_default()
                .push((row.try_get("key")?, row.try_get("value")?));
        }
        Ok(tags)
    }

    async fn version_by_alias(
        &self,
        project_id: i64,
        model_name: &str,
        alias: &str,
    ) -> Result<Option<ModelVersion>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(VERSION_COLUMNS)
            .push(VERSION_FROM)
            .push(" JOIN registered_model_aliases a ON a.version_id = v.id WHERE m.project_id = ")
            .bind_i64(project_id)
            .push(" AND m.name = ")
            .bind_str(model_name)
            .push(" AND a.alias = ")
            .bind_str(alias)
            .push(" AND v.deleted = 0");
        Ok(self.load_versions(&sql).await?.pop())
    }

    async fn latest_model_versions(
        &self,
        project_id: i64,
        model_name: &str,
        stages: &[Stage],
    ) -> Result<Vec<ModelVersion>, StoreError> {
        if stages.is_empty() {
            // The pointer kept on every create and delete: one indexed lookup.
            let mut sql = Sql::new("SELECT ");
            sql.push(VERSION_COLUMNS)
                .push(VERSION_FROM)
                .push(" WHERE v.id = (SELECT latest_version_id FROM registered_models WHERE project_id = ")
                .bind_i64(project_id)
                .push(" AND name = ")
                .bind_str(model_name)
                .push(") AND v.deleted = 0");
            return self.load_versions(&sql).await;
        }
        let model_id = self.model_row_id(project_id, model_name).await?;
        let mut sql = Sql::new(
            "SELECT id, semver, current_stage FROM model_versions WHERE deleted = 0 AND model_id = ",
        );
        sql.bind_i64(model_id).push(" AND current_stage IN (");
        for (i, stage) in stages.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_str(stage.as_str());
        }
        sql.push(")");
        let mut by_stage: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        for row in sql.build().fetch_all(&self.reader).await? {
            by_stage
                .entry(row.try_get("current_stage")?)
                .or_default()
                .push((row.try_get("id")?, row.try_get("semver")?));
        }
        let ids: Vec<i64> = by_stage
            .values()
            .filter_map(|rows| highest_of(rows))
            .collect();
        let mut versions = self.versions_by_ids(&ids).await?;
        versions.sort_by_key(|v| v.number);
        Ok(versions)
    }

    async fn search_model_versions(
        &self,
        project_id: i64,
        filter: &[Clause],
        order_by: &[OrderBy],
        paging: Paging,
    ) -> Result<Vec<ModelVersion>, StoreError> {
        let sql = crate::model_versions_search::search_sql(project_id, filter, order_by, paging)?;
        self.load_versions(&sql).await
    }

    async fn update_model_version(
        &self,
        version: &ModelVersion,
        description: &str,
    ) -> Result<ModelVersion, StoreError> {
        let mut sql = Sql::for_backend(self.backend(), "UPDATE model_versions SET description = ");
        sql.bind_str(description)
            .push(", last_updated_time = ")
            .bind_i64(hangar_core::now_millis())
            .push(" WHERE id = ")
            .bind_i64(version.id);
        self.execute(sql).await?;
        self.versions_by_ids(&[version.id])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn transition_model_version(
        &self,
        version: &ModelVersion,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, StoreError> {
        let now = hangar_core::now_millis();
        let mut tx = self.writer.begin().await?;
        if archive_existing && matches!(stage, Stage::Staging | Stage::Production) {
            sqlx::query(
                "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = $1
                 WHERE model_id = $2 AND deleted = 0 AND current_stage = $3 AND id <> $4",
            )
            .bind(now)
            .bind(version.model_id)
            .bind(stage.as_str())
            .bind(version.id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE model_versions SET current_stage = $1, last_updated_time = $2 WHERE id = $3",
        )
        .bind(stage.as_str())
        .bind(now)
        .bind(version.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.versions_by_ids(&[version.id])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn delete_model_version(&self, version: &ModelVersion) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        // The row stays as a tombstone: its number and semver are never reused.
        sqlx::query("UPDATE model_versions SET deleted = 1, last_updated_time = $1 WHERE id = $2")
            .bind(hangar_core::now_millis())
            .bind(version.id)
            .execute(&mut *tx)
            .await?;
        // Its package goes; the files stay with the run or logged model that holds them.
        sqlx::query("DELETE FROM packages WHERE model_version_id = $1")
            .bind(version.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM registered_model_aliases WHERE version_id = $1")
            .bind(version.id)
            .execute(&mut *tx)
            .await?;
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT latest_version_id FROM registered_models WHERE id = $1")
                .bind(version.model_id)
                .fetch_one(&mut *tx)
                .await?;
        if latest == Some(version.id) {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, semver FROM model_versions WHERE model_id = $1 AND deleted = 0",
            )
            .bind(version.model_id)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("UPDATE registered_models SET latest_version_id = $1 WHERE id = $2")
                .bind(highest_of(&rows))
                .bind(version.model_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_model_version_tag(
        &self,
        version: &ModelVersion,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let tag = [(key.to_owned(), value.to_owned())];
        let (version_id, touch) = (version.id, touch_version_sql(self.backend(), version.id));
        self.write(Box::new(move |conn| {
            Box::pin(async move {
                upsert_tags(conn, "model_version_tags", "version_id", version_id, &tag).await?;
                conn.execute(&touch).await?;
                Ok(())
            })
        }))
        .await
    }

    async fn delete_model_version_tag(
        &self,
        version: &ModelVersion,
        key: &str,
    ) -> Result<(), StoreError> {
        let mut sql = Sql::for_backend(
            self.backend(),
            "DELETE FROM model_version_tags WHERE version_id = ",
        );
        sql.bind_i64(version.id).push(" AND key = ").bind_str(key);
        self.execute(sql).await?;
        Ok(())
    }

    async fn set_alias(&self, version: &ModelVersion, alias: &str) -> Result<(), StoreError> {
        let mut sql = Sql::for_backend(
            self.backend(),
            "INSERT INTO registered_model_aliases (model_id, alias, version_id) VALUES (",
        );
        sql.bind_i64(version.model_id)
            .push(", ")
            .bind_str(alias)
            .push(", ")
            .bind_i64(version.id)
            .push(") ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id");
        self.execute(sql).await?;
        Ok(())
    }

    async fn delete_alias(
        &self,
        project_id: i64,
        model_name: &str,
        alias: &str,
    ) -> Result<(), StoreError> {
        let model_id = self.model_row_id(project_id, model_name).await?;
        let mut sql = Sql::for_backend(
            self.backend(),
            "DELETE FROM registered_model_aliases WHERE model_id = ",
        );
        sql.bind_i64(model_id).push(" AND alias = ").bind_str(alias);
        self.execute(sql).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_semver_wins_not_the_newest() {
        let rows = [
            (1, "1.0.0"),
            (2, "1.10.0"),
            (3, "1.9.0"),
            (4, "2.0.0-rc.1"),
            (5, "1.99.0"),
        ]
        .map(|(id, s)| (id, s.to_owned()));
        assert_eq!(highest_of(&rows), Some(4));
        assert_eq!(highest_of(&rows[..3]), Some(2));
        assert_eq!(highest_of(&[]), None);
    }
}
