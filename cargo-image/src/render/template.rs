//! The one template renderer: the programs and pipelines we generate live as real files
//! under `templates/` (so shellcheck, actionlint and the like read them as they are), with
//! `@@NAME@@` markers where the plan fills something in.
//!
//! The markers are chosen to leave a template valid in its own language: inline, a marker
//! is part of a word (`--profile @@PROFILE@@`); a value of whole lines (possibly none)
//! takes a line of its own written as a comment, `# @@NAME@@`, which shell, YAML and HCL
//! all read as a comment, indented where the lines go. No escaping, no conditionals, no
//! loops: what varies beyond a value is computed in Rust, next to the plan it comes from.

/// `template` with every marker replaced by its value in `values` (`("NAME", value)`).
///
/// A line that holds nothing but indentation and `# @@NAME@@` is a block marker: the
/// whole line, its newline included, is replaced by the value, which must be whole lines
/// (empty, or ending in a newline), each non-empty one indented like the marker (so a
/// value need not know how deep it lands in a YAML file or a shell function). Any other
/// `@@NAME@@` is replaced in place. A name may be used any number of times.
///
/// # Panics
///
/// When a marker has no value, a value is never used, a name is given twice, a `@@` does
/// not begin a well-formed marker, or a block value is not whole lines. Templates are our
/// own files, compiled in: each of these is a bug in cargo-image, found by the first test
/// that renders the template, never a user's mistake.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    for (i, (name, _)) in values.iter().enumerate() {
        assert!(
            values[..i].iter().all(|(other, _)| other != name),
            "template value {name} is given twice"
        );
    }
    let mut used = vec![false; values.len()];
    let mut lookup = |name: &str| -> &str {
        let i = values
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("template marker @@{name}@@ has no value"));
        used[i] = true;
        values[i].1
    };
    let mut out = String::with_capacity(template.len());
    for line in template.split_inclusive('\n') {
        if let Some((indent, name)) = block_marker(line) {
            let value = lookup(name);
            assert!(
                value.is_empty() || value.ends_with('\n'),
                "template block @@{name}@@ needs whole lines, got {value:?}"
            );
            for value_line in value.split_inclusive('\n') {
                // No trailing whitespace on an empty line.
                if value_line != "\n" {
                    out.push_str(indent);
                }
                out.push_str(value_line);
            }
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("@@") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let name = after
                .find("@@")
                .map(|end| &after[..end])
                .filter(|name| is_name(name))
                .unwrap_or_else(|| panic!("malformed template marker in line {line:?}"));
            out.push_str(lookup(name));
            rest = &after[name.len() + 2..];
        }
        out.push_str(rest);
    }
    let unused: Vec<&str> = values
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|((name, _), _)| *name)
        .collect();
    assert!(
        unused.is_empty(),
        "template values never used (no such marker): {unused:?}"
    );
    out
}

/// The indentation and name of a block marker line (`    # @@NAME@@\n`).
fn block_marker(line: &str) -> Option<(&str, &str)> {
    let line = line.strip_suffix('\n')?;
    let rest = line.trim_start_matches([' ', '\t']);
    let name = rest.strip_prefix("# @@")?.strip_suffix("@@")?;
    is_name(name).then_some((&line[..line.len() - rest.len()], name))
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn inline_markers_are_replaced_wherever_they_stand() {
        assert_eq!(
            fill(
                "cargo build --profile @@P@@@@F@@ --bin @@P@@\n",
                &[("P", "release"), ("F", " --features a")]
            ),
            "cargo build --profile release --features a --bin release\n"
        );
        assert_eq!(fill("no markers\n", &[]), "no markers\n");
        assert_eq!(fill("x=@@A@@", &[("A", "")]), "x=");
    }

    #[test]
    fn a_block_marker_line_becomes_the_lines_of_its_value_indented_like_it() {
        let template = "f() {\n    # @@BODY@@\n    done\n}\n";
        assert_eq!(
            fill(template, &[("BODY", "a\n  b\n\nc\n")]),
            "f() {\n    a\n      b\n\n    c\n    done\n}\n"
        );
        assert_eq!(fill(template, &[("BODY", "")]), "f() {\n    done\n}\n");
        // A marker inside a longer comment, or a last line without a newline, is inline.
        assert_eq!(fill("# see @@A@@\n# @@A@@", &[("A", "x")]), "# see x\n# x");
    }

    #[test]
    fn values_are_not_read_as_templates() {
        assert_eq!(fill("@@A@@", &[("A", "@@B@@")]), "@@B@@");
    }

    #[test]
    #[should_panic(expected = "@@MISSING@@ has no value")]
    fn a_marker_without_a_value_panics() {
        fill("a @@MISSING@@ b", &[]);
    }

    #[test]
    #[should_panic(expected = "never used (no such marker): [\"EXTRA\"]")]
    fn an_unused_value_panics() {
        fill("a @@A@@", &[("A", "1"), ("EXTRA", "2")]);
    }

    #[test]
    #[should_panic(expected = "given twice")]
    fn a_value_given_twice_panics() {
        fill("@@A@@", &[("A", "1"), ("A", "2")]);
    }

    #[test]
    #[should_panic(expected = "malformed template marker")]
    fn an_unterminated_marker_panics() {
        fill("a @@A b\n", &[("A", "1")]);
    }

    #[test]
    #[should_panic(expected = "malformed template marker")]
    fn a_lowercase_marker_panics() {
        fill("a @@a@@ b\n", &[("a", "1")]);
    }

    #[test]
    #[should_panic(expected = "needs whole lines")]
    fn a_block_value_that_is_not_whole_lines_panics() {
        fill("    # @@B@@\n", &[("B", "half a line")]);
    }
}
