//! `cfg` predicates as an image's build sees them, and the `compile_error!`s a package's
//! features set off.
//!
//! An image's program is built for Linux (gnu or musl, any architecture), not as a test, with
//! the features cargo resolves for it: `unix` holds, `windows` does not, `target_env` may
//! go either way. [`eval`] answers in three values; `None` where the build could go either
//! way or the predicate names something it does not know, so a caller acts only on a sure
//! answer.
//!
//! vaultwarden's build script says `#[cfg(not(any(feature = "sqlite", feature = "mysql",
//! feature = "postgresql")))] compile_error!("You need to enable one DB backend…")`, and its
//! default features are empty: a build without `features` fails minutes in. [`feature_guards`]
//! finds such guards (a `compile_error!` right under a `#[cfg]` that names a feature), and
//! the planner says which ones the build's features set off.

/// Whether `predicate` (the inside of `cfg(..)`) holds in an image's program build, given
/// the package's enabled features (`None`: unknown, so a feature answers `None`).
pub fn eval(predicate: &str, features: Option<&[String]>) -> Option<bool> {
    let p: String = predicate.chars().filter(|c| !c.is_whitespace()).collect();
    let value = |key: &str| {
        p.strip_prefix(key)
            .and_then(|v| v.strip_prefix("=\""))
            .and_then(|v| v.strip_suffix('"'))
            .map(str::to_string)
    };
    let inner = |name: &str| {
        p.strip_prefix(name)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
            .map(parts)
    };
    if let Some(parts) = inner("any") {
        let values: Vec<Option<bool>> = parts.iter().map(|q| eval(q, features)).collect();
        return if values.contains(&Some(true)) {
            Some(true)
        } else if values.iter().all(|v| *v == Some(false)) && !values.is_empty() {
            Some(false)
        } else {
            None
        };
    }
    if let Some(parts) = inner("all") {
        let values: Vec<Option<bool>> = parts.iter().map(|q| eval(q, features)).collect();
        return if values.contains(&Some(false)) {
            Some(false)
        } else if values.iter().all(|v| *v == Some(true)) {
            Some(true)
        } else {
            None
        };
    }
    if let Some(parts) = inner("not") {
        return match parts.as_slice() {
            [one] => eval(one, features).map(|v| !v),
            _ => None,
        };
    }
    if let Some(f) = value("feature") {
        return features.map(|on| on.contains(&f));
    }
    if let Some(v) = value("target_os") {
        return Some(v == "linux");
    }
    if let Some(v) = value("target_family") {
        return Some(v == "unix");
    }
    // A platform the user names may be any architecture Linux runs on.
    if let Some(v) = value("target_arch") {
        return v.starts_with("wasm").then_some(false);
    }
    if let Some(v) = value("target_env") {
        return (!matches!(v.as_str(), "gnu" | "musl" | "")).then_some(false);
    }
    if let Some(v) = value("target_vendor") {
        return Some(v == "unknown");
    }
    match p.as_str() {
        "unix" => Some(true),
        "test" | "windows" | "miri" | "doc" | "doctest" => Some(false),
        _ => None,
    }
}

/// The comma-separated parts of a predicate list, nesting respected.
fn parts(inner: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0i32;
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// A `compile_error!` under a `#[cfg]` that names a feature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeatureGuard {
    /// The predicate, as written inside `cfg(..)`, whitespace collapsed.
    pub predicate: String,
    /// The error's message (its first string literal).
    pub message: String,
    /// The 1-based line of the `compile_error!`.
    pub line: usize,
}

/// The feature guards of `source` (test modules and other systems' code left out), in
/// order: `#[cfg(PRED)]` opening its line, then (other attributes aside) `compile_error!`.
pub fn feature_guards(source: &str) -> Vec<FeatureGuard> {
    let code = crate::reads::program_code(source);
    let literals = crate::reads::literals(&code);
    let mut out = Vec::new();
    for (at, _) in code.match_indices("compile_error!") {
        let before = &code[..at];
        let Some(attr) = before.rfind("#[cfg(") else {
            continue;
        };
        let line_start = code[..attr].rfind('\n').map_or(0, |n| n + 1);
        if !code[line_start..attr].trim().is_empty() {
            continue;
        }
        let open = attr + "#[cfg".len();
        let Some(close) = crate::reads::closing(before, open, b'(', b')') else {
            continue;
        };
        // Between the attribute and the macro: only other attributes.
        let mut rest = before[close + 1..]
            .strip_prefix(']')
            .unwrap_or("x")
            .trim_start();
        while rest.starts_with("#[") {
            let from = before.len() - rest.len() + 1;
            rest = crate::reads::closing(before, from, b'[', b']')
                .map_or("x", |end| before[end + 1..].trim_start());
        }
        let predicate = &before[open + 1..close];
        if !rest.is_empty() || !predicate.contains("feature") {
            continue;
        }
        let Some((_, message)) = literals.iter().find(|(l, _)| *l > at) else {
            continue;
        };
        out.push(FeatureGuard {
            predicate: predicate.split_whitespace().collect::<Vec<_>>().join(" "),
            message: message.to_string(),
            line: code[..at].matches('\n').count() + 1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(features: &[&str]) -> Vec<String> {
        features.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn predicates_in_three_values() {
        let none = on(&[]);
        let sqlite = on(&["sqlite"]);
        let db = r#"not(any(feature = "sqlite", feature = "mysql", feature = "postgresql"))"#;
        assert_eq!(eval(db, Some(&none)), Some(true));
        assert_eq!(eval(db, Some(&sqlite)), Some(false));
        assert_eq!(eval(db, None), None);
        let both = r#"all(feature = "native-tls", feature = "rustls")"#;
        assert_eq!(eval(both, Some(&on(&["rustls"]))), Some(false));
        assert_eq!(eval(both, Some(&on(&["rustls", "native-tls"]))), Some(true));
        // The system: Linux, unix, not a test; gnu or musl either way.
        assert_eq!(eval("all(unix, not(test))", None), Some(true));
        assert_eq!(
            eval(r#"any(windows, target_os = "macos")"#, None),
            Some(false)
        );
        assert_eq!(eval(r#"target_env = "musl""#, None), None);
        assert_eq!(eval(r#"target_env = "msvc""#, None), Some(false));
        assert_eq!(eval(r#"all(feature = "x", windows)"#, None), Some(false));
        assert_eq!(eval("debug_assertions", None), None);
        assert_eq!(eval("any()", None), None);
    }

    #[test]
    fn guards_under_a_feature_cfg() {
        let build_rs = r#"use std::env;
fn main() {
    // This allows using #[cfg(sqlite)] instead of #[cfg(feature = "sqlite")]
    #[cfg(feature = "sqlite")]
    println!("cargo:rustc-cfg=sqlite");
    #[cfg(not(any(feature = "sqlite", feature = "mysql",
                  feature = "postgresql")))]
    compile_error!(
        "You need to enable one DB backend. To build with previous defaults do: cargo build --features sqlite"
    );
}
#[cfg(all(feature = "a", feature = "b"))]
#[allow(unused)]
compile_error!("a and b cannot be on together");
#[cfg(windows)]
compile_error!("a Windows guard names no feature");
// #[cfg(feature = "x")] compile_error!("in a comment");
#[cfg(test)]
mod tests { #[cfg(feature = "t")] compile_error!("test code"); }
"#;
        let guards = feature_guards(build_rs);
        assert_eq!(guards.len(), 2, "{guards:?}");
        assert_eq!(guards[1].predicate, r#"all(feature = "a", feature = "b")"#);
        assert_eq!(guards[1].message, "a and b cannot be on together");
        assert_eq!(
            guards[0].predicate,
            r#"not(any(feature = "sqlite", feature = "mysql", feature = "postgresql"))"#
        );
        assert!(guards[0]
            .message
            .starts_with("You need to enable one DB backend"));
        assert_eq!(guards[0].line, 8);
    }
}
