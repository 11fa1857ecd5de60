//! Loopback addresses a program listens on, found in its Rust sources: a literal
//! `"127.0.0.1:.."` or `"localhost"` on a line that binds or listens
//! (`TcpListener::bind(&format!("127.0.0.1:{}", port))`, mini-redis's server;
//! actix's `.bind(("127.0.0.1", 8080))`), or a command-line default on an address field
//! (`#[arg(long, default_value = "127.0.0.1")] interface`, zola's `serve`). In a container
//! such a service answers only itself: a published port reaches nothing, while its
//! healthcheck, run inside, passes. The planner says so for the images that compile it.
//!
//! Lines are read, not Rust parsed: an address kept in a constant, built from
//! `[127, 0, 0, 1]`, or read from a configuration file is not seen.

use crate::reads::{literals, program_code};

/// One loopback address a source listens on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Loopback {
    /// The literal as written.
    pub literal: String,
    /// The command-line option it is the default of (`default_value` on the field
    /// `interface`): `args` can change it; `None`, the code must.
    pub option: Option<String>,
}

fn is_loopback(literal: &str) -> bool {
    ["127.0.0.1", "localhost", "[::1]", "::1"]
        .iter()
        .any(|host| {
            literal
                .strip_prefix(host)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
        })
}

/// Whether the bind of `literal` (`rest` is the code from it on) only asks the system for a
/// free port: port 0, or a statement that takes the listener's `.local_addr()` and drops it
/// (ord's `TcpListener::bind("127.0.0.1:9000").ok().map(|l| l.local_addr().unwrap().port())`
/// picks ports for programs it starts; its server listens elsewhere).
fn port_probe(rest: &str, literal: &str) -> bool {
    let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
    literal.ends_with(":0")
        || (statement.contains(".local_addr()") && statement.contains(".port()"))
}

/// The loopback addresses `source` listens on (its test modules left out), in order.
pub fn loopback_listens(source: &str) -> Vec<Loopback> {
    let code = program_code(source);
    let mut out: Vec<Loopback> = Vec::new();
    for (at, literal) in literals(&code) {
        if !is_loopback(literal) {
            continue;
        }
        let start = code[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = code[at..].find('\n').map_or(code.len(), |i| at + i);
        let line = code[start..end].to_ascii_lowercase();
        let (listens, option) = if line.contains("default_value") {
            // The field the attribute sits on: the next line that is not an attribute.
            let field = code[end..]
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("#[") && !l.starts_with("///"))
                .unwrap_or("");
            let name = field
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches("pub ")
                .trim();
            // Not `host` or `addr`: a client's `--host` (mini-redis's) names where it connects.
            let lower = name.to_ascii_lowercase();
            let listens = ["bind", "listen", "interface"]
                .iter()
                .any(|w| lower.contains(w));
            (listens, Some(name.to_string()))
        } else {
            let binds = line.contains("bind") || line.contains("listen");
            (binds && !port_probe(&code[at..], literal), None)
        };
        if listens && !out.iter().any(|l| l.literal == literal) {
            out.push(Loopback {
                literal: literal.to_string(),
                option,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(source: &str) -> Vec<(String, Option<String>)> {
        loopback_listens(source)
            .into_iter()
            .map(|l| (l.literal, l.option))
            .collect()
    }

    /// ord's shape: binds that only pick a free port for another program listen on
    /// nothing; a listener kept in a statement that also reads its address still does.
    #[test]
    fn a_port_probe_is_not_a_listener() {
        let probes = r#"
fn ports() {
    let a = TcpListener::bind("127.0.0.1:9000")
        .ok()
        .map(|listener| listener.local_addr().unwrap().port());
    let b = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
}
"#;
        assert_eq!(said(probes), []);
        let server = r#"
fn serve() {
    let listener = TcpListener::bind("127.0.0.1:8080")?;
    println!("on {}", listener.local_addr()?.port());
}
"#;
        assert_eq!(said(server), [("127.0.0.1:8080".to_string(), None)]);
    }

    #[test]
    fn binds_in_code_and_command_line_defaults() {
        let server = r#"
async fn main() {
    let listener = TcpListener::bind(&format!("127.0.0.1:{}", port)).await?;
    HttpServer::new(app).bind(("localhost", 8080))?.run().await
}
"#;
        assert_eq!(
            said(server),
            [
                ("127.0.0.1:{}".to_string(), None),
                ("localhost".to_string(), None)
            ]
        );
        let cli = r#"
#[derive(Parser)]
struct Serve {
    /// Interface to bind on
    #[arg(short = 'i', long, default_value = "127.0.0.1")]
    interface: String,
    #[arg(long, default_value = "127.0.0.1:5432")]
    database: String,
    #[arg(id = "hostname", long, default_value = "127.0.0.1")]
    host: String,
}
"#;
        assert_eq!(
            said(cli),
            [("127.0.0.1".to_string(), Some("interface".to_string()))]
        );
    }

    #[test]
    fn clients_tests_and_public_addresses_are_not_listens() {
        let source = r#"
fn client() { let s = TcpStream::connect("127.0.0.1:6379"); }
fn public() { let l = TcpListener::bind("0.0.0.0:8080"); }
fn host() { let l = TcpListener::bind("localhost.example.com:80"); }
#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests { fn t() { let l = TcpListener::bind("127.0.0.1:0"); } }
"#;
        assert!(said(source).is_empty(), "{:?}", said(source));
    }
}
