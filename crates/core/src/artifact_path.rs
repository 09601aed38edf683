//! Artifact and package file paths, confined to their root: the one check every file
//! endpoint runs before a path reaches the blob store (security.md §1.1, §1.11).
//!
//! The HTTP layer decodes a URL once; what arrives here must then be a plain relative path.
//! Refused: `..` and `.` segments, absolute paths and `//host`, backslashes, anything that a
//! second percent-decoding would change (`%2e%2e`, `%252e`, `%2f`), `#`, `?`, `;`, NUL and
//! control characters, a first segment that names a drive or scheme (`C:`, `file:`), empty
//! segments, and overlong names. Legitimate names such as `a..b/c`, `...`, `dir/` pass.

use std::fmt;

/// Longest path, in bytes, and longest segment (a file name on common filesystems).
pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_SEGMENT_BYTES: usize = 255;

/// A validated relative path: non-empty segments joined by `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactPath(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid path: {0}")]
pub struct PathError(pub String);

impl ArtifactPath {
    /// The root itself (an empty path), for listings.
    pub fn root() -> ArtifactPath {
        ArtifactPath(Vec::new())
    }

    /// Checks `raw` (already URL-decoded once). One trailing `/` is allowed (a directory).
    pub fn parse(raw: &str) -> Result<ArtifactPath, PathError> {
        let refuse = |why: &str| Err(PathError(why.to_owned()));
        if raw.len() > MAX_PATH_BYTES {
            return refuse("the path is too long");
        }
        if raw.is_empty() {
            return Ok(ArtifactPath::root());
        }
        if raw.chars().any(char::is_control) {
            return refuse("control characters are not allowed");
        }
        // U+FFFD stands for bytes that were not UTF-8 (such as the overlong `%c0%ae`).
        if raw.contains('\u{FFFD}') {
            return refuse("the path is not valid UTF-8");
        }
        if raw.contains(['\\', '#', '?', ';']) {
            return refuse("'\\', '#', '?' and ';' are not allowed");
        }
        // A path that decodes again into something else was encoded twice: a classic way to
        // smuggle `../` past one decoding.
        if percent_encoding::percent_decode_str(raw).decode_utf8_lossy() != raw {
            return refuse("percent-encoded characters are not allowed after decoding");
        }
        if raw.starts_with('/') {
            return refuse("absolute paths are not allowed");
        }
        let trimmed = raw.strip_suffix('/').unwrap_or(raw);
        let mut segments = Vec::new();
        for (i, segment) in trimmed.split('/').enumerate() {
            match segment {
                "" => return refuse("empty path segments ('//') are not allowed"),
                "." | ".." => return refuse("'.' and '..' segments are not allowed"),
                s if s.len() > MAX_SEGMENT_BYTES => return refuse("a path segment is too long"),
                s if i == 0 && s.ends_with(':') => {
                    return refuse("a drive or scheme prefix is not allowed");
                }
                s => segments.push(s.to_owned()),
            }
        }
        Ok(ArtifactPath(segments))
    }

    /// A folder to list: as [`ArtifactPath::parse`], but a `.` segment names the folder it is
    /// in, as in MLflow (whose client lists `<run>/artifacts/.` to download a whole run).
    pub fn parse_listing(raw: &str) -> Result<ArtifactPath, PathError> {
        if raw.starts_with('/') || raw.contains("//") || raw.split('/').all(|s| s != ".") {
            return ArtifactPath::parse(raw);
        }
        let kept: Vec<&str> = raw.split('/').filter(|s| *s != ".").collect();
        ArtifactPath::parse(&kept.join("/"))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The last segment (the file name), if any.
    pub fn file_name(&self) -> Option<&str> {
        self.0.last().map(String::as_str)
    }

    /// `self/other`: both are confined, so the result is too.
    pub fn join(&self, other: &ArtifactPath) -> ArtifactPath {
        ArtifactPath(self.0.iter().chain(&other.0).cloned().collect())
    }

    /// Whether `self` is `prefix` or lies under it.
    pub fn starts_with(&self, prefix: &ArtifactPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_may_name_the_current_folder() {
        for (raw, shown) in [
            (".", ""),
            ("./", ""),
            ("1/r/artifacts/.", "1/r/artifacts"),
            ("a/./b", "a/b"),
            ("./a", "a"),
        ] {
            assert_eq!(
                ArtifactPath::parse_listing(raw).unwrap().to_string(),
                shown,
                "{raw}"
            );
        }
        for bad in ["a/../b", "..", "./..", "a//.", "/.", "%2e/x"] {
            assert!(ArtifactPath::parse_listing(bad).is_err(), "{bad}");
        }
        assert!(
            ArtifactPath::parse("a/./b").is_err(),
            "a file path stays strict"
        );
    }

    #[test]
    fn legitimate_names_pass_and_normalise() {
        for (raw, shown) in [
            ("model/MLmodel", "model/MLmodel"),
            ("path/", "path"),
            ("a..b/c", "a..b/c"),
            ("...", "..."),
            ("..a", "..a"),
            ("dir/sub dir/file name.txt", "dir/sub dir/file name.txt"),
            ("données/模型.bin", "données/模型.bin"),
            ("logs/12:30.txt", "logs/12:30.txt"),
            ("", ""),
        ] {
            assert_eq!(
                ArtifactPath::parse(raw).unwrap().to_string(),
                shown,
                "{raw:?}"
            );
        }
    }

    /// Every payload class of security.md §1.1 and §1.11, as it arrives after one decoding.
    #[test]
    fn traversal_and_smuggling_are_refused() {
        let long_segment = "x".repeat(256);
        let long_path = "a/".repeat(2100);
        for raw in [
            "..",
            "../x",
            "a/../../etc/passwd",
            "a/..",
            "./a",
            "a/./b",
            "/etc/passwd",
            "//host/share",
            "a//b",
            "..\\..\\x",
            "a\\b",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            "%252e%252e%252fx",
            "..%2f.ssh%2fauthorized_keys",
            "a%2fb",
            "a%00b",
            "a\0b",
            "a\nb",
            "a\rSet-Cookie: x",
            "file#frag",
            "model.bin?file.path=/etc/passwd",
            "a;params",
            "C:",
            "C:/Windows",
            "file:/etc/passwd",
            &long_segment,
            &long_path,
        ] {
            assert!(ArtifactPath::parse(raw).is_err(), "accepted {raw:?}");
        }
    }

    #[test]
    fn joins_stay_under_their_root() {
        let root = ArtifactPath::parse("1/abc/artifacts").unwrap();
        let file = ArtifactPath::parse("model/MLmodel").unwrap();
        let joined = root.join(&file);
        assert_eq!(joined.to_string(), "1/abc/artifacts/model/MLmodel");
        assert!(joined.starts_with(&root));
        assert!(!root.starts_with(&joined));
        assert_eq!(joined.file_name(), Some("MLmodel"));
        assert!(ArtifactPath::root().is_root());
    }
}
