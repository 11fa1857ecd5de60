//! Loopback addresses a program listens on, found in its Rust sources: a literal
//! `"127.0.0.1:.."` or `"localhost"` on a line that binds or listens
//! (`TcpListener::bind(&format!("127.0.0.1:{}", port))`, mini-redis's server;
//! actix's `.bind(("127.0.0.1", 8080))`), or a command-line default on an address field
//! (`#[arg(long, default_value = "127.0.0.1")] interface`, zola's `serve`). In a container
//! such a service answers only itself: a published port reaches nothing, while its
//! healthcheck, run inside, passes. The planner says so for the images that compile it.
//!
//! Addresses built in code count too, in a socket address of a file that listens
//! (`SocketAddr::from(([127, 0, 0, 1], 3000))`, `Ipv4Addr::LOCALHOST`, w4/bin's argh default).
//!
//! Lines are read, not Rust parsed: an address kept in a constant or read from a
//! configuration file is not seen.

use crate::fields::{attribute_field, offset_in, struct_body, struct_fields};
use crate::reads::{blanked, closing, code_offsets, literals, program_code};

/// One loopback address a source listens on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Loopback {
    /// The literal as written.
    pub literal: String,
    /// The command-line option it is the default of (`default_value` on the field
    /// `interface`): `args` can change it; `None`, the code must.
    pub option: Option<String>,
    /// The configuration key it is the default of (the config crate's
    /// `.set_default("host", "127.0.0.1")`, atuin's server): a variable the file lets
    /// override its keys ([`ListenFacts::env_override`]) can change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
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
        let (listens, option, key) = if line.contains("default_value") {
            // The field the attribute sits on.
            let name = attribute_field(&code, at).map_or("", |(_, field)| field);
            // Not `host` or `addr`: a client's `--host` (mini-redis's) names where it connects.
            let lower = name.to_ascii_lowercase();
            let listens = ["bind", "listen", "interface"]
                .iter()
                .any(|w| lower.contains(w));
            (listens, (!name.is_empty()).then(|| name.to_string()), None)
        } else {
            // The config crate's `.set_default("host", "127.0.0.1")` (atuin's server
            // settings; a `"db.host"` is a client's).
            let config_default = ["host", "address", "interface"]
                .into_iter()
                .find(|k| line.contains(&format!("set_default(\"{k}\",")));
            let binds =
                line.contains("bind") || line.contains("listen") || config_default.is_some();
            let listens = binds && !port_probe(&code[at..], literal);
            (listens, None, config_default.map(String::from))
        };
        if listens && !out.iter().any(|l| l.literal == literal) {
            out.push(Loopback {
                literal: literal.to_string(),
                option,
                key,
            });
        }
    }
    for bind in built_loopbacks(&blanked(&code, false)) {
        if !out.iter().any(|l| l.literal == bind.literal) {
            out.push(bind);
        }
    }
    out
}

/// Loopback addresses built in code rather than written as text: axum's
/// `SocketAddr::from(([127, 0, 0, 1], 3000))`, `(Ipv4Addr::LOCALHOST, port)`, w4/bin's
/// argh default `"SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 8820)"` on its
/// `bind_addr`. Counted in a socket address, in a file that listens, in a statement that
/// does not connect (a client's address of a local server is no listener), and not on
/// port 0 (a free port asked for).
fn built_loopbacks(code: &str) -> Vec<Loopback> {
    let flat: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    // A file that binds; else only an option named for listening counts (rqbit's main.rs
    // hands its `http_api_listen_addr` to the library that binds).
    let binds = ["bind(", "listen(", "serve(", ".run("]
        .iter()
        .any(|w| flat.contains(w));
    // The command-line options the file's structs declare (`#[arg(long …)]` fields).
    let options: Vec<String> = code_offsets(code, "struct ")
        .into_iter()
        .filter_map(|at| struct_body(code, at))
        .flat_map(struct_fields)
        .filter(|f| f.attributes.contains("long"))
        .map(|f| f.name.to_string())
        .collect();
    let loopbacks = [
        "[127,0,0,1]",
        "Ipv4Addr::LOCALHOST",
        "Ipv4Addr::new(127,0,0,1)",
        "Ipv6Addr::LOCALHOST",
    ];
    for (at, pattern, port) in address_ports(&flat, &loopbacks) {
        let host = if pattern.starts_with("Ipv6") {
            "[::1]"
        } else {
            "127.0.0.1"
        };
        let start = flat[..at].rfind([';', '{', '}']).map_or(0, |i| i + 1);
        let end = flat[at..].find(';').map_or(flat.len(), |i| at + i);
        let statement = flat[start..end].to_ascii_lowercase();
        // In a socket address, or the fallback of a listen address (rqbit's
        // `opts.http_api_listen_addr.unwrap_or((Ipv4Addr::LOCALHOST, 3030).into())`).
        let listening = ["socketaddr", "listen", "bind("]
            .iter()
            .any(|w| statement.contains(w));
        if !listening || statement.contains("connect") {
            continue;
        }
        if port.is_empty() || port == "0" {
            continue;
        }
        // The command-line option it is the fallback of: `.FIELD.unwrap_or(` where FIELD
        // is an option (`#[arg(long …)]`) of a struct in the file.
        let fallback_of = flat[start..at].rfind(".unwrap_or(").and_then(|u| {
            let before = &flat[start..start + u];
            let field = &before[before.rfind('.').map_or(0, |i| i + 1)..];
            options.iter().find(|o| *o == field).cloned()
        });
        let named_to_listen = |o: &String| o.contains("listen") || o.contains("bind");
        if let Some(option) = fallback_of.filter(|o| binds || named_to_listen(o)) {
            out.push(Loopback {
                literal: format!("{host}:{port}"),
                option: Some(option),
                key: None,
            });
            continue;
        }
        if !binds {
            continue;
        }
        // The default of an attribute: the option is the field it sits on, found from
        // the same place in the code as written.
        let option = flat[start..at].contains("default").then(|| {
            let mut seen = 0;
            let code_at = code
                .char_indices()
                .find(|(_, c)| {
                    let here = seen == at;
                    if !c.is_whitespace() {
                        seen += c.len_utf8();
                    }
                    here && !c.is_whitespace()
                })
                .map_or(code.len(), |(i, _)| i);
            attribute_field(code, code_at).map_or("", |(_, field)| field)
        });
        let option = option.filter(|o| !o.is_empty()).map(str::to_string);
        out.push(Loopback {
            literal: format!("{host}:{port}"),
            option,
            key: None,
        });
    }
    out
}

/// A port a source names for listening: a number, or the constant that holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PortRef {
    Number(u16),
    Const(String),
}

/// A server port's default in a source ([`ListenFacts::defaults`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortDefault {
    pub port: PortRef,
    /// The code that gives it.
    pub why: String,
    /// The environment variable that overrides it (clap's `env = "MINISERVE_PORT"`, the
    /// `PORT` of `env::var("PORT")`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
}

/// What a source says about the ports its program listens on ([`listen_facts`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListenFacts {
    /// Ports given with the unspecified address, which only a listener uses
    /// (`"0.0.0.0:8080"`, `("0.0.0.0", 8080)`, `([0, 0, 0, 0], PORT)`,
    /// `(Ipv4Addr::UNSPECIFIED, 8080)`), each with the code that names it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public: Vec<(PortRef, String)>,
    /// The same bound by a UDP socket (`UdpSocket::bind("0.0.0.0:53")`): a DNS server's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub udp: Vec<(PortRef, String)>,
    /// Health paths it routes (zero2prod's `.route("/health_check", web::get()…)`, axum's
    /// `.route("/healthz", get(…))`, `#[get("/health")]`): what an HTTP healthcheck probes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_routes: Vec<String>,
    /// Defaults of a port a server takes from its command line or environment (clap's
    /// `default_value_t = 8080` on a field `port` or `http_port`; `env::var("PORT")` and a
    /// number it falls back to): a client's port looks the same, so these count only for a
    /// program whose code also binds or listens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<PortDefault>,
    /// Whether it binds or listens (`TcpListener::bind`, `.bind(`, `serve(`, `.listen(`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub listens: bool,
    /// Integer constants it defines (`const CONTROL_PORT: u16 = 7835;`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consts: Vec<(String, u16)>,
    /// How it lets the environment override its configuration's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_override: Option<EnvOverride>,
}

/// How a program lets its environment override its configuration's keys: the `config`
/// crate's `Environment` source (sonic's `Environment::with_prefix("SONIC")
/// .separator("__").prefix_separator("_")`: `[channel] inet` is `SONIC_CHANNEL__INET`) or
/// figment's `Env::prefixed("APP_").split("__")`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvOverride {
    /// What every variable starts with, its separator included (`SONIC_`); empty for none.
    pub prefix: String,
    /// Between a section and its key (`__`); empty when keys are not split, which leaves
    /// only the top level reachable.
    pub separator: String,
    /// The call that sets it up, for the note (`config::Environment`, `figment::Env`).
    pub source: String,
}

impl EnvOverride {
    /// The variable that overrides `key` in `section` (a dotted path, empty at the top).
    pub fn variable(&self, section: &str, key: &str) -> Option<String> {
        let mut parts: Vec<&str> = section.split('.').filter(|s| !s.is_empty()).collect();
        if !parts.is_empty() && self.separator.is_empty() {
            return None;
        }
        parts.push(key);
        Some(format!("{}{}", self.prefix, parts.join(&self.separator)).to_ascii_uppercase())
    }
}

/// Whether an argument or a variable's value names an address every interface answers on:
/// `0.0.0.0`, `[::]`, or `::` alone (sshx-server's `--listen ::`, `--listen=::`).
pub fn names_public_address(value: &str) -> bool {
    let value = value.split_once('=').map_or(value, |(_, v)| v);
    value.contains("0.0.0.0") || value.contains("[::]") || value == "::" || value.starts_with(":::")
}

/// The [`EnvOverride`] that code without whitespace (`flat`) sets up, if any. The
/// `config` crate's prefix separator defaults to its separator when that is set, else `_`.
fn env_override(flat: &str) -> Option<EnvOverride> {
    // The string literal `call("...")` gives within `text`.
    let arg = |text: &str, call: &str| -> Option<String> {
        let open = format!("{call}(\"");
        let rest = &text[text.find(&open)? + open.len()..];
        Some(rest[..rest.find('"')?].to_string())
    };
    // The chain of calls from `at` to the end of its statement.
    let chain = |at: usize| -> &str {
        let rest = &flat[at..];
        &rest[..rest.find(';').unwrap_or(rest.len())]
    };
    let config = [
        "Environment::with_prefix(",
        "Environment::default()",
        "Environment::new()",
    ]
    .iter()
    .filter_map(|start| flat.find(start))
    .min();
    if let Some(at) = config {
        let chain = chain(at);
        let prefix = arg(chain, "Environment::with_prefix")
            .or_else(|| arg(chain, ".prefix"))
            .unwrap_or_default();
        let separator = arg(chain, ".separator").unwrap_or_default();
        let prefix_separator = arg(chain, ".prefix_separator").unwrap_or_else(|| {
            if separator.is_empty() {
                "_".to_string()
            } else {
                separator.clone()
            }
        });
        return Some(EnvOverride {
            prefix: if prefix.is_empty() {
                prefix
            } else {
                format!("{prefix}{prefix_separator}")
            },
            separator,
            source: "config::Environment".into(),
        });
    }
    let at = ["Env::prefixed(", "Env::raw()"]
        .iter()
        .filter_map(|start| flat.find(start))
        .min()?;
    let chain = chain(at);
    Some(EnvOverride {
        prefix: arg(chain, "Env::prefixed").unwrap_or_default(),
        separator: arg(chain, ".split").unwrap_or_default(),
        source: "figment::providers::Env".into(),
    })
}

impl ListenFacts {
    pub fn is_empty(&self) -> bool {
        self.public.is_empty()
            && self.udp.is_empty()
            && self.health_routes.is_empty()
            && self.defaults.is_empty()
            && !self.listens
            && self.consts.is_empty()
            && self.env_override.is_none()
    }
}

/// The paths services answer health checks on.
const HEALTH_PATHS: &[&str] = &[
    "/health",
    "/healthz",
    "/health_check",
    "/healthcheck",
    "/health-check",
    "/livez",
    "/readyz",
    "/ping",
    "/api/health",
    "/api/healthz",
];

/// The health path a literal names, with its leading slash: one of [`HEALTH_PATHS`], or
/// a path ending in one's last segment (`/api/v1/healthz`; dufs's `"__dufs__/health"`,
/// which its router compares without the slash). A bare word (`"health"`) is none.
fn health_path(literal: &str) -> Option<String> {
    if HEALTH_PATHS.contains(&literal) {
        return Some(literal.to_string());
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "/_-.".contains(c);
    if !literal.contains('/') || literal.ends_with('/') || !literal.chars().all(plain) {
        return None;
    }
    let path = format!("/{}", literal.trim_start_matches('/'));
    let last = &path[path.rfind('/')?..];
    HEALTH_PATHS.contains(&last).then_some(path)
}

/// Whether the route whose path literal is at `at` answers under a prefix, so a probe of
/// the bare path would get a 404: an argument of a `scope(…)` or `nest(…)` call (axum's
/// `.nest("/api", Router::new().route("/health", …))`), or chained on an actix
/// `scope(…)` in the same expression (lemmy's `/health`, on `web::scope("/image")` inside
/// `web::scope("/api/v4")`). The statement or block it is in bounds the search.
fn under_prefix(code: &str, at: usize) -> bool {
    let bytes = code.as_bytes();
    let mut depth = 0usize;
    for i in (0..at).rev() {
        let callee = || code[..i].trim_end();
        match bytes[i] {
            b')' => depth += 1,
            // A call beside the route's in its chain: `scope("/image").route(…)`.
            b'(' if depth == 1 => {
                depth = 0;
                if callee().ends_with("scope") {
                    return true;
                }
            }
            b'(' if depth > 1 => depth -= 1,
            // A call the route is an argument of.
            b'(' if callee().ends_with("scope") || callee().ends_with("nest") => return true,
            b';' | b'{' | b'}' if depth == 0 => return false,
            _ => {}
        }
    }
    false
}

/// Whether a line routes a path ([`ROUTE_WORDS`]).
fn routes(line: &str) -> bool {
    let line = line.to_ascii_lowercase();
    ROUTE_WORDS.iter().any(|w| line.contains(w))
}

/// Whether a line that names a constant routes it, or compares a request's path with it
/// (dufs's `if req_path == HEALTH_CHECK_PATH`); not a client's `.get(` of it.
fn compares_or_routes(line: &str) -> bool {
    let line = line.to_ascii_lowercase();
    let compared = line.contains("==") && (line.contains("path") || line.contains("uri"));
    compared
        || [".route(", "resource(", ".at(", "path!("]
            .iter()
            .any(|w| line.contains(w))
}

/// The name a line defines a string constant or static by (`const HEALTH: &str = "…"`).
fn const_name(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = line.strip_prefix("pub ").unwrap_or(line);
    let rest = (line.strip_prefix("const ")).or_else(|| line.strip_prefix("static "))?;
    let (name, ty) = rest.split_once(':')?;
    let name = name.trim();
    (ty.trim_start().starts_with('&') && !name.is_empty()).then_some(name)
}

/// What a line that routes a path says: axum's and actix's `.route(`, `web::resource(`,
/// `#[get(`, warp's `path!(`, poem's `.at(`.
const ROUTE_WORDS: &[&str] = &["route", "resource(", "get(", "path", ".at(", "service("];

/// A server's port by its name: `port`, or one that says it serves (`http_port`,
/// `SERVER_PORT`), not a database's or another service's it connects to.
fn server_port_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "port"
        || (name.ends_with("_port")
            && ["http", "server", "listen", "web", "api", "bind", "app"]
                .iter()
                .any(|w| name.contains(w)))
}

/// The port a token names: digits, or a constant's name (`CONTROL_PORT`).
fn port_ref(token: &str) -> Option<PortRef> {
    let token = token.trim().trim_matches('"');
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        return token.parse().ok().filter(|p| *p != 0).map(PortRef::Number);
    }
    let name = token.rsplit("::").next().unwrap_or(token);
    (name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
    .then(|| PortRef::Const(name.to_string()))
}

/// The token after a `,` that follows `rest`'s leading closing parentheses: the port of
/// `(ADDR, PORT)` once ADDR is read.
fn after_comma(rest: &str) -> Option<&str> {
    let rest = rest
        .trim_start_matches(|c: char| c == ')' || c.is_whitespace())
        .strip_prefix(',')?
        .trim_start();
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Each place in `flat` (code without whitespace) where one of `addresses` is paired with
/// a port, `(ADDR, PORT)` or wastebin's `(Ipv4Addr::UNSPECIFIED.into(), 8088)`: the place,
/// the address as written and the port's token. The callers judge the context.
fn address_ports<'a>(
    flat: &'a str,
    addresses: &'a [&'a str],
) -> impl Iterator<Item = (usize, &'a str, &'a str)> + 'a {
    addresses.iter().flat_map(move |pattern| {
        flat.match_indices(pattern).filter_map(move |(at, _)| {
            let rest = &flat[at + pattern.len()..];
            let rest = rest.strip_prefix(".into()").unwrap_or(rest);
            after_comma(rest).map(|port| (at, *pattern, port))
        })
    })
}

/// What `source` (its test modules and other systems' code left out) says about the ports
/// its program listens on. Lines are read, not Rust parsed: a port computed or read from a
/// configuration file is not seen.
pub fn listen_facts(source: &str) -> ListenFacts {
    let code = blanked(&program_code(source), false);
    let mut facts = ListenFacts::default();
    let flat: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    // The 48 characters of code before a place in `flat`, lower case: the call an address
    // is made for.
    let before = |at: usize| {
        let mut from = at.saturating_sub(48);
        while !flat.is_char_boundary(from) {
            from += 1;
        }
        flat[from..at].to_ascii_lowercase()
    };
    // A file whose code names UDP and never TCP binds UDP sockets, whatever its calls are
    // named: statime's PTP ports go through `open_ipv4(SocketAddrV4::new(
    // Ipv4Addr::UNSPECIFIED, EVENT_PORT), …)` beside `open_interface_udp4` (ntpd-rs).
    let lower = flat.to_ascii_lowercase();
    let udp_file = lower.contains("udp") && !lower.contains("tcp");
    // Each found with its place in the code without whitespace, to keep source order, and
    // whether a UDP socket binds it (`UdpSocket::bind("0.0.0.0:53")`).
    let mut found: Vec<(usize, PortRef, String, bool)> = Vec::new();
    let mut public = |at: usize, port: Option<PortRef>, why: &str| {
        if let Some(port) = port {
            let udp = udp_file || before(at).contains("udpsocket");
            found.push((at, port, why.to_string(), udp));
        }
    };
    // A place in `code` as its place in `flat`, counted once: counting per literal was
    // quadratic (70 s to plan shadowsocks-rust, whose large files hold many addresses).
    let mut flat_offsets = vec![0; code.len() + 1];
    let mut counted = 0;
    for (i, c) in code.char_indices() {
        flat_offsets[i] = counted;
        if !c.is_whitespace() {
            counted += c.len_utf8();
        }
    }
    flat_offsets[code.len()] = counted;
    let flat_at = |at: usize| flat_offsets[at];
    let lits = literals(&code);
    for (at, literal) in &lits {
        let after = code.get(at + literal.len() + 2..).unwrap_or("");
        for host in ["0.0.0.0", "[::]"] {
            if let Some(port) = literal.strip_prefix(host).and_then(|r| r.strip_prefix(':')) {
                public(flat_at(*at), port_ref(port), &format!("\"{literal}\""));
            } else if *literal == host || (host == "[::]" && *literal == "::") {
                if let Some(token) = after_comma(after) {
                    public(
                        flat_at(*at),
                        port_ref(token),
                        &format!("(\"{literal}\", {token})"),
                    );
                }
            }
        }
    }
    let unspecified = [
        "[0,0,0,0]",
        "Ipv4Addr::UNSPECIFIED",
        "Ipv6Addr::UNSPECIFIED",
    ];
    for (at, pattern, token) in address_ports(&flat, &unspecified) {
        // Only in a socket address made or bound right there (`SocketAddr::from((`,
        // `.bind((`, warp's `serve(routes).run((`): hickory's
        // `IpNet::new_assert(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8)` pairs it with a
        // prefix length.
        let before = before(at);
        if ["socketaddr", "bind(", "listen(", "serve(", ".run(("]
            .iter()
            .any(|w| before.contains(w))
        {
            public(at, port_ref(token), &format!("({pattern}, {token})"));
        }
    }
    facts.env_override = env_override(&flat);
    for (at, literal) in &lits {
        let Some(path) = health_path(literal) else {
            continue;
        };
        let start = code[..*at].rfind('\n').map_or(0, |i| i + 1);
        let end = code[*at..].find('\n').map_or(code.len(), |i| at + i);
        let line = &code[start..end];
        // A constant (dufs's `const HEALTH_CHECK_PATH: &str = "__dufs__/health"`) routes
        // where its name is used: the lines that name it, without the name (which may say
        // "path" itself), that route it or compare a request's path with it.
        let routed = match const_name(line) {
            Some(name) => (code.lines())
                .filter(|l| l.contains(name) && !l.contains(literal))
                .any(|l| compares_or_routes(&l.replace(name, ""))),
            None => routes(line) && !under_prefix(&code, *at),
        };
        if routed && !facts.health_routes.contains(&path) {
            facts.health_routes.push(path);
        }
    }
    found.sort_by_key(|(at, _, _, _)| *at);
    for (_, port, why, udp) in found {
        let list = if udp {
            &mut facts.udp
        } else {
            &mut facts.public
        };
        push_unique(list, port, &why);
    }
    for line in code.lines() {
        let trimmed = line.trim();
        if [
            "TcpListener::bind",
            ".bind(",
            "::bind(",
            "serve(",
            ".listen(",
            "bind_rustls",
        ]
        .iter()
        .any(|w| trimmed.contains(w))
            && !trimmed.starts_with("//")
        {
            facts.listens = true;
        }
        // `const NAME: u16 = 7835;`
        if let Some(rest) = trimmed
            .split_once("const ")
            .filter(|(before, _)| {
                before.is_empty() || before.trim_end().ends_with("pub") || before.ends_with(") ")
            })
            .map(|(_, rest)| rest)
        {
            if let Some((name, value)) = rest.split_once(':').and_then(|(name, rest)| {
                let value = rest.split_once('=')?.1.trim().trim_end_matches(';').trim();
                Some((name.trim(), value))
            }) {
                if let (Some(PortRef::Const(_)), Some(PortRef::Number(port))) =
                    (port_ref(name), port_ref(value))
                {
                    facts.consts.push((name.to_string(), port));
                }
            }
        }
        // clap: `#[arg(long, default_value_t = 8080)]` (on one line or several) above
        // `port: u16`.
        if trimmed.starts_with("#[") {
            let at = offset_in(&code, trimmed) + "#[".len();
            let Some((attr, name)) = attribute_field(&code, at) else {
                continue;
            };
            let attr = attr.lines().map(str::trim).collect::<Vec<_>>().join(" ");
            if !attr.contains("default_value") {
                continue;
            }
            let value = attr
                .split("default_value")
                .nth(1)
                .and_then(|v| v.split_once('='))
                .map(|(_, v)| {
                    let v = v.trim_start();
                    let end = v
                        .get(1..)
                        .and_then(|rest| rest.find([',', ')', '"']))
                        .map_or(v.len(), |e| e + 1);
                    &v[..end]
                });
            if let Some(port) = value.filter(|_| server_port_name(name)).and_then(port_ref) {
                let variable = attr
                    .split_once("env = \"")
                    .or_else(|| attr.split_once("env=\""))
                    .and_then(|(_, rest)| rest.split('"').next())
                    .map(str::to_string);
                push_default(
                    &mut facts.defaults,
                    port,
                    format!("{name}: {attr}"),
                    variable,
                );
            }
        }
    }
    // clap's builder: `Arg::new("port")` (clap 2's `Arg::with_name`), and in its chain, up
    // to the next argument, `.default_value("8080")` and `.env("PORT")` (redlib's).
    for (at, literal) in &lits {
        let before = code[..*at].trim_end();
        if !server_port_name(literal)
            || !(before.ends_with("Arg::new(") || before.ends_with("Arg::with_name("))
        {
            continue;
        }
        let chain = &code[at + literal.len() + 2..];
        let end = ["Arg::new(", "Arg::with_name(", ";"]
            .iter()
            .filter_map(|w| chain.find(w))
            .min()
            .unwrap_or(chain.len());
        let chain = &chain[..end];
        let call = |method: &str| {
            let rest = chain.split_once(method)?.1.trim_start().strip_prefix('"')?;
            rest.split_once('"').map(|(value, _)| value.to_string())
        };
        if let Some(port) = call(".default_value(").as_deref().and_then(port_ref) {
            let variable = call(".env(");
            push_default(
                &mut facts.defaults,
                port,
                format!("Arg::new(\"{literal}\").default_value(..)"),
                variable,
            );
        }
    }
    // `env::var("PORT")` (or a helper of the project's named for it: crates.io's
    // `var_parsed("PORT")?`, `env_var(..)`) and the number it falls back to, in one
    // statement.
    for (at, literal) in &lits {
        let called = code[..*at]
            .trim_end()
            .strip_suffix('(')
            .map(|b| {
                let start = b
                    .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map_or(0, |i| i + 1);
                &b[start..]
            })
            .unwrap_or("");
        let reads_env = called == "var" || called.starts_with("var_") || called.ends_with("_var");
        if !server_port_name(literal) || !reads_env {
            continue;
        }
        let statement = &code[*at..];
        let statement = &statement[..statement.find(';').unwrap_or(statement.len())];
        let fallback = statement.find("unwrap_or").and_then(|i| {
            let rest = &statement[i..];
            let digits: String = rest
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            port_ref(&digits)
        });
        if let Some(port) = fallback {
            push_default(
                &mut facts.defaults,
                port,
                format!("var(\"{literal}\")"),
                Some(literal.to_string()),
            );
        }
    }
    // The config crate's `.set_default("port", 8888)` (atuin's server settings; a
    // `"db.port"` is a client's).
    for (at, literal) in &lits {
        if !server_port_name(literal) || !code[..*at].trim_end().ends_with("set_default(") {
            continue;
        }
        let after = code.get(at + literal.len() + 2..).unwrap_or("");
        if let Some(port) = after_comma(after).and_then(port_ref) {
            push_default(
                &mut facts.defaults,
                port,
                format!("set_default(\"{literal}\", ..)"),
                None,
            );
        }
    }
    for (port, why) in settings_port_defaults(&code) {
        push_default(&mut facts.defaults, port, why, None);
    }
    facts
}

/// Keys of a configuration file that give the address a server listens on.
const LISTEN_KEYS: &[&str] = &[
    "address",
    "addr",
    "bind",
    "bind_address",
    "bind_addr",
    "listen",
    "listen_address",
    "listen_addr",
    "inet",
    "http_address",
    "server_address",
];

/// Words of a section that names where a program connects, not where it listens.
const CLIENT_SECTIONS: &[&str] = &[
    "db", "database", "postgres", "mysql", "redis", "sql", "cache", "smtp", "mail", "upstream",
    "proxy", "client",
];

/// A line of a configuration file ([`config_entries`]): one that listens on loopback
/// ([`config_loopback`]), one that sets a secret ([`config_secrets`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConfigEntry {
    /// The file, relative to the build context (set by the reader of the file).
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    /// The section it is in (`server`, `a.b` for `[a.b]`, a YAML mapping's key), empty at
    /// the top level.
    pub section: String,
    pub key: String,
    /// The address, unquoted (`[::1]:1491`).
    pub value: String,
}

/// The first line of a configuration file (TOML, YAML, JSON, INI) that gives a listen
/// address on loopback with a port (rustypaste's `[server] address = "127.0.0.1:8000"`,
/// vigil's `inet = "[::1]:8080"`): shipped into an image, it makes a service that answers
/// only its own container. A key under a section naming a client (`[database]`) or another
/// key (`database_url`) is where it connects: not said.
pub fn config_loopback(text: &str) -> Option<ConfigEntry> {
    config_entries(text).find(|e| {
        let key = e.key.to_ascii_lowercase();
        let loopback = ["127.0.0.1:", "localhost:", "[::1]:"].iter().any(|host| {
            e.value
                .match_indices(host)
                .any(|(at, _)| e.value[at + host.len()..].starts_with(|c: char| c.is_ascii_digit()))
        });
        // A host alone, its port elsewhere (zero2prod's `local.yaml`: `application:` with
        // `host: 127.0.0.1`, which its default `APP_ENVIRONMENT` picks).
        let host = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(&e.value.as_str());
        let listens =
            (loopback && LISTEN_KEYS.contains(&key.as_str())) || (host && listen_key(&key));
        listens && !client_section(&e.section)
    })
}

/// Whether a configuration key says where a server listens: an address key
/// ([`LISTEN_KEYS`]) or a host alone.
fn listen_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    LISTEN_KEYS.contains(&key.as_str()) || ["host", "ip", "interface"].contains(&key.as_str())
}

/// Whether a configuration section names a client ([`CLIENT_SECTIONS`]: `[database]`,
/// `redis:`), whose addresses are where it connects.
fn client_section(section: &str) -> bool {
    CLIENT_SECTIONS.iter().any(|w| {
        (section.to_ascii_lowercase())
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word == *w)
    })
}

/// The ports a server's configuration file (TOML, YAML, INI) sets, with their lines: a
/// `port` (or a server's, `http_port`, `prometheus_exporter_port`) with a number, in a
/// section that also says where to listen with an address, not a host name a client
/// connects to (`host`, `bind`, `address`, …: zero2prod's
/// `application:` with `port: 8000` and `host: 0.0.0.0`, pgcat's `[general]`), or a listen
/// address with its port (`address = "0.0.0.0:8000"`). Not under a section naming a
/// client (`database:`), where it connects.
pub fn config_ports(text: &str) -> Vec<(u16, ConfigEntry)> {
    let entries: Vec<ConfigEntry> = config_entries(text).collect();
    let mut out: Vec<(u16, ConfigEntry)> = Vec::new();
    for e in entries.iter().filter(|e| !client_section(&e.section)) {
        let key = e.key.to_ascii_lowercase();
        let port = if server_port_name(&key)
            || (key.ends_with("_port")
                && ["metrics", "prometheus", "exporter"]
                    .iter()
                    .any(|w| key.contains(w)))
        {
            // A host this machine binds: an address, not a name it connects to (a client's
            // `[server] host = "api.example.com"`).
            let bindable = |v: &str| {
                let v = v.trim_start_matches('[').trim_end_matches(']');
                v.parse::<std::net::IpAddr>().is_ok() || matches!(v, "localhost" | "*" | "")
            };
            let listens_here = entries
                .iter()
                .any(|o| o.section == e.section && listen_key(&o.key) && bindable(&o.value));
            e.value.parse::<u16>().ok().filter(|_| listens_here)
        } else if LISTEN_KEYS.contains(&key.as_str()) {
            ["0.0.0.0:", "[::]:"]
                .iter()
                .find_map(|host| e.value.strip_prefix(host))
                .and_then(|p| p.parse::<u16>().ok())
        } else {
            None
        };
        if let Some(port) = port.filter(|p| *p != 0) {
            if !out.iter().any(|(p, _)| *p == port) {
                out.push((port, e.clone()));
            }
        }
    }
    out
}

/// The `key = value` (or `key: value`) lines of a configuration file (TOML, YAML, JSON,
/// INI), with the section each is in: a `[section]` header, or a YAML mapping at the top
/// level (`application:`); comments skipped.
pub fn config_entries(text: &str) -> impl Iterator<Item = ConfigEntry> + '_ {
    let mut section = String::new();
    text.lines().enumerate().filter_map(move |(n, line)| {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') || trimmed.starts_with("//") {
            return None;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            section = trimmed
                .trim_matches(|c| c == '[' || c == ']')
                .to_ascii_lowercase();
            return None;
        }
        if !line.starts_with([' ', '\t']) && trimmed.ends_with(':') {
            section = trimmed
                .trim_end_matches(':')
                .trim_matches('"')
                .to_ascii_lowercase();
            return None;
        }
        let split = trimmed.find(['=', ':'])?;
        let unquote = |s: &str| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        Some(ConfigEntry {
            file: String::new(),
            line: n + 1,
            text: trimmed.to_string(),
            section: section.trim().to_string(),
            key: unquote(&trimmed[..split]),
            value: unquote(trimmed[split + 1..].trim().trim_end_matches(',')),
        })
    })
}

/// The lines of a configuration file that set a secret to a literal (sonic's
/// `auth_password = "SecretPassword"`): a key naming a password, secret, token or API key,
/// with a value that is no number, boolean, `${VAR}` reference, path or URL. Shipped in an
/// image, the secret is anyone's who can pull it.
pub fn config_secrets(text: &str) -> Vec<ConfigEntry> {
    const SECRET: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
    ];
    const NOT: &[&str] = &[
        "_file", "_path", "_dir", "_env", "_url", "_ttl", "_length", "_len",
    ];
    config_entries(text)
        .filter(|e| {
            let key = e.key.to_ascii_lowercase();
            let value = e.value.as_str();
            SECRET.iter().any(|w| key.contains(w))
                && !NOT.iter().any(|w| key.ends_with(w))
                && !value.is_empty()
                && !value.starts_with(['$', '/', '{', '['])
                && !value.contains("://")
                && value.parse::<f64>().is_err()
                && !matches!(value, "true" | "false" | "null" | "~")
        })
        .collect()
}

/// Fields that hold the address a server binds: a struct with one of these and a `port`
/// is a server's settings. A database client's names where it connects (`host`,
/// `address`: kellnr's `Postgresql`), and is not one.
const BIND_FIELDS: &[&str] = &[
    "bind",
    "bind_addr",
    "bind_address",
    "addrs",
    "listen",
    "listen_addr",
    "listen_address",
    "ip",
    "interface",
    "interfaces",
];

/// The port defaults of server settings structs (see [`BIND_FIELDS`]): a `port` field's
/// `#[default(8536)]` (smart-default; lemmy's `Settings`), `#[default(default_port())]` or
/// `#[serde(default = "default_port")]` with `fn default_port() -> u16 { 5000 }` in the
/// file (dufs), or `port: 8000` in the file's `impl Default for` the struct (kellnr's
/// `Local`).
fn settings_port_defaults(code: &str) -> Vec<(PortRef, String)> {
    let mut out = Vec::new();
    for at in code_offsets(code, "struct ") {
        let rest = &code[at + "struct ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(body) = struct_body(code, at) else {
            continue;
        };
        let fields = struct_fields(body);
        // A bind address that defaults to loopback (lemmy's optional `PrometheusConfig`,
        // `#[default(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)))] bind`) serves this machine
        // only: its port is no image's.
        let loopback = |a: &str| {
            [
                "127, 0, 0, 1",
                "127,0,0,1",
                "\"127.0.0.1\"",
                "LOCALHOST",
                "\"localhost\"",
                "\"::1\"",
            ]
            .iter()
            .any(|l| a.contains(l))
        };
        let binds = (fields.iter()).any(|f| BIND_FIELDS.contains(&f.name))
            && !(fields.iter()).any(|f| BIND_FIELDS.contains(&f.name) && loopback(&f.attributes));
        // A `PREFIX_port` beside a `PREFIX_host` that defaults to every interface (lldap's
        // derive_builder `ldap_host` with `#[builder(default = r#"String::from("::")"#)]`
        // beside `ldap_port`'s `default = "3890"`): a server's, whatever the prefix.
        let public_host = |prefix: &str| {
            fields.iter().any(|h| {
                h.name == format!("{prefix}host")
                    && ["\"::\"", "\"0.0.0.0\"", "\"[::]\""]
                        .iter()
                        .any(|a| h.attributes.contains(a))
            })
        };
        let serves = |name: &str| {
            (binds && server_port_name(name)) || name.strip_suffix("port").is_some_and(&public_host)
        };
        for f in fields.iter().filter(|f| serves(f.name)) {
            let field = f.name;
            let found = attribute_default(code, &f.attributes)
                .or_else(|| impl_default_field(code, &name, field));
            if let Some((port, how)) = found {
                out.push((port, format!("{name}::{field}: {how}")));
            }
        }
    }
    out
}

/// The port a field's attributes default it to: a number, or a function of the file
/// returning one (`fn default_port() -> u16 { 5000 }`), with the attribute as written.
fn attribute_default(code: &str, attributes: &str) -> Option<(PortRef, String)> {
    let (value, written) = if let Some(at) = attributes.find("#[default(") {
        let open = at + "#[default".len();
        let close = closing(attributes, open, b'(', b')')?;
        let value = attributes[open + 1..close].trim();
        (value, format!("#[default({value})]"))
    } else {
        let (_, rest) = attributes.split_once("default = \"")?;
        let value = rest.split('"').next()?;
        (value, format!("default = \"{value}\""))
    };
    if let Some(port) = port_number(value) {
        return Some((port, written));
    }
    let function = value.strip_suffix("()").unwrap_or(value);
    let function = function.rsplit("::").next().unwrap_or(function);
    let port = function_value(code, function)?;
    Some((port, format!("{function}() returns it")))
}

/// The number `fn NAME() -> u16 { N }` in `code` returns.
fn function_value(code: &str, name: &str) -> Option<PortRef> {
    let at = code.find(&format!("fn {name}()"))?;
    let open = at + code[at..].find('{')?;
    let close = closing(code, open, b'{', b'}')?;
    port_number(code[open + 1..close].trim())
}

/// `port: N` in the file's `impl Default for STRUCT`.
fn impl_default_field(code: &str, name: &str, field: &str) -> Option<(PortRef, String)> {
    let at = code.find(&format!("impl Default for {name} "))?;
    let open = at + code[at..].find('{')?;
    let close = closing(code, open, b'{', b'}')?;
    let body = &code[open + 1..close];
    let (before, rest) = body.split_once(&format!("{field}:"))?;
    if before
        .bytes()
        .next_back()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    let value = rest.split([',', '}']).next()?.trim();
    let port = port_number(value)?;
    Some((port, format!("`{field}: {value}` in impl Default")))
}

/// A literal port: digits, with an integer type suffix or not (`5000u16`).
fn port_number(text: &str) -> Option<PortRef> {
    let text = text.trim();
    let digits = ["u16", "u32", "u64", "usize", "i32", "i64"]
        .iter()
        .find_map(|t| text.strip_suffix(t))
        .unwrap_or(text)
        .trim_end_matches('_');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port_ref(digits)
}

fn push_default(list: &mut Vec<PortDefault>, port: PortRef, why: String, variable: Option<String>) {
    if !list.iter().any(|d| d.port == port) {
        list.push(PortDefault {
            port,
            why,
            variable,
        });
    }
}

fn push_unique(list: &mut Vec<(PortRef, String)>, port: PortRef, why: &str) {
    if !list.iter().any(|(p, _)| *p == port) {
        list.push((port, why.to_string()));
    }
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

    /// The config crate's defaults of a server's settings (atuin's): its host is a
    /// loopback address, its port a server port's default; a database's are not.
    #[test]
    fn config_crate_defaults_of_a_server() {
        let settings = "fn new() -> Result<Settings> {\n    let builder = Config::builder()\n        \
                        .set_default(\"host\", \"127.0.0.1\")?\n        .set_default(\"port\", 8888)?\n        \
                        .set_default(\"db.host\", \"127.0.0.1\")?\n        .set_default(\"db_port\", 5432)?;\n}\n";
        assert_eq!(said(settings), [("127.0.0.1".to_string(), None)]);
        let facts = listen_facts(settings);
        assert_eq!(facts.defaults.len(), 1, "{:?}", facts.defaults);
        assert_eq!(facts.defaults[0].port, PortRef::Number(8888));
        assert_eq!(facts.defaults[0].why, "set_default(\"port\", ..)");
    }

    /// Loopback addresses built in code: axum's tutorial shape, `Ipv4Addr::LOCALHOST`, and
    /// w4/bin's argh default (the option its field is); not a client's address of a local
    /// server, port 0, nor any in a file that listens on nothing.
    #[test]
    fn loopback_addresses_built_in_code() {
        let axum = "async fn main() {\n    let addr = SocketAddr::from(([127, 0, 0, 1], 3000));\n    \
                    axum::Server::bind(&addr).serve(app).await;\n    \
                    let admin = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), ADMIN_PORT);\n    \
                    let upstream = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], 5432)));\n    \
                    let free = SocketAddr::from(([127, 0, 0, 1], 0));\n}\n";
        assert_eq!(
            said(axum),
            [
                ("127.0.0.1:3000".to_string(), None),
                ("127.0.0.1:ADMIN_PORT".to_string(), None)
            ]
        );
        let argh = "#[derive(FromArgs)]\nstruct BinArgs {\n    /// socket address to bind to\n    \
                    #[argh(\n        positional,\n        default = \"SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 8820)\"\n    )]\n    \
                    pub bind_addr: SocketAddr,\n}\nfn main() {\n    HttpServer::new(app).bind(args.bind_addr)?.run();\n}\n";
        assert_eq!(
            said(argh),
            [("127.0.0.1:8820".to_string(), Some("bind_addr".to_string()))]
        );
        let client = "fn main() {\n    let addr = SocketAddr::from(([127, 0, 0, 1], 3000));\n    \
                      let stream = TcpStream::connect(addr);\n}\n";
        assert_eq!(said(client), []);
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

    fn ports(list: &[(PortRef, String)]) -> Vec<PortRef> {
        list.iter().map(|(p, _)| p.clone()).collect()
    }

    /// The shapes real servers use: microbin's clap default beside its `[0, 0, 0, 0]`
    /// address, bore's constant, actix's tuple, axum's parsed string, `PORT` from the
    /// environment; not a client's port, a database's, or port 0.
    #[test]
    fn ports_on_every_interface_and_server_port_defaults() {
        let server = r#"
pub const CONTROL_PORT: u16 = 7835;
#[derive(Parser)]
struct Args {
    #[arg(long, env = "MICROBIN_PORT", default_value_t = 8080)]
    port: u16,
    #[arg(long, default_value = "5432")]
    db_port: u16,
    /// Port to use
    #[arg(
        short = 'p',
        long = "port",
        default_value = "8081",
        env = "MINISERVE_PORT"
    )]
    #[serde(default)]
    pub port: u16,
    #[clap(long, default_value = "9090")]
    pub http_port: u16,
}
async fn main() {
    let a = SocketAddr::from(([0, 0, 0, 0], CONTROL_PORT));
    HttpServer::new(app).bind(("0.0.0.0", 8000))?.run().await;
    let b: SocketAddr = "0.0.0.0:3000".parse()?;
    let c = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 4000);
    let e = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 8088);
    const FILTERS: [IpNet; 2] = [
        IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8), // Loopback
        IpNet::new_assert(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8),       // Reserved range
    ];
    let d = TcpListener::bind("[::]:0").await?;
    let port = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(5000);
    let redis = env::var("REDIS_PORT").unwrap_or("6379".into());
}
"#;
        let facts = listen_facts(server);
        assert_eq!(
            ports(&facts.public),
            [
                PortRef::Const("CONTROL_PORT".into()),
                PortRef::Number(8000),
                PortRef::Number(3000),
                PortRef::Number(4000),
                PortRef::Number(8088)
            ]
        );
        let defaults: Vec<(PortRef, String)> = facts
            .defaults
            .iter()
            .map(|d| (d.port.clone(), d.why.clone()))
            .collect();
        let variables: Vec<Option<&str>> = facts
            .defaults
            .iter()
            .map(|d| d.variable.as_deref())
            .collect();
        assert_eq!(
            variables,
            [
                Some("MICROBIN_PORT"),
                Some("MINISERVE_PORT"),
                None,
                Some("PORT")
            ]
        );
        assert_eq!(
            ports(&defaults),
            [
                PortRef::Number(8080),
                PortRef::Number(8081),
                PortRef::Number(9090),
                PortRef::Number(5000)
            ]
        );
        assert!(facts.listens);
        assert_eq!(facts.consts, [("CONTROL_PORT".to_string(), 7835)]);
        let client = r#"
#[derive(Parser)]
struct Cli {
    #[arg(long, default_value_t = 6379)]
    port: u16,
}
fn main() { let s = TcpStream::connect(("127.0.0.1", 6379)); }
"#;
        let facts = listen_facts(client);
        assert!(!facts.listens && facts.public.is_empty());
        assert_eq!(facts.defaults[0].port, PortRef::Number(6379));
        assert!(listen_facts("fn f() { let s = \"0.0.0.0").is_empty());
    }

    /// A doc comment's example is no code (ours, on `built_loopbacks`, was said of
    /// cargo-image when planning this repository), nor a port beside an unspecified
    /// address in a comment.
    #[test]
    fn comments_are_not_listens() {
        let source = "//! (`SocketAddr::from(([127, 0, 0, 1], 3000))`)\n\
                      /// `TcpListener::bind(([0, 0, 0, 0], 8080))`\n\
                      fn serve() { let l = TcpListener::bind(addr); }\n";
        assert!(said(source).is_empty(), "{:?}", said(source));
        assert!(listen_facts(source).public.is_empty());
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

    #[test]
    fn a_udp_socket_s_port_is_udp() {
        let source = r#"
async fn main() {
    let dns = tokio::net::UdpSocket::bind("0.0.0.0:5353").await?;
    let api = TcpListener::bind(("0.0.0.0", 8053)).await?;
    let quic = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], QUIC_PORT)))?;
}
"#;
        let facts = listen_facts(source);
        let numbers = |list: &[(PortRef, String)]| -> Vec<PortRef> {
            list.iter().map(|(p, _)| p.clone()).collect()
        };
        assert_eq!(numbers(&facts.public), [PortRef::Number(8053)]);
        assert_eq!(
            numbers(&facts.udp),
            [PortRef::Number(5353), PortRef::Const("QUIC_PORT".into())]
        );
    }

    /// ntpd-rs's statime binds its PTP ports through its own socket functions, in a file
    /// that names UDP and never TCP; a file that names both keeps its TCP.
    #[test]
    fn a_port_in_a_file_of_udp_sockets_is_udp() {
        let ptp = r#"
use timestamped_socket::socket::{open_interface_udp4, open_ipv4};
const EVENT_PORT: u16 = 319;
fn open() {
    let event = open_ipv4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, EVENT_PORT), true)?;
}
"#;
        let facts = listen_facts(ptp);
        assert!(facts.public.is_empty(), "{:?}", facts.public);
        assert_eq!(facts.udp.len(), 1, "{:?}", facts.udp);
        let both = format!("{ptp}\nfn api() {{ let l = TcpListener::bind((\"0.0.0.0\", 8080)); }}");
        let facts = listen_facts(&both);
        assert_eq!(facts.public.len(), 2, "{:?}", facts.public);
        assert!(facts.udp.is_empty(), "{:?}", facts.udp);
    }

    /// zero2prod's `application:` port beside its host, pgcat's `[general]` with its
    /// exporter's port, a listen address with a port; not a database's port, nor a port in
    /// a section that says nothing of where to listen.
    #[test]
    fn a_server_configuration_s_ports_are_read() {
        let yaml =
            "application:\n  port: 8000\n  host: 0.0.0.0\ndatabase:\n  host: \"127.0.0.1\"\n  \
                    port: 5432\nredis_uri: \"redis://127.0.0.1:6379\"\n";
        let ports = |text: &str| -> Vec<(u16, String, usize)> {
            config_ports(text)
                .into_iter()
                .map(|(p, e)| (p, e.section, e.line))
                .collect()
        };
        assert_eq!(ports(yaml), [(8000, "application".to_string(), 2)]);
        let toml = "[general]\nhost = \"0.0.0.0\"\nport = 6432\nprometheus_exporter_port = 9930\n\
                    [pools.simple_db]\nport = 5432\n[server]\naddress = \"0.0.0.0:8000\"\n";
        assert_eq!(
            ports(toml),
            [
                (6432, "general".to_string(), 3),
                (9930, "general".to_string(), 4),
                (8000, "server".to_string(), 8)
            ]
        );
        // A client's: the host is a name it connects to.
        assert!(ports("[server]\nhost = \"api.example.com\"\nport = 443\n").is_empty());
    }

    /// rqbit's HTTP API: a listen-address option whose fallback is built in code, said as
    /// that option's default.
    #[test]
    fn a_listen_option_s_fallback_on_loopback() {
        let source = r#"
struct ServerOpts {
    #[arg(long = "http-api-listen-addr", env = "RQBIT_HTTP_API_LISTEN_ADDR")]
    http_api_listen_addr: Option<SocketAddr>,
}
async fn serve(opts: ServerOpts) {
    let api = start_http_api(
        session,
        opts.http_api_listen_addr
            .unwrap_or((Ipv4Addr::LOCALHOST, 3030).into()),
    ).await?;
}
"#;
        assert_eq!(
            said(source),
            [(
                "127.0.0.1:3030".to_string(),
                Some("http_api_listen_addr".to_string())
            )]
        );
    }

    /// Health routes in axum's, actix's and the attribute shape; not a client's request
    /// of another service's `/health`.
    #[test]
    fn health_routes_are_read() {
        let source = r#"
fn app() -> Router {
    Router::new()
        .route("/healthz", get(ok))
        .service(web::resource("/health_check").to(ok))
}
#[get("/ping")]
async fn ping() -> &'static str { "pong" }
async fn probe() { let r = client.head(format!("{}{}", base, "/health")).send().await; }
fn api() -> Router { Router::new().route("/api/v1/healthz", get(ok)) }
"#;
        assert_eq!(
            listen_facts(source).health_routes,
            ["/healthz", "/health_check", "/ping", "/api/v1/healthz"]
        );
        // dufs: a constant, without its slash, that the router compares a request's path
        // with; not one only a client sends to, nor a bare word beside a path.
        let dufs = r#"
const HEALTH_CHECK_PATH: &str = "__dufs__/health";
fn handle(req_path: &str) -> bool {
    if req_path == HEALTH_CHECK_PATH { return true; }
    false
}
"#;
        assert_eq!(listen_facts(dufs).health_routes, ["/__dufs__/health"]);
        // lemmy: a route inside a scope answers under its prefix; zero2prod's beside one
        // answers at the root.
        let scoped = r#"
fn config(cfg: &mut ServiceConfig) {
    cfg.service(
        web::scope("/api/v4").service(
            web::scope("/image")
                .route("/proxy", get().to(image_proxy))
                .route("/health", get().to(pictrs_health)),
        ),
    );
}
"#;
        assert!(listen_facts(scoped).health_routes.is_empty());
        let beside = r#"
fn run() {
    App::new()
        .route("/health_check", web::get().to(health_check))
        .service(web::scope("/admin").route("/dashboard", web::get().to(admin)))
}
"#;
        assert_eq!(listen_facts(beside).health_routes, ["/health_check"]);
        // axum: a router given to `nest` answers under its prefix; one chained after it
        // at the root.
        let nested = "fn app() -> Router {\n    Router::new().nest(\"/api\", Router::new().route(\"/health\", get(ok)))\n}\n";
        assert!(listen_facts(nested).health_routes.is_empty());
        let after = "fn app() -> Router {\n    Router::new().nest(\"/api\", api()).route(\"/healthz\", get(ok))\n}\n";
        assert_eq!(listen_facts(after).health_routes, ["/healthz"]);
        let client = r#"
const STATUS: &str = "/v1/health";
fn poll() { http.get(url.join(STATUS)); }
fn file() { let path = dir.join("health"); }
"#;
        assert!(listen_facts(client).health_routes.is_empty());
    }

    /// clap's builder API: the port argument's default and variable, not another
    /// argument's default (redlib's `hsts`, after it).
    #[test]
    fn a_builder_api_port_default_is_read() {
        let source = r#"
fn main() {
    let matches = Command::new("redlib")
        .arg(Arg::new("address").long("address").default_value("[::]"))
        .arg(
            Arg::new("port")
                .short('p')
                .env("PORT")
                .default_value("8080")
                .num_args(1),
        )
        .arg(Arg::new("hsts").long("hsts").default_value("604800"))
        .get_matches();
    app.listen(&listener).await;
}
"#;
        let facts = listen_facts(source);
        assert!(facts.listens);
        assert_eq!(facts.defaults.len(), 1, "{:?}", facts.defaults);
        assert_eq!(facts.defaults[0].port, PortRef::Number(8080));
        assert_eq!(facts.defaults[0].variable.as_deref(), Some("PORT"));
        let client = "fn main() { Arg::with_name(\"db_port\").default_value(\"5432\"); }";
        assert!(listen_facts(client).defaults.is_empty());
    }

    /// Server settings structs (a bind address beside the port): lemmy's smart-default
    /// `#[default(8536)]` (not its metrics' port, beside a loopback bind), dufs's
    /// `default_port()` function, kellnr's `impl Default`; a database client's settings (a
    /// `host` or `address` where it connects) are none.
    #[test]
    fn port_defaults_of_server_settings_structs() {
        let ports = |source: &str| -> Vec<(PortRef, String)> { settings_port_defaults(source) };
        let lemmy = "#[derive(SmartDefault)]\npub struct Settings {\n  \
                     #[default(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)))]\n  pub bind: IpAddr,\n  \
                     /// Port where lemmy should listen\n  #[default(8536)]\n  pub port: u16,\n}\n\
                     pub struct DatabaseConfig {\n  #[default(\"localhost\")]\n  pub host: String,\n  \
                     #[default(5432)]\n  pub(super) port: i32,\n}\n\
                     pub struct PrometheusConfig {\n  \
                     #[default(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)))]\n  pub bind: IpAddr,\n  \
                     #[default(10002)]\n  pub port: u16,\n}\n";
        assert_eq!(
            ports(lemmy),
            [(
                PortRef::Number(8536),
                "Settings::port: #[default(8536)]".to_string()
            )]
        );
        let dufs = "pub struct Args {\n    #[serde(default = \"default_addrs\")]\n    \
                    pub addrs: Vec<BindAddr>,\n    #[serde(default = \"default_port\")]\n    \
                    #[default(default_port())]\n    pub(crate) port: u16,\n}\n\
                    fn default_port() -> u16 {\n    5000\n}\n";
        assert_eq!(
            ports(dufs),
            [(
                PortRef::Number(5000),
                "Args::port: default_port() returns it".to_string()
            )]
        );
        let kellnr = "pub struct Local {\n    /// IP address to bind to\n    pub ip: IpAddr,\n    \
                      #[arg(short = 'p')]\n    pub port: u16,\n}\n\n\
                      impl Default for Local {\n    fn default() -> Self {\n        \
                      Self {\n            ip: default_ip(),\n            port: 8000,\n        }\n    }\n}\n\
                      pub struct Postgresql {\n    pub address: String,\n    pub port: u16,\n}\n\
                      impl Default for Postgresql {\n    fn default() -> Self {\n        \
                      Self { address: default_pg_address(), port: 5432 }\n    }\n}\n";
        assert_eq!(
            ports(kellnr),
            [(
                PortRef::Number(8000),
                "Local::port: `port: 8000` in impl Default".to_string()
            )]
        );
        // lldap's derive_builder defaults: ports beside hosts on every interface; a
        // database's host and port beside them are a client's.
        let lldap = "pub struct Configuration {\n    \
                     #[builder(default = r#\"String::from(\"::\")\"#)]\n    pub ldap_host: String,\n    \
                     #[builder(default = \"3890\")]\n    pub ldap_port: u16,\n    \
                     #[builder(default = r#\"String::from(\"::\")\"#)]\n    pub http_host: String,\n    \
                     #[builder(default = \"17170\")]\n    pub http_port: u16,\n    \
                     #[builder(default = r#\"String::from(\"db\")\"#)]\n    pub db_host: String,\n    \
                     #[builder(default = \"5432\")]\n    pub db_port: u16,\n}\n";
        let found: Vec<PortRef> = ports(lldap).into_iter().map(|(p, _)| p).collect();
        assert_eq!(found, [PortRef::Number(3890), PortRef::Number(17170)]);
        // In a comment or a string, a struct is none.
        assert!(ports("// struct S { bind: X, #[default(80)] port: u16 }\nlet s = \"struct T { ip: u8, port: u16 }\";").is_empty());
    }

    /// rustypaste's and vigil's shipped configuration listen on loopback; a database's
    /// address, a URL and a commented line do not count.
    #[test]
    fn a_configuration_file_s_loopback_listen_address() {
        let rustypaste = "[config]\nrefresh_rate = \"1s\"\n\n[server]\n\
                          #address = \"0.0.0.0:8000\"\naddress = \"127.0.0.1:8000\"\n";
        assert_eq!(
            config_loopback(rustypaste),
            Some(ConfigEntry {
                file: String::new(),
                line: 6,
                text: "address = \"127.0.0.1:8000\"".to_string(),
                section: "server".into(),
                key: "address".into(),
                value: "127.0.0.1:8000".into(),
            })
        );
        let vigil = "[Server.Http]\n\nlog_level = \"error\"\ninet = '[::1]:8080'\n";
        let found = config_loopback(vigil).unwrap();
        assert_eq!(
            (found.line, found.section.as_str(), found.value.as_str()),
            (4, "server.http", "[::1]:8080")
        );
        let yaml = "application:\n  address: localhost:3000\n";
        let found = config_loopback(yaml).unwrap();
        assert_eq!(
            (found.line, found.section.as_str(), found.key.as_str()),
            (2, "application", "address")
        );
        // A host alone (zero2prod's local.yaml), not a database's.
        let local = "application:\n  host: 127.0.0.1\n  base_url: \"http://127.0.0.1\"\n\
                     database:\n  host: localhost\n";
        let found = config_loopback(local).unwrap();
        assert_eq!((found.line, found.key.as_str()), (2, "host"));
        assert_eq!(config_loopback("database:\n  host: localhost\n"), None);
        // Secrets set to literals; not a path, a reference, a number or an empty value.
        let sonic = "[channel]\ninet = \"[::1]:1491\"\nauth_password = \"SecretPassword\"\n\
                     token_ttl = 3600\napi_key_file = \"/run/key\"\nsecret = \"${SECRET}\"\n\
                     # password = \"x\"\ntoken = \"\"\nsmtp:\n  password: hunter2\n";
        let found: Vec<(usize, String, String)> = config_secrets(sonic)
            .into_iter()
            .map(|e| (e.line, e.section, e.key))
            .collect();
        assert_eq!(
            found,
            [
                (3, "channel".to_string(), "auth_password".to_string()),
                (10, "smtp".into(), "password".into())
            ]
        );
        for client in [
            "[database]\naddress = \"127.0.0.1:5432\"\n",
            "[server]\ndatabase_url = \"postgres://u@127.0.0.1:5432/db\"\n",
            "[server]\naddress = \"0.0.0.0:8000\"\n",
            "redis:\n  addr: 127.0.0.1:6379\n",
        ] {
            assert_eq!(config_loopback(client), None, "{client}");
        }
    }

    /// The environment overrides of a configuration: the `config` crate's (sonic's prefix
    /// and separators, rustypaste's separator without a prefix, a prefix alone whose
    /// separator is `_`, none for nested keys without a separator) and figment's.
    #[test]
    fn a_configuration_s_environment_override_is_read() {
        let var = |code: &str, section: &str, key: &str| {
            listen_facts(code)
                .env_override
                .and_then(|o| o.variable(section, key))
        };
        let sonic = "let conf = Config::builder()\n    .add_source(File::from(path))\n    \
                     .add_source(\n        config::Environment::with_prefix(\"SONIC\")\n            \
                     .separator(\"__\")\n            .prefix_separator(\"_\"),\n    )\n    .build()?;\n";
        assert_eq!(
            var(sonic, "channel", "inet").as_deref(),
            Some("SONIC_CHANNEL__INET")
        );
        let rustypaste = "config.add_source(Environment::default().separator(\"__\"));\n";
        assert_eq!(
            var(rustypaste, "server", "address").as_deref(),
            Some("SERVER__ADDRESS")
        );
        let prefixed = "let env = Environment::with_prefix(\"APP\").separator(\"__\");\n";
        assert_eq!(
            var(prefixed, "server", "address").as_deref(),
            Some("APP__SERVER__ADDRESS")
        );
        let flat = "let env = Environment::with_prefix(\"app\");\n";
        assert_eq!(var(flat, "", "bind").as_deref(), Some("APP_BIND"));
        assert_eq!(var(flat, "server", "bind"), None);
        let figment = "Figment::new().merge(Toml::file(\"App.toml\")).merge(Env::prefixed(\"APP_\").split(\"__\"));\n";
        assert_eq!(
            var(figment, "server.http", "listen").as_deref(),
            Some("APP_SERVER__HTTP__LISTEN")
        );
        assert_eq!(
            listen_facts("let v = std::env::var(\"X\");\n").env_override,
            None
        );
    }

    /// crates.io's shape: the project's own helper reading the variable, named for it.
    #[test]
    fn a_port_variable_read_through_a_helper_and_its_fallback() {
        let facts = listen_facts(
            "fn from_env() -> Result<Self> {\n    let port = var_parsed(\"PORT\")?.unwrap_or(8888);\n    \
             let pool = env_var(\"DB_POOL\").unwrap_or(10);\n    let n = invariant(\"PORT\").unwrap_or(1);\n}\n",
        );
        let found: Vec<_> = facts
            .defaults
            .iter()
            .map(|d| (&d.port, &d.variable))
            .collect();
        assert_eq!(found, [(&PortRef::Number(8888), &Some("PORT".to_string()))]);
    }
}
