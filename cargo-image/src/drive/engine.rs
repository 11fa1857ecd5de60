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

/// Connects to the engine `DOCKER_HOST` names (or the default socket) and checks it answers.
pub async fn connect() -> Result<Docker> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let hint = || {
        format!(
            "cannot reach the Docker engine at {host}; start it (e.g. `sudo systemctl start docker`, \
             or `bash .ci/engine.sh start` on a CI machine) or set DOCKER_HOST"
        )
    };
    let docker = Docker::connect_with_defaults()
        .with_context(hint)?
        .with_timeout(BUILD_TIMEOUT);
    let docker = docker.negotiate_version().await.with_context(hint)?;
    docker.ping().await.with_context(hint)?;
    Ok(docker)
}

/// Whether the engine runs Linux containers with BuildKit available through the API.
pub async fn buildkit_available(docker: &Docker) -> Result<bool> {
    let info = docker
        .info()
        .await
        .context("asking the engine for its info")?;
    Ok(info.os_type.as_deref() != Some("windows"))
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

/// Serves the build context tar to the engine over HTTP on 127.0.0.1, under a random path,
/// for as long as the returned task lives.
///
/// Why not upload it as the request body: with the containerd image store (Docker Desktop's
/// default, and needed for multi-platform images) the engine's BuildKit cannot read an
/// uploaded context (moby/buildkit#5623: it tries to fetch `http://build-context-…` by DNS).
/// A `remote` URL it can reach works on every store. The engine must run on this machine.
pub async fn serve_context(
    tar: std::sync::Arc<Vec<u8>>,
) -> Result<(String, tokio::task::JoinHandle<()>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("opening a local port to hand the build context to the engine")?;
    let port = listener.local_addr()?.port();
    let token = unique_id();
    let path = format!("/{token}/context.tar");
    let url = format!("http://127.0.0.1:{port}{path}");
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
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
    Ok((url, task))
}

/// How the engine gets the build context.
#[derive(Clone, Debug)]
pub enum ContextSource {
    /// A URL the engine fetches (see [`serve_context`]).
    Url(String),
    /// The tar as the request body: the only way to a remote engine, but unreadable for an
    /// engine with the containerd image store (moby/buildkit#5623).
    Body(std::sync::Arc<Vec<u8>>),
}

/// Whether `DOCKER_HOST` points at an engine on this machine (which can reach 127.0.0.1).
pub fn engine_is_local() -> bool {
    match std::env::var("DOCKER_HOST") {
        Err(_) => true,
        Ok(h) => {
            h.is_empty()
                || h.starts_with("unix://")
                || h.starts_with("npipe://")
                || [
                    "tcp://127.",
                    "tcp://localhost",
                    "http://127.",
                    "http://localhost",
                    "tcp://[::1]",
                ]
                .iter()
                .any(|p| h.starts_with(p))
        }
    }
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
    context: &ContextSource,
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
    context: &ContextSource,
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
        .labels(&req.labels);
    if let Some(t) = req.tag {
        builder = builder.t(t);
    }
    let body = match context {
        ContextSource::Url(url) => {
            builder = builder.remote(url.as_str());
            Vec::new()
        }
        ContextSource::Body(tar) => tar.to_vec(),
    };
    let started = Instant::now();
    let mut progress = Progress::new(&req.title);
    let mut steps = Vec::new();
    let mut stream =
        docker.build_image(builder.build(), None, Some(bollard::body_full(body.into())));
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
        return Err(BuildFailure::Build(
            e.context(format!("the build failed; its output:\n{output}")),
        ));
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
    use super::split_tag;

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
