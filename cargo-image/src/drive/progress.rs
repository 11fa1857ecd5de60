//! BuildKit progress: each step's name, whether it was cached, how long it ran; the
//! compiler's output when a step fails. An indicatif spinner on a terminal; plain lines
//! when stdout is not a terminal or `CI` is set (logs and tests read those).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use bollard::moby::buildkit::v1::StatusResponse;
use indicatif::{ProgressBar, ProgressStyle};

/// How often plain mode says which steps are still running.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// The most output kept per step: the tail is what explains a failure.
const LOG_TAIL: usize = 64 * 1024;

#[derive(Default)]
struct Step {
    name: String,
    started: Option<Instant>,
    done: bool,
    cached: bool,
    error: String,
    log: Vec<u8>,
}

/// Follows one build's status stream.
pub struct Progress {
    bar: Option<ProgressBar>,
    steps: HashMap<String, Step>,
    order: Vec<String>,
}

/// One finished step, as reported (kept so callers and tests can reason about caching).
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    pub name: String,
    pub cached: bool,
    pub seconds: f64,
}

impl Progress {
    pub fn new(title: &str) -> Progress {
        let fancy = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
        let bar = fancy.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {elapsed:>4} {wide_msg}")
                    .expect("a valid template"),
            );
            bar.set_prefix(title.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            println!("==> {title}");
        }
        Progress {
            bar,
            steps: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    /// Takes one BuildKit status message.
    pub fn update(&mut self, status: &StatusResponse) -> Vec<StepReport> {
        let mut finished = Vec::new();
        let mut finished_steps = Vec::new();
        let mut failed = Vec::new();
        for v in &status.vertexes {
            if !self.steps.contains_key(&v.digest) {
                self.order.push(v.digest.clone());
            }
            let step = self.steps.entry(v.digest.clone()).or_default();
            step.name.clone_from(&v.name);
            if v.started.is_some() && step.started.is_none() {
                step.started = Some(Instant::now());
            }
            if !v.error.is_empty() {
                step.error.clone_from(&v.error);
            }
            if (v.completed.is_some() || v.cached) && !step.done {
                step.done = true;
                step.cached = v.cached;
                let seconds = step
                    .started
                    .map(|s| s.elapsed().as_secs_f64())
                    .unwrap_or(0.0);
                // A step that completed with an error did not finish: said as such, and
                // not reported as built (its output goes to the failure report).
                if !step.error.is_empty() {
                    failed.push(failure_line(&step.name, &step.error, seconds));
                    continue;
                }
                finished.push(StepReport {
                    name: step.name.clone(),
                    cached: step.cached,
                    seconds,
                });
                finished_steps.push(v.digest.clone());
            }
        }
        for log in &status.logs {
            let step = self.steps.entry(log.vertex.clone()).or_default();
            step.log.extend_from_slice(&log.msg);
            if step.log.len() > LOG_TAIL {
                let cut = step.log.len() - LOG_TAIL;
                step.log.drain(..cut);
            }
        }
        for line in &failed {
            self.line(line);
        }
        for (r, digest) in finished.iter().zip(&finished_steps) {
            // Internal steps (context transfer, metadata loads) are noise when cached.
            if r.cached {
                self.line(&format!("CACHED        {}", shown_name(&r.name)));
            } else {
                self.line(&format!("DONE {:>7.1}s {}", r.seconds, shown_name(&r.name)));
                if let Some(step) = self.steps.get(digest) {
                    for said in reported_lines(&step.log) {
                        self.line(&format!("              {said}"));
                    }
                }
            }
        }
        if let Some(bar) = &self.bar {
            let running: Vec<String> = self
                .order
                .iter()
                .filter_map(|d| self.steps.get(d))
                .filter(|s| s.started.is_some() && !s.done)
                .map(|s| shown_name(&s.name))
                .collect();
            bar.set_message(running.join(" | "));
        }
        finished
    }

    /// In plain mode (logs, CI), one line per running step: its name, how long it has run
    /// and the last line of its output (`Compiling tokio v1.40.0`), so that a long compile
    /// does not look hung. A terminal's spinner shows the same already.
    pub fn heartbeat(&self) {
        if self.bar.is_some() {
            return;
        }
        for step in self.order.iter().filter_map(|d| self.steps.get(d)) {
            let Some(started) = step.started.filter(|_| !step.done) else {
                continue;
            };
            println!("{}", heartbeat_line(step, started.elapsed()));
        }
    }

    /// The output of the steps that failed (the compiler's own text), for the error report.
    pub fn failure_output(&self) -> String {
        let mut out = String::new();
        for digest in &self.order {
            let step = &self.steps[digest];
            if !step.error.is_empty() {
                out.push_str(&format!(
                    "step `{}` failed: {}\n{}",
                    shown_name(&step.name),
                    step.error,
                    String::from_utf8_lossy(&step.log)
                ));
            }
        }
        out
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The line of a step that ended with an error, with the error's first line: BuildKit also
/// ends a step with an error when it cancels it (a sibling failed, or an equal step of a
/// concurrent build ran instead), and a bare ERROR said neither.
fn failure_line(name: &str, error: &str, seconds: f64) -> String {
    let why = error.lines().next().unwrap_or("").trim();
    let word = if why.contains("canceled") {
        "STOPPED"
    } else {
        "ERROR  "
    };
    format!("{word} {seconds:>4.1}s {}: {why}", shown_name(name))
}

/// A step's name as shown: its `--mount=…` options (a step of a root package binds every
/// entry of the context: pgcat's was 3,000 characters) counted, not listed.
/// `[build-incremental 1/1] RUN (37 mounts) cargo-image build-online && cargo-image install`.
pub fn shown_name(name: &str) -> String {
    let mounts = name
        .split_whitespace()
        .filter(|w| w.starts_with("--mount="))
        .count();
    if mounts == 0 {
        return name.to_string();
    }
    let mut out = Vec::new();
    let mut said = false;
    for word in name.split_whitespace() {
        if word.starts_with("--mount=") {
            if !said {
                out.push(if mounts == 1 {
                    "(1 mount)".to_string()
                } else {
                    format!("({mounts} mounts)")
                });
                said = true;
            }
        } else {
            out.push(word.to_string());
        }
    }
    out.join(" ")
}

/// What our scripts report for the user in a step's output (the shared libraries
/// `libs.sh` added to an image), shown under the step's `DONE` line.
fn reported_lines(log: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(log)
        .lines()
        .filter(|l| l.starts_with("cargo-image-libs: "))
        .map(str::to_string)
        .collect()
}

/// `RUNNING  95s <step> | <its last output line>`.
fn heartbeat_line(step: &Step, elapsed: Duration) -> String {
    let log = String::from_utf8_lossy(&step.log);
    let last = log
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let name: String = shown_name(&step.name).chars().take(100).collect();
    if last.is_empty() {
        format!("RUNNING {:>5}s {name}", elapsed.as_secs())
    } else {
        format!("RUNNING {:>5}s {name} | {last}", elapsed.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steps_mounts_are_counted_not_listed() {
        let name = "[build-incremental 1/1] RUN --mount=type=tmpfs,target=/tmp     --mount=type=bind,source=src,target=/app/src,rw     --mount=type=cache,id=x,target=/app/target,sharing=locked     cargo-image build-online && cargo-image install";
        assert_eq!(
            shown_name(name),
            "[build-incremental 1/1] RUN (3 mounts) cargo-image build-online && cargo-image install"
        );
        assert_eq!(
            shown_name(
                "[probe 1/1] RUN --mount=type=bind,source=/probe.rs,target=/p cargo-image probe"
            ),
            "[probe 1/1] RUN (1 mount) cargo-image probe"
        );
        let plain = "[base 1/3] WORKDIR /app";
        assert_eq!(shown_name(plain), plain);
        assert!(failure_line(name, "exit code: 101", 73.1).contains("RUN (3 mounts) cargo-image"));
    }

    #[test]
    fn the_libraries_libs_sh_added_are_reported() {
        let log = b"#12 0.1 x\ncargo-image-libs: shared libraries added for x86_64-linux-gnu: libz.so.1\ndone\n";
        assert_eq!(
            reported_lines(log),
            ["cargo-image-libs: shared libraries added for x86_64-linux-gnu: libz.so.1"]
        );
        assert!(reported_lines(b"Compiling x\n").is_empty());
    }

    #[test]
    fn a_step_that_completes_with_an_error_is_not_reported_done() {
        use bollard::moby::buildkit::v1::Vertex;
        let vertex = |digest: &str, error: &str| Vertex {
            digest: digest.into(),
            name: format!("step {digest}"),
            started: Some(Default::default()),
            completed: Some(Default::default()),
            error: error.into(),
            ..Default::default()
        };
        let mut progress = Progress::new("test");
        let finished = progress.update(&StatusResponse {
            vertexes: vec![
                vertex("a", ""),
                vertex("b", "failed to load cache key: not found"),
            ],
            ..Default::default()
        });
        let names: Vec<&str> = finished.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["step a"]);
        assert_eq!(
            super::failure_line("step b", "failed to load cache key: not found", 0.04),
            "ERROR    0.0s step b: failed to load cache key: not found"
        );
        assert_eq!(
            super::failure_line("step c", "context canceled\nmore", 1.25),
            "STOPPED  1.2s step c: context canceled"
        );
        assert!(progress
            .failure_output()
            .starts_with("step `step b` failed: failed to load cache key"));
    }

    #[test]
    fn heartbeat_names_the_step_and_its_last_line() {
        let step = Step {
            name: "[build-incremental 2/2] RUN cargo-image build-online".into(),
            log: b"   Compiling serde v1.0.200\n   Compiling tokio v1.40.0\n\n".to_vec(),
            ..Step::default()
        };
        assert_eq!(
            heartbeat_line(&step, Duration::from_secs(95)),
            "RUNNING    95s [build-incremental 2/2] RUN cargo-image build-online | Compiling tokio v1.40.0"
        );
    }
}
