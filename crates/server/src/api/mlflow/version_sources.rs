//! Where a new model version comes from: MLflow's rules for `source`, `run_id` and `model_id`
//! (`_validate_source_run`, `_validate_source_model` and
//! `_resolve_registered_model_source_lineage` in its server), resolved in the caller's project.
//!
//! - `runs:/<run>/<path>`, or a folder of the run in Hangar's tree: the run's files there;
//! - `models:/m-<id>` (or any source with `model_id`): the logged model's files, and its source
//!   run unless `run_id` names another;
//! - `models:/<name>/<version>` (`copy_model_version`): the source version's files, run and
//!   logged model, without copying a byte;
//! - a prompt version: one of MLflow's placeholders, nothing to read;
//! - anything else with a scheme (`s3://…`): recorded, never read; the files are the linked
//!   run's, or the fresh candidate's.
//!
//! Local paths (`/…`, `file:…`) are refused: no file of the server's disk is ever a version.

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::logged_models::load_logged_model;
use super::model_versions::{load_version, version_ref, wire_run_id};
use super::registered_models::{aliased_version, load_model};
use hangar_core::artifact_path::ArtifactPath;
use hangar_core::registry::{self, PROMPT_SOURCES};
use hangar_store::model::{ModelVersion, VersionStorage};

/// What a `model-versions/create` names, as the request gave it.
pub struct SourceRequest {
    pub source: String,
    /// `Some` when the request has the field (even empty), as MLflow's `HasField`.
    pub run_id: Option<String>,
    pub model_id: Option<String>,
    pub is_prompt: bool,
}

/// The request resolved: the source to record, the run and logged model to link, where the
/// files are.
#[derive(Debug, PartialEq)]
pub struct Lineage {
    pub source: String,
    pub run_uuid: Option<String>,
    pub model_uuid: Option<String>,
    pub storage: VersionStorage,
    /// Set for a copy: the version whose files, run and logged model the new one shares.
    pub copy_of: Option<String>,
}

fn invalid(source: &str, why: &str) -> MlflowError {
    MlflowError::invalid(format!("Invalid model version source: '{source}'. {why}"))
}

fn must_identify(source: &str, field: &str) -> MlflowError {
    invalid(
        source,
        &format!(
            "The {field} request parameter must identify the resource that contains the source."
        ),
    )
}

/// A local path: no scheme, a drive letter, or `file:` (MLflow's `is_local_uri`).
fn is_local(source: &str) -> bool {
    match source.split_once(':') {
        None => true,
        Some((scheme, _)) => {
            scheme.len() <= 1 || scheme.contains('/') || scheme.eq_ignore_ascii_case("file")
        }
    }
}

fn refuse_local(source: &str, field: &str) -> MlflowResult<()> {
    if !source.is_empty() && is_local(source) {
        return Err(invalid(
            source,
            &format!(
                "To use a local path as a model version source, the {field} request parameter \
                 has to be specified and the local path has to be contained within the artifact \
                 directory of the run specified by the {field}."
            ),
        ));
    }
    Ok(())
}

/// `..` in any encoding (MLflow's `_validate_non_local_source_contains_relative_paths`).
fn refuse_relative(source: &str) -> MlflowResult<()> {
    let mut decoded = source.to_owned();
    loop {
        let once = percent_encoding::percent_decode_str(&decoded.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        if once == decoded {
            break;
        }
        decoded = once;
    }
    if decoded.contains('\0') || decoded.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(invalid(
            source,
            "If supplying a source as an http, https, local file path, ftp, objectstore, or \
             mlflow-artifacts uri, an absolute path must be provided without relative path \
             references present. Please provide an absolute path.",
        ));
    }
    Ok(())
}

/// A path inside the project's tree, confined as every file route confines it.
fn tree_path(source: &str, path: &str) -> MlflowResult<ArtifactPath> {
    ArtifactPath::parse(path).map_err(|e| invalid(source, &e.to_string()))
}

/// What follows `models:/`: a logged model (`m-<id>`), or a registered model's version.
enum ModelsUri<'a> {
    LoggedModel(&'a str),
    Version {
        name: &'a str,
        selector: Selector<'a>,
    },
}

enum Selector<'a> {
    /// A number, a semver, `latest` or a stage.
    Path(&'a str),
    Alias(&'a str),
}

fn parse_models_uri(source: &str) -> MlflowResult<Option<ModelsUri<'_>>> {
    let Some(rest) = source.strip_prefix("models:") else {
        return Ok(None);
    };
    let Some(rest) = rest.strip_prefix('/').filter(|r| !r.starts_with('/')) else {
        return Err(invalid(
            source,
            "Registered model sources must use the active model registry.",
        ));
    };
    let bad = || {
        invalid(
            source,
            "A models:/ source names a logged model (models:/m-<id>) or a model version \
             (models:/<name>/<version> or models:/<name>@<alias>).",
        )
    };
    if let Some((name, alias)) = rest.split_once('@') {
        if name.is_empty() || alias.is_empty() || alias.contains('/') {
            return Err(bad());
        }
        return Ok(Some(ModelsUri::Version {
            name,
            selector: Selector::Alias(alias),
        }));
    }
    match rest.split_once('/') {
        None if rest.starts_with("m-") => Ok(Some(ModelsUri::LoggedModel(rest))),
        Some((name, version))
            if !name.is_empty() && !version.is_empty() && !version.contains('/') =>
        {
            Ok(Some(ModelsUri::Version {
                name,
                selector: Selector::Path(version),
            }))
        }
        _ => Err(bad()),
    }
}

/// The version a `models:/<name>/…` source names in the caller's project.
async fn source_version(
    ctx: &Ctx,
    name: &str,
    selector: Selector<'_>,
) -> MlflowResult<ModelVersion> {
    let model = load_model(ctx, name).await?;
    if registry::is_prompt(&model.tags) {
        return Err(MlflowError::invalid(format!(
            "Invalid model version source: 'models:/{name}'. Prompt versions cannot be used as \
             model version sources."
        )));
    }
    let store = &ctx.state.store;
    let not_found = |what: &str| {
        MlflowError::not_found(format!(
            "Model Version (name={name}, version={what}) not found"
        ))
    };
    match selector {
        Selector::Alias(alias) => aliased_version(ctx, name, alias)
            .await?
            .ok_or_else(|| not_found(alias)),
        Selector::Path(which) if which.eq_ignore_ascii_case("latest") => {
            aliased_version(ctx, name, which)
                .await?
                .ok_or_else(|| not_found(which))
        }
        Selector::Path(which) => match registry::Stage::parse(which) {
            Ok(stage) if !which.bytes().all(|b| b.is_ascii_digit()) => store
                .latest_model_versions(ctx.project_id(), name, &[stage])
                .await?
                .pop()
                .ok_or_else(|| not_found(which)),
            _ => load_version(ctx, name, &version_ref(which)?).await,
        },
    }
}

/// Resolves a create request into what the store records.
pub async fn resolve(ctx: &Ctx, request: SourceRequest) -> MlflowResult<Lineage> {
    let SourceRequest {
        source,
        run_id,
        model_id,
        is_prompt,
    } = request;
    if is_prompt {
        if !PROMPT_SOURCES.contains(&source.as_str()) {
            return Err(MlflowError::invalid(format!(
                "Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder."
            )));
        }
        return Ok(Lineage {
            source,
            run_uuid: None,
            model_uuid: None,
            storage: VersionStorage::Candidate(String::new()),
            copy_of: None,
        });
    }
    let given_run = run_id.clone().filter(|r| !r.is_empty());
    let given_model = model_id.clone().filter(|m| !m.is_empty());
    let models_uri = parse_models_uri(&source)?;
    if let Some(ModelsUri::Version { name, selector }) = models_uri {
        let src = source_version(ctx, name, selector).await?;
        let src_run = wire_run_id(&src);
        let src_model = Some(src.model_uuid.clone()).filter(|m| !m.is_empty());
        if run_id.is_some() && given_run != src_run
            || model_id.is_some() && given_model != src_model
        {
            return Err(invalid(
                &source,
                "The run_id and model_id request parameters must match the referenced model \
                 version.",
            ));
        }
        // The source's package folder: its files, wherever they are.
        let storage = match ctx.state.store.package_of_version(src.id).await? {
            Some(package) => format!("mlflow-artifacts:/{}", package.root),
            None => src.storage_location.clone(),
        };
        return Ok(Lineage {
            source: format!("models:/{}/{}", src.model_name, src.number),
            run_uuid: src_run,
            model_uuid: src_model,
            storage: VersionStorage::Fixed(storage),
            copy_of: Some(format!("{}/{}", src.model_name, src.number)),
        });
    }
    // A logged model's id, given or read from `models:/m-<id>`.
    let uri_model = match models_uri {
        Some(ModelsUri::LoggedModel(id)) => Some(id.to_owned()),
        _ => None,
    };
    let model_uuid = given_model.clone().or(uri_model.clone());
    let field = if model_uuid.is_some() {
        "model_id"
    } else {
        "run_id"
    };
    refuse_local(&source, field)?;
    refuse_relative(&source)?;
    if let Some(model_uuid) = model_uuid {
        if uri_model
            .as_ref()
            .is_some_and(|u| Some(u) != given_model.as_ref())
            && given_model.is_some()
            || source.starts_with("runs:")
        {
            return Err(must_identify(&source, "model_id"));
        }
        let model = if source.starts_with("mlflow-artifacts:") {
            let model = load_logged_model(ctx, &model_uuid, false)
                .await
                .map_err(|_| must_identify(&source, "model_id"))?;
            let inside = format!("{}/", model.artifact_uri.trim_end_matches('/'));
            if !format!("{}/", source.trim_end_matches('/')).starts_with(&inside) {
                return Err(must_identify(&source, "model_id"));
            }
            model
        } else {
            load_logged_model(ctx, &model_uuid, false).await?
        };
        // MLflow links the logged model's source run unless the request names a run.
        let run_uuid = given_run.or(Some(model.source_run_id.clone()).filter(|r| !r.is_empty()));
        return Ok(Lineage {
            source,
            run_uuid,
            model_uuid: Some(model_uuid),
            storage: VersionStorage::Fixed(model.artifact_uri),
            copy_of: None,
        });
    }
    if let Some(rest) = source.strip_prefix("runs:/") {
        let (source_run, path) = rest.split_once('/').unwrap_or((rest, ""));
        if source_run.is_empty() || given_run.as_deref().is_some_and(|r| r != source_run) {
            return Err(must_identify(&source, "run_id"));
        }
        let path = tree_path(&source, path)?;
        return Ok(Lineage {
            run_uuid: Some(source_run.to_owned()),
            storage: VersionStorage::Candidate(path.to_string()),
            source,
            model_uuid: None,
            copy_of: None,
        });
    }
    // A folder of Hangar's own tree (MLflow 2's `log_model` registers
    // `mlflow-artifacts:/<exp>/<run>/artifacts/model`): the version's files are there.
    if let Some(rest) = source.strip_prefix("mlflow-artifacts:/") {
        let path = tree_path(&source, rest.trim_start_matches('/'))?;
        let segments = path.segments();
        let storage = match &given_run {
            None => VersionStorage::Fixed(format!("mlflow-artifacts:/{path}")),
            Some(run)
                if segments.len() >= 3 && segments[1] == *run && segments[2] == "artifacts" =>
            {
                VersionStorage::Candidate(segments[3..].join("/"))
            }
            Some(_) => return Err(must_identify(&source, "run_id")),
        };
        return Ok(Lineage {
            source,
            run_uuid: given_run,
            model_uuid: None,
            storage,
            copy_of: None,
        });
    }
    Ok(Lineage {
        source,
        run_uuid: given_run,
        model_uuid: None,
        storage: VersionStorage::Candidate(String::new()),
        copy_of: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_told_from_uris() {
        for local in [
            "/etc/passwd",
            "model",
            "file:///tmp/m",
            "FILE:/tmp/m",
            "C:\\models\\m",
            "a/b:c",
        ] {
            assert!(is_local(local), "{local}");
        }
        for remote in [
            "s3://b/m",
            "runs:/r/m",
            "models:/m-1",
            "mlflow-artifacts:/1/r",
            "gs://b",
        ] {
            assert!(!is_local(remote), "{remote}");
        }
    }

    #[test]
    fn relative_paths_are_refused_in_any_encoding() {
        for bad in [
            "s3://b/../x",
            "s3://b/%2e%2e/x",
            "s3://b/%252e%252e/x",
            "s3://b/a%00",
            "s3://b\\..\\x",
        ] {
            assert!(refuse_relative(bad).is_err(), "{bad}");
        }
        assert!(refuse_relative("s3://b/a..b/c").is_ok());
    }

    #[test]
    fn models_uris_name_a_logged_model_or_a_version() {
        assert!(matches!(
            parse_models_uri("models:/m-abc").unwrap(),
            Some(ModelsUri::LoggedModel("m-abc"))
        ));
        assert!(matches!(
            parse_models_uri("models:/a/1").unwrap(),
            Some(ModelsUri::Version {
                name: "a",
                selector: Selector::Path("1")
            })
        ));
        assert!(matches!(
            parse_models_uri("models:/a@champion").unwrap(),
            Some(ModelsUri::Version {
                name: "a",
                selector: Selector::Alias("champion")
            })
        ));
        assert!(parse_models_uri("s3://b").unwrap().is_none());
        for bad in [
            "models://host/a/1",
            "models:/a",
            "models:/a/1/2",
            "models:/@x",
            "models:/",
        ] {
            assert!(parse_models_uri(bad).is_err(), "{bad}");
        }
    }
}
