//! Whether a program's command line needs a subcommand, read from its Rust sources: a
//! clap `#[derive(Parser)]` on an enum (rauthy's `Args { Serve(..), .. }`), or on a struct
//! whose `#[command(subcommand)]` field is not an `Option` (kanidmd's, garage's
//! structopt `Opt`), parsed by the program (`Args::parse()`, `Opt::from_args()`,
//! `Opt::from_clap(..)`). Such a
//! program started with no arguments, as an image without `args` starts it, prints its
//! usage and exits; the planner says so before a build, with the subcommands to pick from.
//!
//! Lines are read, not Rust parsed: a derive split over several lines, or a subcommand
//! renamed with `#[command(name = ..)]`, is not seen as written.

use std::collections::{BTreeMap, BTreeSet};

/// What one source file says about derived command lines.
#[derive(Debug, Default, PartialEq)]
pub struct CliFacts {
    /// Types deriving clap's `Parser` (or structopt's `StructOpt`) that need a subcommand,
    /// each with the enum that lists the subcommands (the type itself, for an enum).
    pub needs: BTreeMap<String, String>,
    /// Every enum's variants, kebab-cased as clap names the subcommands they become.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Types whose command line the file parses (`Args::parse()`, `Opt::from_args()`).
    pub parsed: BTreeSet<String>,
}

/// The [`CliFacts`] of one source file (its test modules left out).
pub fn cli_facts(source: &str) -> CliFacts {
    let code = crate::reads::program_code(source);
    let lines: Vec<&str> = code.lines().map(str::trim).collect();
    let mut facts = CliFacts::default();
    let mut parser = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("#[") {
            // The whole attribute, over as many lines as it takes (garage's
            // `#[structopt(\n name = "garage", ..\n)]`).
            let mut attribute = line.to_string();
            while unbalanced(&attribute) && i + 1 < lines.len() {
                i += 1;
                attribute.push_str(lines[i]);
            }
            if attribute.starts_with("#[derive(") {
                parser |= attribute.contains("Parser") || attribute.contains("StructOpt");
            }
        } else if !(line.is_empty() || line.starts_with("//")) {
            let item = without_visibility(line);
            if let Some(rest) = item.strip_prefix("enum ") {
                let name = ident(rest);
                let (variants, end) = enum_variants(&lines, i);
                if parser {
                    facts.needs.insert(name.clone(), name.clone());
                }
                facts.enums.insert(name, variants);
                i = end;
            } else if let Some(rest) = item.strip_prefix("struct ") {
                if let Some(ty) = parser.then(|| required_field(&lines, i)).flatten() {
                    facts.needs.insert(ident(rest), ty);
                }
            }
            parser = false;
        }
        i += 1;
    }
    for call in [
        "::parse()",
        "::try_parse()",
        "::parse_from(",
        "::try_parse_from(",
        "::from_args()",
        "::from_args_safe()",
        "::from_clap(",
        "::from_arg_matches(",
    ] {
        for (at, _) in code.match_indices(call) {
            let name = code[..at]
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("");
            if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                facts.parsed.insert(name.to_string());
            }
        }
    }
    facts
}

/// The subcommands of the command line `facts` (a package's files) parse, when it needs one:
/// the parsed type and its subcommands (empty when the enum is not among the files).
pub fn required_subcommand(facts: &[&CliFacts]) -> Option<(String, Vec<String>)> {
    let parsed = facts.iter().flat_map(|f| &f.parsed);
    let (ty, list, declared) = parsed
        .filter_map(|p| facts.iter().find_map(|f| f.needs.get(p).map(|e| (p, e, f))))
        .next()?;
    // The enum beside the parser first: two programs of a package may each have a
    // `Command` (the example's `products` and `products-admin`).
    let variants = std::iter::once(*declared)
        .chain(facts.iter().copied())
        .find_map(|f| f.enums.get(list))
        .cloned()
        .unwrap_or_default();
    Some((ty.clone(), variants))
}

/// Whether an attribute's text so far leaves a bracket or parenthesis open.
fn unbalanced(attribute: &str) -> bool {
    let count = |c: char| attribute.matches(c).count();
    count('[') != count(']') || count('(') != count(')')
}

/// `line` without a leading `pub`, `pub(crate)` and the like.
fn without_visibility(line: &str) -> &str {
    match line.strip_prefix("pub") {
        Some(rest) if rest.starts_with('(') => rest
            .split_once(')')
            .map_or(line, |(_, after)| after.trim_start()),
        Some(rest) if rest.starts_with(' ') => rest.trim_start(),
        _ => line,
    }
}

/// The identifier `text` starts with.
fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The variants of the enum whose declaration is on line `start` (kebab-cased), and the
/// line its body closes on.
fn enum_variants(lines: &[&str], start: usize) -> (Vec<String>, usize) {
    let mut variants = Vec::new();
    let mut depth = 0i32;
    for (i, line) in lines.iter().enumerate().skip(start) {
        if depth == 1 && line.starts_with(|c: char| c.is_ascii_uppercase()) {
            variants.push(kebab(&ident(line)));
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if depth <= 0 && i > start {
            return (variants, i);
        }
    }
    (variants, lines.len())
}

/// The type of the struct's (declared on line `start`) subcommand field, unless it is an
/// `Option` (then none is needed).
fn required_field(lines: &[&str], start: usize) -> Option<String> {
    let mut depth = 0i32;
    let mut subcommand = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        if depth == 1 {
            if line.starts_with("#[")
                && line.contains("subcommand")
                && ["#[command(", "#[clap(", "#[structopt("]
                    .iter()
                    .any(|a| line.starts_with(a))
            {
                subcommand = true;
            } else if subcommand && !line.starts_with("#[") && !line.starts_with("//") {
                let ty = line.split_once(':')?.1.trim().trim_end_matches(',');
                return (!ty.starts_with("Option<")).then(|| ident(ty));
            }
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if depth <= 0 && i > start {
            return None;
        }
    }
    None
}

/// `GenerateConfig` → `generate-config`, as clap names a subcommand after its variant.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{cli_facts, required_subcommand};

    /// rauthy's shape: a `Parser` enum, parsed in another file.
    #[test]
    fn a_parser_enum_needs_one_of_its_variants() {
        let args = cli_facts(
            "use clap::Parser;\n\n#[derive(Debug, Clone, Parser)]\n#[clap(author, version)]\n\
             pub enum Args {\n    /// Start the server\n    Serve(ArgsServer),\n\n    \
             GenerateConfig(ArgsGen),\n    Secrets,\n    Nested {\n        x: u8,\n    },\n}\n\n\
             #[derive(Debug, Parser)]\npub struct ArgsServer {\n    #[arg(long)]\n    \
             port: u16,\n}\n",
        );
        let main = cli_facts("fn main() {\n    let args = Args::parse();\n}\n");
        assert_eq!(
            required_subcommand(&[&args, &main]),
            Some((
                "Args".to_string(),
                vec![
                    "serve".to_string(),
                    "generate-config".into(),
                    "secrets".into(),
                    "nested".into()
                ]
            ))
        );
        // Not parsed anywhere: no program of these files reads it.
        assert_eq!(required_subcommand(&[&args]), None);
    }

    /// kanidmd's and garage's shape: a struct whose subcommand field is required (its
    /// attributes over several lines); an `Option` one is not.
    #[test]
    fn a_required_subcommand_field_needs_one_of_its_enum() {
        let source = |field: &str| {
            format!(
                "#[derive(\n    StructOpt,\n)]\n#[structopt(\n    name = \"x\",\n)]\nstruct Opt {{\n    \
                 #[structopt(\n        short,\n    )]\n    verbose: bool,\n    \
                 #[structopt(subcommand)]\n    cmd: {field},\n}}\n\n#[derive(StructOpt)]\n\
                 enum Command {{\n    Server,\n    Status,\n}}\n\n\
                 fn main() {{ let opt = Opt::from_args(); }}\n"
            )
        };
        let required = cli_facts(&source("Command"));
        assert_eq!(
            required_subcommand(&[&required]),
            Some((
                "Opt".to_string(),
                vec!["server".to_string(), "status".into()]
            ))
        );
        let optional = cli_facts(&source("Option<Command>"));
        assert_eq!(required_subcommand(&[&optional]), None);
    }

    /// Two programs of a package, each with a `Command` enum (the example's `products` and
    /// `products-admin`): the parser's subcommands are those of the enum in its own file.
    #[test]
    fn the_enum_beside_the_parser_lists_its_subcommands() {
        let admin = cli_facts("#[derive(Subcommand)]\nenum Command {\n    Info,\n}\n");
        let main = cli_facts(
            "#[derive(Parser)]\nstruct Cli {\n    #[command(subcommand)]\n    command: Command,\n}\n\
             #[derive(Subcommand)]\nenum Command {\n    List,\n    Health,\n}\n\
             fn main() { let cli = Cli::parse(); }\n",
        );
        assert_eq!(
            required_subcommand(&[&admin, &main]),
            Some(("Cli".to_string(), vec!["list".to_string(), "health".into()]))
        );
    }
}
