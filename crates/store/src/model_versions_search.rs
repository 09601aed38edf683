//! The SQL of `model-versions/search`: MLflow's filter grammar over a version's model name,
//! run, source, number and tags, and its ordering rules. Prompts and deleted versions are
//! never found.

use crate::StoreError;
use crate::model::Paging;
use crate::model_versions::{VERSION_COLUMNS, VERSION_FROM};
use crate::registered_models::{mentions_prompt_tag, push_string_comparison};
use crate::sql::{Arg, Sql};
use hangar_core::filter::{Clause, Comparator, Key, OrderBy, Value};

/// Appends a model-version filter clause (keys already checked by the filter parser).
fn push_version_clause(sql: &mut Sql, clause: &Clause) -> Result<(), StoreError> {
    match &clause.key {
        Key::Attribute(a) if a == "version_number" => {
            let Value::Num(n) = clause.value else {
                return Err(StoreError::Invalid(format!(
                    "Unsupported value {:?}",
                    clause.value
                )));
            };
            let op = match clause.comparator {
                Comparator::Eq => " = ",
                Comparator::Ne => " <> ",
                Comparator::Lt => " < ",
                Comparator::Le => " <= ",
                Comparator::Gt => " > ",
                Comparator::Ge => " >= ",
                other => {
                    return Err(StoreError::Invalid(format!(
                        "Unsupported comparator {other}"
                    )));
                }
            };
            sql.push(" AND v.number").push(op).bind(Arg::F64(n));
            Ok(())
        }
        Key::Attribute(a) => {
            let column = match a.as_str() {
                "name" => "m.name",
                "run_id" => "COALESCE(r.run_uuid, '')",
                _ => "v.source",
            };
            push_string_comparison(sql, column, clause.comparator, &clause.value)
        }
        Key::Tag(key) => {
            sql.push(" AND EXISTS (SELECT 1 FROM model_version_tags t WHERE t.version_id = v.id AND t.key = ")
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

/// One page of the project's live versions matching `filter`, in `order_by` (MLflow's
/// default: last updated first, then name, then number descending).
pub(crate) fn search_sql(
    project_id: i64,
    filter: &[Clause],
    order_by: &[OrderBy],
    paging: Paging,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(VERSION_COLUMNS)
        .push(VERSION_FROM)
        .push(" WHERE m.project_id = ")
        .bind_i64(project_id)
        .push(" AND v.deleted = 0");
    for clause in filter {
        push_version_clause(&mut sql, clause)?;
    }
    if !mentions_prompt_tag(filter) {
        sql.push(
            " AND NOT EXISTS (SELECT 1 FROM registered_model_tags pt WHERE pt.model_id = m.id \
             AND pt.key = 'mlflow.prompt.is_prompt' AND pt.value = 'true')",
        );
    }
    let mut terms = Vec::new();
    for order in order_by {
        let column = match order.key.name() {
            "name" => "m.name",
            "version_number" => "v.number",
            "creation_timestamp" => "v.creation_time",
            _ => "v.last_updated_time",
        };
        terms.push(format!(
            "{column} {}",
            if order.ascending { "ASC" } else { "DESC" }
        ));
    }
    if terms.is_empty() {
        terms.extend(["v.last_updated_time DESC", "m.name ASC", "v.number DESC"].map(String::from));
    }
    terms.push("v.id ASC".into());
    sql.push(" ORDER BY ").push(&terms.join(", "));
    sql.push(" LIMIT ")
        .bind_i64(paging.limit)
        .push(" OFFSET ")
        .bind_i64(paging.offset);
    Ok(sql)
}
