//! `model-versions/*`: create, get, update, delete, search, stage transitions, download URI
//! and tags. On the wire `version` is the per-model number; the semver is the first alias
//! and the tag `gitlab.version`; a request's `version` may be either (digits = number).

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::logged_models::load_logged_model;
use super::registered_models::{
    caller_name, model_not_found, validate_description, validate_registry_tag,
};
use super::request::{Page, Params, Wire, max_results, page_body, page_offset};
use axum::Json;
use hangar_core::filter::{SearchKind, parse_filter, parse_order_by};
use hangar_core::registry::{SEMVER_TAG, Stage, VersionRef};
use hangar_core::semver;
use hangar_store::model::{ModelVersion, NewModelVersion, Paging, VersionStorage};
use serde_json::{Value, json};

/// The largest page `model-versions/search` serves (MLflow's limit).
const SEARCH_MAX_RESULTS: i64 = 200_000;

impl Wire for ModelVersion {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&model_version_json(self), serializer)
    }
}

pub fn model_version_json(v: &ModelVersion) -> Value {
    let mut aliases = vec![v.semver.clone()];
    aliases.extend(v.aliases.iter().cloned());
    let mut out = json!({
        "name": v.model_name,
        "version": v.number.to_string(),
        "creation_timestamp": v.creation_time,
        "last_updated_timestamp": v.last_updated_time,
        "current_stage": v.stage.as_str(),
        "description": v.description,
        "user_id": v.user_id,
        "source": v.source,
        "run_id": v.run_uuid.clone().unwrap_or_default(),
        "status": "READY",
        "status_message": "",
        "run_link": v.run_link,
        "aliases": aliases,
    });
    if !v.tags.is_empty() {
        out["tags"] = v
            .tags
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
    }
    if !v.model_uuid.is_empty() {
        out["model_id"] = v.model_uuid.clone().into();
    }
    out
}

pub fn version_ref(version: &str) -> MlflowResult<VersionRef> {
    VersionRef::parse(version).map_err(MlflowError::invalid)
}

fn version_not_found(name: &str, version: &VersionRef) -> MlflowError {
    MlflowError::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

/// The live version of model `name` that `version` names, or MLflow's 404.
pub async fn load_version(
    ctx: &Ctx,
    name: &str,
    version: &VersionRef,
) -> MlflowResult<ModelVersion> {
    ctx.state
        .store
        .get_model_version(ctx.project_id(), name, version)
        .await?
        .ok_or_else(|| version_not_found(name, version))
}

async fn version_from_params(ctx: &Ctx, params: &Params) -> MlflowResult<ModelVersion> {
    let name = params.required_string("name")?;
    let version = version_ref(&params.required_string("version")?)?;
    load_version(ctx, &name, &version).await
}

fn version_answer(version: &ModelVersion) -> Json<Value> {
    Json(json!({"model_version": model_version_json(version)}))
}

fn validate_ci_job(key: &str, value: &str) -> MlflowResult<()> {
    hangar_core::ci::validate_ci_tag(key, value).map_err(MlflowError::invalid)
}

/// Where a new version's files are and which run it promotes, from `source` and `run_id`
/// (MLflow's `_validate_source` rules): `runs:/<id>/<path>` names a run and a path in it;
/// a local path is refused; any other URI (`s3://…`, `models:/…`) is recorded, never read.
fn resolve_source(
    source: &str,
    run_id: Option<String>,
) -> MlflowResult<(Option<String>, VersionStorage)> {
    let invalid = |why: &str| {
        MlflowError::invalid(format!("Invalid model version source: '{source}'. {why}"))
    };
    let decoded = percent_encoding::percent_decode_str(source).decode_utf8_lossy();
    if decoded.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(invalid(
            "If supplying a source as an http, https, local file path, ftp, objectstore, or \
             mlflow-artifacts uri, an absolute path must be provided without relative path \
             references present. Please provide an absolute path.",
        ));
    }
    if let Some(rest) = source.strip_prefix("runs:/") {
        let (source_run, path) = rest.split_once('/').unwrap_or((rest, ""));
        if source_run.is_empty() || run_id.as_deref().is_some_and(|r| r != source_run) {
            return Err(invalid(
                "The run_id request parameter must identify the resource that contains the source.",
            ));
        }
        // The path inside the run's artifacts, with the same confinement as every file route.
        let path = hangar_core::artifact_path::ArtifactPath::parse(path)
            .map_err(|e| invalid(&e.to_string()))?;
        return Ok((
            Some(source_run.to_owned()),
            VersionStorage::Candidate(path.to_string()),
        ));
    }
    // A folder of Hangar's own tree (MLflow 2's `log_model` registers
    // `mlflow-artifacts:/<exp>/<run>/artifacts/model`): the version's files are there.
    if let Some(rest) = source.strip_prefix("mlflow-artifacts:/") {
        let path = hangar_core::artifact_path::ArtifactPath::parse(rest.trim_start_matches('/'))
            .map_err(|e| invalid(&e.to_string()))?;
        let segments = path.segments();
        return match run_id {
            None => Ok((
                None,
                VersionStorage::Fixed(format!("mlflow-artifacts:/{path}")),
            )),
            Some(run)
                if segments.len() >= 3 && segments[1] == run && segments[2] == "artifacts" =>
            {
                Ok((
                    Some(run),
                    VersionStorage::Candidate(segments[3..].join("/")),
                ))
            }
            Some(_) => Err(invalid(
                "The run_id request parameter must identify the resource that contains the source.",
            )),
        };
    }
    let has_scheme = source
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.is_empty() && scheme.len() > 1);
    if !source.is_empty() && !has_scheme {
        return Err(match run_id {
            None => invalid(
                "To use a local path as a model version source, the run_id request parameter has \
                 to be specified and the local path has to be contained within the artifact \
                 directory of the run specified by the run_id.",
            ),
            Some(_) => invalid(
                "The run_id request parameter must identify the resource that contains the source.",
            ),
        });
    }
    Ok((run_id, VersionStorage::Candidate(String::new())))
}

pub async fn create_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let name = params.required_string("name")?;
    // gitlab-mlops sends no source at all; MLflow requires one. Both are served.
    let source = params.string("source")?.unwrap_or_default();
    let run_id = params.string("run_id")?.filter(|r| !r.is_empty());
    let description = params.string("description")?.unwrap_or_default();
    validate_description(&description)?;
    let tags = params.key_values("tags")?;
    let mut semver_tag = None;
    for (key, value) in &tags {
        validate_registry_tag(key, value)?;
        validate_ci_job(key, value)?;
        if key == SEMVER_TAG {
            semver_tag = Some(
                semver::parse(value)
                    .map_err(MlflowError::invalid)?
                    .to_string(),
            );
        }
    }
    let (run_uuid, storage) = resolve_source(&source, run_id)?;
    // MLflow 3 registers a logged model (`models:/m-<id>`): the version's files are its files.
    let model_uuid = params
        .string("model_id")?
        .filter(|m| !m.is_empty())
        .or_else(|| {
            source
                .strip_prefix("models:/")
                .filter(|id| id.starts_with("m-") && !id.contains('/'))
                .map(str::to_owned)
        });
    let storage = match &model_uuid {
        Some(id) => VersionStorage::Fixed(load_logged_model(&ctx, id, false).await?.artifact_uri),
        None => storage,
    };
    let version = ctx
        .state
        .store
        .create_model_version(
            ctx.project_id(),
            &name,
            NewModelVersion {
                semver: semver_tag,
                description,
                user_id: caller_name(&ctx),
                source,
                run_uuid,
                run_link: params.string("run_link")?.unwrap_or_default(),
                model_uuid: model_uuid.unwrap_or_default(),
                tags,
                storage,
                author: crate::audit::author(&ctx.caller),
            },
        )
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    Ok(version_answer(&version))
}

pub async fn get_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    let version = version_from_params(&ctx, &params).await?;
    Ok(version_answer(&version))
}

pub async fn update_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let version = version_from_params(&ctx, &params).await?;
    let Some(description) = params.string("description")? else {
        return Ok(version_answer(&version));
    };
    validate_description(&description)?;
    let version = ctx
        .state
        .store
        .update_model_version(&version, &description)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"description": version.description}),
    )
    .await;
    Ok(version_answer(&version))
}

pub async fn delete_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let version = version_from_params(&ctx, &params).await?;
    ctx.state.store.delete_model_version(&version).await?;
    ctx.audit(
        "model_version_deleted",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"number": version.number}),
    )
    .await;
    Ok(Json(json!({})))
}

pub async fn transition_stage(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let stage = Stage::parse(&params.required_string("stage")?).map_err(MlflowError::invalid)?;
    let archive = params.bool("archive_existing_versions")?.unwrap_or(false);
    let version = version_from_params(&ctx, &params).await?;
    let version = ctx
        .state
        .store
        .transition_model_version(&version, stage, archive)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"stage": version.stage.as_str(), "archive_existing_versions": archive}),
    )
    .await;
    Ok(version_answer(&version))
}

pub async fn get_download_uri(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    let version = version_from_params(&ctx, &params).await?;
    Ok(Json(json!({"artifact_uri": version.storage_location})))
}

pub async fn search_model_versions(
    ctx: Ctx,
    params: Params,
) -> MlflowResult<Json<Page<ModelVersion>>> {
    let limit = max_results(&params, SEARCH_MAX_RESULTS, SEARCH_MAX_RESULTS)?;
    let filter = parse_filter(
        SearchKind::ModelVersions,
        &params.string("filter")?.unwrap_or_default(),
    )
    .map_err(|e| MlflowError::invalid(e.0))?;
    let order_by = parse_order_by(SearchKind::ModelVersions, &params.strings("order_by")?)
        .map_err(|e| MlflowError::invalid(e.0))?;
    let offset = page_offset(&params)?;
    let versions = ctx
        .state
        .store
        .search_model_versions(
            ctx.project_id(),
            &filter,
            &order_by,
            Paging {
                offset,
                limit: limit + 1,
            },
        )
        .await?;
    Ok(Json(page_body(versions, limit, offset, "model_versions")))
}

/// The semver is the version's identity: its tag cannot be changed or removed.
fn refuse_semver_tag(key: &str, version: &ModelVersion, value: Option<&str>) -> MlflowResult<()> {
    if key == SEMVER_TAG && value != Some(version.semver.as_str()) {
        return Err(MlflowError::invalid(format!(
            "The tag '{SEMVER_TAG}' is version {}'s semantic version and cannot be changed or removed.",
            version.semver
        )));
    }
    Ok(())
}

pub async fn set_model_version_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    validate_registry_tag(&key, &value)?;
    validate_ci_job(&key, &value)?;
    let version = version_from_params(&ctx, &params).await?;
    refuse_semver_tag(&key, &version, Some(&value))?;
    ctx.state
        .store
        .set_model_version_tag(&version, &key, &value)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"set_tag": {"key": key, "value": value}}),
    )
    .await;
    Ok(Json(json!({})))
}

pub async fn delete_model_version_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let key = params.required_string("key")?;
    hangar_core::names::validate_entity_key("key", "key", &key).map_err(MlflowError::invalid)?;
    let version = version_from_params(&ctx, &params).await?;
    refuse_semver_tag(&key, &version, None)?;
    ctx.state
        .store
        .delete_model_version_tag(&version, &key)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"deleted_tag": key}),
    )
    .await;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_the_run_and_path_or_are_recorded() {
        let (run, storage) = resolve_source("runs:/abc/model/sub", None).unwrap();
        assert_eq!(run.as_deref(), Some("abc"));
        assert_eq!(storage, VersionStorage::Candidate("model/sub".into()));
        let (run, storage) = resolve_source("", Some("r1".into())).unwrap();
        assert_eq!(run.as_deref(), Some("r1"));
        assert_eq!(storage, VersionStorage::Candidate(String::new()));
        assert_eq!(resolve_source("s3://bucket/m", None).unwrap().0, None);
        assert!(resolve_source("runs:/abc/model", Some("other".into())).is_err());
        assert!(
            resolve_source("/etc/passwd", None)
                .unwrap_err()
                .message
                .contains("local path")
        );
        assert!(
            resolve_source("s3://bucket/../x", None)
                .unwrap_err()
                .message
                .contains("relative path")
        );
        assert!(resolve_source("s3://bucket/%2e%2e/x", None).is_err());
        assert!(resolve_source("C:\\models\\m", None).is_err());
        for bad in [
            "runs:/abc/model#x",
            "runs:/abc/a\\b",
            "runs:/abc//etc",
            "runs:/abc/%252e%252e/x",
        ] {
            assert!(resolve_source(bad, None).is_err(), "{bad}");
        }
    }
}
