//! Quoting, one place for every language the generated files speak: `sh` words (the
//! programs in `.cargo-image/`, `build.sh`, CI scripts), JSON strings (the Dockerfile's
//! exec-form lists, YAML scalars), the Dockerfile's `ENV`/`LABEL` values, and HCL strings
//! (`docker-bake.hcl`).

use std::fmt::Write as _;

/// Quotes a word for `sh` when it needs it.
pub fn sh_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+@,%".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Words for `sh`, quoted where they need it, separated by spaces.
pub fn words_of<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.map(sh_quote).collect::<Vec<_>>().join(" ")
}

/// Words for a shell command line, each quoted as needed, separated by spaces.
pub fn words(items: &[String]) -> String {
    words_of(items.iter().map(String::as_str))
}

/// A double-quoted JSON string: the Dockerfile's exec-form lists (which Docker parses as
/// JSON) and YAML scalars (JSON is YAML).
pub fn dq(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// An `ENV` or `LABEL` word: quoted, with `$` literal (the Dockerfile would expand
/// `$NAME`). Only `\"`, `\\` and `\$` are escapes inside Docker's double quotes, so the
/// planner refuses control characters here, which JSON quoting would write as `\n`.
pub fn env_value(s: &str) -> String {
    dq(s).replace('$', "\\$")
}

/// An HCL string literal: `"` and `\` escaped, control characters as `\n`, `\t` or
/// `\uNNNN`, and `${` / `%{` doubled so that no value is read as a template.
pub fn hcl_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An HCL list of strings.
pub fn hcl_list(items: &[impl AsRef<str>]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| hcl_quote(i.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_sh_words_only_when_needed() {
        assert_eq!(sh_quote("release"), "release");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(words(&["a b".into(), "c".into()]), "'a b' c");
    }

    #[test]
    fn env_values_keep_dollar_literal() {
        assert_eq!(env_value("costs $5"), r#""costs \$5""#);
    }

    #[test]
    fn quotes_hcl_strings() {
        assert_eq!(hcl_quote("plain"), "\"plain\"");
        assert_eq!(hcl_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(hcl_quote("${x} %{y} $z %"), "\"$${x} %%{y} $z %\"");
        assert_eq!(hcl_quote("l1\nl2\u{1}"), "\"l1\\nl2\\u0001\"");
    }
}
