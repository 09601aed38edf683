//! MLflow experiments. `iid` is the per-project number MLflow calls `experiment_id`.

use crate::error::conflict;
use crate::model::*;
use crate::sql::{Arg, Sql};
use crate::write_conn::WriteConn;
use crate::{ExperimentRepo, SqlStore, StoreError};
use async_trait::async_trait;
use hangar_core::filter::{Clause, Comparator, Key, OrderBy, Value};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

const EXPERIMENT_COLUMNS: &str = "e.id, e.project_id, e.iid, e.name, e.artifact_location, \
     e.lifecycle_stage, e.creation_time, e.last_update_time";

fn experiment_from_row(row: &AnyRow) -> Result<(i64, Experiment), sqlx::Error> {
    Ok((
        row.try_get("id")?,
        Experiment {
            project_id: row.try_get("project_id")?,
            iid: row.try_get("iid")?,
            name: row.try_get("name")?,
            artifact_location: row.try_get("artifact_location")?,
            lifecycle_stage: LifecycleStage::parse(&row.try_get::<String, _>("lifecycle_stage")?),
            creation_time: row.try_get("creation_time")?,
            last_update_time: row.try_get("last_update_time")?,
            tags: Vec::new(),
        },
    ))
}

fn already_exists(name: &str) -> String {
    format!("Experiment(name={name}) already exists.")
}

/// The row id and artifact location of the project's experiment `iid`, which must be active
/// (new runs and logged models go only into active experiments).
pub(crate) async fn active_experiment(
    conn: &mut dyn WriteConn,
    project_id: i64,
    iid: i64,
) -> Result<(i64, String), StoreError> {
    let sql = Sql::new(
        "SELECT id, artifact_location, lifecycle_stage FROM experiments WHERE project_id = $1 AND iid = $2",
    )
    .arg(project_id)
    .arg(iid);
    let (id, location, stage) = conn
        .fetch_one(&sql, |row| {
            Ok((
                row.i64("id")?,
                row.string("artifact_location")?,
                row.string("lifecycle_stage")?,
            ))
        })
        .await?;
    if stage != "active" {
        return Err(StoreError::Invalid(format!(
            "The experiment {iid} must be in the 'active' state. Current state is deleted."
        )));
    }
    Ok((id, location))
}

/// Inserts an experiment with the project's next iid: (row id, iid, artifact location).
pub(crate) async fn insert_experiment(
    conn: &mut dyn WriteConn,
    project_id: i64,
    experiment: &NewExperiment,
    now: i64,
) -> Result<(i64, i64, String), StoreError> {
    // Bumping the counter locks the project row until commit, so iids never collide.
    let bump = Sql::new(
        "UPDATE projects SET last_experiment_iid = last_experiment_iid + 1 WHERE id = $1
         RETURNING last_experiment_iid",
    )
    .arg(project_id);
    let iid = conn
        .fetch_one(&bump, |row| row.i64("last_experiment_iid"))
        .await?;
    let location = experiment
        .artifact_location
        .clone()
        .unwrap_or_else(|| format!("mlflow-artifacts:/{iid}"));
    let insert = Sql::new(
        "INSERT INTO experiments (project_id, iid, name, artifact_location, lifecycle_stage,
             creation_time, last_update_time)
         VALUES ($1, $2, $3, $4, 'active', $5, $5) RETURNING id",
    )
    .arg(project_id)
    .arg(iid)
    .arg(&experiment.name)
    .arg(&location)
    .arg(now);
    let id = conn
        .fetch_one(&insert, |row| row.i64("id"))
        .await
        .map_err(conflict(already_exists(&experiment.name)))?;
    for (key, value) in &experiment.tags {
        let tag = Sql::new(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        )
        .arg(id)
        .arg(key)
        .arg(value);
        conn.execute(&tag).await?;
    }
    Ok((id, iid, location))
}

impl SqlStore {
    /// Loads experiments with their tags: one query for the rows, one for all their tags.
    async fn load_experiments(&self, sql: &Sql) -> Result<Vec<Experiment>, StoreError> {
        let rows = sql.build().fetch_all(&self.reader).await?;
        let mut experiments = rows
            .iter()
            .map(experiment_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if experiments.is_empty() {
            return Ok(Vec::new());
        }
        let mut tags_sql = Sql::new(
            "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (",
        );
        for (i, (id, _)) in experiments.iter().enumerate() {
            if i > 0 {
                tags_sql.push(", ");
            }
            tags_sql.bind_i64(*id);
        }
        tags_sql.push(") ORDER BY key");
        let mut tags: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for row in tags_sql.build().fetch_all(&self.reader).await? {
            tags.entry(row.try_get("experiment_id")?)
                .or_default()
                .push((row.try_get("key")?, row.try_get("value")?));
        }
        for (id, experiment) in &mut experiments {
            experiment.tags = tags.remove(id).unwrap_or_default();
        }
        Ok(experiments.into_iter().map(|(_, e)| e).collect())
    }

    /// A model's default experiment lives and dies with the model (as in GitLab).
    async fn refuse_model_experiment(
        &self,
        project_id: i64,
        iid: i64,
        action: &str,
    ) -> Result<(), StoreError> {
        let model: Option<String> = sqlx::query_scalar(
            "SELECT m.name FROM registered_models m JOIN experiments e ON e.id = m.experiment_id
             WHERE e.project_id = $1 AND e.iid = $2",
        )
        .bind(project_id)
        .bind(iid)
        .fetch_optional(&self.reader)
        .await?;
        match model {
            Some(name) => Err(StoreError::Invalid(format!(
                "Experiment {iid} is the default experiment of the registered model '{name}' and \
                 cannot be {action} on its own; rename or delete the model instead."
            ))),
            None => Ok(()),
        }
    }

    async fn experiment_row_id(&self, project_id: i64, iid: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT id FROM experiments WHERE project_id = $1 AND iid = $2")
            .bind(project_id)
            .bind(iid)
            .fetch_optional(&self.writer)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn fetch_experiment(
        &self,
        project_id: i64,
        column: &str,
        value: Arg,
    ) -> Result<Option<Experiment>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(EXPERIMENT_COLUMNS)
            .push(" FROM experiments e WHERE e.project_id = ")
            .bind_i64(project_id);
        sql.push(" AND ").push(column).push(" = ").bind(value);
        Ok(self.load_experiments(&sql).await?.into_iter().next())
    }
}

/// Appends the SQL for one filter clause. The filter parser has already checked keys and
/// comparators against MLflow's grammar for experiments.
fn push_clause(sql: &mut Sql, clause: &Clause) -> Result<(), StoreError> {
    let op = |c: Comparator| match c {
        Comparator::Eq => " = ",
        Comparator::Ne => " <> ",
        Comparator::Lt => " < ",
        Comparator::Le => " <= ",
        Comparator::Gt => " > ",
        Comparator::Ge => " >= ",
        Comparator::Like => " LIKE ",
        _ => " = ",
    };
    match (&clause.key, &clause.comparator, &clause.value) {
        (Key::Attribute(attr), comparator, value) if attr == "name" => match (comparator, value) {
            (Comparator::ILike, Value::Str(s)) => {
                sql.push(" AND lower(e.name) LIKE lower(")
                    .bind_str(s)
                    .push(")");
            }
            (c, Value::Str(s)) => {
                sql.push(" AND e.name").push(op(*c)).bind_str(s);
            }
            _ => return Err(invalid(clause)),
        },
        (Key::Attribute(attr), comparator, value) if attr == "experiment_id" => {
            let ids = match value {
                Value::Str(s) => vec![s.clone()],
                Value::List(list) => list.clone(),
                Value::Num(n) => vec![n.to_string()],
                Value::Null => return Err(invalid(clause)),
            };
            let ids = ids
                .iter()
                .map(|s| parse_experiment_id(s))
                .collect::<Result<Vec<_>, _>>()?;
            let negate = matches!(comparator, Comparator::Ne | Comparator::NotIn);
            sql.push(if negate {
                " AND e.iid NOT IN ("
            } else {
                " AND e.iid IN ("
            });
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_i64(*id);
            }
            sql.push(")");
        }
        (Key::Attribute(attr), comparator, Value::Num(n))
            if attr == "creation_time" || attr == "last_update_time" =>
        {
            sql.push(" AND e.").push(if attr == "creation_time" {
                "creation_time"
            } else {
                "last_update_time"
            });
            sql.push(op(*comparator)).bind(Arg::F64(*n));
        }
        (Key::Tag(key), Comparator::IsNull, _) => {
            sql.push(" AND NOT EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.id AND t.key = ")
                .bind_str(key)
                .push(")");
        }
        (Key::Tag(key), comparator, value) => {
            sql.push(" AND EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.id AND t.key = ")
                .bind_str(key);
            match (comparator, value) {
                (Comparator::IsNotNull, _) => {}
                (Comparator::ILike, Value::Str(s)) => {
                    sql.push(" AND lower(t.value) LIKE lower(")
                        .bind_str(s)
                        .push(")");
                }
                (c, Value::Str(s)) => {
                    sql.push(" AND t.value").push(op(*c)).bind_str(s);
                }
                _ => return Err(invalid(clause)),
            }
            sql.push(")");
        }
        _ => return Err(invalid(clause)),
    }
    Ok(())
}

fn invalid(clause: &Clause) -> StoreError {
    StoreError::Invalid(format!(
        "Unsupported filter clause for experiments: {clause:?}"
    ))
}

fn parse_experiment_id(s: &str) -> Result<i64, StoreError> {
    s.trim().parse().map_err(|_| {
        StoreError::Invalid(format!(
            "Invalid experiment ID '{s}'. Experiment ID must be a valid integer."
        ))
    })
}

fn order_column(key: &Key) -> Option<&'static str> {
    match key {
        Key::Attribute(a) => match a.as_str() {
            "name" => Some("e.name"),
            "experiment_id" => Some("e.iid"),
            "creation_time" => Some("e.creation_time"),
            "last_update_time" => Some("e.last_update_time"),
            _ => None,
        },
        _ => None,
    }
}

#[async_trait]
impl ExperimentRepo for SqlStore {
    async fn create_experiment(
        &self,
        project_id: i64,
        experiment: NewExperiment,
    ) -> Result<Experiment, StoreError> {
        let now = hangar_core::now_millis();
        let mut tx = self.writer.begin().await?;
        let (_, iid, location) = insert_experiment(&mut *tx, project_id, &experiment, now).await?;
        tx.commit().await?;
        let mut tags = experiment.tags;
        tags.sort();
        tags.dedup_by(|a, b| a.0 == b.0);
        Ok(Experiment {
            project_id,
            iid,
            name: experiment.name,
            artifact_location: location,
            lifecycle_stage: LifecycleStage::Active,
            creation_time: now,
            last_update_time: now,
            tags,
        })
    }

    async fn get_experiment(
        &self,
        project_id: i64,
        iid: i64,
    ) -> Result<Option<Experiment>, StoreError> {
        self.fetch_experiment(project_id, "e.iid", Arg::I64(iid))
            .await
    }

    async fn find_experiment(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<Option<Experiment>, StoreError> {
        self.fetch_experiment(project_id, "e.name", Arg::Str(name.to_string()))
            .await
    }

    async fn search_experiments(
        &self,
        project_id: i64,
        filter: &[Clause],
        order_by: &[OrderBy],
        view: ViewType,
        paging: Paging,
    ) -> Result<Vec<Experiment>, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(EXPERIMENT_COLUMNS)
            .push(" FROM experiments e WHERE e.project_id = ")
            .bind_i64(project_id);
        match view {
            ViewType::ActiveOnly => sql.push(" AND e.lifecycle_stage = 'active'"),
            ViewType::DeletedOnly => sql.push(" AND e.lifecycle_stage = 'deleted'"),
            ViewType::All => &mut sql,
        };
        for clause in filter {
            push_clause(&mut sql, clause)?;
        }
        let mut terms = Vec::new();
        for order in order_by {
            let column = order_column(&order.key).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "Invalid order_by key for experiments: {:?}",
                    order.key
                ))
            })?;
            terms.push(format!(
                "{column} {}",
                if order.ascending { "ASC" } else { "DESC" }
            ));
        }
        if terms.is_empty() {
            terms.push("e.creation_time DESC".into());
        }
        // MLflow always breaks ties by experiment id.
        if !order_by
            .iter()
            .any(|o| order_column(&o.key) == Some("e.iid"))
        {
            terms.push("e.iid ASC".into());
        }
        sql.push(" ORDER BY ").push(&terms.join(", "));
        sql.push(" LIMIT ")
            .bind_i64(paging.limit)
            .push(" OFFSET ")
            .bind_i64(paging.offset);
        self.load_experiments(&sql).await
    }

    async fn rename_experiment(
        &self,
        project_id: i64,
        iid: i64,
        new_name: &str,
    ) -> Result<(), StoreError> {
        self.refuse_model_experiment(project_id, iid, "renamed")
            .await?;
        let done = sqlx::query(
            "UPDATE experiments SET name = $1, last_update_time = $2 WHERE project_id = $3 AND iid = $4",
        )
        .bind(new_name)
        .bind(hangar_core::now_millis())
        .bind(project_id)
        .bind(iid)
        .execute(&self.writer)
        .await
        .map_err(conflict(already_exists(new_name)))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_experiment_stage(
        &self,
        project_id: i64,
        iid: i64,
        stage: LifecycleStage,
    ) -> Result<(), StoreError> {
        if stage == LifecycleStage::Deleted {
            self.refuse_model_experiment(project_id, iid, "deleted")
                .await?;
        }
        let done = sqlx::query(
            "UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE project_id = $3 AND iid = $4",
        )
        .bind(stage.as_str())
        .bind(hangar_core::now_millis())
        .bind(project_id)
        .bind(iid)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_experiment_tag(
        &self,
        project_id: i64,
        iid: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let id = self.experiment_row_id(project_id, iid).await?;
        sqlx::query(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(id)
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_experiment_tag(
        &self,
        project_id: i64,
        iid: i64,
        key: &str,
    ) -> Result<(), StoreError> {
        let id = self.experiment_row_id(project_id, iid).await?;
        let done = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
            .bind(id)
            .bind(key)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
