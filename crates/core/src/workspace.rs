//! MLflow workspaces, which are Hangar projects: the name rule the MLflow 3 client enforces
//! (`WorkspaceNameValidator` in `mlflow/store/workspace/abstract_store.py`) and how a project's
//! workspace name is derived from its path.

/// MLflow's `DEFAULT_WORKSPACE_NAME`: the workspace of a client that never calls
/// `set_workspace`, which is project 1 (what `MLFLOW_TRACKING_URI=<host>` reaches).
pub const DEFAULT: &str = "default";

/// MLflow's bounds on a workspace name.
pub const MIN_LEN: usize = 2;
pub const MAX_LEN: usize = 63;

/// Names MLflow refuses because they collide with its own URL segments.
const RESERVED: [&str; 4] = ["workspaces", "api", "ajax-api", "static-files"];

/// A workspace name as MLflow checks it: `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, 2 to 63
/// characters, not reserved. The messages are MLflow's own. `default` passes only where the
/// caller allows it (MLflow lets a client select it but never create it).
pub fn validate(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(format!(
            "Workspace name '{name}' must be between {MIN_LEN} and {MAX_LEN} characters."
        ));
    }
    let inner_ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ends_ok = !name.starts_with('-') && !name.ends_with('-');
    if !inner_ok || !ends_ok {
        return Err(format!(
            "Workspace name '{name}' must match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ \
             (lowercase alphanumeric with optional internal hyphens)."
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "Workspace name '{name}' is reserved and cannot be used."
        ));
    }
    Ok(())
}

/// The name a project `namespace/path` asks for: lowercase, every run of characters outside
/// `[a-z0-9]` (the `/` included) one `-`, no `-` at either end, at most [`MAX_LEN`]
/// characters. It may be taken, too short or reserved: [`candidates`] deals with that.
pub fn derive(namespace: &str, path: &str) -> String {
    let mut name = String::with_capacity(namespace.len() + path.len() + 1);
    for c in namespace.chars().chain(['/']).chain(path.chars()) {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    truncate(&name, MAX_LEN)
}

/// The names a project `namespace/path` may get, best first: the derived name, then the
/// derived name with `-2`, `-3` … (shortened to fit). Each is a valid workspace name other
/// than `default`, which only project 1 has.
pub fn candidates(namespace: &str, path: &str) -> impl Iterator<Item = String> {
    let base = derive(namespace, path);
    let base = if base.is_empty() {
        "project".to_owned()
    } else {
        base
    };
    (1u64..)
        .map(move |n| {
            if n == 1 {
                base.clone()
            } else {
                let suffix = format!("-{n}");
                format!("{}{suffix}", truncate(&base, MAX_LEN - suffix.len()))
            }
        })
        .filter(|name| name != DEFAULT && validate(name).is_ok())
}

/// `name` cut to at most `max` characters (all ASCII here), without a trailing `-`.
fn truncate(name: &str, max: usize) -> String {
    name.get(..max.min(name.len()))
        .unwrap_or(name)
        .trim_end_matches('-')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_names() {
        for good in ["ab", "team-a", "a1", "123", &"x".repeat(63)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "a",
            "-ab",
            "ab-",
            "Team",
            "a_b",
            "a.b",
            "a b",
            "api",
            "workspaces",
            &"x".repeat(64),
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert!(validate(DEFAULT).is_ok());
    }

    #[test]
    fn derived_from_the_path() {
        assert_eq!(derive("team", "vision"), "team-vision");
        assert_eq!(derive("Team", "Vision_2.0"), "team-vision-2-0");
        assert_eq!(derive("_a", "__b__"), "a-b");
        assert_eq!(derive("_", "_"), "");
        let long = derive("n", &"p".repeat(100));
        assert_eq!(long.len(), MAX_LEN);
        assert!(validate(&long).is_ok());
        // A cut that ends on a separator drops it.
        let cut = derive(&"a".repeat(62), "bc");
        assert_eq!(cut, "a".repeat(62));
    }

    #[test]
    fn candidates_are_valid_and_never_default() {
        let first: Vec<_> = candidates("team", "vision").take(3).collect();
        assert_eq!(first, ["team-vision", "team-vision-2", "team-vision-3"]);
        assert_eq!(candidates("_", "_").next().unwrap(), "project");
        // `_/default` derives to `default`, which is project 1's.
        assert_eq!(candidates("_", "default").next().unwrap(), "default-2");
        // Reserved and too-short names are skipped.
        assert_eq!(candidates("_", "api").next().unwrap(), "api-2");
        assert_eq!(candidates("_", "a").next().unwrap(), "a-2");
        let long: Vec<_> = candidates("n", &"p".repeat(100)).take(12).collect();
        assert!(
            long.iter()
                .all(|n| n.len() <= MAX_LEN && validate(n).is_ok())
        );
        assert!(long[11].ends_with("-12"), "{}", long[11]);
    }
}
