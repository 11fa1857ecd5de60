//! End-to-end: a new user adopts cargo-image. A fresh one-package HTTP service outside
//! this repository runs `cargo image init` (path dependency on this checkout), then
//! `cargo xtask image` there, with no `--manifest-path`; the image runs, answers, and stops
//! on `docker stop` at once although the program handles no signal (our init).
//! Real engine, real cargo: the user's xtask is compiled as the user would compile it.
//!
//! Set `CARGO_IMAGE_E2E_SKIP=1` to skip it on a machine without an engine.

mod e2e;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::*;

const SERVICE: &str = r#"//! Answers every request with a greeting.
use std::io::{Read, Write};

fn main() {
    let listener = std::net::TcpListener::bind("0.0.0.0:8080").expect("binding 8080");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        // The whole request head is read before answering: closing a socket with unread
        // bytes resets it, and a reset can drop the answer still in flight.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && matches!(stream.read(&mut byte), Ok(1)) {
            head.push(byte[0]);
        }
        let body = concat!("hello from ", env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes());
    }
}
"#;

/// Runs a command in `dir` with `CI=1`; returns stdout and stderr, asserting success.
fn run_in(dir: &Path, program: &Path, args: &[&str]) -> String {
    eprintln!(
        "[e2e] $ (cd {}) {} {}",
        dir.display(),
        program.display(),
        args.join(" ")
    );
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CI", "1")
        .stdin(Stdio::null())
        .output()
        .expect("starting a command");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{text}",
        program.display()
    );
    text
}

#[test]
fn adopt_init_then_cargo_xtask_image_in_a_fresh_repository() {
    let Some(s) = scenario("adopt") else { return };
    let root = s.tiny_workspace("hello-service", "hello-service", SERVICE);
    // A single-package project (tiny_workspace gives it a [workspace] table with no other
    // member; a one-package repository usually has none).
    edit(
        &root.join("Cargo.toml"),
        "\n[workspace]\nresolver = \"2\"\nmembers = []\n",
        "\n",
        1,
    );

    let cargo_image = std::fs::canonicalize(&s.bin).unwrap();
    let said = run_in(
        &root,
        &cargo_image,
        &["image", "init", "--path", repo_root().to_str().unwrap()],
    );
    assert!(said.contains("wrote"), "{said}");
    // The user's xtask compiles against the versions this checkout is tested with.
    std::fs::copy(
        repo_root().join("Cargo.lock"),
        root.join("xtask/Cargo.lock"),
    )
    .unwrap();

    // `cargo xtask image` from the repository root: the alias, the user's one-line xtask,
    // the workspace found around the current directory.
    let cargo = Path::new(&cargo()).to_path_buf();
    let mut args = vec!["xtask".to_string(), "image".to_string()];
    args.extend(overrides());
    args.extend([
        "--label".into(),
        s.label(),
        "--no-size-comparison".into(),
        "--tag".into(),
        format!("{}/{{bin}}:{{version}}", s.prefix()),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let built = run_in(&root, &cargo, &args);
    let tag = s.tag("hello-service", "0.1.0");
    assert!(
        built.contains(&tag),
        "the summary does not list {tag}:\n{built}"
    );

    let container = s.run_detached(&["-p", "127.0.0.1::8080", &tag]);
    let port = published_port(&container, "8080/tcp");
    let body = poll_http(
        port,
        "/",
        Duration::from_secs(20),
        |status, _| status == 200,
        &|| String::from_utf8_lossy(&docker(&["logs", &container]).stderr).into_owned(),
    );
    assert_eq!(body, "hello from hello-service 0.1.0");
    // Non-root, as every image.
    assert_eq!(inspect(&tag, "{{.Config.User}}").trim(), "65532:65532");
    // No `ports` key: the port its code binds on every interface is exposed.
    assert_eq!(
        inspect(&tag, "{{json .Config.ExposedPorts}}").trim(),
        r#"{"8080/tcp":{}}"#
    );
    // It listens and handles no signal: the image runs it under our init, so `docker
    // stop`'s SIGTERM ends it at once (as PID 1 it would ignore it until the timeout).
    assert_eq!(
        inspect(&tag, "{{json .Config.Entrypoint}}"),
        r#"["/usr/local/bin/cargo-image-init","/usr/local/bin/hello-service"]"#
    );
    let asked = Instant::now();
    docker_ok(&["stop", "--time", "30", &container]);
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(10), "docker stop took {took:?}");
    assert_eq!(inspect(&container, "{{.State.ExitCode}}"), "143");
}
