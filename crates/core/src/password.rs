//! Password hashing for the web UI's sign-in: argon2id with a fresh random salt per hash.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// The PHC string (`$argon2id$…`) to store for `password`.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

/// True when `password` matches the stored PHC string.
pub fn verify(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// Spends the time of a [`verify`] that fails, for a sign-in whose user does not exist (or
/// has no password): otherwise the answer's speed tells which usernames are real.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::LazyLock<Option<String>> =
        std::sync::LazyLock::new(|| hash("a password nobody has").ok());
    if let Some(stored) = DUMMY.as_deref() {
        let _ = verify(password, stored);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse", &h));
        assert_ne!(super::hash("correct horse").unwrap(), h);
    }
}
