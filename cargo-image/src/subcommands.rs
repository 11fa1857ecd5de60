//! Whether a program's command line needs a subcommand (or arguments: [`RequiredArg`]),
//! read from its Rust sources: a
//! clap `#[derive(Parser)]` on an enum (rauthy's `Args { Serve(..), .. }`), or on a struct
//! whose `#[command(subcommand)]` field is not an `Option` (kanidmd's, garage's
//! structopt `Opt`; an `Option` one in a file that prints the usage without it, as
//! kellnr's), parsed by the program (`Args::parse()`, `Opt::from_args()`,
//! `Opt::from_clap(..)`, `Self::parse()` in `impl Args`, paw's `#[paw::main]` argument; in
//! a library, [`CliFacts::parsing_fns`] say which of its functions parse). Such a
//! program started with no arguments, as an image without `args` starts it, prints its
//! usage and exits; the planner says so before a build, with the subcommands to pick from.
//!
//! Subcommands are named as clap names them: after the variant, kebab-cased with acronyms
//! kept whole (`ExportHTTPConfig` → `export-http-config`), or as the enum's `rename_all`
//! or the variant's own `name = ".."` (lldap's `#[clap(name = "export_graphql_schema")]`)
//! say; `skip`, `external_subcommand` and `flatten` variants are none. Lines are read, not Rust
//! parsed: a derive split over several lines is not seen as written.

use std::collections::{BTreeMap, BTreeSet};

use crate::fields::{offset_in, struct_body, struct_fields, without_visibility, Field};

/// What one source file says about derived command lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CliFacts {
    /// Types deriving clap's `Parser` (or structopt's `StructOpt`) that need a subcommand,
    /// each with the enum that lists the subcommands (the type itself, for an enum).
    pub needs: BTreeMap<String, String>,
    /// Every enum's variants, kebab-cased as clap names the subcommands they become.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Types whose command line the file parses (`Args::parse()`, `Opt::from_args()`).
    pub parsed: BTreeSet<String>,
    /// The functions those parse calls are made in (kellnr's `settings::parse_cli`): a
    /// program that calls one parses that command line.
    pub parsing_fns: BTreeSet<String>,
    /// Flags of derived command lines that keep a program in the foreground
    /// (spotifyd's `#[arg(long)] no_daemon: bool`, `--no-daemon`): a program declaring
    /// one detaches by default.
    pub foreground_flags: BTreeSet<String>,
    /// The call that detaches the process into the background (`Daemonize::new`,
    /// `unistd::daemon`), if the file makes one.
    pub daemon_call: Option<String>,
    /// Types deriving `Parser` that cannot parse an empty command line, with the arguments
    /// they require (each a [`RequiredArg`]).
    pub required_args: BTreeMap<String, Vec<RequiredArg>>,
    /// Types deriving `Parser` whose configuration-file option defaults to an absolute
    /// path (hickory-dns's `--config`, `default_value = "/etc/named.toml"`): the option as
    /// shown and the path.
    pub config_defaults: BTreeMap<String, Vec<(String, String)>>,
}

/// An argument a derived command line cannot start without: a field that no default,
/// `Option`, `Vec` or `bool` makes optional (realworld's `#[clap(long, env)] database_url:
/// String`), or a required `ArgGroup`, any one of whose members does (rathole's `<CONFIG>`
/// or `--genkey`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequiredArg {
    /// As the usage shows it: `<CONFIG>`, `--database-url`; a group's members.
    pub names: Vec<String>,
    /// The environment variable that gives it instead (`env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// Fields of a derived command line that ask a program to stay in the foreground: one is
/// declared only where the default is to detach.
const FOREGROUND_FIELDS: &[&str] = &[
    "no_daemon",
    "no_daemonize",
    "nodaemon",
    "no_detach",
    "foreground",
    "no_fork",
    "no_background",
];

/// Calls that fork a process into the background and end the parent: a container's main
/// process doing so ends the container.
const DAEMON_CALLS: &[&str] = &[
    "Daemonize::new",
    "unistd::daemon",
    "libc::daemon",
    "fork::daemon",
];

/// The [`CliFacts`] of one source file (its test modules left out).
pub fn cli_facts(source: &str) -> CliFacts {
    let code = crate::reads::program_code(source);
    let lines: Vec<&str> = code.lines().map(str::trim).collect();
    let mut facts = CliFacts::default();
    // A file that prints its usage itself (kellnr's `None => Cli::command().print_help()`)
    // needs an `Option` subcommand as much as clap needs a required one.
    let prints_usage = ["print_help()", "print_long_help()"]
        .iter()
        .any(|call| code.contains(call));
    let mut parser = false;
    let mut rename = Rename::Kebab;
    // The attributes over the item on the next line (a field's `#[arg(long)]`).
    let mut attributes_above = String::new();
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
            attributes_above.push_str(&attribute);
            if attribute.starts_with("#[derive(") {
                parser |= attribute.contains("Parser") || attribute.contains("StructOpt");
            } else if let Some(how) = cli_attribute(&attribute)
                .and_then(|a| string_value(a, "rename_all"))
                .and_then(Rename::from_clap)
            {
                rename = how;
            }
        } else if !(line.is_empty() || line.starts_with("//")) {
            let item = without_visibility(line);
            if let Some(flag) = foreground_flag(item, &attributes_above) {
                facts.foreground_flags.insert(flag);
            }
            let above = std::mem::take(&mut attributes_above);
            if let Some(rest) = item.strip_prefix("enum ") {
                let name = ident(rest);
                let (variants, end) = enum_variants(&lines, i, rename);
                if parser {
                    facts.needs.insert(name.clone(), name.clone());
                }
                facts.enums.insert(name, variants);
                i = end;
            } else if let Some(rest) = item.strip_prefix("struct ") {
                let body = parser
                    .then(|| struct_body(&code, offset_in(&code, item)))
                    .flatten();
                if let Some(body) = body {
                    let fields = struct_fields(body);
                    if let Some(ty) = subcommand_type(&fields, prints_usage) {
                        facts.needs.insert(ident(rest), ty);
                    }
                    let (required, configs) = required_args(&fields, &above);
                    if !required.is_empty() {
                        facts.required_args.insert(ident(rest), required);
                    }
                    if !configs.is_empty() {
                        facts.config_defaults.insert(ident(rest), configs);
                    }
                }
            }
            parser = false;
            rename = Rename::Kebab;
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
            // `Self::parse()` in an `impl Args` (sozu's `Args::load`).
            let name = if name == "Self" {
                enclosing_impl(&code[..at]).unwrap_or_default()
            } else {
                name.to_string()
            };
            if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                facts.parsed.insert(name);
                if let Some(f) = code[..at].rfind("fn ") {
                    facts.parsing_fns.insert(ident(&code[f + 3..]));
                }
            }
        }
    }
    facts.daemon_call = DAEMON_CALLS
        .iter()
        .find(|call| crate::reads::in_code(&code, &format!("{call}(")))
        .map(|call| call.to_string());
    // paw's `#[paw::main] fn main(args: Args)` parses its argument's type.
    if let Some(at) = code.find("#[paw::main]") {
        let after = &code[at..];
        if let Some(ty) = after
            .find("fn main(")
            .and_then(|f| after[f..].split_once(':'))
            .map(|(_, rest)| ident(rest.trim_start()))
        {
            facts.parsed.insert(ty);
        }
    }
    facts
}

/// The type of the last `impl` block opened before the end of `code`: `Args` for
/// `impl Args {` and `impl clap::Parser for Args {`.
pub(crate) fn enclosing_impl(code: &str) -> Option<String> {
    let line = code
        .lines()
        .map(str::trim_start)
        .rfind(|l| l.starts_with("impl ") || l.starts_with("impl<"))?;
    let head = line.split('{').next()?.split(" where ").next()?;
    let ty = head.rsplit_once(" for ").map_or_else(
        || {
            // `impl<T: X> Args<T>`: past the generics.
            let rest = head.strip_prefix("impl").unwrap_or(head);
            let rest = match rest.strip_prefix('<') {
                Some(generics) => {
                    let mut depth = 1;
                    let end = generics
                        .char_indices()
                        .find(|(_, c)| {
                            depth += match c {
                                '<' => 1,
                                '>' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map_or(generics.len(), |(i, _)| i + 1);
                    &generics[end..]
                }
                None => rest,
            };
            rest.trim().to_string()
        },
        |(_, ty)| ty.trim().to_string(),
    );
    let ty = ty.rsplit("::").next().unwrap_or(&ty);
    Some(ident(ty))
}

/// The first command line `facts` (a package's files) parse for which `get` gives
/// something, with the index in `facts` of the file declaring it. A type is looked up in
/// the file that parses it first: crates.io's `main.rs` parses its own `Command`, and an
/// admin module declares another.
fn parsed_with<'a, T>(
    facts: &[&'a CliFacts],
    get: impl Fn(&'a CliFacts, &str) -> Option<&'a T>,
) -> Option<(&'a String, &'a T, usize)> {
    facts
        .iter()
        .enumerate()
        .flat_map(|(at, f)| f.parsed.iter().map(move |p| (at, p)))
        .find_map(|(at, p)| {
            std::iter::once(at)
                .chain(0..facts.len())
                .find_map(|i| get(facts[i], p).map(|e| (p, e, i)))
        })
}

/// The command line `facts` parse when it needs something to start: required arguments
/// ([`CliFacts::required_args`]) or a configuration file at an absolute path
/// ([`CliFacts::config_defaults`]). The parsed type and the index in `facts` of the file
/// declaring it, whose facts hold both.
pub fn needing_arguments(facts: &[&CliFacts]) -> Option<(String, usize)> {
    let (ty, _, declared) = parsed_with(facts, |f, p| {
        (f.required_args.contains_key(p) || f.config_defaults.contains_key(p)).then_some(&())
    })?;
    Some((ty.clone(), declared))
}

/// The command line `facts` (a package's files) parse, when it needs a subcommand: the
/// parsed type, the index in `facts` of the file declaring it, and its subcommands (empty
/// when the enum is not among the files).
pub fn required_subcommand(facts: &[&CliFacts]) -> Option<(String, usize, Vec<String>)> {
    let (ty, list, declared) = parsed_with(facts, |f, p| f.needs.get(p))?;
    // The enum beside the parser first: two programs of a package may each have a
    // `Command` (the example's `products` and `products-admin`).
    let variants = std::iter::once(declared)
        .chain(0..facts.len())
        .find_map(|i| facts[i].enums.get(list))
        .cloned()
        .unwrap_or_default();
    Some((ty.clone(), declared, variants))
}

/// Whether an attribute's text so far leaves a bracket or parenthesis open.
fn unbalanced(attribute: &str) -> bool {
    let count = |c: char| attribute.matches(c).count();
    count('[') != count(']') || count('(') != count(')')
}

/// The long flag a `bool` field among [`FOREGROUND_FIELDS`] becomes, given the attributes
/// above it: clap's `#[arg(long)]` (or `#[clap(long)]`, structopt's) makes `no_daemon`
/// `--no-daemon`, `long = "fg"` makes `--fg`; a field without `long` is no such flag.
fn foreground_flag(item: &str, attributes: &str) -> Option<String> {
    let (name, ty) = item.split_once(':')?;
    let name = name.trim();
    if !FOREGROUND_FIELDS.contains(&name) || ty.trim().trim_end_matches(',') != "bool" {
        return None;
    }
    let arguments = ["#[arg(", "#[clap(", "#[structopt("]
        .iter()
        .filter_map(|a| attributes.find(a).map(|at| &attributes[at + a.len()..]))
        .find(|a| {
            // `help = "long running"` is no flag.
            code_words(a).any(|w| w == "long")
        })?;
    let long = string_value(arguments, "long").unwrap_or_else(|| name.replace('_', "-"));
    Some(format!("--{long}"))
}

/// The words of attribute arguments outside their string literals: `long` in
/// `long, help = "a long option"`, but not the `long` of the help text.
fn code_words(arguments: &str) -> impl Iterator<Item = &str> {
    arguments
        .split('"')
        .step_by(2)
        .flat_map(|code| code.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
}

/// The identifier `text` starts with.
fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The subcommands the variants of the enum declared on line `start` become (see the
/// module's doc), and the line its body closes on.
fn enum_variants(lines: &[&str], start: usize, rename: Rename) -> (Vec<String>, usize) {
    let mut variants = Vec::new();
    let mut depth = 0i32;
    // The variant's own attributes so far (over as many lines as they take).
    let mut attributes = String::new();
    let mut open = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        if depth == 1 && (open || line.starts_with("#[")) {
            attributes.push_str(line);
            open = unbalanced(&attributes);
        } else if depth == 1 && line.starts_with(|c: char| c.is_ascii_uppercase()) {
            let own = cli_attribute(&attributes);
            // `about = "skip it"` skips nothing.
            let skipped = own.is_some_and(|a| {
                code_words(a).any(|word| matches!(word, "skip" | "external_subcommand" | "flatten"))
            });
            if !skipped {
                let named = own.and_then(|a| string_value(a, "name"));
                variants.push(named.unwrap_or_else(|| rename.apply(&ident(line))));
            }
            attributes.clear();
        } else if depth == 1 && !line.starts_with("//") {
            attributes.clear();
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if depth <= 0 && i > start {
            return (variants, i);
        }
    }
    (variants, lines.len())
}

/// The arguments of the clap (or structopt) attributes among `attributes`, one after
/// another: what `name`, `rename_all` or `skip` may be set in.
fn cli_attribute(attributes: &str) -> Option<&str> {
    ["#[command(", "#[clap(", "#[structopt("]
        .iter()
        .filter_map(|a| attributes.find(a).map(|at| &attributes[at + a.len()..]))
        .next()
}

/// The string `key = "value"` sets in an attribute's arguments (`name` is not matched
/// inside `bin_name`).
fn string_value(arguments: &str, key: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = arguments[from..].find(key).map(|at| from + at) {
        from = at + key.len();
        let before = arguments[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = arguments[from..].trim_start();
        if let Some(value) = rest.strip_prefix('=').map(str::trim_start) {
            let value = value.strip_prefix('"')?;
            return value.find('"').map(|end| value[..end].to_string());
        }
    }
    None
}

/// How clap names a subcommand after its variant: `rename_all` on the enum.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rename {
    Kebab,
    Snake,
    ScreamingSnake,
    Lower,
    Upper,
    Verbatim,
}

impl Rename {
    /// The `rename_all = ".."` value, compared as clap compares it (case, `_` and `-`
    /// aside: `"snake_case"`, `"SCREAMING_SNAKE_CASE"`), when it is one we name (camel and
    /// Pascal case are rare on a command line: those keep the default).
    fn from_clap(value: String) -> Option<Self> {
        let style: String = value
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        let style = style.strip_suffix("case").unwrap_or(&style);
        Some(match style {
            "kebab" => Self::Kebab,
            "snake" => Self::Snake,
            "screamingsnake" => Self::ScreamingSnake,
            "lower" => Self::Lower,
            "upper" => Self::Upper,
            "verbatim" => Self::Verbatim,
            _ => return None,
        })
    }

    fn apply(self, variant: &str) -> String {
        let words = words(variant);
        match self {
            Self::Kebab => words.join("-"),
            Self::Snake => words.join("_"),
            Self::ScreamingSnake => words.join("_").to_ascii_uppercase(),
            Self::Lower => variant.to_ascii_lowercase(),
            Self::Upper => variant.to_ascii_uppercase(),
            Self::Verbatim => variant.to_string(),
        }
    }
}

/// A variant's words, lower-cased, split as clap's case conversion (heck) splits them: at
/// a lower-to-upper step, and before the last capital of a run that a lower-case letter
/// follows, so acronyms stay whole (`ExportHTTPConfig` → export, http, config;
/// `GraphQLSchema` → graph, ql, schema). A digit belongs to the letters before it
/// (`Upgrade2Db` → upgrade2, db).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    // The case of the last letter, which digits carry on.
    let mut lower = None;
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' {
            words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            lower = None;
            continue;
        }
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let boundary =
            c.is_uppercase() && (lower == Some(true) || (lower == Some(false) && next_lower));
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphabetic() {
            lower = Some(c.is_lowercase());
        }
        word.extend(c.to_lowercase());
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// The type of a parser struct's subcommand field (`#[command(subcommand)]`), unless it
/// is an `Option` (then none is needed, unless the file prints its usage: `prints_usage`).
fn subcommand_type(fields: &[Field], prints_usage: bool) -> Option<String> {
    let field = fields.iter().find(|f| {
        cli_attribute(&f.attributes).is_some_and(|a| code_words(a).any(|w| w == "subcommand"))
    })?;
    match field.ty.strip_prefix("Option<") {
        Some(inner) => prints_usage.then(|| ident(inner)),
        None => Some(ident(field.ty)),
    }
}

/// The arguments a parser struct (its `fields`, its own attributes `above`) requires:
/// each field that clap makes required, and each required `ArgGroup`; with the options
/// that default to a configuration file's absolute path.
fn required_args(fields: &[Field], above: &str) -> (Vec<RequiredArg>, Vec<(String, String)>) {
    let fields: Vec<ArgField> = fields.iter().filter_map(arg_field).collect();
    let mut required: Vec<RequiredArg> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| RequiredArg {
            names: vec![f.shown.clone()],
            env: f.env.clone(),
        })
        .collect();
    let configs = fields
        .iter()
        .filter_map(|f| {
            let path = f.default.as_ref().filter(|d| d.starts_with('/'))?;
            let named = [&f.id, &f.shown]
                .iter()
                .any(|n| n.to_ascii_lowercase().contains("conf"));
            named.then(|| (f.shown.clone(), path.clone()))
        })
        .collect();
    // `ArgGroup::new("cmds").required(true).args(&["CONFIG", "genkey"])`.
    for group in above.split("ArgGroup::new(").skip(1) {
        let group = group.split(")]").next().unwrap_or(group);
        let compact: String = group.chars().filter(|c| !c.is_whitespace()).collect();
        if !compact.contains(".required(true)") {
            continue;
        }
        let Some(members) = compact.split_once(".args(").map(|(_, m)| m) else {
            continue;
        };
        let members = members.split(')').next().unwrap_or(members);
        let names: Vec<String> = members
            .split('"')
            .skip(1)
            .step_by(2)
            .map(|id| {
                fields
                    .iter()
                    .find(|f| f.id == id)
                    .map_or_else(|| id.to_string(), |f| f.shown.clone())
            })
            .collect();
        if !names.is_empty() {
            required.push(RequiredArg { names, env: None });
        }
    }
    (required, configs)
}

/// One field of a parser struct ([`arg_field`]).
struct ArgField {
    /// `name = ".."` or the field's name.
    id: String,
    /// As the usage shows it: `--database-url`, `<CONFIG>`.
    shown: String,
    /// The variable that gives it (`env`).
    env: Option<String>,
    /// Whether clap requires it.
    required: bool,
    /// Its `default_value` string, if any.
    default: Option<String>,
}

/// One field of a parser struct, as clap reads its attributes. None for a subcommand, a
/// flattened struct or a skipped field.
fn arg_field(field: &Field) -> Option<ArgField> {
    let (name, ty, attributes) = (field.name, field.ty, &field.attributes);
    // Every clap attribute's arguments, one after another, also those `cfg_attr` applies
    // (static-web-server's `#[cfg_attr(not(target_family = "wasm"), arg(long, ..))]`).
    let arguments: String = ["arg(", "clap(", "structopt(", "command("]
        .iter()
        .flat_map(|a| {
            attributes.match_indices(a).filter_map(|(at, _)| {
                let before = attributes[..at].chars().next_back();
                let own = !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
                own.then(|| &attributes[at + a.len()..])
            })
        })
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = code_words(&arguments).collect();
    let has = |w: &str| words.contains(&w);
    if has("subcommand") || has("flatten") || has("skip") {
        return None;
    }
    let id = string_value(&arguments, "name")
        .or_else(|| string_value(&arguments, "id"))
        .unwrap_or_else(|| name.to_string());
    let shown = if has("long") {
        let long = string_value(&arguments, "long").unwrap_or_else(|| name.replace('_', "-"));
        format!("--{long}")
    } else if has("short") {
        format!("-{}", name.chars().next().unwrap_or('?'))
    } else {
        let value = string_value(&arguments, "value_name").unwrap_or_else(|| id.to_uppercase());
        format!("<{value}>")
    };
    let env = has("env")
        .then(|| string_value(&arguments, "env").unwrap_or_else(|| name.to_ascii_uppercase()));
    let compact: String = arguments.chars().filter(|c| !c.is_whitespace()).collect();
    let optional = ty.starts_with("Option<")
        || ty.starts_with("Vec<")
        || ty == "bool"
        || words.iter().any(|w| {
            w.starts_with("default_value")
                || ["default_values", "Count", "from_occurrences", "SetTrue"].contains(w)
        });
    let required =
        compact.contains("required=true") || (!optional && !compact.contains("required=false"));
    Some(ArgField {
        id,
        shown,
        env,
        required,
        default: string_value(&arguments, "default_value"),
    })
}

#[cfg(test)]
mod tests {
    use super::{cli_facts, required_subcommand, RequiredArg};

    /// rathole's shape (a positional `CONFIG` or `--genkey`, one of which a required
    /// `ArgGroup` asks for) and realworld's (`#[clap(long, env)]` fields of type `String`);
    /// not arguments that a default (static-web-server's, under `cfg_attr`), `Option`,
    /// `Vec`, `bool`, a count or `required = false` makes optional, nor subcommands,
    /// flattened structs or skipped fields.
    #[test]
    fn required_arguments_of_a_derived_command_line() {
        let rathole = cli_facts(
            "#[derive(Parser, Debug, Default, Clone)]\n#[clap(about, version)]\n\
             #[clap(group(\n            ArgGroup::new(\"cmds\")\n                \
             .required(true)\n                .args(&[\"CONFIG\", \"genkey\"]),\n        ))]\n\
             pub struct Cli {\n    /// The path to the configuration file\n    \
             #[clap(parse(from_os_str), name = \"CONFIG\")]\n    \
             pub config_path: Option<std::path::PathBuf>,\n    #[clap(long, short, group = \"mode\")]\n    \
             pub server: bool,\n    #[clap(long, arg_enum, value_name = \"CURVE\")]\n    \
             pub genkey: Option<Option<KeypairType>>,\n}\nfn main() {\n    let args = Cli::parse();\n}\n",
        );
        let want = |names: &[&str], env: Option<&str>| RequiredArg {
            names: names.iter().map(|n| n.to_string()).collect(),
            env: env.map(String::from),
        };
        assert_eq!(
            rathole.required_args.get("Cli"),
            Some(&vec![want(&["<CONFIG>", "--genkey"], None)])
        );
        let realworld = cli_facts(
            "#[derive(clap::Parser)]\npub struct Config {\n    /// The connection URL\n    \
             #[clap(long, env)]\n    pub database_url: String,\n    #[clap(long, env = \"APP_KEY\")]\n    \
             pub hmac_key: String,\n    #[clap(long, env, default_value_t = 8080)]\n    pub port: u16,\n    \
             #[arg(short, long, action = clap::ArgAction::Count)]\n    verbose: u8,\n    \
             #[arg(long)]\n    tags: Vec<String>,\n    #[arg(long, required = false)]\n    \
             mode: String,\n    #[command(subcommand)]\n    command: Option<Command>,\n    \
             #[command(flatten)]\n    log: LogArgs,\n    #[arg(skip)]\n    cache: Cache,\n    \
             #[cfg_attr(\n        not(target_family = \"wasm\"),\n        arg(long, short = 'n', \
             default_value = \"1\")\n    )]\n    threads_multiplier: usize,\n    \
             input: PathBuf,\n}\n",
        );
        assert_eq!(
            realworld.required_args.get("Config"),
            Some(&vec![
                want(&["--database-url"], Some("DATABASE_URL")),
                want(&["--hmac-key"], Some("APP_KEY")),
                want(&["<INPUT>"], None),
            ])
        );
        // hickory-dns's configuration file, defaulting to an absolute path; not a relative
        // one, nor another option's absolute default.
        let hickory = cli_facts(
            "#[derive(Debug, Parser)]\nstruct Cli {\n    /// Path to configuration file\n    \
             #[clap(\n        short = 'c',\n        long = \"config\",\n        \
             default_value = \"/etc/named.toml\",\n    )]\n    config: PathBuf,\n    \
             #[clap(long, default_value = \"/var/named\")]\n    zonedir: PathBuf,\n    \
             #[clap(long, default_value = \"conf.d\")]\n    conf_dir: PathBuf,\n}\n",
        );
        assert!(hickory.required_args.is_empty(), "{hickory:?}");
        assert_eq!(
            hickory.config_defaults.get("Cli"),
            Some(&vec![(
                "--config".to_string(),
                "/etc/named.toml".to_string()
            )])
        );
        // Not a parser: a settings struct with the same fields.
        let settings =
            cli_facts("#[derive(Deserialize)]\nstruct Settings {\n    config: PathBuf,\n}\n");
        assert!(settings.required_args.is_empty(), "{settings:?}");
    }

    /// spotifyd's shape: `Daemonize::new()` in `main.rs`, and a `no_daemon` flag on the
    /// derived command line; a flag's own name, `long = ".."`, wins over the field's.
    #[test]
    fn a_foreground_flag_and_a_daemon_call_are_read() {
        let config = cli_facts(
            "#[derive(Parser)]\npub struct CliConfig {\n    /// Prints more\n    \
             #[arg(short, long, global = true)]\n    pub verbose: u8,\n\n    \
             /// If set, starts without detaching\n    #[arg(long)]\n    pub no_daemon: bool,\n    \
             #[clap(\n        long = \"fg\",\n    )]\n    foreground: bool,\n}\n",
        );
        assert_eq!(
            config.foreground_flags.iter().collect::<Vec<_>>(),
            ["--fg", "--no-daemon"]
        );
        assert_eq!(config.daemon_call, None);
        let main = cli_facts(
            "use daemonize::Daemonize;\nfn main() {\n    let d = Daemonize::new();\n    \
             d.start().unwrap();\n}\n",
        );
        assert_eq!(main.daemon_call.as_deref(), Some("Daemonize::new"));
        let nix = cli_facts("fn main() {\n    nix::unistd::daemon(false, false).unwrap();\n}\n");
        assert_eq!(nix.daemon_call.as_deref(), Some("unistd::daemon"));
    }

    /// Not a foreground flag: a field no `long` makes a flag (a config struct's), one of
    /// another type, `long` only inside a help string, a `--daemon` opt-in; and no call in
    /// a comment, a string or another function's name.
    #[test]
    fn lookalikes_are_no_foreground_flag_or_daemon_call() {
        let facts = cli_facts(
            "#[derive(Deserialize)]\nstruct Config {\n    no_daemon: bool,\n}\n\
             #[derive(Parser)]\nstruct Args {\n    #[arg(long)]\n    foreground: Option<String>,\n    \
             #[arg(help = \"a long option\")]\n    no_fork: bool,\n    #[arg(long)]\n    \
             daemon: bool,\n}\n\
             // Daemonize::new() is not called here\n\
             fn f() { let s = \"libc::daemon(0, 0)\"; my_Daemonize::new(); }\n",
        );
        assert!(facts.foreground_flags.is_empty(), "{facts:?}");
        assert_eq!(facts.daemon_call, None);
    }

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
                0,
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

    /// pict-rs's `pub(super) struct Args`: the visibility's parenthesis opens no tuple
    /// struct.
    #[test]
    fn a_restricted_visibility_struct_is_read_whole() {
        let args = cli_facts(
            "#[derive(Debug, Parser)]\n#[command(author, version)]\npub(super) struct Args {\n    \
             #[arg(short, long)]\n    config_file: Option<PathBuf>,\n\n    \
             #[command(subcommand)]\n    command: Command,\n}\n\n\
             #[derive(Debug, Subcommand)]\nenum Command {\n    /// Runs the server\n    \
             Run(Run),\n    MigrateStore(MigrateStore),\n}\n\
             pub(crate) fn configure() { let out = Args::parse().into_output(); }\n",
        );
        assert_eq!(
            required_subcommand(&[&args]),
            Some((
                "Args".to_string(),
                0,
                vec!["run".to_string(), "migrate-store".into()]
            ))
        );
        assert!(args.parsing_fns.contains("configure"));
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
                0,
                vec!["server".to_string(), "status".into()]
            ))
        );
        let optional = cli_facts(&source("Option<Command>"));
        assert_eq!(required_subcommand(&[&optional]), None);
    }

    /// lldap's shape (and acronyms clap keeps whole): subcommands named as clap names them.
    #[test]
    fn subcommands_are_named_as_clap_names_them() {
        let source = |rename_all: &str| {
            format!(
                "#[derive(Parser)]\n{rename_all}enum Command {{\n    \
                 #[clap(name = \"export_graphql_schema\")]\n    ExportGraphQLSchema,\n    \
                 #[command(\n        about = \"Run\",\n        name = \"serve\",\n    )]\n    \
                 Run(RunOpts),\n    /// Checks the HTTP health\n    HealthCheck,\n    \
                 ExportHTTPConfig,\n    #[command(about = \"skip it\")]\n    Upgrade2Db,\n    #[command(skip)]\n    Hidden,\n    \
                 #[command(external_subcommand)]\n    Other(Vec<String>),\n    \
                 #[command(bin_name = \"x\")]\n    Status,\n}}\n\
                 fn main() {{ Command::parse(); }}\n"
            )
        };
        let subcommands = |rename_all: &str| {
            required_subcommand(&[&cli_facts(&source(rename_all))])
                .map(|(_, _, list)| list)
                .unwrap_or_default()
        };
        assert_eq!(
            subcommands(""),
            [
                "export_graphql_schema",
                "serve",
                "health-check",
                "export-http-config",
                "upgrade2-db",
                "status"
            ]
        );
        assert_eq!(
            subcommands("#[command(rename_all = \"snake_case\")]\n"),
            [
                "export_graphql_schema",
                "serve",
                "health_check",
                "export_http_config",
                "upgrade2_db",
                "status"
            ]
        );
        assert_eq!(
            subcommands("#[clap(rename_all = \"lower\")]\n")[2..5],
            ["healthcheck", "exporthttpconfig", "upgrade2db"]
        );
        assert_eq!(
            subcommands("#[clap(rename_all = \"SCREAMING_SNAKE_CASE\")]\n")[2..5],
            ["HEALTH_CHECK", "EXPORT_HTTP_CONFIG", "UPGRADE2_DB"]
        );
        // Digits after a capital, as clap 4 names them (checked against its `--help`).
        let kebab = |v: &str| super::Rename::Kebab.apply(v);
        assert_eq!(
            ["V2Api", "Abc2D", "HTTP2Server", "GraphQL"].map(kebab),
            ["v2-api", "abc2-d", "http2-server", "graph-ql"]
        );
    }

    /// crates.io's shape: `main.rs` parses its own `Command`, and an admin module (first in
    /// the file order) declares another; sozu's `Self::parse()` in `impl Args`, and paw's
    /// `#[paw::main]` argument; kellnr's `Option` subcommand whose absence prints usage.
    #[test]
    fn the_parsed_command_line_is_found_where_it_is_parsed() {
        let admin = cli_facts("#[derive(clap::Parser)]\npub enum Command {\n    Cleanup,\n}\n");
        let main = cli_facts(
            "mod admin;\n#[derive(clap::Parser)]\nenum Command {\n    Server,\n    \
             #[command(flatten)]\n    Admin(admin::Command),\n    Migrate,\n}\n\
             fn main() { match Command::parse() { _ => {} } }\n",
        );
        assert_eq!(
            required_subcommand(&[&admin, &main]),
            Some((
                "Command".to_string(),
                1,
                vec!["server".to_string(), "migrate".into()]
            ))
        );
        let args = "#[derive(Parser)]\nstruct Args {\n    #[clap(subcommand)]\n    cmd: Sub,\n}\n\
                    #[derive(Subcommand)]\nenum Sub {\n    Start,\n}\n";
        for parse in [
            "impl Args {\n    fn load() -> Self {\n        Self::parse()\n    }\n}\n",
            "impl<T: Copy> paw::ParseArgs for Args {\n    fn parse_args() -> Self {\n        \
             Self::from_arg_matches(&m)\n    }\n}\n",
            "#[paw::main]\nfn main(args: Args) {}\n",
        ] {
            let facts = cli_facts(&format!("{args}{parse}"));
            assert_eq!(
                required_subcommand(&[&facts]).map(|(ty, _, list)| (ty, list)),
                Some(("Args".to_string(), vec!["start".to_string()])),
                "{parse}"
            );
        }
        let optional = |none: &str| {
            cli_facts(&format!(
                "#[derive(Parser)]\nstruct Cli {{\n    #[command(subcommand)]\n    \
                 command: Option<Command>,\n}}\n#[derive(Subcommand)]\nenum Command {{\n    \
                 Start,\n}}\nfn main() {{\n    match Cli::parse().command {{\n        \
                 None => {{ {none} }}\n        Some(Command::Start) => {{}}\n    }}\n}}\n"
            ))
        };
        let usage = optional("Cli::command().print_help().ok();");
        assert_eq!(
            required_subcommand(&[&usage]).map(|(_, _, list)| list),
            Some(vec!["start".to_string()])
        );
        assert_eq!(required_subcommand(&[&optional("serve();")]), None);
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
            Some((
                "Cli".to_string(),
                1,
                vec!["list".to_string(), "health".into()]
            ))
        );
    }
}
