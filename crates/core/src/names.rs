//! Validation of user-chosen names. Each function returns the message the caller's surface
//! shows; MLflow messages are MLflow's own text, because clients match on them.

/// Longest project, namespace or user path GitLab accepts.
pub const MAX_PATH_LEN: usize = 255;
/// MLflow's limits (`mlflow/utils/validation.py`).
pub const MAX_EXPERIMENT_NAME_LEN: usize = 500;
pub const MAX_ENTITY_KEY_LEN: usize = 250;
pub const MAX_EXPERIMENT_TAG_VALUE_LEN: usize = 20_000;

/// A path segment of a project, namespace or username, with GitLab's rules: letters, digits,
/// `_`, `-` and `.`, starting with a letter, digit or `_`, not ending in `.git` or `.atom`.
pub fn validate_path_segment(what: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} can't be blank"));
    }
    if s.len() > MAX_PATH_LEN {
        return Err(format!(
            "{what} is too long (maximum is {MAX_PATH_LEN} characters)"
        ));
    }
    let first_ok = s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let chars_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !first_ok || !chars_ok || s.ends_with('.') || s.ends_with(".git") || s.ends_with(".atom") {
        return Err(format!(
            "{what} can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', \
             '.', end in '.', '.git' or '.atom'"
        ));
    }
    Ok(())
}

/// Turns a display name into a path segment, as GitLab does when only `name` is given.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// A project's display name: non-blank, no control characters, at most 255 characters.
pub fn validate_display_name(what: &str, s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err(format!("{what} can't be blank"));
    }
    if s.chars().count() > MAX_PATH_LEN {
        return Err(format!(
            "{what} is too long (maximum is {MAX_PATH_LEN} characters)"
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("{what} can't contain control characters"));
    }
    Ok(())
}

/// An MLflow experiment name (`_validate_experiment_name`).
pub fn validate_experiment_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("Invalid experiment name: '{name}'"));
    }
    if name.chars().count() > MAX_EXPERIMENT_NAME_LEN {
        return Err(format!(
            "'name' exceeds the maximum length of {MAX_EXPERIMENT_NAME_LEN} characters"
        ));
    }
    if name.contains('\0') {
        return Err(format!("Invalid experiment name: '{name}'"));
    }
    Ok(())
}

/// An MLflow metric, param or tag key (`_validate_metric_name` and friends): the character
/// set `[/\w.\- :]`, not path-like, at most 250 characters. `what` is how MLflow names the
/// length limit (`Param key`, `Metric name`, `key`); `param` the parameter in the messages.
pub fn validate_entity_key(what: &str, param: &str, key: &str) -> Result<(), String> {
    let allowed = key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':'));
    if !allowed {
        return Err(format!(
            "Invalid value \"{key}\" for parameter '{param}' supplied: Names may only contain \
             alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and \
             slashes (/)."
        ));
    }
    let normalized = normpath(key);
    if normalized != key || key == "." || key.starts_with("..") || key.starts_with('/') {
        return Err(format!(
            "Invalid value \"{key}\" for parameter '{param}' supplied: Names may be treated as \
             files in certain cases, and must not resolve to other names when treated as such. \
             This name would resolve to '{normalized}'"
        ));
    }
    if key.chars().count() > MAX_ENTITY_KEY_LEN {
        return Err(format!(
            "'{what}' exceeds the maximum length of {MAX_ENTITY_KEY_LEN} characters"
        ));
    }
    Ok(())
}

/// Python's `posixpath.normpath`, which MLflow uses to decide whether a name is path-like.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// MLflow's limits on run data (`mlflow/utils/validation.py`).
pub const MAX_PARAM_VALUE_LEN: usize = 6_000;
pub const MAX_RUN_TAG_VALUE_LEN: usize = 8_000;

/// A readable default run name in MLflow's style, `adjective-animal-123`.
pub fn random_run_name() -> String {
    use rand::seq::IndexedRandom;
    const ADJECTIVES: &[&str] = &[
        "agile", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fast", "gentle",
        "glad", "honest", "keen", "lively", "lucky", "merry", "nimble", "polite", "quiet", "rare",
        "shy", "smooth", "steady", "sunny", "swift", "tidy", "vast", "warm", "wise", "zesty",
    ];
    const ANIMALS: &[&str] = &[
        "ant", "bat", "bear", "bee", "cat", "colt", "crab", "crow", "deer", "dove", "duck", "eel",
        "fox", "frog", "goat", "hare", "hawk", "lark", "lion", "lynx", "mole", "moth", "newt",
        "owl", "panda", "seal", "slug", "swan", "toad", "wolf",
    ];
    let mut rng = rand::rng();
    format!(
        "{}-{}-{}",
        ADJECTIVES.choose(&mut rng).unwrap_or(&"quiet"),
        ANIMALS.choose(&mut rng).unwrap_or(&"owl"),
        rand::Rng::random_range(&mut rng, 0..1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments() {
        assert!(validate_path_segment("path", "vision-2.0_x").is_ok());
        for bad in ["", "-x", ".x", "x.git", "a/b", "a b", "é", "x."] {
            assert!(validate_path_segment("path", bad).is_err(), "{bad}");
        }
        assert_eq!(slugify("My Great Model!"), "my-great-model");
    }

    #[test]
    fn entity_keys() {
        assert!(validate_entity_key("key", "key", "a/b.c d:e-f_g").is_ok());
        for bad in ["bad$key", "../x", "a//b", "./a", "/a", ".", "a/"] {
            assert!(validate_entity_key("key", "key", bad).is_err(), "{bad}");
        }
        let long = "k".repeat(251);
        assert!(
            validate_entity_key("key", "key", &long)
                .unwrap_err()
                .contains("250")
        );
    }

    #[test]
    fn experiment_names() {
        assert!(validate_experiment_name("exp 1").is_ok());
        assert!(validate_experiment_name("  ").is_err());
        assert!(validate_experiment_name(&"x".repeat(501)).is_err());
    }
}
