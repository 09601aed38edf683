//! MLflow 3's logged models: what `log_model` creates before it uploads the files under the
//! model's `artifact_uri` (`<experiment location>/models/<model_id>/artifacts`).

use crate::experiments::active_experiment;
use crate::model::*;
use crate::registered_models::{load_tags, push_ids, push_string_comparison, upsert_tags};
use crate::sql::{Arg, Sql};
use crate::{LoggedModelRepo, SqlStore, StoreError};
use async_trait::async_trait;
use hangar_core::filter::{Clause, Comparator, Key, Value};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

const MODEL_COLUMNS: &str = "lm.id, lm.project_id, e.iid AS experiment_iid, lm.model_uuid, lm.name, \
     lm.model_type, lm.source_run_id, lm.status, lm.status_message, lm.artifact_uri, \
     lm.creation_time, lm.last_updated_time, lm.deleted";
const MODEL_FROM: &str = " FROM logged_models lm JOIN experiments e ON e.id = lm.experiment_id";

fn new_model_uuid() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("m-{hex}")
}

fn model_from_row(row: &AnyRow) -> Result<LoggedModel, sqlx::Error> {
    Ok(LoggedModel {
        row_id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        experiment_iid: row.try_get("experiment_iid")?,
        model_uuid: row.try_get("model_uuid")?,
        name: row.try_get("name")?,
        model_type: row.try_get("model_type")?,
        source_run_id: row.try_get("source_run_id")?,
        status: LoggedModelStatus::parse(&row.try_get::<String, _>("status")?)
            .unwrap_or(LoggedModelStatus::Pending),
        status_message: row.try_get("status_message")?,
        artifact_uri: row.try_get("artifact_uri")?,
        creation_time: row.try_get("creation_time")?,
        last_updated_time: row.try_get("last_updated_time")?,
        deleted: row.try_get::<i64, _>("deleted")? != 0,
        tags: Vec::new(),
        params: Vec::new(),
        metrics: Vec::new(),
    })
}

/// Appends `AND (…)` restricting the metric points `x` to any of `datasets` (none: all).
fn push_datasets(sql: &mut Sql, datasets: &[DatasetRef]) {
    for (i, dataset) in datasets.iter().enumerate() {
        sql.push(if i == 0 { " AND ((" } else { " OR (" })
            .push("x.dataset_name = ")
            .bind_str(&dataset.name);
        if let Some(digest) = &dataset.digest {
            sql.push(" AND x.dataset_digest = ").bind_str(digest);
        }
        sql.push(")");
    }
    if !datasets.is_empty() {
        sql.push(")");
    }
}

/// Appends a logged-model filter clause (keys already checked by the filter parser); metric
/// clauses look at points on `datasets` only.
fn push_clause(sql: &mut Sql, clause: &Clause, datasets: &[DatasetRef]) -> Result<(), StoreError> {
    let numeric_op = |c: Comparator| match c {
        Comparator::Eq => Ok(" = "),
        Comparator::Ne => Ok(" <> "),
        Comparator::Lt => Ok(" < "),
        Comparator::Le => Ok(" <= "),
        Comparator::Gt => Ok(" > "),
        Comparator::Ge => Ok(" >= "),
        other => Err(StoreError::Invalid(format!(
            "Unsupported comparator {other}"
        ))),
    };
    match &clause.key {
        Key::Attribute(a) if a == "creation_timestamp" || a == "last_updated_timestamp" => {
            let Value::Num(n) = clause.value else {
                return Err(StoreError::Invalid(format!(
                    "Unsupported value {:?}",
                    clause.value
                )));
            };
            let column = if a == "creation_timestamp" {
                "lm.creation_time"
            } else {
                "lm.last_updated_time"
            };
            sql.push(" AND ")
                .push(column)
                .push(numeric_op(clause.comparator)?)
                .bind(Arg::F64(n));
            Ok(())
        }
        Key::Attribute(a) => {
            let column = match a.as_str() {
                "name" => "lm.name",
                "model_id" => "lm.model_uuid",
                "model_type" => "lm.model_type",
                "status" => "lm.status",
                "source_run_id" => "lm.source_run_id",
                other => {
                    return Err(StoreError::Invalid(format!(
                        "Invalid attribute key '{other}'"
                    )));
                }
            };
            push_string_comparison(sql, column, clause.comparator, &clause.value)
        }
        Key::Param(key) | Key::Tag(key) => {
            let table = if matches!(clause.key, Key::Param(_)) {
                "logged_model_params"
            } else {
                "logged_model_tags"
            };
            sql.push(" AND EXISTS (SELECT 1 FROM ")
                .push(table)
                .push(" x WHERE x.model_id = lm.id AND x.key = ")
                .bind_str(key);
            push_string_comparison(sql, "x.value", clause.comparator, &clause.value)?;
            sql.push(")");
            Ok(())
        }
        Key::Metric(key) => {
            let Value::Num(n) = clause.value else {
                return Err(StoreError::Invalid(format!(
                    "Unsupported value {:?}",
                    clause.value
                )));
            };
            // Any point of the metric (on the searched datasets) that satisfies it, as MLflow.
            sql.push(" AND EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = lm.id AND x.key = ")
                .bind_str(key)
                .push(" AND x.is_nan = 0 AND x.value")
                .push(numeric_op(clause.comparator)?)
                .bind(Arg::F64(n));
            push_datasets(sql, datasets);
            sql.push(")");
            Ok(())
        }
        other => Err(StoreError::Invalid(format!(
            "Unsupported filter key {other:?}"
        ))),
    }
}

fn order_column(key: &Key) -> Result<&'static str, StoreError> {
    match key {
        Key::Attribute(a) => match a.as_str() {
            "name" => Ok("lm.name"),
            "model_id" => Ok("lm.model_uuid"),
            "model_type" => Ok("lm.model_type"),
            "status" => Ok("lm.status"),
            "source_run_id" => Ok("lm.source_run_id"),
            "creation_timestamp" => Ok("lm.creation_time"),
            "last_updated_timestamp" => Ok("lm.last_updated_time"),
            other => Err(StoreError::Invalid(format!(
                "Invalid order by field name: {other}."
            ))),
        },
        other => Err(StoreError::Invalid(format!(
            "Invalid order by field name: {other:?}. Only metrics are supported."
        ))),
    }
}

/// Appends one ORDER BY term: an attribute, or the latest value of a metric (on the order's
/// dataset), models without it last.
fn push_order(sql: &mut Sql, order: &LoggedModelOrder, first: bool) -> Result<(), StoreError> {
    let direction = if order.order.ascending {
        " ASC"
    } else {
        " DESC"
    };
    sql.push(if first { " ORDER BY " } else { ", " });
    let Key::Metric(key) = &order.order.key else {
        sql.push(order_column(&order.order.key)?).push(direction);
        return Ok(());
    };
    sql.push("(SELECT CASE WHEN x.is_nan = 1 THEN NULL ELSE x.value END FROM logged_model_metrics x WHERE x.model_id = lm.id AND x.key = ")
        .bind_str(key);
    if let Some(dataset) = &order.dataset {
        push_datasets(sql, std::slice::from_ref(dataset));
    }
    sql.push(" ORDER BY x.timestamp DESC, x.step DESC LIMIT 1)");
    sql.push(direction).push(" NULLS LAST");
    Ok(())
}

impl SqlStore {
    /// Loads models with their tags and params: three queries for any number of models.
    async fn load_logged_models(&self, sql: &Sql) -> Result<Vec<LoggedModel>, StoreError> {
        let rows = sql.build().fetch_all(&self.reader).await?;
        let mut models = rows
            .iter()
            .map(model_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<i64> = models.iter().map(|m| m.row_id).collect();
        let mut tags = load_tags(self, "logged_model_tags", "model_id", &ids).await?;
        let mut params = load_tags(self, "logged_model_params", "model_id", &ids).await?;
        let mut metrics = self.load_model_metrics(&ids).await?;
        for m in &mut models {
            m.tags = tags.remove(&m.row_id).unwrap_or_default();
            m.params = params.remove(&m.row_id).unwrap_or_default();
            m.metrics = metrics.remove(&m.row_id).unwrap_or_default();
        }
        Ok(models)
    }

    /// Every metric point of the given models, by key, time and step.
    async fn load_model_metrics(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<LoggedModelMetric>>, StoreError> {
        let mut out: HashMap<i64, Vec<LoggedModelMetric>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(
            "SELECT x.model_id, x.key, x.value, x.is_nan, x.timestamp, x.step, r.run_uuid,
                 x.dataset_name, x.dataset_digest
             FROM logged_model_metrics x JOIN runs r ON r.id = x.run_id WHERE x.model_id IN (",
        );
        push_ids(&mut sql, ids);
        sql.push(") ORDER BY x.model_id, x.key, x.timestamp, x.step, r.run_uuid");
        let rows = self
            .read_all(&sql, ids.len() > 1, |row| {
                Ok((
                    row.i64("model_id")?,
                    LoggedModelMetric {
                        metric: crate::runs::metric_from_row(row)?,
                        run_uuid: row.string("run_uuid")?,
                        dataset_name: row.string("dataset_name")?,
                        dataset_digest: row.string("dataset_digest")?,
                    },
                ))
            })
            .await?;
        for (model, point) in rows {
            out.entry(model).or_default().push(point);
        }
        Ok(out)
    }

    async fn touch_logged_model(
        &self,
        conn: &mut sqlx::AnyConnection,
        model: &LoggedModel,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE logged_models SET last_updated_time = $1 WHERE id = $2")
            .bind(hangar_core::now_millis())
            .bind(model.row_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl LoggedModelRepo for SqlStore {
    async fn create_logged_model(
        &self,
        project_id: i64,
        model: NewLoggedModel,
    ) -> Result<LoggedModel, StoreError> {
        let now = hangar_core::now_millis();
        let mut tx = self.writer.begin().await?;
        let (experiment_id, location) =
            active_experiment(&mut *tx, project_id, model.experiment_iid).await?;
        let model_uuid = new_model_uuid();
        let artifact_uri = format!(
            "{}/models/{model_uuid}/artifacts",
            location.trim_end_matches('/')
        );
        let row_id: i64 = sqlx::query_scalar(
            "INSERT INTO logged_models (project_id, experiment_id, model_uuid, name, model_type,
                 source_run_id, status, artifact_uri, creation_time, last_updated_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(project_id)
        .bind(experiment_id)
        .bind(&model_uuid)
        .bind(&model.name)
        .bind(&model.model_type)
        .bind(&model.source_run_id)
        .bind(LoggedModelStatus::Pending.as_str())
        .bind(&artifact_uri)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        upsert_tags(
            &mut *tx,
            "logged_model_tags",
            "model_id",
            row_id,
            &model.tags,
        )
        .await?;
        upsert_tags(
            &mut *tx,
            "logged_model_params",
            "model_id",
            row_id,
            &model.params,
        )
        .await?;
        tx.commit().await?;
        self.get_logged_model(project_id, &model_uuid, false)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn get_logged_model(
        &self,
        project_id: i64,
        model_uuid: &str,
        allow_deleted: bool,
    ) -> Result<Option<LoggedModel>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(MODEL_COLUMNS)
            .push(MODEL_FROM)
            .push(" WHERE lm.project_id = ")
            .bind_i64(project_id)
            .push(" AND lm.model_uuid = ")
            .bind_str(model_uuid);
        if !allow_deleted {
            sql.push(" AND lm.deleted = 0");
        }
        Ok(self.load_logged_models(&sql).await?.pop())
    }

    async fn set_logged_model_status(
        &self,
        model: &LoggedModel,
        status: LoggedModelStatus,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE logged_models SET status = $1, last_updated_time = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(hangar_core::now_millis())
            .bind(model.row_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_logged_model(&self, model: &LoggedModel) -> Result<(), StoreError> {
        sqlx::query("UPDATE logged_models SET deleted = 1, last_updated_time = $1 WHERE id = $2")
            .bind(hangar_core::now_millis())
            .bind(model.row_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn set_logged_model_tags(
        &self,
        model: &LoggedModel,
        tags: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        upsert_tags(
            &mut *tx,
            "logged_model_tags",
            "model_id",
            model.row_id,
            tags,
        )
        .await?;
        self.touch_logged_model(&mut tx, model).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_logged_model_tag(
        &self,
        model: &LoggedModel,
        key: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model.row_id)
            .bind(key)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn log_logged_model_params(
        &self,
        model: &LoggedModel,
        params: &[(String, String)],
    ) -> Result<(), StoreError> {
        let changed: Vec<(String, String, String)> = params
            .iter()
            .filter_map(|(k, v)| {
                let old = model.params.iter().find(|(ok, _)| ok == k)?;
                (old.1 != *v).then(|| (k.clone(), old.1.clone(), v.clone()))
            })
            .collect();
        if !changed.is_empty() {
            return Err(StoreError::ParamsChanged(changed));
        }
        let mut tx = self.writer.begin().await?;
        upsert_tags(
            &mut *tx,
            "logged_model_params",
            "model_id",
            model.row_id,
            params,
        )
        .await?;
        self.touch_logged_model(&mut tx, model).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search_logged_models(
        &self,
        project_id: i64,
        experiment_iids: &[i64],
        filter: &[Clause],
        datasets: &[DatasetRef],
        order_by: &[LoggedModelOrder],
        paging: Paging,
    ) -> Result<Vec<LoggedModel>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(MODEL_COLUMNS)
            .push(MODEL_FROM)
            .push(" WHERE lm.project_id = ")
            .bind_i64(project_id)
            .push(" AND lm.deleted = 0 AND e.iid IN (");
        push_ids(&mut sql, experiment_iids);
        sql.push(")");
        for clause in filter {
            push_clause(&mut sql, clause, datasets)?;
        }
        // Datasets without a metric clause: the models with any point on them (MLflow's rule).
        if !datasets.is_empty() && !filter.iter().any(|c| matches!(c.key, Key::Metric(_))) {
            sql.push(" AND EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = lm.id");
            push_datasets(&mut sql, datasets);
            sql.push(")");
        }
        for (i, order) in order_by.iter().enumerate() {
            push_order(&mut sql, order, i == 0)?;
        }
        sql.push(if order_by.is_empty() {
            " ORDER BY lm.creation_time DESC, lm.id ASC"
        } else {
            ", lm.id ASC"
        });
        sql.push(" LIMIT ")
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        self.load_logged_models(&sql).await
    }

    async fn log_run_outputs(
        &self,
        run: &RunInfo,
        outputs: &[(LoggedModel, i64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        for (model, step) in outputs {
            sqlx::query(
                "INSERT INTO run_outputs (run_id, model_id, step) VALUES ($1, $2, $3)
                 ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step",
            )
            .bind(run.row_id)
            .bind(model.row_id)
            .bind(*step)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
