//! The data directories a workspace's own compose file (one we did not generate) mounts
//! into its services: rustypaste's `docker-compose.yml` keeps uploads with
//! `./upload/:/app/upload`, and an image of the same program without a volume there loses
//! them with its container. The planner names those the generated image lacks.
//!
//! Read line by line, not as YAML: the `volumes:` list of each entry under `services:`, in
//! its short form (`- ./upload/:/app/upload`, `- data:/data:rw`) or its long form
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

/// The data directories the services of compose file `text` mount, in the file's order.
pub fn data_volumes(text: &str) -> Vec<ComposeVolume> {
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
    for (service, lines) in services {
        let Some(key_indent) = lines.first().map(|(i, _)| *i) else {
            continue;
        };
        let image = lines
            .iter()
            .filter(|(i, _)| *i == key_indent)
            .find_map(|(_, l)| l.strip_prefix("image:"))
            .map(|v| unquote(v.trim()).to_string());
        let Some(list) = lines
            .iter()
            .position(|(i, l)| *i == key_indent && *l == "volumes:")
        else {
            continue;
        };
        let items = &lines[list + 1..];
        let items = &items[..items
            .iter()
            .position(|(i, _)| *i <= key_indent)
            .unwrap_or(items.len())];
        // Each `- ` item with the lines of its long form.
        let mut i = 0;
        while i < items.len() {
            let (indent, line) = items[i];
            let end = (i + 1..items.len())
                .find(|&j| items[j].0 <= indent && items[j].1.starts_with("- "))
                .unwrap_or(items.len());
            if let Some(item) = line.strip_prefix("- ") {
                let found = if item.contains(": ") || item.ends_with(':') {
                    long_form(item, &items[i + 1..end])
                } else {
                    let entry = unquote(item.trim());
                    short_form(entry).map(|target| (target, entry.to_string()))
                };
                if let Some((target, entry)) = found {
                    out.push(ComposeVolume {
                        service: service.to_string(),
                        image: image.clone(),
                        target,
                        entry,
                    });
                }
            }
            i = end;
        }
    }
    out
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
fn long_form(first: &str, rest: &[(usize, &str)]) -> Option<(String, String)> {
    let fields: Vec<(&str, &str)> = std::iter::once(first)
        .chain(rest.iter().map(|(_, l)| *l))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), unquote(v.trim())))
        .collect();
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
    use super::data_volumes;

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
}
