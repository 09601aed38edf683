//! Property tests of the semver rules: precedence is a total order that agrees with the
//! numbers, prereleases rank below their release, and the next version is above everything.

use hangar_core::semver::{self, Version};
use proptest::prelude::*;
use std::cmp::Ordering;

fn prerelease() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::collection::vec(
        prop_oneof!["(0|[1-9][0-9]{0,3})", "[a-z][a-z0-9-]{0,5}"],
        1..3,
    ))
    .prop_map(|ids| ids.map(|ids| ids.join(".")))
}

fn version() -> impl Strategy<Value = String> {
    (
        0u64..20,
        0u64..20,
        0u64..20,
        prerelease(),
        proptest::option::of("[a-z0-9]{1,4}"),
    )
        .prop_map(|(major, minor, patch, pre, build)| {
            let mut s = format!("{major}.{minor}.{patch}");
            if let Some(pre) = pre {
                s.push('-');
                s.push_str(&pre);
            }
            if let Some(build) = build {
                s.push('+');
                s.push_str(&build);
            }
            s
        })
}

proptest! {
    #[test]
    fn every_generated_version_parses_and_prints_back(s in version()) {
        prop_assert_eq!(semver::parse(&s).unwrap().to_string(), s);
    }

    #[test]
    fn precedence_agrees_with_the_numbers(a in version(), b in version()) {
        let (va, vb) = (semver::parse(&a).unwrap(), semver::parse(&b).unwrap());
        let numbers = (va.major, va.minor, va.patch).cmp(&(vb.major, vb.minor, vb.patch));
        if numbers != Ordering::Equal {
            prop_assert_eq!(semver::precedence(&va, &vb), numbers);
        }
        prop_assert_eq!(semver::precedence(&va, &vb), semver::precedence(&vb, &va).reverse());
    }

    #[test]
    fn a_prerelease_ranks_below_its_release(s in version()) {
        let v = semver::parse(&s).unwrap();
        let release = Version::new(v.major, v.minor, v.patch);
        if v.pre.is_empty() {
            prop_assert_eq!(semver::precedence(&v, &release), Ordering::Equal);
        } else {
            prop_assert_eq!(semver::precedence(&v, &release), Ordering::Less);
        }
    }

    #[test]
    fn the_next_version_is_above_all_and_a_patch_bump(list in proptest::collection::vec(version(), 0..12)) {
        let versions: Vec<Version> = list.iter().map(|s| semver::parse(s).unwrap()).collect();
        let highest = semver::highest(&versions);
        for v in &versions {
            prop_assert_ne!(semver::precedence(v, highest.unwrap()), Ordering::Greater);
        }
        let next = semver::next_after(highest);
        for v in &versions {
            prop_assert_eq!(semver::precedence(&next, v), Ordering::Greater);
        }
        prop_assert!(next.pre.is_empty() && next.build.is_empty());
        match highest {
            None => prop_assert_eq!(next.to_string(), "1.0.0"),
            Some(h) => prop_assert_eq!((next.major, next.minor, next.patch), (h.major, h.minor, h.patch + 1)),
        }
    }

    #[test]
    fn bumps_are_ordered_patch_minor_major(s in version()) {
        let v = semver::parse(&s).unwrap();
        let [patch, minor, major] = semver::bumps(&v);
        prop_assert_eq!(semver::precedence(&v, &patch), Ordering::Less);
        prop_assert_eq!(semver::precedence(&patch, &minor), Ordering::Less);
        prop_assert_eq!(semver::precedence(&minor, &major), Ordering::Less);
    }
}
