//! Semantic versions of model versions (semver.org, as GitLab's `semver_regex`: no `v`
//! prefix, no leading zeros). "Latest" is the highest by semver precedence, where a
//! prerelease ranks below its release and build metadata does not count.

use std::cmp::Ordering;

pub use ::semver::Version;

/// The version given to a model's first version.
pub const FIRST: &str = "1.0.0";

/// Parses a semantic version, or says why it is not one.
pub fn parse(s: &str) -> Result<Version, String> {
    Version::parse(s).map_err(|_| {
        format!(
            "Version must be semantic version: '{s}' is not MAJOR.MINOR.PATCH with an optional \
             -prerelease and +build (for example 1.2.0 or 2.0.0-rc.1; no 'v' prefix)"
        )
    })
}

/// Semver precedence (build metadata ignored).
pub fn precedence(a: &Version, b: &Version) -> Ordering {
    a.cmp_precedence(b)
}

/// The highest of `versions` by precedence; among equals, the first.
pub fn highest<'a>(versions: impl IntoIterator<Item = &'a Version>) -> Option<&'a Version> {
    versions
        .into_iter()
        .fold(None, |best: Option<&Version>, v| match best {
            Some(b) if precedence(v, b) != Ordering::Greater => Some(b),
            _ => Some(v),
        })
}

/// The version a new model version gets when none is given: [`FIRST`] for the first, else the
/// highest version's patch plus one (its prerelease and build dropped).
pub fn next_after(highest: Option<&Version>) -> Version {
    match highest {
        None => Version::new(1, 0, 0),
        Some(v) => Version::new(v.major, v.minor, v.patch + 1),
    }
}

/// The next patch, minor and major release after `v` (the UI's proposal buttons).
pub fn bumps(v: &Version) -> [Version; 3] {
    [
        Version::new(v.major, v.minor, v.patch + 1),
        Version::new(v.major, v.minor + 1, 0),
        Version::new(v.major + 1, 0, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_is_semver_org_without_prefix() {
        for ok in [
            "1.0.0",
            "0.0.1",
            "10.20.30",
            "1.2.3-rc.1",
            "1.2.3-alpha-b.0+build.5",
            "1.0.0+x",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1.2", "v1.0.0", "01.0.0", "1.02.0", "1.0.0-01", "", "1.0.0.0", " 1.0.0", "1.0.0-",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prerelease_ranks_below_its_release_and_build_is_ignored() {
        let v = |s| parse(s).unwrap();
        assert_eq!(precedence(&v("1.0.0-rc.1"), &v("1.0.0")), Ordering::Less);
        assert_eq!(
            precedence(&v("1.0.0-alpha"), &v("1.0.0-alpha.1")),
            Ordering::Less
        );
        assert_eq!(
            precedence(&v("1.0.0-alpha.2"), &v("1.0.0-alpha.10")),
            Ordering::Less
        );
        assert_eq!(precedence(&v("1.0.0+a"), &v("1.0.0+b")), Ordering::Equal);
        assert_eq!(precedence(&v("1.10.0"), &v("1.9.0")), Ordering::Greater);
    }

    #[test]
    fn next_bumps_the_patch_of_the_highest() {
        assert_eq!(next_after(None).to_string(), "1.0.0");
        let vs = ["1.0.0", "1.10.0", "1.9.5", "2.0.0-rc.1"].map(|s| parse(s).unwrap());
        assert_eq!(highest(&vs).unwrap().to_string(), "2.0.0-rc.1");
        assert_eq!(next_after(highest(&vs)).to_string(), "2.0.1");
        let vs = ["2.0.0", "2.0.0-rc.1"].map(|s| parse(s).unwrap());
        assert_eq!(next_after(highest(&vs)).to_string(), "2.0.1");
        assert_eq!(
            bumps(&parse("1.2.3").unwrap()).map(|v| v.to_string()),
            ["1.2.4", "1.3.0", "2.0.0"]
        );
    }
}
