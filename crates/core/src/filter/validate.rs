//! What a structurally valid clause means for each [`SearchKind`]: which value types and
//! comparators its key takes, and MLflow's message for each violation. Checks run in
//! MLflow's order: identifier (see [`super::ident`]), then value, then comparator.

use super::ident::{
    Entity, Ident, MODEL_VERSION_NUMERIC_ATTRS, numeric_attrs, resolve_ident, to_key,
};
use super::lexer::{ListError, RawClause, RawOp, RawValue};
use super::{Clause, Comparator as C, FilterError, SearchKind, Value, clip, py_set};

const NUMERIC_OPS: &[C] = &[C::Gt, C::Ge, C::Ne, C::Eq, C::Lt, C::Le];
const TEXT_OPS: &[C] = &[C::Ne, C::Eq, C::Like, C::ILike];
const STRING_ATTR_OPS: &[C] = &[C::Ne, C::Eq, C::Like, C::ILike, C::In, C::NotIn];
const ID_OPS: &[C] = &[C::Eq, C::Ne, C::In, C::NotIn];

fn err<T>(message: String) -> Result<T, FilterError> {
    Err(FilterError(message))
}

/// Validates one clause for `kind`.
pub(super) fn clause(kind: SearchKind, raw: RawClause) -> Result<Clause, FilterError> {
    let ident = resolve_ident(kind, &raw.ident, false)?;
    if let RawOp::Known(comparator @ (C::IsNull | C::IsNotNull)) = raw.op {
        check_null_supported(kind, &ident)?;
        return Ok(Clause {
            key: to_key(kind, ident),
            comparator,
            value: Value::Null,
        });
    }
    let value = check_value(kind, &ident, raw.value)?;
    let comparator = check_comparator(kind, &ident, &raw.op)?;
    if matches!(value, Value::List(_)) && !matches!(comparator, C::In | C::NotIn) {
        return err(format!(
            "Invalid comparator '{comparator}' for a list of values. Use IN or NOT IN."
        ));
    }
    Ok(Clause {
        key: to_key(kind, ident),
        comparator,
        value,
    })
}

fn check_null_supported(kind: SearchKind, ident: &Ident) -> Result<(), FilterError> {
    let key = clip(&ident.key);
    match (kind, ident.entity) {
        (SearchKind::Runs, Entity::Param | Entity::Tag) => Ok(()),
        (SearchKind::Runs, entity) => err(format!(
            "IS NULL / IS NOT NULL is only supported for tags and params, not for '{}' '{key}'",
            entity.mlflow_name()
        )),
        (SearchKind::Experiments, Entity::Tag) => Ok(()),
        (SearchKind::Experiments, _) => err(format!(
            "IS NULL / IS NOT NULL is only supported for tags, not for attribute '{key}'"
        )),
        (SearchKind::RegisteredModels, _) => {
            err("IS NULL / IS NOT NULL is not supported for registered model search.".to_owned())
        }
        (SearchKind::ModelVersions, _) => {
            err("IS NULL / IS NOT NULL is not supported for model version search.".to_owned())
        }
        (SearchKind::LoggedModels, _) => {
            err("IS NULL / IS NOT NULL is not supported for logged model search.".to_owned())
        }
    }
}

fn not_quoted(raw: &str) -> FilterError {
    FilterError(format!(
        "Parameter value is either not quoted or unidentified quote types used for string \
         value {}. Use either single or double quotes.",
        clip(raw)
    ))
}

fn list_value(items: Result<Vec<String>, ListError>, raw: &str) -> Result<Value, FilterError> {
    match items {
        Ok(items) => Ok(Value::List(items)),
        Err(ListError::Empty) => err(
            "While parsing a list in the query, expected a non-empty list of string values, \
             but got empty list"
                .to_owned(),
        ),
        Err(ListError::NotStrings) => err(format!(
            "While parsing a list in the query, expected string value, punctuation, or \
             whitespace, but got different type in list: {}",
            clip(raw)
        )),
        Err(ListError::IllFormed) => err(
            "While parsing a list in the query, expected a non-empty list of string values, \
             but got ill-formed list."
                .to_owned(),
        ),
    }
}

fn check_value(kind: SearchKind, ident: &Ident, value: RawValue) -> Result<Value, FilterError> {
    let key = ident.key.as_str();
    let raw = clip(value.raw());
    let numeric = |value: RawValue, message: String| match value {
        RawValue::Number { value, .. } => Ok(Value::Num(value)),
        _ => err(message),
    };
    match ident.entity {
        Entity::Metric => numeric(
            value,
            format!("Expected numeric value type for metric. Found {raw}"),
        ),
        Entity::Attribute if numeric_attrs(kind).contains(&key) => numeric(
            value,
            format!("Expected numeric value type for numeric attribute: {key}. Found {raw}"),
        ),
        Entity::Attribute if kind == SearchKind::ModelVersions && key == "version_number" => {
            version_number(value)
        }
        _ => match value {
            RawValue::Quoted { inner, .. } => Ok(Value::Str(inner)),
            RawValue::Word(word) => Err(not_quoted(&word)),
            RawValue::List { items, raw } => match ident.entity {
                Entity::Dataset => list_value(items, &raw),
                Entity::Attribute => match list_refusal(kind, key) {
                    None => list_value(items, &raw),
                    Some(message) => err(message.to_owned()),
                },
                _ => err(string_expected(kind, ident.entity, &raw)),
            },
            RawValue::Number { .. } | RawValue::None => {
                err(string_expected(kind, ident.entity, &raw))
            }
        },
    }
}

/// Why `key` may not be compared with a list, if it may not.
fn list_refusal(kind: SearchKind, key: &str) -> Option<&'static str> {
    match (kind, key) {
        (SearchKind::Runs, "run_id")
        | (SearchKind::Experiments, "experiment_id")
        | (SearchKind::ModelVersions, "name" | "run_id")
        | (SearchKind::LoggedModels, _) => None,
        (SearchKind::Runs | SearchKind::RegisteredModels, _) => Some(
            "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
        ),
        (SearchKind::Experiments, _) => Some(
            "Only the 'experiment_id' attribute supports comparison with a list of quoted \
             string values.",
        ),
        (SearchKind::ModelVersions, _) => Some(
            "Only the 'name' and 'run_id' attributes support comparison with a list of quoted \
             string values.",
        ),
    }
}

/// The message for a number (or misplaced list) where a string is required.
fn string_expected(kind: SearchKind, entity: Entity, raw: &str) -> String {
    match (entity, kind) {
        (Entity::Param | Entity::Tag, _) => format!(
            "Expected a quoted string value for {} (e.g. 'my-value'). Got value {raw}",
            entity.mlflow_name()
        ),
        (Entity::Dataset, _) => {
            format!("Expected a quoted string value for dataset attributes. Got value {raw}")
        }
        (_, SearchKind::RegisteredModels) => format!(
            "Expected a quoted string value or a list of quoted string values for attributes. \
             Got value {raw}"
        ),
        (_, SearchKind::ModelVersions) => format!(
            "Only the '{}' attributes support comparison with numeric values.",
            py_set(MODEL_VERSION_NUMERIC_ATTRS)
        ),
        _ => format!("Expected a quoted string value for attributes. Got value {raw}"),
    }
}

/// Model versions' `version_number`: an integer literal, or a quoted integer.
fn version_number(value: RawValue) -> Result<Value, FilterError> {
    let invalid = |shown: &str| {
        err(format!(
            "Invalid value for numeric attribute 'version_number': {}",
            clip(shown)
        ))
    };
    match value {
        RawValue::Number { value, raw } => {
            if value.is_finite() && value.fract() == 0.0 {
                Ok(Value::Num(value))
            } else {
                invalid(&raw)
            }
        }
        RawValue::Quoted { inner, .. } => match inner.trim().parse::<i64>() {
            Ok(n) => Ok(Value::Num(n as f64)),
            Err(_) => invalid(&inner),
        },
        RawValue::Word(word) => Err(not_quoted(&word)),
        RawValue::List { .. } => err(list_refusal(SearchKind::ModelVersions, "version_number")
            .unwrap_or_default()
            .to_owned()),
        RawValue::None => invalid(""),
    }
}

/// The comparators `ident` accepts, and whether MLflow's message closes its quote.
fn allowed_ops(kind: SearchKind, ident: &Ident) -> (&'static [C], bool) {
    let key = ident.key.as_str();
    match ident.entity {
        Entity::Metric => (NUMERIC_OPS, false),
        Entity::Param => (TEXT_OPS, true),
        Entity::Tag => (TEXT_OPS, false),
        Entity::Dataset => (STRING_ATTR_OPS, false),
        Entity::Attribute => match (kind, key) {
            (SearchKind::ModelVersions, "version_number") => (NUMERIC_OPS, false),
            _ if numeric_attrs(kind).contains(&key) => (NUMERIC_OPS, false),
            (SearchKind::Experiments, "experiment_id") => (ID_OPS, true),
            (SearchKind::Experiments, _) | (SearchKind::ModelVersions, "source_path") => {
                (TEXT_OPS, true)
            }
            _ => (STRING_ATTR_OPS, true),
        },
    }
}

fn check_comparator(kind: SearchKind, ident: &Ident, op: &RawOp) -> Result<C, FilterError> {
    let (allowed, closing_quote) = allowed_ops(kind, ident);
    match op {
        RawOp::Known(c) if allowed.contains(c) => Ok(*c),
        _ => {
            let names: Vec<&str> = allowed.iter().map(|c| c.as_str()).collect();
            err(format!(
                "Invalid comparator '{}' not one of '{}{}",
                clip(op.text()),
                py_set(&names),
                if closing_quote { "'" } else { "" }
            ))
        }
    }
}
