//! The static HTTP health probe (`templates/probe.rs`), compiled on this machine with the
//! exact `rustc` flags of the Dockerfile's `probe` step and run against small HTTP servers
//! on 127.0.0.1: a 2xx answer is healthy, anything else (an error status, a refused
//! connection, a silent server, a malformed URL) is not. The probe has no std and no libc,
//! so only running it shows that its system calls, start-up code and parsing work.
//!
//! The init (`templates/init.rs`), built the same way, runs real programs here: it exits
//! as its child did, passes SIGTERM on (to a program with no handler, which then ends at
//! once, and to a shell's trap), and reaps the orphans reparented to it.
//!
//! The sources have code for x86_64 and aarch64 Linux only; on any other host the tests
//! say so and pass.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use cargo_image::render::scripts::{INIT_RS, PROBE_RS, RT_RS};

/// How long a test server or the test itself waits before it calls something stuck: far
/// beyond the probe's own five-second timeouts, so only a real hang reaches it.
const STUCK: Duration = Duration::from_secs(30);

/// Docker's HEALTHCHECK reads exit status 1 as "unhealthy" and reserves 2, so every
/// failure must be exactly 1, not just non-zero.
const UNHEALTHY: i32 = 1;

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs (cargo test needs it anyway)");
    assert!(out.status.success(), "rustc -vV failed");
    let text = String::from_utf8(out.stdout).expect("rustc -vV prints UTF-8");
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .unwrap_or_else(|| panic!("no `host:` line in rustc -vV:\n{text}"))
        .trim()
        .to_string()
}

/// Compiles `source` (the probe's or the init's, beside the `rt.rs` module they share)
/// into `dir` as `cargo-image-<name>`, with
/// the flags of the `probe | init)` case of the `cargo-image` script
/// (`templates/cargo-image.sh`), minus the cross linker, which a host build does not need.
fn compile(dir: &Path, triple: &str, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.rs"));
    let bin = dir.join(format!("cargo-image-{name}"));
    std::fs::write(&src, source).expect("write the source");
    std::fs::write(dir.join("rt.rs"), RT_RS).expect("write rt.rs");
    let out = Command::new("rustc")
        .args([
            "--edition",
            "2021",
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
        ])
        .args(["-C", "strip=symbols", "-C", "relocation-model=static"])
        .args(["-C", "target-feature=+crt-static"])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib"])
        .args(["--target", triple, "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("run rustc");
    assert!(
        out.status.success(),
        "compiling the {name} for {triple} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// What a test server does after it has read the request.
#[derive(Clone, Copy)]
enum Answer {
    /// Writes these pieces, pausing between them, then closes.
    Pieces(&'static [&'static [u8]]),
    /// Writes nothing and keeps the connection open until the probe goes away.
    Silence,
}

/// A one-connection HTTP server on 127.0.0.1; yields the port and, once a client has sent
/// its request head, that head.
fn serve(answer: Answer) -> (u16, Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test server");
    serve_on(listener, answer)
}

fn serve_on(listener: TcpListener, answer: Answer) -> (u16, Receiver<String>) {
    let port = listener.local_addr().expect("listener address").port();
    let (tx, rx) = mpsc::channel();
    // Detached: if the probe never connects, the thread waits in `accept` until the test
    // process ends, and the test fails on the channel's timeout instead.
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let head = read_head(&mut stream);
        let _ = tx.send(head);
        match answer {
            Answer::Pieces(pieces) => {
                for (i, piece) in pieces.iter().enumerate() {
                    if i > 0 {
                        // Lets each piece reach the probe in its own read.
                        thread::sleep(Duration::from_millis(200));
                    }
                    if stream.write_all(piece).is_err() {
                        return;
                    }
                }
            }
            Answer::Silence => {
                // Returns when the probe closes its end (it has given up) or after STUCK.
                let _ = stream.set_read_timeout(Some(STUCK));
                let _ = stream.read(&mut [0u8; 1]);
            }
        }
    });
    (port, rx)
}

/// Reads up to the blank line that ends an HTTP request head.
fn read_head(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(STUCK));
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// What a probe run did.
struct Run {
    status: ExitStatus,
    stderr: String,
    took: Duration,
}

/// Runs the probe with `args`, killing it (and failing) if it outlives [`STUCK`].
fn run(bin: &Path, args: &[&str]) -> Run {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the probe");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the probe") {
            break status;
        }
        if start.elapsed() > STUCK {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the probe {args:?} still runs after {STUCK:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    Run {
        status,
        stderr,
        took,
    }
}

/// The request head the server received, or a failure naming the case.
fn received(rx: &Receiver<String>, case: &str) -> String {
    rx.recv_timeout(STUCK)
        .unwrap_or_else(|_| panic!("{case}: the server got no request"))
}

fn assert_healthy(run: &Run, case: &str) {
    assert!(
        run.status.success(),
        "{case}: expected exit 0, got {:?}; stderr: {}",
        run.status,
        run.stderr
    );
}

/// A failure must be exit status 1 and say why on stderr, in the words `why`.
fn assert_unhealthy(run: &Run, case: &str, why: &str) {
    assert_eq!(
        run.status.code(),
        Some(UNHEALTHY),
        "{case}: expected exit {UNHEALTHY}, got {:?}; stderr: {}",
        run.status,
        run.stderr
    );
    assert!(
        run.stderr.starts_with("unhealthy: ") && run.stderr.contains(why),
        "{case}: stderr should say `unhealthy: …{why}…`, got: {:?}",
        run.stderr
    );
}

/// The host's triple when the static programs have system calls for it, else `None`, said.
fn supported_host() -> Option<String> {
    let triple = host_triple();
    let supported = (triple.starts_with("x86_64-") || triple.starts_with("aarch64-"))
        && triple.contains("-linux-");
    if !supported {
        eprintln!(
            "skipped: the probe and the init have system calls for x86_64 and aarch64 \
             Linux only; this host is {triple}"
        );
    }
    supported.then_some(triple)
}

/// One compile, then every case in turn (each names itself in its failure message).
#[test]
fn probe_tells_healthy_from_unhealthy() {
    let Some(triple) = supported_host() else {
        return;
    };
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let bin = compile(dir.path(), &triple, "probe", PROBE_RS);

    ok_answer_is_healthy_and_request_is_well_formed(&bin);
    no_path_asks_for_the_root(&bin);
    status_line_split_across_reads_is_read_whole(&bin);
    error_statuses_are_unhealthy(&bin);
    refused_connection_is_unhealthy(&bin);
    silent_server_times_out(&bin);
    localhost_is_accepted(&bin);
    malformed_urls_are_unhealthy(&bin);
}

/// (a) A 200 is healthy, and the request is `GET <path> HTTP/1.x` with the URL's path,
/// query included, and a Host header.
fn ok_answer_is_healthy_and_request_is_well_formed(bin: &Path) {
    let case = "200 OK";
    let (port, rx) = serve(Answer::Pieces(&[
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    ]));
    let run = run(
        bin,
        &[&format!("http://127.0.0.1:{port}/health/ready?full=1")],
    );
    assert_healthy(&run, case);
    let head = received(&rx, case);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let version = request_line
        .strip_prefix("GET /health/ready?full=1 HTTP/1.")
        .unwrap_or_else(|| panic!("{case}: request line is {request_line:?}"));
    assert!(
        version.len() == 1 && version.as_bytes()[0].is_ascii_digit(),
        "{case}: request line is {request_line:?}"
    );
    let host = format!("Host: 127.0.0.1:{port}");
    assert!(
        lines.any(|line| line == host),
        "{case}: no `{host}` header in {head:?}"
    );
}

/// A URL without a path asks for `/`, since a request line must carry one.
fn no_path_asks_for_the_root(bin: &Path) {
    let case = "URL without a path";
    let (port, rx) = serve(Answer::Pieces(&[b"HTTP/1.0 204 No Content\r\n\r\n"]));
    let run = run(bin, &[&format!("http://127.0.0.1:{port}")]);
    assert_healthy(&run, case);
    let head = received(&rx, case);
    assert!(
        head.starts_with("GET / HTTP/1."),
        "{case}: request head is {head:?}"
    );
}

/// TCP may deliver the status line in several pieces; the probe must not judge the first.
fn status_line_split_across_reads_is_read_whole(bin: &Path) {
    let case = "status line in pieces";
    let (port, rx) = serve(Answer::Pieces(&[
        b"HTTP/1.",
        b"1 2",
        b"00 OK\r\nConnection: close\r\n\r\n",
    ]));
    let run = run(bin, &[&format!("http://127.0.0.1:{port}/health")]);
    received(&rx, case);
    assert_healthy(&run, case);
}

/// (b) A 500 (and any other non-2xx status) is unhealthy.
fn error_statuses_are_unhealthy(bin: &Path) {
    let answers: [&'static [&'static [u8]]; 3] = [
        &[b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"],
        &[b"HTTP/1.1 503 Service Unavailable\r\n\r\n"],
        &[b"HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\n\r\n"],
    ];
    for pieces in answers {
        let case = String::from_utf8_lossy(&pieces[0][..12]).into_owned();
        let (port, rx) = serve(Answer::Pieces(pieces));
        let run = run(bin, &[&format!("http://127.0.0.1:{port}/health")]);
        received(&rx, &case);
        assert_unhealthy(&run, &case, "without a 2xx status");
    }
}

/// (c) Nothing listening: the port of a listener that has been dropped.
fn refused_connection_is_unhealthy(bin: &Path) {
    let case = "nothing listening";
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener");
        listener.local_addr().expect("listener address").port()
    };
    let run = run(bin, &[&format!("http://127.0.0.1:{port}/health")]);
    assert_unhealthy(&run, case, "connection failed");
}

/// (d) A server that accepts and reads the request but never answers: the probe gives up
/// after its five-second receive timeout, rather than hanging the HEALTHCHECK.
fn silent_server_times_out(bin: &Path) {
    let case = "silent server";
    let (port, rx) = serve(Answer::Silence);
    let run = run(bin, &[&format!("http://127.0.0.1:{port}/health")]);
    received(&rx, case);
    assert_unhealthy(&run, case, "no HTTP answer");
    // The server holds the connection open, so only the timeout can have ended the probe:
    // well under STUCK, and not before the timeout could have fired.
    assert!(
        run.took < Duration::from_secs(15),
        "{case}: the probe took {:?}, its timeout is 5 s",
        run.took
    );
    assert!(
        run.took >= Duration::from_secs(3),
        "{case}: the probe gave up after {:?}, before its 5 s timeout",
        run.took
    );
}

/// (e) The source's doc comment promises `http://<IPv4 or localhost>:<port><path>`.
fn localhost_is_accepted(bin: &Path) {
    let case = "localhost";
    let (port, rx) = serve(Answer::Pieces(&[b"HTTP/1.1 200 OK\r\n\r\n"]));
    let run = run(bin, &[&format!("http://localhost:{port}/health")]);
    assert_healthy(&run, case);
    let head = received(&rx, case);
    assert!(
        head.starts_with("GET /health HTTP/1.")
            && head.contains(&format!("\r\nHost: localhost:{port}\r\n")),
        "{case}: request head is {head:?}"
    );
}

/// (f) URLs the probe cannot use are unhealthy with a message, even when a healthy server
/// listens on the port they name (so the failure is the parse, not the connection).
fn malformed_urls_are_unhealthy(bin: &Path) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test server");
    let port = listener.local_addr().expect("listener address").port();
    // Not `serve`: it answers once, and none of these may connect at all.
    let (_, rx) = serve_on(listener, Answer::Pieces(&[b"HTTP/1.1 200 OK\r\n\r\n"]));
    let urls = [
        String::new(),
        "http://".to_string(),
        "http://127.0.0.1/health".to_string(),
        "http://127.0.0.1:/health".to_string(),
        format!("http://127.0.0.1:{port}x/health"),
        "http://127.0.0.1:65536/health".to_string(),
        "http://127.0.0.1:99999999999/health".to_string(),
        format!("http://256.0.0.1:{port}/health"),
        format!("http://127.0.0:{port}/health"),
        format!("http://127.0.0.1.1:{port}/health"),
        format!("http://127..0.1:{port}/health"),
        format!("http://example.com:{port}/health"),
        format!("http://[::1]:{port}/health"),
        format!("https://127.0.0.1:{port}/health"),
    ];
    for url in &urls {
        let run = run(bin, &[url]);
        assert_unhealthy(&run, &format!("URL {url:?}"), "expected http://");
    }
    let run = run(bin, &[]);
    assert_unhealthy(&run, "no argument", "usage:");
    // A probe that connected has exited by now, so its request head is on its way.
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "a malformed URL reached the server"
    );
}

/// The init runs its program as its child and exits as it did: its status, 126/127 for a
/// program that cannot run, 128 + the signal that ended it. SIGTERM reaches the child: a
/// program with no handler ends at once (as PID 1 it would have ignored it), a shell's
/// trap runs. An orphan reparented to it is reaped, not left a zombie. Its environment
/// and arguments reach the program unchanged.
#[test]
fn init_passes_signals_on_reaps_orphans_and_exits_as_its_child_did() {
    let Some(triple) = supported_host() else {
        return;
    };
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let init = compile(dir.path(), &triple, "init", INIT_RS);
    let start = |args: &[&str]| {
        Command::new(&init)
            .args(args)
            .env("CARGO_IMAGE_INIT_TEST", "passed on")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the init")
    };
    let finish = |child: std::process::Child, case: &str| {
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || tx.send(child.wait_with_output()));
        match rx.recv_timeout(STUCK) {
            Ok(out) => out.expect("wait for the init"),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("{case}: the init still runs after {STUCK:?}");
            }
        }
    };
    let code = |args: &[&str], case: &str| finish(start(args), case).status.code();

    assert_eq!(code(&["/bin/sh", "-c", "exit 3"], "exit 3"), Some(3));
    let out = finish(
        start(&[
            "/bin/sh",
            "-c",
            "echo \"$0 $1 $CARGO_IMAGE_INIT_TEST\"",
            "a b",
            "c",
        ]),
        "arguments",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a b c passed on\n");
    let out = finish(start(&["/nonexistent/program"]), "missing program");
    assert_eq!(out.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot run /nonexistent/program"),
        "{out:?}"
    );
    assert_eq!(code(&["/etc/hostname"], "not executable"), Some(126));
    assert_eq!(code(&[], "no program"), Some(2));

    let term = |script: &str, case: &str| {
        let child = start(&["/bin/sh", "-c", script]);
        // Time for the shell to start and set its trap.
        thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success(), "{case}: kill failed");
        let out = finish(child, case);
        (out.status.code(), sent.elapsed())
    };
    // `exec sleep`: no shell in between, a program without a handler.
    let (status, took) = term("exec sleep 30", "no handler");
    assert_eq!(status, Some(128 + 15), "no handler");
    assert!(took < Duration::from_secs(10), "no handler: took {took:?}");
    let (status, _) = term("trap 'exit 7' TERM; while :; do sleep 0.05; done", "trap");
    assert_eq!(status, Some(7), "trap");

    // The subshell ends at once, leaving its `sleep 0.5` to us: the shell lists our
    // children while it runs, and again after it has ended.
    let script = "list() { for f in /proc/[0-9]*/stat; do read -r l <\"$f\" 2>/dev/null \\
                  || continue; set -- $l; [ \"$4\" = \"$PPID\" ] && echo \"$2 $3\"; done; \\
                  echo --; }; (sleep 0.5 &); sleep 0.2; list; sleep 0.8; list";
    let out = finish(start(&["/bin/sh", "-c", script]), "orphan");
    assert!(out.status.success(), "{out:?}");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let (running, after) = listed.split_once("--\n").expect("two lists");
    assert!(
        running.contains("(sleep) S"),
        "the orphan is not the init's child: {listed}"
    );
    assert!(
        !after.contains("(sleep)"),
        "the orphan was left a zombie: {listed}"
    );
}
