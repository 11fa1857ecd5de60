//! The Docker Engine API driver (bollard): connects (honouring `DOCKER_HOST`: unix, tcp,
//! ssh), checks base images, builds a Dockerfile target with a BuildKit session, tags and
//! inspects the result.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bollard::models::BuildInfoAux;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateImageOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::drive::progress::{Progress, StepReport};

/// Builds take minutes; bollard's default request timeout (two minutes) would cut them.
const BUILD_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

/// Where the engine is, found as the docker CLI finds it, and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineHost {
    /// `unix:///…`, `tcp://…`, `ssh://…`.
    pub host: String,
    /// For messages: `DOCKER_HOST`, `docker context \`colima\``, or the default socket.
    pub from: String,
}

/// The default socket of a Linux engine.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The engine the docker CLI would use: `DOCKER_HOST`, else the context `DOCKER_CONTEXT`
/// or `currentContext` of `$DOCKER_CONFIG/config.json` names (how colima, rootless Docker
/// and Docker Desktop on Linux point the CLI at their socket), else the default socket.
/// Without this a user whose engine is reached through a context would be told no engine
/// runs while `docker build` works.
pub fn engine_host() -> Result<EngineHost> {
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        if !host.is_empty() {
            return Ok(EngineHost {
                host,
                from: "DOCKER_HOST".into(),
            });
        }
    }
    let config_dir = match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => std::path::PathBuf::from(d),
        None => match std::env::var_os("HOME") {
            Some(h) => std::path::Path::new(&h).join(".docker"),
            None => return Ok(default_host()),
        },
    };
    let context = match std::env::var("DOCKER_CONTEXT") {
        Ok(c) if !c.is_empty() => Some(c),
        _ => std::fs::read_to_string(config_dir.join("config.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v.get("currentContext")?.as_str().map(str::to_string)),
    };
    let Some(context) = context.filter(|c| c != "default") else {
        return Ok(default_host());
    };
    context_host(&config_dir.join("contexts/meta"), &context)?
        .map(|host| EngineHost {
            host,
            from: format!("docker context `{context}`"),
        })
        .ok_or_else(|| {
            anyhow!(
                "docker context `{context}` (from DOCKER_CONTEXT or {}) is not defined; \
                 list them with `docker context ls`, or set DOCKER_HOST",
                config_dir.join("config.json").display()
            )
        })
}

fn default_host() -> EngineHost {
    EngineHost {
        host: DEFAULT_HOST.into(),
        from: "the default socket".into(),
    }
}

/// The docker endpoint of context `name`: the CLI keeps each context in
/// `contexts/meta/<sha256 of the name>/meta.json`; reading every `meta.json` and matching
/// `Name` finds it without hashing.
fn context_host(meta_dir: &std::path::Path, name: &str) -> Result<Option<String>> {
    let Ok(entries) = std::fs::read_dir(meta_dir) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let path = entry.path().join("meta.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("reading docker context {}", path.display()))?;
        if meta.get("Name").and_then(|n| n.as_str()) == Some(name) {
            let host = meta
                .pointer("/Endpoints/docker/Host")
                .and_then(|h| h.as_str())
                .with_context(|| {
                    format!(
                        "docker context `{name}` ({}) has no docker endpoint",
                        path.display()
                    )
                })?;
            return Ok(Some(host.to_string()));
        }
    }
    Ok(None)
}

/// Connects to the engine [`engine_host`] finds and checks it answers.
pub async fn connect(at: &EngineHost) -> Result<Docker> {
    let hint = || {
        format!(
            "cannot reach the Docker engine at {} ({}); start it (e.g. `sudo systemctl start docker`, \
             or `bash .ci/engine.sh start` on a CI machine) or set DOCKER_HOST",
            at.host, at.from
        )
    };
    let docker = match at.host.strip_prefix("ssh://") {
        Some(destination) => {
            let socket = ssh_bridge(destination).with_context(hint)?;
            Docker::connect_with_unix(
                &socket.display().to_string(),
                BUILD_TIMEOUT.as_secs(),
                bollard::API_DEFAULT_VERSION,
            )
        }
        None => Docker::connect_with_host(&at.host),
    }
    .with_context(hint)?
    .with_timeout(BUILD_TIMEOUT);
    let docker = docker.negotiate_version().await.with_context(hint)?;
    docker.ping().await.with_context(hint)?;
    Ok(docker)
}

/// An `ssh://[user@]host[:port]` engine, reached as the docker CLI reaches one: every API
/// connection is `ssh … docker system dial-stdio` on that machine (the user's own ssh, its
/// configuration and agent), served here on a unix socket for bollard. bollard's own ssh
/// support took `host:port` for a host name. The socket is removed when the runtime ends.
fn ssh_bridge(destination: &str) -> Result<std::path::PathBuf> {
    let destination = destination.trim_end_matches('/');
    let (user_host, port) = match destination.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (destination, None),
    };
    let mut args: Vec<String> = Vec::new();
    if let Some(port) = port {
        args.extend(["-p".into(), port.into()]);
    }
    args.extend(
        [
            "-o",
            "BatchMode=yes",
            "-T",
            "--",
            user_host,
            "docker",
            "system",
            "dial-stdio",
        ]
        .map(String::from),
    );
    let socket = std::env::temp_dir().join(format!("cargo-image-ssh-{}.sock", unique_id()));
    let listener = tokio::net::UnixListener::bind(&socket)
        .with_context(|| format!("listening on {}", socket.display()))?;
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let remove = Remove(socket.clone());
    tokio::spawn(async move {
        let _remove = remove;
        while let Ok((stream, _)) = listener.accept().await {
            let args = args.clone();
            tokio::spawn(async move {
                let child = tokio::process::Command::new("ssh")
                    .args(&args)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .kill_on_drop(true)
                    .spawn();
                // ssh says on stderr (the user's terminal) why it could not connect.
                let Ok(mut child) = child else { return };
                let (Some(mut to_ssh), Some(mut from_ssh)) =
                    (child.stdin.take(), child.stdout.take())
                else {
                    return;
                };
                let (mut from_client, mut to_client) = stream.into_split();
                let up = async {
                    let _ = tokio::io::copy(&mut from_client, &mut to_ssh).await;
                    drop(to_ssh);
                };
                let down = tokio::io::copy(&mut from_ssh, &mut to_client);
                let _ = tokio::join!(up, down);
                let _ = child.wait().await;
            });
        }
    });
    Ok(socket)
}

/// Whether the engine runs Linux containers with BuildKit available through the API.
pub async fn buildkit_available(docker: &Docker) -> Result<bool> {
    let info = docker
        .info()
        .await
        .context("asking the engine for its info")?;
    Ok(info.os_type.as_deref() != Some("windows"))
}

/// Refuses an engine that answers the Docker API but does not build with BuildKit: Podman's
/// compatible API builds with Buildah, which cannot build the generated Dockerfile (it
/// picks the build stage by a build argument, `FROM build-${CARGO_IMAGE_BUILD}`, which
/// Buildah takes for an image name, and it ignores a context given as a URL). Said before
/// anything is built, naming the engine and what it lacks.
pub async fn refuse_without_buildkit(docker: &Docker, at: &EngineHost) -> Result<()> {
    let version = docker
        .version()
        .await
        .context("asking the engine for its version")?;
    let podman = version
        .components
        .iter()
        .flatten()
        .find(|c| c.name.contains("Podman"));
    if let Some(podman) = podman {
        bail!(
            "the engine at {} ({}) is Podman {} (its Docker-compatible API), which builds \
             with Buildah, not BuildKit; the generated Dockerfile needs BuildKit (a build \
             stage chosen by a build argument, `RUN --mount` from other stages, the build \
             context as a URL). Build with Docker Engine 23 or later (or Docker Desktop)",
            at.host,
            at.from,
            podman.version
        );
    }
    Ok(())
}

/// Whether an image is in the engine's local store.
pub async fn has_image(docker: &Docker, name: &str) -> bool {
    docker.inspect_image(name).await.is_ok()
}

/// Pulls an image; the error says why it could not be pulled.
pub async fn pull(docker: &Docker, name: &str) -> Result<()> {
    let opts = CreateImageOptionsBuilder::new().from_image(name).build();
    let mut stream = docker.create_image(Some(opts), None, None);
    while let Some(item) = stream.next().await {
        item.with_context(|| format!("pulling {name}"))?;
    }
    Ok(())
}

/// An id no other build of this machine uses: process id and the time in nanoseconds.
fn unique_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{nanos:x}", std::process::id())
}

/// The build context served to the engine (see [`serve_context`]); serving stops on drop.
pub struct ServedContext {
    /// The URL the engine is told to fetch.
    pub url: String,
    /// How many connections reached the server: none after a failed build means the engine
    /// cannot reach this machine's 127.0.0.1.
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ServedContext {
    /// Whether the engine has connected at least once.
    pub fn reached(&self) -> bool {
        self.connections.load(std::sync::atomic::Ordering::SeqCst) > 0
    }
}

impl Drop for ServedContext {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the build context tar to the engine over HTTP on 127.0.0.1, under a random path,
/// for as long as the returned [`ServedContext`] lives.
///
/// Why not upload it as the request body: with the containerd image store (Docker Desktop's
/// default, and needed for multi-platform images) the engine's BuildKit cannot read an
/// uploaded context (moby/buildkit#5623: it tries to fetch `http://build-context-…` by DNS;
/// seen with Docker 26). A `remote` URL it can reach works on every store, but only for an
/// engine that shares this machine's network: the caller falls back to `docker buildx`
/// (which sends the context over the engine's socket) when the engine never connects.
pub async fn serve_context(tar: std::sync::Arc<Vec<u8>>) -> Result<ServedContext> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("opening a local port to hand the build context to the engine")?;
    let port = listener.local_addr()?.port();
    let token = unique_id();
    let path = format!("/{token}/context.tar");
    let url = format!("http://127.0.0.1:{port}{path}");
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let tar = tar.clone();
            let path = path.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let wanted = line.split_whitespace().nth(1).unwrap_or("");
                // A write the engine cut short is the engine's to report (the build fails
                // there with its reason); nothing here would add to it.
                let _ = if wanted == path {
                    let header = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        tar.len()
                    );
                    match conn.write_all(header.as_bytes()).await {
                        Ok(()) => conn.write_all(&tar).await,
                        Err(e) => Err(e),
                    }
                } else {
                    conn.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await
                };
                let _ = conn.shutdown().await;
            });
        }
    });
    Ok(ServedContext {
        url,
        connections,
        task,
    })
}

/// Whether `host` may be an engine sharing this machine's network (a socket, or a loopback
/// address), which can then fetch a context served on 127.0.0.1. A socket may still lead
/// to an engine in a VM or its own network namespace: the caller finds out at the first
/// build (see [`ServedContext::reached`]).
pub fn maybe_local(host: &str) -> bool {
    host.starts_with("unix://")
        || host.starts_with("npipe://")
        || [
            "tcp://127.",
            "tcp://localhost",
            "http://127.",
            "http://localhost",
            "tcp://[::1]",
        ]
        .iter()
        .any(|p| host.starts_with(p))
}

/// One build request.
pub struct BuildRequest<'a> {
    /// The Dockerfile's path inside the context tar.
    pub dockerfile: &'a str,
    pub target: &'a str,
    /// The first tag (more are added with [`tag`]); `None` leaves the result untagged.
    pub tag: Option<&'a str>,
    pub build_args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
    pub no_cache: bool,
    /// What the progress display calls this build.
    pub title: String,
    /// Where the workspace's keys go (`[workspace.metadata.image] in Cargo.toml`), for the
    /// hints after a failure.
    pub config_table: String,
}

/// What a finished build reports.
#[derive(Clone, Debug)]
pub struct BuildOutcome {
    pub seconds: f64,
    pub steps: Vec<StepReport>,
}

/// Builds one target of the Dockerfile in `context` through BuildKit.
pub async fn build(
    docker: &Docker,
    context: &ServedContext,
    req: &BuildRequest<'_>,
) -> Result<BuildOutcome> {
    // The engine's response can break off with the engine still up (seen with Docker 26
    // and concurrent builds: the stream ends mid-message after the export). Everything
    // the first attempt built is cached, so one more attempt is cheap and says so; a
    // build error, or an engine that no longer answers, is reported at once.
    let mut attempt = 0;
    loop {
        match build_once(docker, context, req).await {
            Err(BuildFailure::Transport(e)) if attempt == 0 && docker.ping().await.is_ok() => {
                eprintln!(
                    "cargo-image: the engine's response to `{}` broke off ({e}); the engine is up, building again",
                    req.title
                );
                attempt += 1;
            }
            Err(BuildFailure::Transport(e)) => {
                return Err(anyhow!(e).context(
                    "lost the connection to the Docker engine during the build \
                     (did the engine stop? `docker info` tells)",
                ))
            }
            Err(BuildFailure::Build(e))
                if attempt == 0 && super::hints::unpack_race(&format!("{e:#}")) =>
            {
                eprintln!(
                    "cargo-image: the engine lost a layer while storing `{}` (a known \
                     containerd-store race, not your build); building again from its cache",
                    req.title
                );
                attempt += 1;
            }
            Err(BuildFailure::Build(e)) => return Err(e),
            Ok(outcome) => return Ok(outcome),
        }
    }
}

/// Why one build attempt failed.
enum BuildFailure {
    /// The build itself (a step failed, a bad argument): its error and output.
    Build(anyhow::Error),
    /// The response stream broke: the engine stopped, or the stream was cut.
    Transport(bollard::errors::Error),
}

async fn build_once(
    docker: &Docker,
    context: &ServedContext,
    req: &BuildRequest<'_>,
) -> Result<BuildOutcome, BuildFailure> {
    let session = format!("cargo-image-{}", unique_id());
    let mut builder = BuildImageOptionsBuilder::new()
        .dockerfile(req.dockerfile)
        .target(req.target)
        .version(BuilderVersion::BuilderBuildKit)
        .session(&session)
        .nocache(req.no_cache)
        .rm(true)
        .forcerm(true)
        .buildargs(&req.build_args)
        .labels(&req.labels)
        .remote(context.url.as_str());
    if let Some(t) = req.tag {
        builder = builder.t(t);
    }
    let started = Instant::now();
    let mut progress = Progress::new(&req.title);
    let mut steps = Vec::new();
    let mut stream = docker.build_image(
        builder.build(),
        None,
        Some(bollard::body_full(Vec::new().into())),
    );
    let mut failure: Option<anyhow::Error> = None;
    let mut transport: Option<bollard::errors::Error> = None;
    // In plain mode a step that compiles for minutes would print nothing: a heartbeat.
    let mut heartbeat = tokio::time::interval(crate::drive::progress::HEARTBEAT);
    heartbeat.tick().await;
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = heartbeat.tick() => {
                progress.heartbeat();
                continue;
            }
        };
        let Some(item) = item else { break };
        match item {
            Ok(info) => {
                if let Some(BuildInfoAux::BuildKit(status)) = &info.aux {
                    steps.extend(progress.update(status));
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                failure = Some(anyhow!("{}", error.trim()));
                break;
            }
            Err(e) => {
                transport = Some(e);
                break;
            }
        }
    }
    progress.finish();
    if let Some(e) = transport {
        return Err(BuildFailure::Transport(e));
    }
    if let Some(e) = failure {
        let output = progress.failure_output();
        if output.is_empty() {
            return Err(BuildFailure::Build(e));
        }
        let hints: String = super::hints::hints_for(&output, &req.config_table)
            .iter()
            .map(|h| format!("\n{h}\n"))
            .collect();
        // The engine's message follows after `: ` (anyhow's chain): it gets a line that
        // says what it is, not a bare colon.
        return Err(BuildFailure::Build(e.context(format!(
            "the build failed; its output:\n{output}{hints}\nthe failing step"
        ))));
    }
    Ok(BuildOutcome {
        seconds: started.elapsed().as_secs_f64(),
        steps,
    })
}

/// Adds a tag (`repo:tag`) to an image.
pub async fn tag(docker: &Docker, image: &str, new_tag: &str) -> Result<()> {
    let (repo, tag) = split_tag(new_tag);
    let opts = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
    docker
        .tag_image(image, Some(opts))
        .await
        .with_context(|| format!("tagging {image} as {new_tag}"))
}

/// `registry:5000/a/b:1.0` → (`registry:5000/a/b`, `1.0`); no tag → `latest`.
pub fn split_tag(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

/// Size in bytes and number of layers of an image.
pub async fn inspect(docker: &Docker, image: &str) -> Result<(u64, usize)> {
    let info = docker
        .inspect_image(image)
        .await
        .with_context(|| format!("inspecting {image}"))?;
    let size = info.size.unwrap_or(0).max(0) as u64;
    let layers = info
        .root_fs
        .and_then(|r| r.layers)
        .map(|l| l.len())
        .unwrap_or(0);
    Ok((size, layers))
}

/// A file of an image, read without running anything: a container is created (never
/// started), the file copied out of it, and the container removed. `None` when the image
/// has no such file.
pub async fn image_file(docker: &Docker, image: &str, path: &str) -> Result<Option<Vec<u8>>> {
    use bollard::query_parameters::{
        DownloadFromContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    };
    let body = bollard::models::ContainerCreateBody {
        image: Some(image.to_string()),
        ..Default::default()
    };
    let created = docker
        .create_container(None, body)
        .await
        .with_context(|| format!("creating a container of {image} to read {path}"))?;
    let opts = DownloadFromContainerOptionsBuilder::new()
        .path(path)
        .build();
    let mut stream = docker.download_from_container(&created.id, Some(opts));
    let mut tar = Vec::new();
    let mut outcome = Ok(true);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => tar.extend_from_slice(&bytes),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                outcome = Ok(false);
                break;
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    let remove = RemoveContainerOptionsBuilder::new().force(true).build();
    docker
        .remove_container(&created.id, Some(remove))
        .await
        .with_context(|| format!("removing the container made to read {path} of {image}"))?;
    if !outcome.with_context(|| format!("reading {path} of {image}"))? {
        return Ok(None);
    }
    // The archive holds the one file.
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut entries = archive
        .entries()
        .context("reading the archive of one file")?;
    match entries.next() {
        Some(entry) => {
            let mut contents = Vec::new();
            std::io::Read::read_to_end(&mut entry?, &mut contents)?;
            Ok(Some(contents))
        }
        None => Ok(None),
    }
}

/// Removes an image (used for the throw-away single-stage estimate).
pub async fn remove(docker: &Docker, image: &str) -> Result<()> {
    let opts = RemoveImageOptionsBuilder::new().force(true).build();
    docker
        .remove_image(image, Some(opts), None)
        .await
        .with_context(|| format!("removing {image}"))?;
    Ok(())
}

/// Refuses the legacy builder with the reason: the Dockerfile needs BuildKit.
pub fn legacy_unsupported() -> Result<()> {
    bail!(
        "the legacy builder cannot build this Dockerfile: it uses `RUN --mount` and `COPY --chmod` \
         (cache-stable per-crate layers need them); enable BuildKit (Docker 23+ has it on by \
         default; older engines: set `\"features\": {{\"buildkit\": true}}` in daemon.json)"
    )
}

#[cfg(test)]
mod tests {
    use super::{context_host, maybe_local, split_tag};

    #[test]
    fn sockets_and_loopback_may_be_local_other_addresses_are_remote() {
        for h in [
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2375",
        ] {
            assert!(maybe_local(h), "{h}");
        }
        for h in [
            "tcp://192.0.2.2:2375",
            "ssh://me@build-box",
            "tcp://docker.internal:2376",
        ] {
            assert!(!maybe_local(h), "{h}");
        }
    }

    #[test]
    fn a_context_is_found_by_the_name_inside_its_meta_file() {
        let dir = tempfile::tempdir().unwrap();
        for (hash, name, host) in [
            (
                "aa",
                "colima",
                "unix:///home/me/.colima/default/docker.sock",
            ),
            ("bb", "rootless", "unix:///run/user/1000/docker.sock"),
        ] {
            std::fs::create_dir_all(dir.path().join(hash)).unwrap();
            std::fs::write(
                dir.path().join(hash).join("meta.json"),
                format!(
                    r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
                ),
            )
            .unwrap();
        }
        assert_eq!(
            context_host(dir.path(), "rootless").unwrap().as_deref(),
            Some("unix:///run/user/1000/docker.sock")
        );
        assert_eq!(context_host(dir.path(), "desktop-linux").unwrap(), None);
    }

    #[test]
    fn tags_split_at_the_last_colon_after_the_registry_port() {
        assert_eq!(split_tag("api:0.3.1"), ("api", "0.3.1"));
        assert_eq!(
            split_tag("localhost:5000/api"),
            ("localhost:5000/api", "latest")
        );
        assert_eq!(
            split_tag("localhost:5000/api:1"),
            ("localhost:5000/api", "1")
        );
    }
}
