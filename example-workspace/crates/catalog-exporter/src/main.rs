//! `catalog-exporter`: on `GET /export`, writes the seed catalog as a zlib-compressed JSON
//! snapshot into its data directory, notes it in `exports.log` where it runs (its working
//! directory, as services keep state where they start), and answers with what it wrote.
//!
//! ```text
//! catalog-exporter --config config/default.toml   # title, port, data-dir
//! GET /health   -> ok
//! GET /export   -> {"title":…,"path":"/data/catalog.json.z","bytes":…,"zlib":"1.3.1","log":"exports.log"}
//! ```
//!
//! With `CATALOG_EXPORT_TOKEN` in its environment, `/export` answers only a request with
//! `Authorization: Bearer <token>` (401 otherwise): a secret the container gets when it
//! runs, never the image (`run-env`).
//!
//! Plain std networking (one thread per connection): the point of this crate is the
//! runtime around it — configuration file, volume, arguments, signal, shared library.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

struct Config {
    title: String,
    port: u16,
    data_dir: String,
    /// `CATALOG_EXPORT_TOKEN`: the bearer token `/export` asks for, when set.
    token: Option<String>,
}

/// Reads `key = value` lines (the subset of TOML the file uses).
fn read_config(path: &str) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    let mut values = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("{path}: not `key = value`: {line}"))?;
        values.insert(key.trim().to_string(), value.trim().trim_matches('"').to_string());
    }
    let get = |key: &str| {
        values
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{path}: `{key}` is missing"))
    };
    Ok(Config {
        title: get("title")?,
        port: get("port")?
            .parse()
            .map_err(|e| format!("{path}: port: {e}"))?,
        data_dir: get("data-dir")?,
        token: std::env::var("CATALOG_EXPORT_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    })
}

/// zlib's `compress2` over `data`, through the system library.
fn compress(data: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: the buffers and their lengths come from live Vecs; zlib writes at most
    // `len` bytes (the bound compressBound gives) and stores the length it used.
    unsafe {
        let mut len = libz_sys::compressBound(data.len() as libz_sys::uLong);
        let mut out = vec![0u8; len as usize];
        let rc = libz_sys::compress2(
            out.as_mut_ptr(),
            &mut len,
            data.as_ptr(),
            data.len() as libz_sys::uLong,
            9,
        );
        if rc != libz_sys::Z_OK {
            return Err(format!("compress2 failed: {rc}"));
        }
        out.truncate(len as usize);
        Ok(out)
    }
}

fn zlib_version() -> String {
    // SAFETY: zlibVersion returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(libz_sys::zlibVersion()) }
        .to_string_lossy()
        .into_owned()
}

fn export(config: &Config) -> Result<String, String> {
    let catalog = catalog_domain::Catalog::seed();
    let json = serde_json::to_vec(catalog.products()).map_err(|e| e.to_string())?;
    let packed = compress(&json)?;
    let path = format!("{}/catalog.json.z", config.data_dir);
    std::fs::write(&path, &packed).map_err(|e| format!("writing {path}: {e}"))?;
    let log = "exports.log";
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("opening {log}: {e}"))?;
    writeln!(file, "{path} {}", packed.len()).map_err(|e| format!("writing {log}: {e}"))?;
    Ok(serde_json::json!({
        "title": config.title,
        "path": path,
        "bytes": packed.len(),
        "zlib": zlib_version(),
        "log": log,
    })
    .to_string())
}

fn respond(mut stream: TcpStream, config: &Config) {
    // The whole head is read before answering: closing a socket with unread request bytes
    // resets the connection, and the reset can drop the answer still in flight.
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut header = String::new();
    let mut bearer = None;
    while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header.trim_end() != "" {
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                bearer = value.trim().strip_prefix("Bearer ").map(str::to_string);
            }
        }
        header.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let allowed = config.token.is_none() || bearer == config.token;
    let (status, body) = match path {
        "/health" => ("200 OK", "ok".to_string()),
        "/export" if !allowed => ("401 Unauthorized", "a bearer token is required".to_string()),
        "/export" => match export(config) {
            Ok(body) => ("200 OK", body),
            Err(e) => ("500 Internal Server Error", e),
        },
        _ => ("404 Not Found", "not found".to_string()),
    };
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
}

extern "C" fn stop(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config_path = match args.as_slice() {
        [flag, path] if flag == "--config" => path.clone(),
        [] => "config/default.toml".to_string(),
        _ => {
            eprintln!("usage: catalog-exporter [--config FILE]");
            return ExitCode::from(2);
        }
    };
    let config = match read_config(&config_path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("catalog-exporter: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Stops on Ctrl-C, as many services do, and handles no SIGTERM: PID 1 in a container
    // gets no default signal action, so its image stops it with SIGINT (the planner reads
    // this handler and says so; no `stop-signal` key).
    // SAFETY: installing a handler that only calls an async-signal-safe function.
    unsafe {
        libc::signal(libc::SIGINT, stop as *const () as libc::sighandler_t);
    }
    let listener = match TcpListener::bind(("0.0.0.0", config.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("catalog-exporter: binding port {}: {e}", config.port);
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "catalog-exporter: `{}` on port {} (zlib {}; /export {})",
        config.title,
        config.port,
        zlib_version(),
        if config.token.is_some() {
            "needs the bearer token"
        } else {
            "open"
        }
    );
    let config = std::sync::Arc::new(config);
    for stream in listener.incoming().flatten() {
        let config = config.clone();
        std::thread::spawn(move || respond(stream, &config));
    }
    ExitCode::SUCCESS
}
