//! How a program asks to be stopped, read from its Rust sources: whether it waits for
//! Ctrl-C (`tokio::signal::ctrl_c()`, the `ctrlc` crate's `set_handler`, a handler of
//! `SIGINT`) and whether it handles SIGTERM as well (`SignalKind::terminate()`, `SIGTERM`,
//! signal-hook's `TERM_SIGNALS`). A container's main process gets no default action for a signal it does
//! not handle: `docker stop`'s SIGTERM is ignored, and the container is killed ten seconds
//! later, without the shutdown the program makes on Ctrl-C (rathole, dufs). The planner
//! makes such a program's stop signal SIGINT, and runs a program that listens and handles
//! no signal at all under our init (`templates/init.rs`), as whose child SIGTERM ends it.
//!
//! Lines are read, not Rust parsed: a handler installed by a framework (actix-web's server,
//! Rocket) is not in the program's code; the planner looks for those in the resolved graph.

use crate::reads::{in_code, program_code};

/// What one source file says about the signals its program handles.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignalFacts {
    /// The Ctrl-C wait it makes, as written (`ctrl_c()`, `ctrlc::set_handler`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctrl_c: Option<String>,
    /// Whether it handles SIGTERM.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub terminate: bool,
}

impl SignalFacts {
    pub fn is_empty(&self) -> bool {
        self.ctrl_c.is_none() && !self.terminate
    }
}

/// The [`SignalFacts`] of one source file (its test modules left out).
pub fn signal_facts(source: &str) -> SignalFacts {
    let code = program_code(source);
    SignalFacts {
        ctrl_c: [
            ("ctrl_c(", "ctrl_c()"),
            ("ctrlc::set_handler(", "ctrlc::set_handler"),
            ("SignalKind::interrupt(", "SignalKind::interrupt()"),
            // `libc::signal(libc::SIGINT, ..)`, signal-hook's `SIGINT`.
            ("SIGINT", "SIGINT"),
        ]
        .iter()
        .find(|(call, _)| in_code(&code, call))
        .map(|(_, shown)| shown.to_string()),
        terminate: [
            "SignalKind::terminate(",
            "SIGTERM",
            "TERM_SIGNALS",
            "Signal::Term",
        ]
        .iter()
        .any(|w| in_code(&code, w)),
    }
}

#[cfg(test)]
mod tests {
    use super::signal_facts;

    /// rathole's and dufs's shape: Ctrl-C only; and the shapes that handle SIGTERM too.
    #[test]
    fn a_ctrl_c_wait_and_the_sigterm_handlers_beside_it() {
        let only = signal_facts(
            "async fn main() {\n    tokio::select! {\n        _ = run() => {}\n        \
             _ = tokio::signal::ctrl_c() => info!(\"bye\"),\n    }\n}\n",
        );
        assert_eq!(only.ctrl_c.as_deref(), Some("ctrl_c()"));
        assert!(!only.terminate);
        let ctrlc =
            signal_facts("fn main() {\n    ctrlc::set_handler(move || stop()).unwrap();\n}\n");
        assert_eq!(ctrlc.ctrl_c.as_deref(), Some("ctrlc::set_handler"));
        let libc = signal_facts(
            "fn main() {\n    unsafe { libc::signal(libc::SIGINT, stop as libc::sighandler_t) };\n}\n",
        );
        assert_eq!(libc.ctrl_c.as_deref(), Some("SIGINT"));
        assert!(!libc.terminate);
        for both in [
            "let mut term = signal(SignalKind::terminate())?;",
            "signal_hook::flag::register(signal_hook::consts::SIGTERM, flag)?;",
            "let mut signals = Signals::new(TERM_SIGNALS)?;",
        ] {
            let facts = signal_facts(&format!(
                "async fn main() {{\n    {both}\n    tokio::signal::ctrl_c().await?;\n}}\n"
            ));
            assert!(
                facts.terminate && facts.ctrl_c.is_some(),
                "{both}: {facts:?}"
            );
        }
    }

    /// Not a wait: a comment, a string, another name ending the same way, test code.
    #[test]
    fn lookalikes_are_no_ctrl_c_wait() {
        let facts = signal_facts(
            "// wait for ctrl_c() here?\nfn f() {\n    let s = \"ctrl_c()\";\n    \
             my_ctrl_c();\n}\n#[cfg(test)]\nmod tests {\n    fn t() { tokio::signal::ctrl_c(); }\n}\n",
        );
        assert!(facts.is_empty(), "{facts:?}");
    }
}
