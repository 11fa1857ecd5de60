//! End-to-end: engines that cannot fetch a build context from this machine's 127.0.0.1
//! (issue "never lose a user's file…", §4).
//!
//! The Engine API driver serves the context on 127.0.0.1 for the engine to fetch (an
//! uploaded one is unreadable with the containerd store). Two kinds of engine cannot reach
//! that address, and both must still build:
//! - an engine in a VM or its own network namespace behind a unix socket on this machine
//!   (Docker Desktop, colima, OrbStack, rootless Docker), found through a docker context
//!   as those set it up: the first build fails at once without reaching the server, and the
//!   driver goes on through `docker buildx`, which sends the context over the socket;
//! - an engine on another machine (`DOCKER_HOST=tcp://<address>`): buildx from the start.
//!
//! Podman's Docker-compatible API is refused at once (it builds with Buildah, not BuildKit).
//!
//! One second dockerd plays both: started with `unshare --net` (own data root, containerd
//! store), its socket a file here; for the remote case a TCP forwarder on a non-loopback
//! address of this machine leads to that socket, so the engine behind it shares nothing
//! with the client but the connection, as a remote one does.

mod e2e;

use std::time::Duration;

use e2e::*;

const RUNTIME: &str = "cargo-image-stand-in/distroless-cc:trixie";

#[test]
fn s16_engine_without_the_hosts_network_local_socket_and_remote_tcp() {
    let Some(s) = scenario("s16-engines") else {
        return;
    };
    let engine = SecondEngine::start(&s.path("eng"));
    let loading = std::time::Instant::now();
    engine.load(&[BUILDER, RUNTIME]);
    eprintln!(
        "[e2e] s16-engines: loaded the stand-ins into the second engine in {:.0}s",
        loading.elapsed().as_secs_f64()
    );
    let root = s.tiny_workspace(
        "tiny",
        "e2e-engines",
        "fn main() {\n    println!(\"built by the other engine\");\n}\n",
    );
    let manifest = root.join("Cargo.toml").display().to_string();
    let args = |tag: &str| -> Vec<String> {
        let mut a = vec![
            "image".to_string(),
            "--manifest-path".into(),
            manifest.clone(),
        ];
        a.extend(overrides());
        a.extend([
            "--label".into(),
            s.label(),
            "--no-size-comparison".into(),
            "--tag".into(),
            tag.to_string(),
        ]);
        a
    };

    // 1. A docker context names the socket (DOCKER_HOST unset), as colima and rootless
    //    Docker set it up.
    let config = s.path("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let config_env = config.display().to_string();
    for cmd in [
        vec![
            "context".to_string(),
            "create".into(),
            "e2e-netns".into(),
            "--docker".into(),
            format!("host={}", engine.host()),
        ],
        vec!["context".into(), "use".into(), "e2e-netns".into()],
    ] {
        let out = std::process::Command::new("docker")
            .arg("--config")
            .arg(&config)
            .args(&cmd)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker {cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let local_tag = format!("{}/tiny:netns", s.prefix());
    let run = s.xtask(
        &args(&local_tag),
        &[("DOCKER_CONFIG", &config_env), ("DOCKER_HOST", "")],
        Duration::from_secs(10 * 60),
    );
    assert!(run.status.success(), "{}", run.describe());
    assert!(
        run.stderr.contains("docker context `e2e-netns`")
            && run.stderr.contains("cannot reach this machine's 127.0.0.1"),
        "the fallback to buildx was not stated:\n{}",
        run.describe()
    );
    assert_runs(&engine, &local_tag);
    assert!(
        !docker(&["image", "inspect", &local_tag]).status.success(),
        "{local_tag} is in the main engine: the build did not go to the context's engine"
    );

    // 2. The same engine as a remote one: tcp:// at an address that is not a loopback one.
    let Some(address) = non_loopback_ipv4() else {
        panic!("this machine has no non-loopback IPv4 address for the remote-engine case");
    };
    let forwarder = Forwarder::start_on(&address, &engine.socket);
    let host = format!("tcp://{address}:{}", forwarder.port);
    let remote_tag = format!("{}/tiny:remote", s.prefix());
    let run = s.xtask(
        &args(&remote_tag),
        &[("DOCKER_HOST", &host)],
        Duration::from_secs(10 * 60),
    );
    assert!(run.status.success(), "{}", run.describe());
    assert!(
        run.stderr.contains("is on another machine") && run.stderr.contains(&host),
        "the remote route was not stated:\n{}",
        run.describe()
    );
    assert!(
        forwarder.connections() > 0,
        "nothing went through {host}: the build did not use DOCKER_HOST"
    );
    assert_runs(&engine, &remote_tag);
}

/// The image is in the second engine and its binary runs there.
fn assert_runs(engine: &SecondEngine, tag: &str) {
    let out = engine.docker(&["run", "--rm", "--network", "none", tag]);
    assert!(
        out.status.success(),
        "running {tag} in the second engine: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "built by the other engine"
    );
}

/// Podman's Docker-compatible API (`podman system service`) builds with Buildah, which
/// cannot build the generated Dockerfile: refused before anything is built, naming Podman
/// and what it lacks, instead of failing inside the build with a file Buildah cannot find.
#[test]
fn s16_podmans_docker_api_is_refused_at_once() {
    let Some(s) = scenario("s16-podman") else {
        return;
    };
    if which("podman").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "`podman` is not on PATH; .ci/run provisions it (apt-get install podman)"
        );
        eprintln!("[e2e] s16-podman: skipped: no `podman` (apt-get install podman)");
        return;
    }
    let socket = s.path("podman.sock");
    let mut service = std::process::Command::new("podman")
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", socket.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting `podman system service`");
    let started = std::time::Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "podman's socket did not appear"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let root = s.tiny_workspace("tiny", "e2e-podman", "fn main() {}\n");
    let host = format!("unix://{}", socket.display());
    let mut args = vec![
        "image".to_string(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
    ];
    args.extend(overrides());
    let run = s.xtask(&args, &[("DOCKER_HOST", &host)], Duration::from_secs(60));
    let _ = service.kill();
    let _ = service.wait();
    assert!(!run.status.success(), "{}", run.describe());
    for fragment in ["is Podman", "Buildah, not BuildKit", "Docker Engine 23"] {
        assert!(
            run.stderr.contains(fragment),
            "`{fragment}` missing:\n{}",
            run.describe()
        );
    }
    assert!(
        run.seconds < 20.0,
        "refused only after {:.1}s: {}",
        run.seconds,
        run.describe()
    );
    assert!(
        !run.stdout.contains("==> building"),
        "a build started: {}",
        run.describe()
    );
}

/// Where `program` is on PATH.
fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
