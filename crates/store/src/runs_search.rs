//! The SQL of `runs/search`: MLflow's filter grammar over metrics (latest values), params,
//! tags, attributes and dataset inputs, and its ordering rules, as one indexed query.

use crate::StoreError;
use crate::model::{Paging, ViewType};
use crate::runs::{RUN_COLUMNS, RUN_FROM};
use crate::sql::{Arg, Sql};
use hangar_core::filter::{Clause, Comparator, Key, OrderBy, Value};

fn op(c: Comparator) -> &'static str {
    match c {
        Comparator::Eq => " = ",
        Comparator::Ne => " <> ",
        Comparator::Lt => " < ",
        Comparator::Le => " <= ",
        Comparator::Gt => " > ",
        Comparator::Ge => " >= ",
        Comparator::Like | Comparator::ILike => " LIKE ",
        Comparator::In => " IN ",
        Comparator::NotIn => " NOT IN ",
        Comparator::IsNull | Comparator::IsNotNull => " IS ",
    }
}

fn invalid(clause: &Clause) -> StoreError {
    StoreError::Invalid(format!("Unsupported filter clause for runs: {clause:?}"))
}

/// `column <op> value` for a string column; ILIKE compares lower-cased.
fn push_string_comparison(
    sql: &mut Sql,
    column: &str,
    comparator: Comparator,
    value: &Value,
) -> Result<(), ()> {
    match (comparator, value) {
        (Comparator::ILike, Value::Str(s)) => {
            sql.push("lower(")
                .push(column)
                .push(") LIKE lower(")
                .bind_str(s)
                .push(")");
        }
        (Comparator::In | Comparator::NotIn, Value::List(items)) => {
            sql.push(column).push(op(comparator)).push("(");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_str(item);
            }
            sql.push(")");
        }
        (c, Value::Str(s))
            if !matches!(
                c,
                Comparator::In | Comparator::NotIn | Comparator::IsNull | Comparator::IsNotNull
            ) =>
        {
            sql.push(column).push(op(c)).bind_str(s);
        }
        _ => return Err(()),
    }
    Ok(())
}

/// A key-value child table (`run_params`, `run_tags`): the run must have the key, with a
/// value that matches; `IS NULL` means the key is absent.
fn push_child(sql: &mut Sql, table: &str, key: &str, clause: &Clause) -> Result<(), StoreError> {
    let exists = |sql: &mut Sql, negate: bool| {
        sql.push(if negate {
            " AND NOT EXISTS (SELECT 1 FROM "
        } else {
            " AND EXISTS (SELECT 1 FROM "
        })
        .push(table)
        .push(" c WHERE c.run_id = r.id AND c.key = ")
        .bind_str(key);
    };
    match clause.comparator {
        Comparator::IsNull => {
            exists(sql, true);
        }
        Comparator::IsNotNull => {
            exists(sql, false);
        }
        comparator => {
            exists(sql, false);
            sql.push(" AND ");
            push_string_comparison(sql, "c.value", comparator, &clause.value)
                .map_err(|_| invalid(clause))?;
        }
    }
    sql.push(")");
    Ok(())
}

fn push_clause(sql: &mut Sql, clause: &Clause) -> Result<(), StoreError> {
    match &clause.key {
        Key::Metric(key) => {
            let Value::Num(n) = clause.value else {
                return Err(invalid(clause));
            };
            sql.push(
                " AND EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_id = r.id AND m.key = ",
            )
            .bind_str(key)
            .push(" AND m.is_nan = 0 AND m.value")
            .push(op(clause.comparator))
            .bind(Arg::F64(n))
            .push(")");
        }
        Key::Param(key) => push_child(sql, "run_params", key, clause)?,
        Key::Tag(key) => push_child(sql, "run_tags", key, clause)?,
        Key::Attribute(attribute) => match attribute.as_str() {
            "start_time" | "end_time" => {
                let Value::Num(n) = clause.value else {
                    return Err(invalid(clause));
                };
                sql.push(" AND r.")
                    .push(if attribute == "start_time" {
                        "start_time"
                    } else {
                        "end_time"
                    })
                    .push(op(clause.comparator))
                    .bind(Arg::F64(n));
            }
            other => {
                let column = match other {
                    "run_id" => "r.run_uuid",
                    "run_name" => "r.name",
                    "status" => "r.status",
                    "user_id" => "r.user_id",
                    "artifact_uri" => "r.artifact_uri",
                    _ => return Err(invalid(clause)),
                };
                sql.push(" AND ");
                push_string_comparison(sql, column, clause.comparator, &clause.value)
                    .map_err(|_| invalid(clause))?;
            }
        },
        Key::Dataset(field) => {
            let column = match field.as_str() {
                "name" => "d.name",
                "digest" => "d.digest",
                "context" => "ri.context",
                _ => return Err(invalid(clause)),
            };
            sql.push(
                " AND EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.id = ri.dataset_id \
                 WHERE ri.run_id = r.id AND ",
            );
            push_string_comparison(sql, column, clause.comparator, &clause.value)
                .map_err(|_| invalid(clause))?;
            sql.push(")");
        }
    }
    Ok(())
}

/// The sort expression for one `order_by` key.
fn push_order_term(sql: &mut Sql, key: &Key) -> Result<(), StoreError> {
    match key {
        Key::Metric(k) => {
            sql.push("(SELECT CASE WHEN m.is_nan = 1 THEN NULL ELSE m.value END FROM latest_metrics m WHERE m.run_id = r.id AND m.key = ")
                .bind_str(k)
                .push(")");
        }
        Key::Param(k) => {
            sql.push("(SELECT c.value FROM run_params c WHERE c.run_id = r.id AND c.key = ")
                .bind_str(k)
                .push(")");
        }
        Key::Tag(k) => {
            sql.push("(SELECT c.value FROM run_tags c WHERE c.run_id = r.id AND c.key = ")
                .bind_str(k)
                .push(")");
        }
        Key::Attribute(a) => {
            let column = match a.as_str() {
                "start_time" => "r.start_time",
                "end_time" => "r.end_time",
                "run_id" => "r.run_uuid",
                "run_name" => "r.name",
                "status" => "r.status",
                "user_id" => "r.user_id",
                "artifact_uri" => "r.artifact_uri",
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "Invalid ordering key for runs: {a}"
                    )));
                }
            };
            sql.push(column);
        }
        Key::Dataset(_) => {
            return Err(StoreError::Invalid(
                "Runs cannot be ordered by datasets".into(),
            ));
        }
    }
    Ok(())
}

pub(crate) fn search_sql(
    project_id: i64,
    experiment_iids: &[i64],
    filter: &[Clause],
    order_by: &[OrderBy],
    view: ViewType,
    paging: Paging,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::new("SELECT ");
    // The experiments first, then their runs through the (experiment_id, start_time) index:
    // filtering on the project's runs instead reads every run of the project. One experiment
    // is compared with `=`, not `IN`: then the index also gives the default order (newest
    // first), and a page stops after its rows instead of sorting every run of the experiment
    // (20,000 runs: every one read, filtered and sorted for 100).
    sql.push(RUN_COLUMNS).push(RUN_FROM);
    if let [iid] = experiment_iids {
        sql.push(" WHERE r.experiment_id = (SELECT id FROM experiments WHERE project_id = ")
            .bind_i64(project_id)
            .push(" AND iid = ")
            .bind_i64(*iid)
            .push(")");
    } else {
        sql.push(" WHERE r.experiment_id IN (SELECT id FROM experiments WHERE project_id = ")
            .bind_i64(project_id)
            .push(" AND iid IN (");
        for (i, iid) in experiment_iids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_i64(*iid);
        }
        sql.push("))");
    }
    match view {
        ViewType::ActiveOnly => {
            sql.push(" AND r.lifecycle_stage = 'active'");
        }
        ViewType::DeletedOnly => {
            sql.push(" AND r.lifecycle_stage = 'deleted'");
        }
        ViewType::All => {}
    }
    for clause in filter {
        push_clause(&mut sql, clause)?;
    }
    sql.push(" ORDER BY ");
    let default = [OrderBy {
        key: Key::Attribute("start_time".into()),
        ascending: false,
    }];
    let terms = if order_by.is_empty() {
        &default[..]
    } else {
        order_by
    };
    for term in terms {
        // NULLs (a run without the metric, param or tag) sort last either way. Columns that
        // are never NULL skip the extra term, so the start-time index can give the order.
        let nullable = !matches!(&term.key, Key::Attribute(a) if a != "end_time");
        if nullable {
            sql.push("(");
            push_order_term(&mut sql, &term.key)?;
            sql.push(") IS NULL, ");
        }
        push_order_term(&mut sql, &term.key)?;
        sql.push(if term.ascending { " ASC, " } else { " DESC, " });
    }
    sql.push("r.run_uuid ASC LIMIT ")
        .bind_i64(paging.limit)
        .push(" OFFSET ")
        .bind_i64(paging.offset);
    Ok(sql)
}
