//! The model registry's names and references, with MLflow's messages (clients match on them).

use crate::semver;

/// Longest model name (GitLab's column limit).
pub const MAX_MODEL_NAME_LEN: usize = 255;
/// Longest alias (MLflow's `_validate_model_alias_name`).
pub const MAX_ALIAS_LEN: usize = 255;
/// Longest description (GitLab's limit for models and versions).
pub const MAX_DESCRIPTION_LEN: usize = 10_000;
/// Longest registry tag value (MLflow's `MAX_REGISTERED_MODEL_TAG_VALUE_LENGTH`, GitLab 5,000).
pub const MAX_TAG_VALUE_LEN: usize = 5_000;
/// The tag whose value is a version's semver (GitLab's explicit-version tag).
pub const SEMVER_TAG: &str = "gitlab.version";
/// The tag that makes a registered model, or a version, one of MLflow 3's prompts.
pub const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
/// A prompt version's template (text, or a JSON list of chat messages).
pub const PROMPT_TEXT_TAG: &str = "mlflow.prompt.text";
/// `text` or `chat`.
pub const PROMPT_TYPE_TAG: &str = "_mlflow_prompt_type";
/// A prompt version's response format (a JSON schema).
pub const PROMPT_RESPONSE_FORMAT_TAG: &str = "_mlflow_prompt_response_format";
/// Longest prompt-registry tag value (MLflow's `MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH`): a
/// template is a tag.
pub const MAX_PROMPT_TAG_VALUE_LEN: usize = 100_000;
/// The sources MLflow's client sends for a prompt version, the only ones a prompt may have.
pub const PROMPT_SOURCES: [&str; 2] = ["dummy-source", "prompt-template"];

/// Whether `tags` mark a prompt (the last value of the tag wins, as in MLflow).
pub fn is_prompt(tags: &[(String, String)]) -> bool {
    tags.iter()
        .rev()
        .find(|(k, _)| k == PROMPT_TAG)
        .is_some_and(|(_, v)| v.eq_ignore_ascii_case("true"))
}

/// Whether `key` is one of the prompt registry's own tags, whose values may be templates.
pub fn is_prompt_tag_key(key: &str) -> bool {
    key.starts_with("mlflow.prompt.") || key.starts_with("_mlflow_prompt_")
}

/// The prefix of a model's default experiment (`[model]<name>`), as GitLab names it.
pub const MODEL_EXPERIMENT_PREFIX: &str = "[model]";

/// A registered model name: MLflow's rules (not empty, no `/` or `:`, not path-like), no
/// control characters, at most [`MAX_MODEL_NAME_LEN`] characters.
pub fn validate_model_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Registered model name cannot be empty.".into());
    }
    if name.contains(['/', ':']) {
        return Err(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        ));
    }
    if name == "." || name == ".." || name.trim() != name || name.chars().any(char::is_control) {
        return Err(format!(
            "Invalid model name '{name}'. Names cannot be '.' or '..', start or end with \
             spaces, or contain control characters."
        ));
    }
    if name.chars().count() > MAX_MODEL_NAME_LEN {
        return Err(format!(
            "Invalid model name '{name}'. Names are at most {MAX_MODEL_NAME_LEN} characters."
        ));
    }
    Ok(())
}

/// The name of a model's default experiment.
pub fn model_experiment_name(model: &str) -> String {
    format!("{MODEL_EXPERIMENT_PREFIX}{model}")
}

/// A user alias: MLflow's rules, and not something that reads as a version (a semver, which
/// every version already has as its first alias, `v<digits>`, `latest`).
pub fn validate_alias(alias: &str) -> Result<(), String> {
    if semver::parse(alias).is_ok() {
        return Err(format!(
            "Alias name '{alias}' is reserved: it reads as a semantic version, and every \
             version's semantic version is already its first alias."
        ));
    }
    let chars_ok = alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if alias.is_empty() || !chars_ok || alias.chars().count() > MAX_ALIAS_LEN {
        return Err(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        ));
    }
    if alias.eq_ignore_ascii_case("latest") {
        return Err("'latest' alias name (case insensitive) is reserved.".into());
    }
    let v_digits = alias.len() > 1
        && alias.starts_with(['v', 'V'])
        && alias[1..].bytes().all(|b| b.is_ascii_digit());
    if v_digits {
        return Err(format!("Version alias name '{alias}' is reserved."));
    }
    Ok(())
}

/// How a request names a model version: digits are the per-model number, anything else the
/// semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Number(i64),
    Semver(String),
}

impl VersionRef {
    pub fn parse(version: &str) -> Result<VersionRef, String> {
        let version = version.trim();
        if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) {
            return version
                .parse()
                .map(VersionRef::Number)
                .map_err(|_| format!("Parameter 'version' must be an integer, got '{version}'."));
        }
        semver::parse(version)
            .map(|v| VersionRef::Semver(v.to_string()))
            .map_err(|_| {
                format!(
                    "Parameter 'version' must be an integer, got '{version}'. (Hangar also \
                     accepts a version's semantic version, such as 1.2.0.)"
                )
            })
    }
}

impl std::fmt::Display for VersionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionRef::Number(n) => write!(f, "{n}"),
            VersionRef::Semver(s) => f.write_str(s),
        }
    }
}

/// MLflow's (deprecated) model version stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    None,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }

    /// Case-insensitive, as MLflow canonicalises it.
    pub fn parse(s: &str) -> Result<Stage, String> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "Invalid Model Version stage: {s}. Value must be one of None, Staging, Production, Archived."
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        assert!(validate_model_name("churn-model_v2.1 (prod)").is_ok());
        for bad in ["", "a/b", "a:b", "..", " a", "a\n", &"x".repeat(256)] {
            assert!(validate_model_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            validate_model_name("a/b").unwrap_err(),
            "Invalid model name 'a/b'. Names cannot contain '/' or ':'."
        );
    }

    #[test]
    fn aliases_may_not_read_as_versions() {
        assert!(validate_alias("champion").is_ok());
        assert!(validate_alias("v2-candidate").is_ok());
        assert!(validate_alias("LATEST").unwrap_err().contains("reserved"));
        assert_eq!(
            validate_alias("v2").unwrap_err(),
            "Version alias name 'v2' is reserved."
        );
        assert!(
            validate_alias("1.2.0")
                .unwrap_err()
                .contains("semantic version")
        );
        assert!(
            validate_alias("bad alias")
                .unwrap_err()
                .starts_with("Invalid alias name: 'bad alias'.")
        );
        assert!(validate_alias("").is_err());
    }

    #[test]
    fn version_references() {
        assert_eq!(VersionRef::parse("3"), Ok(VersionRef::Number(3)));
        assert_eq!(
            VersionRef::parse("1.2.0"),
            Ok(VersionRef::Semver("1.2.0".into()))
        );
        assert!(
            VersionRef::parse("abc")
                .unwrap_err()
                .starts_with("Parameter 'version' must be an integer, got 'abc'.")
        );
        assert!(VersionRef::parse("99999999999999999999").is_err());
    }

    #[test]
    fn stages_are_case_insensitive() {
        assert_eq!(Stage::parse("production"), Ok(Stage::Production));
        assert_eq!(
            Stage::parse("Bogus").unwrap_err(),
            "Invalid Model Version stage: Bogus. Value must be one of None, Staging, Production, Archived."
        );
    }
}
