//! Access tokens in GitLab's format: `glpat-` followed by random URL-safe characters.
//! GitLab's own clients (`gitlab-mlops`) refuse any other shape. Only a SHA-256 hash of a
//! token is ever stored; the token itself is shown once, when it is created.

use crate::access::Scope;
use rand::Rng;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "glpat-";
/// 32 alphanumeric characters: about 190 bits of entropy.
const RANDOM_LEN: usize = 32;

/// A freshly generated token.
pub fn generate() -> String {
    let random: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(RANDOM_LEN)
        .map(char::from)
        .collect();
    format!("{PREFIX}{random}")
}

/// True when `token` has the shape of a Hangar token; a cheap check before any lookup.
pub fn looks_valid(token: &str) -> bool {
    token.len() >= PREFIX.len() + 20
        && token.len() <= 255
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The hex SHA-256 stored in place of the token. Tokens carry enough entropy that a fast
/// hash is safe here (as GitLab and crates.io do), and a lookup is one indexed query.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Parses GitLab's scope names. Scopes Hangar does not know are an error, not ignored.
pub fn parse_scopes<S: AsRef<str>>(scopes: &[S]) -> Result<Scope, String> {
    if scopes.is_empty() {
        return Err("scopes is missing: give api or read_api".into());
    }
    let mut scope = Scope::ReadApi;
    for s in scopes {
        match s.as_ref() {
            "api" => scope = Scope::Api,
            "read_api" => {}
            other => return Err(format!("invalid scope '{other}': use api or read_api")),
        }
    }
    Ok(scope)
}

/// The scope names stored and shown for a token.
pub fn scope_names(scope: Scope) -> &'static [&'static str] {
    match scope {
        Scope::Api => &["api"],
        Scope::ReadApi => &["read_api"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_gitlab_shape() {
        let t = generate();
        assert!(looks_valid(&t), "{t}");
        assert_ne!(generate(), t);
        assert_eq!(hash(&t).len(), 64);
        assert!(!looks_valid("glpat-short"));
        assert!(!looks_valid("ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!looks_valid("glpat-aaaaaaaaaaaaaaaaaaaaaaa!"));
    }

    #[test]
    fn scopes() {
        assert_eq!(parse_scopes(&["api"]), Ok(Scope::Api));
        assert_eq!(parse_scopes(&["read_api"]), Ok(Scope::ReadApi));
        assert_eq!(parse_scopes(&["read_api", "api"]), Ok(Scope::Api));
        assert!(parse_scopes(&["sudo"]).is_err());
        assert!(parse_scopes::<&str>(&[]).is_err());
    }
}
