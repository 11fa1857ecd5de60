//! Struct fields read from Rust source as lines, not parsed, each with the attributes
//! above it: the one reader behind the server-settings ports and loopback defaults
//! ([`crate::listen`]) and the derived command lines ([`crate::subcommands`]).

/// One field of a struct's body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// `port` of `pub(crate) port: u16,`.
    pub name: &'a str,
    /// `u16`: the type as written, without the comma after it.
    pub ty: &'a str,
    /// The attributes above it, one after another, each line trimmed and followed by a
    /// space (`#[arg(long)] #[serde(default)] `).
    pub attributes: String,
}

/// How many more `[` than `]` a text has: an attribute is open while the count is above 0.
fn brackets(text: &str) -> i32 {
    text.matches('[').count() as i32 - text.matches(']').count() as i32
}

/// The fields of a struct's body (the text between its braces), in order.
pub(crate) fn struct_fields(body: &str) -> Vec<Field<'_>> {
    declarations(body)
        .filter_map(|(line, attributes)| {
            let (name, ty) = field(line)?;
            Some(Field {
                name,
                ty,
                attributes,
            })
        })
        .collect()
}

/// Each line of `text` that declares something (not an attribute, a blank line or a
/// comment), trimmed, with the attributes above it. Lazy: [`attribute_field`] reads one.
fn declarations(text: &str) -> impl Iterator<Item = (&str, String)> {
    let mut attributes = String::new();
    let mut depth = 0i32;
    text.lines().map(str::trim).filter_map(move |line| {
        if depth > 0 || line.starts_with("#[") {
            depth += brackets(line);
            attributes.push_str(line);
            attributes.push(' ');
            None
        } else if line.is_empty() || line.starts_with("//") {
            None
        } else {
            Some((line, std::mem::take(&mut attributes)))
        }
    })
}

/// The body of the struct whose declaration starts at `at` in `code` (the text between its
/// braces); none for a tuple or unit struct.
pub(crate) fn struct_body(code: &str, at: usize) -> Option<&str> {
    let open = at + code[at..].find(['{', ';', '('])?;
    if code.as_bytes()[open] != b'{' {
        return None;
    }
    let close = crate::reads::closing(code, open, b'{', b'}')?;
    Some(&code[open + 1..close])
}

/// The attribute that byte `at` of `code` is inside (`#[` to its closing `]`, as written)
/// and the name of the field it sits on: the first declaration after it, past other
/// attributes, blank lines and comments (`interface` under
/// `#[arg(long, default_value = "127.0.0.1")]`). None outside an attribute.
pub(crate) fn attribute_field(code: &str, at: usize) -> Option<(&str, &str)> {
    let start = code[..at].rfind("#[")?;
    if brackets(&code[start..at]) <= 0 {
        return None;
    }
    // The `]` that closes the `#[`.
    let mut depth = 0i32;
    let end = start
        + code[start..].find(|c| {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            depth == 0 && c == ']'
        })?;
    let name = declarations(&code[end + 1..])
        .next()
        .and_then(|(line, _)| field(line))
        .map_or("", |(name, _)| name);
    Some((&code[start..=end], name))
}

/// The name and type a field's line declares: `pub(crate) port: u16,` → `port`, `u16`.
pub(crate) fn field(line: &str) -> Option<(&str, &str)> {
    let (name, ty) = without_visibility(line.trim()).split_once(':')?;
    let name = name.trim();
    let ident = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    ident.then(|| (name, ty.trim().trim_end_matches(',').trim()))
}

/// `line` without a leading `pub`, `pub(crate)` and the like.
pub(crate) fn without_visibility(line: &str) -> &str {
    match line.strip_prefix("pub") {
        Some(rest) if rest.starts_with('(') => rest
            .split_once(')')
            .map_or(line, |(_, after)| after.trim_start()),
        Some(rest) if rest.starts_with(' ') => rest.trim_start(),
        _ => line,
    }
}

/// Where `part`, a slice of `code` (a line of `code.lines()`, trimmed or not), starts in it.
pub(crate) fn offset_in(code: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize).wrapping_sub(code.as_ptr() as usize);
    debug_assert!(offset <= code.len(), "not a slice of the code");
    offset.min(code.len())
}

#[cfg(test)]
mod tests {
    use super::{attribute_field, field, struct_body, struct_fields};

    /// Attributes over one line or several, doc comments and visibility; a line that
    /// declares no field drops the attributes gathered for it.
    #[test]
    fn fields_with_their_attributes() {
        let code = "struct Args {\n    /// Where to listen.\n    #[arg(\n        long,\n        \
                    default_value = \"127.0.0.1:8080\",\n    )]\n    #[serde(default)]\n    \
                    pub(crate) bind: String,\n\n    // plain\n    port: u16,\n    \
                    #[cfg(unix)]\n    }\n";
        let body = struct_body(code, 0).expect("a braced struct");
        assert!(body.ends_with("#[cfg(unix)]\n    "), "{body:?}");
        let fields = struct_fields(body);
        let names: Vec<_> = fields.iter().map(|f| (f.name, f.ty)).collect();
        assert_eq!(names, [("bind", "String"), ("port", "u16")]);
        assert_eq!(
            fields[0].attributes,
            "#[arg( long, default_value = \"127.0.0.1:8080\", )] #[serde(default)] "
        );
        assert_eq!(fields[1].attributes, "");

        let at = code.find("127.0.0.1").expect("literal");
        let (attribute, name) = attribute_field(code, at).expect("inside the attribute");
        assert!(attribute.starts_with("#[arg(") && attribute.ends_with(")]"));
        assert_eq!(name, "bind");
        assert_eq!(
            attribute_field(code, code.find("port").expect("field")),
            None
        );
        assert_eq!(struct_body("struct Unit;\nstruct T(u8);", 0), None);
        assert_eq!(
            field("pub port: std::net::SocketAddr,"),
            Some(("port", "std::net::SocketAddr"))
        );
        assert_eq!(field("Serve(ServeArgs),"), None);
    }
}
