//! Derive macros for the catalog workspace.
//!
//! `#[derive(Describe)]` gives a struct with named fields three associated
//! functions, so the admin tooling can print a schema without reflection:
//!
//! * `type_name() -> &'static str` – the struct's name,
//! * `field_names() -> &'static [&'static str]` – its field names, in order,
//! * `describe() -> &'static str` – a one-line summary such as
//!   `Product { id: u32, name: String }`.
//!
//! Fields marked `#[describe(skip)]` are left out.
//!
//! The macro is written against `proc_macro` alone (no `syn`/`quote`): it only
//! needs the struct's name and fields, and avoiding `syn` keeps cold builds,
//! which this workspace does a lot of in Docker, noticeably shorter.
//!
//! The generated functions are inherent (not a trait impl) because a
//! proc-macro crate cannot export a trait, and we do not want a third crate
//! just to hold one.

use proc_macro::{Delimiter, Literal, Spacing, TokenStream, TokenTree};

/// Derives `type_name()`, `field_names()` and `describe()` for a struct.
#[proc_macro_derive(Describe, attributes(describe))]
pub fn derive_describe(input: TokenStream) -> TokenStream {
    match parse_struct(input) {
        Ok(item) => expand(&item),
        Err(msg) => compile_error(&msg),
    }
}

struct Field {
    name: String,
    ty: String,
}

struct Struct {
    name: String,
    fields: Vec<Field>,
}

fn expand(item: &Struct) -> TokenStream {
    let summary = if item.fields.is_empty() {
        item.name.clone()
    } else {
        let fields: Vec<String> = item
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.name, f.ty))
            .collect();
        format!("{} {{ {} }}", item.name, fields.join(", "))
    };
    let names: Vec<String> = item.fields.iter().map(|f| str_lit(&f.name)).collect();

    // Building the output as a string and re-parsing it is the usual way to
    // emit code without `quote`; all spans end up at the call site.
    format!(
        "#[automatically_derived]
        impl {ty} {{
            /// The name of this type.
            pub fn type_name() -> &'static str {{ {name} }}
            /// The names of the described fields, in declaration order.
            pub fn field_names() -> &'static [&'static str] {{ &[{names}] }}
            /// A one-line, human readable summary of the type's shape.
            pub fn describe() -> &'static str {{ {summary} }}
        }}",
        ty = item.name,
        name = str_lit(&item.name),
        names = names.join(", "),
        summary = str_lit(&summary),
    )
    .parse()
    .expect("generated code is valid Rust")
}

fn parse_struct(input: TokenStream) -> Result<Struct, String> {
    let mut tokens = input.into_iter().peekable();

    // Skip outer attributes and visibility until the `struct` keyword.
    loop {
        match tokens.next() {
            Some(TokenTree::Ident(id)) if id.to_string() == "struct" => break,
            Some(TokenTree::Ident(id)) if id.to_string() == "enum" || id.to_string() == "union" => {
                return Err(format!(
                    "#[derive(Describe)] only supports structs, not {id}s"
                ));
            }
            Some(_) => continue,
            None => return Err("#[derive(Describe)]: expected a struct".into()),
        }
    }

    let name = match tokens.next() {
        Some(TokenTree::Ident(id)) => id.to_string(),
        _ => return Err("#[derive(Describe)]: expected the struct's name".into()),
    };

    match tokens.next() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => Ok(Struct {
            name,
            fields: parse_fields(g.stream())?,
        }),
        Some(TokenTree::Punct(p)) if p.as_char() == ';' => Ok(Struct {
            name,
            fields: Vec::new(),
        }),
        Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
            Err("#[derive(Describe)] does not support generic structs".into())
        }
        Some(TokenTree::Ident(id)) if id.to_string() == "where" => {
            Err("#[derive(Describe)] does not support generic structs".into())
        }
        _ => Err("#[derive(Describe)] only supports structs with named fields".into()),
    }
}

/// Splits `a: T, #[attr] pub b: Vec<U>` into fields. Commas inside `<...>` are
/// plain punctuation (not a group), so angle-bracket depth is tracked by hand.
fn parse_fields(body: TokenStream) -> Result<Vec<Field>, String> {
    let mut fields = Vec::new();
    let mut tokens = body.into_iter().peekable();

    while tokens.peek().is_some() {
        let mut skip = false;
        // Attributes: `#` followed by a `[...]` group.
        while let Some(TokenTree::Punct(p)) = tokens.peek() {
            if p.as_char() != '#' {
                break;
            }
            tokens.next();
            if let Some(TokenTree::Group(g)) = tokens.next() {
                skip |= is_skip_attr(g.stream());
            }
        }
        // Visibility: `pub`, optionally followed by `(crate)` and friends.
        if let Some(TokenTree::Ident(id)) = tokens.peek() {
            if id.to_string() == "pub" {
                tokens.next();
                if let Some(TokenTree::Group(g)) = tokens.peek() {
                    if g.delimiter() == Delimiter::Parenthesis {
                        tokens.next();
                    }
                }
            }
        }
        let name = match tokens.next() {
            Some(TokenTree::Ident(id)) => id.to_string(),
            Some(other) => return Err(format!("#[derive(Describe)]: unexpected `{other}`")),
            None => break,
        };
        match tokens.next() {
            Some(TokenTree::Punct(p)) if p.as_char() == ':' => {}
            _ => return Err(format!("#[derive(Describe)]: expected `:` after `{name}`")),
        }

        let mut ty = Vec::new();
        let mut depth = 0usize;
        let mut prev_joint_minus = false;
        for tt in tokens.by_ref() {
            if let TokenTree::Punct(p) = &tt {
                match p.as_char() {
                    ',' if depth == 0 => break,
                    '<' => depth += 1,
                    // `->` in a fn-pointer type is not a closing angle bracket.
                    '>' if !prev_joint_minus => depth = depth.saturating_sub(1),
                    _ => {}
                }
                prev_joint_minus = p.as_char() == '-' && p.spacing() == Spacing::Joint;
            } else {
                prev_joint_minus = false;
            }
            ty.push(tt);
        }
        if !skip {
            fields.push(Field {
                name,
                ty: render(ty),
            });
        }
    }
    Ok(fields)
}

/// True for the contents of `#[describe(skip)]`.
fn is_skip_attr(attr: TokenStream) -> bool {
    let mut it = attr.into_iter();
    match (it.next(), it.next()) {
        (Some(TokenTree::Ident(id)), Some(TokenTree::Group(args)))
            if id.to_string() == "describe" =>
        {
            args.stream()
                .into_iter()
                .any(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "skip"))
        }
        _ => false,
    }
}

/// Renders type tokens compactly (`Vec<String>` rather than the
/// `Vec < String >` that `TokenStream::to_string` produces).
fn render(tokens: Vec<TokenTree>) -> String {
    let mut out = String::new();
    let mut prev_word = false;
    for tt in tokens {
        match tt {
            TokenTree::Ident(id) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&id.to_string());
                prev_word = true;
            }
            TokenTree::Literal(lit) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&lit.to_string());
                prev_word = true;
            }
            TokenTree::Punct(p) => {
                out.push(p.as_char());
                if matches!(p.as_char(), ',' | ';') {
                    out.push(' ');
                }
                // Put spaces around `->` in fn-pointer types (`fn(u8) -> u8`).
                prev_word = p.as_char() == '>' && out.ends_with("->");
                if prev_word {
                    out.insert(out.len() - 2, ' ');
                }
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                out.push_str(&render(g.stream().into_iter().collect()));
                out.push_str(close);
                prev_word = false;
            }
        }
    }
    out
}

fn str_lit(s: &str) -> String {
    Literal::string(s).to_string()
}

fn compile_error(msg: &str) -> TokenStream {
    format!("::core::compile_error!({});", str_lit(msg))
        .parse()
        .expect("compile_error! invocation is valid Rust")
}
