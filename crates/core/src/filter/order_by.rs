//! `order_by` entries: `"<identifier> [ASC|DESC]"` strings for runs, experiments, registered
//! models and model versions, and the `field_name` of logged models' structured ordering.

use super::ident::{Entity, LOGGED_MODEL_ATTRS, resolve_ident, to_key, unquote_key};
use super::lexer::{Cursor, is_word};
use super::{
    FilterError, Key, MAX_ORDER_BY_BYTES, MAX_ORDER_BY_CLAUSES, OrderBy, SearchKind, clip, py_list,
    py_set,
};

/// Parses and validates `order_by` entries for `kind`, in order. For
/// [`SearchKind::LoggedModels`] each entry is a field name (see
/// [`validate_logged_model_order_field`]) optionally followed by `ASC`/`DESC`.
pub fn parse_order_by(kind: SearchKind, order_by: &[String]) -> Result<Vec<OrderBy>, FilterError> {
    if order_by.len() > MAX_ORDER_BY_CLAUSES {
        return Err(FilterError(format!(
            "Too many order_by clauses: {} (at most {MAX_ORDER_BY_CLAUSES} are allowed).",
            order_by.len()
        )));
    }
    let mut parsed: Vec<OrderBy> = Vec::with_capacity(order_by.len());
    for clause in order_by {
        let entry = parse_one(kind, clause)?;
        if kind == SearchKind::RegisteredModels && parsed.iter().any(|p| p.key == entry.key) {
            return Err(FilterError(format!(
                "`order_by` contains duplicate fields: {}",
                clip(&py_list(order_by))
            )));
        }
        parsed.push(entry);
    }
    Ok(parsed)
}

fn parse_one(kind: SearchKind, clause: &str) -> Result<OrderBy, FilterError> {
    let unparsable = || {
        FilterError(format!(
            "Invalid order_by clause '{}'. Could not be parsed.",
            clip(clause)
        ))
    };
    if clause.len() > MAX_ORDER_BY_BYTES {
        return Err(unparsable());
    }
    let mut cur = Cursor::new(clause);
    let Ok(Some(ident)) = cur.scan_ident() else {
        return Err(unparsable());
    };
    let mut ascending = true;
    if !cur.at_end() {
        let before_ws = cur.pos;
        cur.skip_ws();
        let direction = cur.eat_while(is_word);
        if cur.pos == before_ws || direction.is_empty() || !cur.at_end() {
            return Err(unparsable());
        }
        if direction.eq_ignore_ascii_case("asc") {
            ascending = true;
        } else if direction.eq_ignore_ascii_case("desc") {
            ascending = false;
        } else if ident == "timestamp" {
            return Err(unparsable());
        } else {
            return Err(FilterError(format!(
                "Invalid ordering key in order_by clause '{}'.",
                clip(clause)
            )));
        }
    }
    let key = match kind {
        SearchKind::RegisteredModels => registered_model_key(ident)?,
        SearchKind::LoggedModels => validate_logged_model_order_field(ident)?,
        _ => {
            let ident = resolve_ident(kind, ident, true)?;
            match (kind, ident.entity) {
                (SearchKind::Runs, Entity::Dataset) => {
                    return Err(FilterError("Invalid identifier type 'dataset'".to_owned()));
                }
                (SearchKind::Experiments | SearchKind::ModelVersions, Entity::Tag) => {
                    return Err(FilterError("Invalid order_by entity: tag".to_owned()));
                }
                _ => to_key(kind, ident),
            }
        }
    };
    Ok(OrderBy { key, ascending })
}

/// The SQL store's registered-model keys: `name`, and `timestamp` /
/// `last_updated_timestamp` (both the last-updated time).
fn registered_model_key(ident: &str) -> Result<Key, FilterError> {
    match unquote_key(ident) {
        "name" => Ok(Key::Attribute("name".to_owned())),
        "timestamp" | "last_updated_timestamp" => {
            Ok(Key::Attribute("last_updated_timestamp".to_owned()))
        }
        other => Err(FilterError(format!(
            "Invalid order by key '{}' specified. Valid keys are '{}'",
            clip(other),
            py_set(&["name", "timestamp"])
        ))),
    }
}

/// Validates the `field_name` of a logged-model `order_by` object: an attribute
/// (`creation_time` / `last_updated_time` are normalised to the `*_timestamp` names) or
/// `metrics.<key>`.
pub fn validate_logged_model_order_field(name: &str) -> Result<Key, FilterError> {
    if name.len() > MAX_ORDER_BY_BYTES {
        return Err(FilterError(format!(
            "Invalid order by field name: {}.",
            clip(name)
        )));
    }
    if let Some((entity, metric)) = name.split_once('.') {
        if entity != "metrics" {
            return Err(FilterError(format!(
                "Invalid order by field name: {}, only `metrics.<name>` is allowed.",
                clip(entity)
            )));
        }
        if metric.is_empty() {
            return Err(FilterError(format!(
                "Invalid order by field name: {}.",
                clip(name)
            )));
        }
        return Ok(Key::Metric(metric.to_owned()));
    }
    let field = name.trim();
    if !LOGGED_MODEL_ATTRS.contains(&field) {
        return Err(FilterError(format!(
            "Invalid order by field name: {}.",
            clip(field)
        )));
    }
    let canonical = match field {
        "creation_time" => "creation_timestamp",
        "last_updated_time" => "last_updated_timestamp",
        other => other,
    };
    Ok(Key::Attribute(canonical.to_owned()))
}
