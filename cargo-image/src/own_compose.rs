//! The data directories a workspace's own compose file (one we did not generate) mounts
//! into its services: rustypaste's `docker-compose.yml` keeps uploads with
//! `./upload/:/app/upload`, and an image of the same program without a volume there loses
//! them with its container. The planner names those the generated image lacks.
//!
//! The ports its services publish too (pgcat's `- "6432:6432"`, with no `EXPOSE` in its
//! Dockerfile and the port in its configuration file): an image without them gets no
//! `EXPOSE`, and no published port in compose.yaml.
//!
//! Read line by line, not as YAML: the `volumes:` and `ports:` lists of each entry under
//! `services:`, in its short form (`- ./upload/:/app/upload`, `- data:/data:rw`) or its long form
//! (`- type: volume` … `target: /data`). Left out: read-only mounts (`:ro`,
//! `read_only: true`: configuration, not data), a target whose last component has a dot
//! (a file: `./config.toml:/app/config.toml`), and the Docker socket.

use serde::{Deserialize, Serialize};

/// A service's mounted data directory.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ComposeVolume {
    /// The compose service's name.
    pub service: String,
    /// The service's `image:`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Where it is mounted in the container.
    pub target: String,
    /// The entry as written (`./upload/:/app/upload`).
    pub entry: String,
}

/// The compose files a project keeps beside its Cargo.toml, in the order `docker compose`
/// looks for them.
pub const FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// A port a service publishes: what its container listens on.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ComposePort {
    /// The compose service's name.
    pub service: String,
    /// The service's `image:`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The container's port.
    pub target: u16,
    /// `protocol: udp`, or `/udp` after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub udp: bool,
    /// The entry as written (`6432:6432`).
    pub entry: String,
}

/// What the services of a project's own compose file say about the program each runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OwnCompose {
    /// Its name (`docker-compose.yml`).
    pub file: String,
    /// The data directories its services mount, in the file's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ComposeVolume>,
    /// The ports its services publish, in the file's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ComposePort>,
}

/// Reads compose file `file`, whose text is `text`: the data directories its services
/// mount and the ports they publish, in the file's order.
pub fn read(file: &str, text: &str) -> OwnCompose {
    let mut own = OwnCompose {
        file: file.to_string(),
        ..OwnCompose::default()
    };
    for service in services(text) {
        for (item, rest) in &service.volumes {
            if let Some((target, entry)) = volume(item, rest) {
                own.volumes.push(ComposeVolume {
                    service: service.name.to_string(),
                    image: service.image.clone(),
                    target,
                    entry,
                });
            }
        }
        for (item, rest) in &service.ports {
            if let Some((target, udp, entry)) = port(item, rest) {
                own.ports.push(ComposePort {
                    service: service.name.to_string(),
                    image: service.image.clone(),
                    target,
                    udp,
                    entry,
                });
            }
        }
    }
    own
}

/// A service's `key:` list: each `- ` item with the lines of its long form after it.
type Items<'a> = Vec<(&'a str, Vec<&'a str>)>;

/// A service of a compose file, with the lists the planner reads.
struct Service<'a> {
    name: &'a str,
    image: Option<String>,
    volumes: Items<'a>,
    ports: Items<'a>,
}

/// Each service of compose file `text` with its image and the items of its `volumes:` and
/// `ports:` lists, in the file's order: one walk over the file.
fn services(text: &str) -> Vec<Service<'_>> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .map(|l| l.split(" #").next().unwrap_or(l).trim_end())
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| (l.len() - l.trim_start().len(), l.trim_start()))
        .collect();
    let mut out = Vec::new();
    let Some(start) = lines.iter().position(|(i, l)| *i == 0 && *l == "services:") else {
        return out;
    };
    let body = &lines[start + 1..];
    let body = &body[..body.iter().position(|(i, _)| *i == 0).unwrap_or(body.len())];
    let Some(service_indent) = body.first().map(|(i, _)| *i) else {
        return out;
    };
    // Each service: its name and its lines.
    let mut services: Vec<(&str, &[(usize, &str)])> = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let (indent, line) = body[at];
        let end = (at + 1..body.len())
            .find(|&j| body[j].0 <= service_indent)
            .unwrap_or(body.len());
        if indent == service_indent {
            if let Some(name) = line.strip_suffix(':') {
                services.push((unquote(name), &body[at + 1..end]));
            }
        }
        at = end;
    }
    for (name, lines) in services {
        let Some(key_indent) = lines.first().map(|(i, _)| *i) else {
            continue;
        };
        let image = lines
            .iter()
            .filter(|(i, _)| *i == key_indent)
            .find_map(|(_, l)| l.strip_prefix("image:"))
            .map(|v| unquote(v.trim()).to_string());
        let list = |key: &str| -> Items {
            let heading = format!("{key}:");
            let Some(list) = lines
                .iter()
                .position(|(i, l)| *i == key_indent && *l == heading)
            else {
                return Vec::new();
            };
            let items = &lines[list + 1..];
            let items = &items[..items
                .iter()
                .position(|(i, _)| *i <= key_indent)
                .unwrap_or(items.len())];
            let mut found: Items = Vec::new();
            let mut i = 0;
            while i < items.len() {
                let (indent, line) = items[i];
                let end = (i + 1..items.len())
                    .find(|&j| items[j].0 <= indent && items[j].1.starts_with("- "))
                    .unwrap_or(items.len());
                if let Some(item) = line.strip_prefix("- ") {
                    found.push((item, items[i + 1..end].iter().map(|(_, l)| *l).collect()));
                }
                i = end;
            }
            found
        };
        out.push(Service {
            name,
            image,
            volumes: list("volumes"),
            ports: list("ports"),
        });
    }
    out
}

/// A list item in the long form (`- type: volume`, `- target: 80`), not a string.
fn long(item: &str) -> bool {
    item.contains(": ") || item.ends_with(':')
}

/// A `volumes:` item that mounts a data directory: its target and the entry as written.
fn volume(item: &str, rest: &[&str]) -> Option<(String, String)> {
    if long(item) {
        long_form(item, rest)
    } else {
        let entry = unquote(item.trim());
        short_form(entry).map(|target| (target, entry.to_string()))
    }
}

/// A `ports:` item (`- "6432:6432"`, `- 127.0.0.1:8080:80`, `- "53:53/udp"`, `- target: 80`
/// with `protocol: udp`): the container's port, UDP, and the entry as written. A range
/// (`9000-9010:9000-9010`) is left out.
fn port(item: &str, rest: &[&str]) -> Option<(u16, bool, String)> {
    let found = if long(item) {
        let fields = fields(item, rest);
        let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let target = get("target").and_then(|t| t.parse::<u16>().ok());
        target.map(|t| (t, get("protocol") == Some("udp"), format!("target: {t}")))
    } else {
        let entry = unquote(item.trim());
        let (ports, protocol) = entry.split_once('/').unwrap_or((entry, "tcp"));
        let target = ports.rsplit(':').next().unwrap_or(ports);
        (target.parse::<u16>().ok()).map(|t| (t, protocol == "udp", entry.to_string()))
    };
    found.filter(|(t, _, _)| *t != 0)
}

/// `./upload/:/app/upload`, `data:/data:rw`: the target of a writable data directory.
fn short_form(entry: &str) -> Option<String> {
    let parts: Vec<&str> = entry.split(':').collect();
    let (source, target, mode) = match parts[..] {
        [source, target] => (source, target, ""),
        [source, target, mode] => (source, target, mode),
        _ => return None,
    };
    let read_only = mode.split(',').any(|m| m == "ro");
    data_target(source, target, read_only)
}

/// `- type: bind` with `source:`, `target:` and `read_only:` on the lines after it: the
/// target, and the entry as `source:target`.
fn long_form(first: &str, rest: &[&str]) -> Option<(String, String)> {
    let fields = fields(first, rest);
    let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let source = get("source").unwrap_or("");
    let target = data_target(source, get("target")?, get("read_only") == Some("true"))?;
    let entry = if source.is_empty() {
        target.clone()
    } else {
        format!("{source}:{target}")
    };
    Some((target, entry))
}

/// The `key: value` fields of a long-form item: its first line and the lines after it.
fn fields<'a>(first: &'a str, rest: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    std::iter::once(first)
        .chain(rest.iter().copied())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), unquote(v.trim())))
        .collect()
}

fn data_target(source: &str, target: &str, read_only: bool) -> Option<String> {
    let target = target.trim_end_matches('/');
    let file = target
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    let socket = source.ends_with(".sock") || target.ends_with(".sock");
    (target.starts_with('/') && target.len() > 1 && !read_only && !file && !socket)
        .then(|| target.to_string())
}

fn unquote(text: &str) -> &str {
    let text = text.trim();
    ['"', '\'']
        .iter()
        .find_map(|q| text.strip_prefix(*q).and_then(|t| t.strip_suffix(*q)))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::{read, ComposePort, ComposeVolume};

    fn data_volumes(text: &str) -> Vec<ComposeVolume> {
        read("compose.yaml", text).volumes
    }

    fn published_ports(text: &str) -> Vec<ComposePort> {
        read("compose.yaml", text).ports
    }

    /// rustypaste's shape (a bind-mounted upload directory beside a read-only config
    /// file), a named volume in the long form, and what is not data: a file, `:ro`, the
    /// Docker socket, a service without volumes, the top-level `volumes:` table.
    #[test]
    fn the_services_data_directories_are_read() {
        let text = "version: \"3.4\"\n\
                    services:\n  rustypaste:\n    image: orhunp/rustypaste:latest\n    \
                    container_name: rustypaste\n    restart: always\n    environment:\n      \
                    - RUST_LOG=debug\n    ports:\n      - \"8000:8000\"\n    volumes:\n      \
                    - ./upload/:/app/upload\n      - ./config.toml:/app/config.toml\n      \
                    - ./certs:/app/certs:ro   # read-only\n      \
                    - /var/run/docker.sock:/var/run/docker.sock\n  \
                    db:\n    image: postgres:16\n    volumes:\n      - type: volume\n        \
                    source: pgdata\n        target: /var/lib/postgresql/data\n      \
                    - type: bind\n        source: ./init\n        target: /docker-entrypoint-initdb.d\n        \
                    read_only: true\n  \
                    cache:\n    image: redis\n\
                    volumes:\n  pgdata: {}\n";
        let found: Vec<(String, String, String)> = data_volumes(text)
            .into_iter()
            .map(|v| (v.service, v.target, v.entry))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "rustypaste".to_string(),
                    "/app/upload".to_string(),
                    "./upload/:/app/upload".to_string()
                ),
                (
                    "db".into(),
                    "/var/lib/postgresql/data".into(),
                    "pgdata:/var/lib/postgresql/data".into()
                ),
            ]
        );
        assert!(data_volumes("version: '3'\n").is_empty());
    }

    /// pgcat's `"6432:6432"`, a host address before the ports, UDP, a bare container port
    /// and the long form; not a range.
    #[test]
    fn the_services_published_ports_are_read() {
        let text = "services:\n  pgcat:\n    build: .\n    ports:\n      - \"6432:6432\"\n      \
                    - 127.0.0.1:9930:9930\n      - \"5353:53/udp\"\n      - 8080\n      \
                    - 9000-9010:9000-9010\n    volumes:\n      - ./data:/data\n  \
                    dns:\n    image: me/dns:1\n    ports:\n      - target: 53\n        \
                    published: \"5300\"\n        protocol: udp\n";
        let found: Vec<(String, Option<String>, u16, bool, String)> = published_ports(text)
            .into_iter()
            .map(|p| (p.service, p.image, p.target, p.udp, p.entry))
            .collect();
        let pgcat = |target: u16, udp: bool, entry: &str| {
            ("pgcat".to_string(), None, target, udp, entry.to_string())
        };
        assert_eq!(
            found,
            [
                pgcat(6432, false, "6432:6432"),
                pgcat(9930, false, "127.0.0.1:9930:9930"),
                pgcat(53, true, "5353:53/udp"),
                pgcat(8080, false, "8080"),
                (
                    "dns".into(),
                    Some("me/dns:1".into()),
                    53,
                    true,
                    "target: 53".into()
                ),
            ]
        );
    }
}
