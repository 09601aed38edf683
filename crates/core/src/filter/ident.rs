//! Identifiers: `<entity>.<key>` or a bare attribute key, split and checked the way each
//! MLflow `Search*Utils._get_identifier` does, with the attribute aliases resolved.

use super::{FilterError, Key, SearchKind, clip, py_list, py_set};

fn err<T>(message: String) -> Result<T, FilterError> {
    Err(FilterError(message))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
    Dataset,
}

impl Entity {
    /// MLflow's canonical entity name, as used in messages.
    pub(super) fn mlflow_name(self) -> &'static str {
        match self {
            Entity::Metric => "metric",
            Entity::Param => "parameter",
            Entity::Tag => "tag",
            Entity::Attribute => "attribute",
            Entity::Dataset => "dataset",
        }
    }
}

/// An identifier split into entity and (unquoted, not yet normalised) key.
pub(super) struct Ident {
    pub entity: Entity,
    pub key: String,
}

const RUN_ENTITIES: &[&str] = &["metric", "parameter", "tag", "attribute", "dataset"];
const LOGGED_MODEL_ENTITIES: &[&str] = &["metric", "parameter", "tag", "attribute"];

const RUN_ATTRS: &[&str] = &[
    "artifact_uri",
    "created",
    "Created",
    "end_time",
    "run name",
    "Run name",
    "Run Name",
    "run_id",
    "run_name",
    "start_time",
    "status",
    "user_id",
];
const RUN_ORDER_ATTRS: &[&str] = &[
    "artifact_uri",
    "created",
    "Created",
    "end_time",
    "run_id",
    "run_name",
    "start_time",
    "status",
    "user_id",
];
const RUN_NUMERIC_ATTRS: &[&str] = &["start_time", "end_time", "created", "Created"];
const DATASET_KEYS: &[&str] = &["name", "digest", "context"];

const EXPERIMENT_ATTRS: &[&str] = &["name", "experiment_id", "creation_time", "last_update_time"];
const EXPERIMENT_NUMERIC_ATTRS: &[&str] = &["creation_time", "last_update_time"];

const REGISTERED_MODEL_ATTRS: &[&str] = &["name"];

const MODEL_VERSION_ATTRS: &[&str] = &["name", "run_id", "source_path", "version_number"];
const MODEL_VERSION_ORDER_ATTRS: &[&str] = &[
    "name",
    "version_number",
    "creation_timestamp",
    "last_updated_timestamp",
];
pub(super) const MODEL_VERSION_NUMERIC_ATTRS: &[&str] = &[
    "version_number",
    "creation_timestamp",
    "last_updated_timestamp",
];

pub(super) const LOGGED_MODEL_ATTRS: &[&str] = &[
    "name",
    "model_id",
    "model_type",
    "status",
    "source_run_id",
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
    "last_updated_time",
];
const LOGGED_MODEL_NUMERIC_ATTRS: &[&str] = &[
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
    "last_updated_time",
];

fn is_quoted(s: &str, q: char) -> bool {
    s.len() >= 2 && s.starts_with(q) && s.ends_with(q)
}

/// MLflow's `_strip_quotes`: one pair of `'` or `"` around the whole string.
fn strip_quotes(s: &str) -> &str {
    if is_quoted(s, '\'') || is_quoted(s, '"') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// MLflow's `_trim_backticks`.
pub(super) fn trim_backticks(s: &str) -> &str {
    if is_quoted(s, '`') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Unquotes a key the way MLflow does: double/single quotes, then backticks.
pub(super) fn unquote_key(s: &str) -> &str {
    trim_backticks(strip_quotes(s))
}

fn attribute_keys(kind: SearchKind, order_by: bool) -> &'static [&'static str] {
    match (kind, order_by) {
        (SearchKind::Runs, false) => RUN_ATTRS,
        (SearchKind::Runs, true) => RUN_ORDER_ATTRS,
        (SearchKind::Experiments, _) => EXPERIMENT_ATTRS,
        (SearchKind::RegisteredModels, _) => REGISTERED_MODEL_ATTRS,
        (SearchKind::ModelVersions, false) => MODEL_VERSION_ATTRS,
        (SearchKind::ModelVersions, true) => MODEL_VERSION_ORDER_ATTRS,
        (SearchKind::LoggedModels, _) => LOGGED_MODEL_ATTRS,
    }
}

pub(super) fn numeric_attrs(kind: SearchKind) -> &'static [&'static str] {
    match kind {
        SearchKind::Runs => RUN_NUMERIC_ATTRS,
        SearchKind::Experiments => EXPERIMENT_NUMERIC_ATTRS,
        SearchKind::LoggedModels => LOGGED_MODEL_NUMERIC_ATTRS,
        SearchKind::RegisteredModels | SearchKind::ModelVersions => &[],
    }
}

fn entity_type(kind: SearchKind, entity: &str) -> Result<Entity, FilterError> {
    match kind {
        SearchKind::Runs | SearchKind::LoggedModels => {
            let entity = trim_backticks(entity);
            match entity {
                "metric" | "metrics" => Ok(Entity::Metric),
                "parameter" | "parameters" | "param" | "params" => Ok(Entity::Param),
                "tag" | "tags" => Ok(Entity::Tag),
                "attribute" | "attributes" | "attr" | "run" => Ok(Entity::Attribute),
                "dataset" | "datasets" if kind == SearchKind::Runs => Ok(Entity::Dataset),
                _ => {
                    let valid = if kind == SearchKind::Runs {
                        RUN_ENTITIES
                    } else {
                        LOGGED_MODEL_ENTITIES
                    };
                    err(format!(
                        "Invalid entity type '{}'. Valid values are {}",
                        clip(entity),
                        py_list(valid)
                    ))
                }
            }
        }
        SearchKind::Experiments => match entity {
            "attribute" | "attributes" => Ok(Entity::Attribute),
            "tag" | "tags" => Ok(Entity::Tag),
            _ => err(format!(
                "Invalid entity type '{}'. Valid entity types are \
                 ('attribute', 'attributes', 'tag', 'tags')",
                clip(entity)
            )),
        },
        SearchKind::RegisteredModels | SearchKind::ModelVersions => match entity {
            "attribute" => Ok(Entity::Attribute),
            "tag" | "tags" => Ok(Entity::Tag),
            _ => err(format!(
                "Invalid entity type '{}'. Valid entity types are ('attribute', 'tag', 'tags')",
                clip(entity)
            )),
        },
    }
}

/// Splits `raw` at its first dot (as MLflow does, quotes notwithstanding), checks the
/// entity and, for attributes and datasets, the key.
pub(super) fn resolve_ident(
    kind: SearchKind,
    raw: &str,
    order_by: bool,
) -> Result<Ident, FilterError> {
    let (entity, key) = match raw.split_once('.') {
        None => (Entity::Attribute, raw),
        Some((entity, key)) => (entity_type(kind, entity)?, key),
    };
    let key = unquote_key(key);
    match entity {
        Entity::Attribute => {
            let valid = attribute_keys(kind, order_by);
            if !valid.contains(&key) {
                return err(format!(
                    "Invalid attribute key '{}' specified. Valid keys are '{}'",
                    clip(key),
                    py_set(valid)
                ));
            }
        }
        Entity::Dataset if !DATASET_KEYS.contains(&key) => {
            return err(format!(
                "Invalid dataset key '{}' specified. Valid keys are '{}'",
                clip(key),
                py_set(DATASET_KEYS)
            ));
        }
        _ => {}
    }
    Ok(Ident {
        entity,
        key: key.to_owned(),
    })
}

/// The public [`Key`], with attribute aliases resolved.
pub(super) fn to_key(kind: SearchKind, ident: Ident) -> Key {
    let Ident { entity, key } = ident;
    match entity {
        Entity::Metric => Key::Metric(key),
        Entity::Param => Key::Param(key),
        Entity::Tag => Key::Tag(key),
        Entity::Dataset => Key::Dataset(key),
        Entity::Attribute => {
            let canonical = match (kind, key.as_str()) {
                (SearchKind::Runs, "created" | "Created") => "start_time",
                (SearchKind::Runs, "run name" | "Run name" | "Run Name") => "run_name",
                (SearchKind::LoggedModels, "creation_time") => "creation_timestamp",
                (SearchKind::LoggedModels, "last_updated_time") => "last_updated_timestamp",
                _ => return Key::Attribute(key),
            };
            Key::Attribute(canonical.to_owned())
        }
    }
}
