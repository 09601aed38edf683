//! Registered models: each with its default experiment `[model]<name>`, tags, user aliases,
//! and pointers that keep "latest" and the next version O(1) whatever the number of versions.

use crate::error::conflict;
use crate::experiments::insert_experiment;
use crate::model::*;
use crate::sql::Sql;
use crate::write_conn::WriteConn;
use crate::{RegisteredModelRepo, SqlStore, StoreError};
use async_trait::async_trait;
use hangar_core::filter::{Clause, Comparator, Key, OrderBy, Value};
use hangar_core::registry::{PROMPT_TAG, model_experiment_name};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

const MODEL_COLUMNS: &str = "m.id, m.project_id, m.name, m.description, m.user_id, \
     e.iid AS experiment_iid, m.creation_time, m.last_updated_time, m.latest_version_id, \
     (SELECT COUNT(*) FROM model_versions c WHERE c.model_id = m.id AND c.deleted = 0) AS version_count";
const MODEL_FROM: &str = " FROM registered_models m JOIN experiments e ON e.id = m.experiment_id";

pub(crate) fn already_exists(name: &str) -> String {
    format!("Registered Model (name={name}) already exists.")
}

fn model_from_row(row: &AnyRow) -> Result<(RegisteredModel, Option<i64>), sqlx::Error> {
    Ok((
        RegisteredModel {
            id: row.try_get("id")?,
            project_id: row.try_get("project_id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            user_id: row.try_get("user_id")?,
            experiment_iid: row.try_get("experiment_iid")?,
            creation_time: row.try_get("creation_time")?,
            last_updated_time: row.try_get("last_updated_time")?,
            tags: Vec::new(),
            aliases: Vec::new(),
            latest: None,
            version_count: row.try_get("version_count")?,
        },
        row.try_get("latest_version_id")?,
    ))
}

/// Sets tags of one owner row in `table` (`registered_model_tags`, `model_version_tags`, …)
/// in one statement; of a key given twice, the last value wins.
pub(crate) async fn upsert_tags(
    conn: &mut dyn WriteConn,
    table: &str,
    owner_column: &str,
    owner: i64,
    tags: &[(String, String)],
) -> Result<(), StoreError> {
    let last: Vec<&(String, String)> = tags
        .iter()
        .enumerate()
        .filter(|(i, (key, _))| !tags[i + 1..].iter().any(|(k, _)| k == key))
        .map(|(_, tag)| tag)
        .collect();
    if last.is_empty() {
        return Ok(());
    }
    let mut sql = conn.sql(&format!(
        "INSERT INTO {table} ({owner_column}, key, value) VALUES "
    ));
    for (i, (key, value)) in last.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" })
            .bind_i64(owner)
            .push(", ")
            .bind_str(key)
            .push(", ")
            .bind_str(value)
            .push(")");
    }
    sql.push(&format!(
        " ON CONFLICT ({owner_column}, key) DO UPDATE SET value = excluded.value"
    ));
    conn.execute(&sql).await?;
    Ok(())
}

/// `(owner, key, value)` of every tag of the given owners, ordered by key.
pub(crate) async fn load_tags(
    store: &SqlStore,
    table: &str,
    owner_column: &str,
    owners: &[i64],
) -> Result<HashMap<i64, Vec<(String, String)>>, StoreError> {
    let mut tags: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    if owners.is_empty() {
        return Ok(tags);
    }
    let mut sql = Sql::new(&format!(
        "SELECT {owner_column} AS owner, key, value FROM {table} WHERE {owner_column} IN ("
    ));
    push_ids(&mut sql, owners);
    sql.push(") ORDER BY key");
    for row in sql.build().fetch_all(&store.reader).await? {
        tags.entry(row.try_get("owner")?)
            .or_default()
            .push((row.try_get("key")?, row.try_get("value")?));
    }
    Ok(tags)
}

/// `s` with LIKE's wildcards and the escape character escaped (escape character `\`).
pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(crate) fn push_ids(sql: &mut Sql, ids: &[i64]) {
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_i64(*id);
    }
}

/// Appends `AND <column> <op> <value>` for a string attribute or tag value, with MLflow's
/// comparators: `=`, `!=`, `LIKE`, `ILIKE`, `IN`, `NOT IN`.
pub(crate) fn push_string_comparison(
    sql: &mut Sql,
    column: &str,
    comparator: Comparator,
    value: &Value,
) -> Result<(), StoreError> {
    match (comparator, value) {
        (Comparator::ILike, Value::Str(s)) => {
            sql.push(" AND lower(").push(column).push(") LIKE lower(");
            sql.bind_str(s).push(")");
        }
        (Comparator::In | Comparator::NotIn, Value::List(items)) => {
            sql.push(" AND ").push(column);
            sql.push(if comparator == Comparator::In {
                " IN ("
            } else {
                " NOT IN ("
            });
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_str(item);
            }
            sql.push(")");
        }
        (Comparator::Eq | Comparator::Ne | Comparator::Like, Value::Str(s)) => {
            let op = match comparator {
                Comparator::Eq => " = ",
                Comparator::Ne => " <> ",
                _ => " LIKE ",
            };
            sql.push(" AND ").push(column).push(op).bind_str(s);
        }
        _ => {
            return Err(StoreError::Invalid(format!(
                "Unsupported comparison {comparator} {value:?}"
            )));
        }
    }
    Ok(())
}

/// Appends a registered-model filter clause. MLflow's special case: the clause
/// ``tag.`mlflow.prompt.is_prompt` != 'true'`` that every client search adds matches models
/// without the tag.
fn push_model_clause(sql: &mut Sql, clause: &Clause) -> Result<(), StoreError> {
    match &clause.key {
        Key::Attribute(_) => {
            push_string_comparison(sql, "m.name", clause.comparator, &clause.value)
        }
        Key::Tag(key) if key == PROMPT_TAG && clause.comparator == Comparator::Ne => {
            sql.push(" AND NOT EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.model_id = m.id AND t.key = ")
                .bind_str(key)
                .push(" AND t.value = ");
            match &clause.value {
                Value::Str(s) => sql.bind_str(s),
                other => return Err(StoreError::Invalid(format!("Unsupported value {other:?}"))),
            };
            sql.push(")");
            Ok(())
        }
        Key::Tag(key) => {
            sql.push(" AND EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.model_id = m.id AND t.key = ")
                .bind_str(key);
            push_string_comparison(sql, "t.value", clause.comparator, &clause.value)?;
            sql.push(")");
            Ok(())
        }
        other => Err(StoreError::Invalid(format!(
            "Unsupported filter key {other:?}"
        ))),
    }
}

/// Prompts are registered models too; searches leave them out unless the filter asks
/// about the prompt tag.
pub(crate) fn mentions_prompt_tag(filter: &[Clause]) -> bool {
    filter
        .iter()
        .any(|c| matches!(&c.key, Key::Tag(k) if k == PROMPT_TAG))
}

impl SqlStore {
    /// Loads models with their tags, aliases and latest versions: four queries whatever
    /// the number of models.
    async fn load_models(&self, sql: &Sql) -> Result<Vec<RegisteredModel>, StoreError> {
        let rows = sql.build().fetch_all(&self.reader).await?;
        let models = rows
            .iter()
            .map(model_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if models.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = models.iter().map(|(m, _)| m.id).collect();
        let mut tags = load_tags(self, "registered_model_tags", "model_id", &ids).await?;
        let mut alias_sql = Sql::new(
            "SELECT a.model_id, a.alias, v.number FROM registered_model_aliases a
             JOIN model_versions v ON v.id = a.version_id WHERE a.model_id IN (",
        );
        push_ids(&mut alias_sql, &ids);
        alias_sql.push(") ORDER BY a.alias");
        let mut aliases: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
        for row in alias_sql.build().fetch_all(&self.reader).await? {
            aliases
                .entry(row.try_get("model_id")?)
                .or_default()
                .push((row.try_get("alias")?, row.try_get("number")?));
        }
        let latest_ids: Vec<i64> = models.iter().filter_map(|(_, l)| *l).collect();
        let mut latest: HashMap<i64, ModelVersion> = self
            .versions_by_ids(&latest_ids)
            .await?
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
        Ok(models
            .into_iter()
            .map(|(mut model, latest_id)| {
                model.tags = tags.remove(&model.id).unwrap_or_default();
                model.aliases = aliases.remove(&model.id).unwrap_or_default();
                model.latest = latest_id.and_then(|id| latest.remove(&id)).map(Box::new);
                model
            })
            .collect())
    }

    /// The model's row id, or `NotFound`.
    pub(crate) async fn model_row_id(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT id FROM registered_models WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn touch_model(&self, model_id: i64) -> Result<(), StoreError> {
        let mut sql = Sql::for_backend(
            self.backend(),
            "UPDATE registered_models SET last_updated_time = ",
        );
        sql.bind_i64(hangar_core::now_millis())
            .push(" WHERE id = ")
            .bind_i64(model_id);
        self.execute(sql).await?;
        Ok(())
    }
}

#[async_trait]
impl RegisteredModelRepo for SqlStore {
    async fn create_registered_model(
        &self,
        project_id: i64,
        model: NewRegisteredModel,
    ) -> Result<RegisteredModel, StoreError> {
        let name = model.name.clone();
        self.write_returning(move |conn| {
            Box::pin(async move {
                let now = hangar_core::now_millis();
                let experiment = NewExperiment {
                    name: model_experiment_name(&model.name),
                    artifact_location: None,
                    tags: Vec::new(),
                };
                let (experiment_id, _, _) = insert_experiment(conn, project_id, &experiment, now)
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => StoreError::Conflict(format!(
                            "{} (its default experiment '{}' already exists)",
                            already_exists(&model.name),
                            experiment.name
                        )),
                        other => other,
                    })?;
                let insert = Sql::new(
                    "INSERT INTO registered_models (project_id, name, description, user_id,
                         experiment_id, creation_time, last_updated_time)
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .arg(project_id)
                .arg(&model.name)
                .arg(&model.description)
                .arg(&model.user_id)
                .arg(experiment_id)
                .arg(now);
                let id = conn
                    .fetch_one(&insert, |row| row.i64("id"))
                    .await
                    .map_err(conflict(already_exists(&model.name)))?;
                upsert_tags(conn, "registered_model_tags", "model_id", id, &model.tags).await?;
                Ok(())
            })
        })
        .await?;
        self.get_registered_model(project_id, &name)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn get_registered_model(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<Option<RegisteredModel>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(MODEL_COLUMNS)
            .push(MODEL_FROM)
            .push(" WHERE m.project_id = ")
            .bind_i64(project_id)
            .push(" AND m.name = ")
            .bind_str(name);
        Ok(self.load_models(&sql).await?.pop())
    }

    async fn search_registered_models(
        &self,
        project_id: i64,
        filter: &[Clause],
        order_by: &[OrderBy],
        paging: Paging,
    ) -> Result<Vec<RegisteredModel>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(MODEL_COLUMNS)
            .push(MODEL_FROM)
            .push(" WHERE m.project_id = ")
            .bind_i64(project_id);
        for clause in filter {
            push_model_clause(&mut sql, clause)?;
        }
        if !mentions_prompt_tag(filter) {
            sql.push(" AND NOT EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.model_id = m.id AND t.key = ")
                .bind_str(PROMPT_TAG)
                .push(" AND t.value = 'true')");
        }
        let mut terms = Vec::new();
        for order in order_by {
            let column = match order.key.name() {
                "name" => "m.name",
                _ => "m.last_updated_time",
            };
            terms.push(format!(
                "{column} {}",
                if order.ascending { "ASC" } else { "DESC" }
            ));
        }
        // MLflow always appends `name ASC`; the id makes pages stable.
        terms.push("m.name ASC".into());
        terms.push("m.id ASC".into());
        sql.push(" ORDER BY ").push(&terms.join(", "));
        sql.push(" LIMIT ")
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        self.load_models(&sql).await
    }

    async fn list_registered_models(
        &self,
        project_id: i64,
        search: Option<&str>,
        order: ModelOrder,
        paging: Paging,
    ) -> Result<Page<RegisteredModel>, StoreError> {
        let pattern = search.map(|s| format!("%{}%", escape_like(s)));
        let mut count = Sql::new("SELECT COUNT(*) FROM registered_models m WHERE m.project_id = ");
        count.bind_i64(project_id);
        let mut sql = Sql::new("SELECT ");
        sql.push(MODEL_COLUMNS)
            .push(MODEL_FROM)
            .push(" WHERE m.project_id = ")
            .bind_i64(project_id);
        if let Some(pattern) = &pattern {
            for q in [&mut count, &mut sql] {
                q.push(" AND lower(m.name) LIKE lower(")
                    .bind_str(pattern)
                    .push(") ESCAPE '\\'");
            }
        }
        sql.push(match order {
            ModelOrder::CreatedDesc => " ORDER BY m.creation_time DESC, m.id DESC",
            ModelOrder::CreatedAsc => " ORDER BY m.creation_time ASC, m.id ASC",
            ModelOrder::NameAsc => " ORDER BY m.name ASC, m.id ASC",
            ModelOrder::NameDesc => " ORDER BY m.name DESC, m.id DESC",
            ModelOrder::LatestVersionDesc => {
                " ORDER BY (SELECT l.creation_time FROM model_versions l \
                 WHERE l.id = m.latest_version_id) DESC NULLS LAST, m.id DESC"
            }
        })
        .push(" LIMIT ")
        .bind_i64(paging.limit)
        .push(" OFFSET ")
        .bind_i64(paging.offset);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get(0)?;
        Ok(Page {
            items: self.load_models(&sql).await?,
            total,
        })
    }

    async fn get_registered_model_by_id(
        &self,
        project_id: i64,
        id: i64,
    ) -> Result<Option<RegisteredModel>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(MODEL_COLUMNS)
            .push(MODEL_FROM)
            .push(" WHERE m.project_id = ")
            .bind_i64(project_id)
            .push(" AND m.id = ")
            .bind_i64(id);
        Ok(self.load_models(&sql).await?.pop())
    }

    async fn rename_registered_model(
        &self,
        project_id: i64,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel, StoreError> {
        let id = self.model_row_id(project_id, name).await?;
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE registered_models SET name = $1, last_updated_time = $2 WHERE id = $3")
            .bind(new_name)
            .bind(hangar_core::now_millis())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(conflict(already_exists(new_name)))?;
        // The default experiment follows the model's name.
        sqlx::query(
            "UPDATE experiments SET name = $1 WHERE id = (SELECT experiment_id FROM registered_models WHERE id = $2)",
        )
        .bind(model_experiment_name(new_name))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(conflict(format!(
            "{} (an experiment named '{}' exists)",
            already_exists(new_name),
            model_experiment_name(new_name)
        )))?;
        tx.commit().await?;
        self.get_registered_model(project_id, new_name)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn update_registered_model(
        &self,
        project_id: i64,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel, StoreError> {
        let done = sqlx::query(
            "UPDATE registered_models SET description = $1, last_updated_time = $2
             WHERE project_id = $3 AND name = $4",
        )
        .bind(description)
        .bind(hangar_core::now_millis())
        .bind(project_id)
        .bind(name)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_registered_model(project_id, name)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn delete_registered_model(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let model: Option<(i64, i64)> = sqlx::query_as(
            "SELECT id, experiment_id FROM registered_models WHERE project_id = $1 AND name = $2",
        )
        .bind(project_id)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let (model_id, experiment_id) = model.ok_or(StoreError::NotFound)?;
        // Its candidates go with it (GitLab's rule); one that another model's version still
        // shows would take that version's run with it.
        let shared: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT r.run_uuid, om.name, v.number FROM runs r
             JOIN model_versions v ON v.run_id = r.id AND v.deleted = 0 AND v.model_id <> $1
             JOIN registered_models om ON om.id = v.model_id
             WHERE r.experiment_id = $2 ORDER BY om.name, v.number LIMIT 1",
        )
        .bind(model_id)
        .bind(experiment_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((run, other, number)) = shared {
            return Err(StoreError::Invalid(format!(
                "Registered model '{name}' cannot be deleted: its run {run} backs version \
                 {number} of model '{other}'. Delete that version first."
            )));
        }
        // The folders whose files go with the model: its default experiment's and its
        // versions' own package folders, but for what another package still serves (a copy
        // shares its source's files; a run may back versions of several models).
        let mut folders: Vec<String> =
            sqlx::query_scalar("SELECT p.root FROM packages p JOIN model_versions v ON v.id = p.model_version_id WHERE v.model_id = $1")
                .bind(model_id)
                .fetch_all(&mut *tx)
                .await?;
        let kept: Vec<String> = sqlx::query_scalar(
            "SELECT p.root FROM packages p LEFT JOIN model_versions v ON v.id = p.model_version_id
             WHERE p.project_id = $1 AND (v.model_id IS NULL OR v.model_id <> $2)",
        )
        .bind(project_id)
        .bind(model_id)
        .fetch_all(&mut *tx)
        .await?;
        let location: String =
            sqlx::query_scalar("SELECT artifact_location FROM experiments WHERE id = $1")
                .bind(experiment_id)
                .fetch_one(&mut *tx)
                .await?;
        let experiment_folder = location
            .strip_prefix("mlflow-artifacts:/")
            .map(|path| path.trim_matches('/').to_owned())
            .unwrap_or_default();
        // A version's files in another experiment's run or logged model stay with it.
        folders.retain(|f| {
            f.starts_with("packages/")
                || !experiment_folder.is_empty() && f.starts_with(&format!("{experiment_folder}/"))
        });
        folders.push(experiment_folder);
        sqlx::query("DELETE FROM registered_models WHERE id = $1")
            .bind(model_id)
            .execute(&mut *tx)
            .await?;
        // The default experiment and its candidates go with the model, as in GitLab.
        sqlx::query("DELETE FROM experiments WHERE id = $1")
            .bind(experiment_id)
            .execute(&mut *tx)
            .await?;
        let mut blobs = Vec::new();
        folders.sort();
        folders.dedup();
        for folder in &folders {
            let Some(sql) = crate::files::delete_below_sql(self.backend, project_id, folder, &kept)
            else {
                continue;
            };
            for row in sql.build().fetch_all(&mut *tx).await? {
                blobs.push(row.try_get("blob_key")?);
            }
        }
        tx.commit().await?;
        Ok(blobs)
    }

    async fn set_registered_model_tag(
        &self,
        project_id: i64,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let id = self.model_row_id(project_id, name).await?;
        let mut conn = self.writer.acquire().await?;
        let tag = [(key.to_owned(), value.to_owned())];
        upsert_tags(&mut *conn, "registered_model_tags", "model_id", id, &tag).await?;
        drop(conn);
        self.touch_model(id).await
    }

    async fn delete_registered_model_tag(
        &self,
        project_id: i64,
        name: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        let id = self.model_row_id(project_id, name).await?;
        sqlx::query("DELETE FROM registered_model_tags WHERE model_id = $1 AND key = $2")
            .bind(id)
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
