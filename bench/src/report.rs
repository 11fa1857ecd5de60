//! What the bench reports: per-variant figures (medians over runs), the table with ratios
//! to the host, the JSON file, and the targets checked as PASS/MISS.

use std::fmt::Write as _;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::{Scenario, Variant};

/// One variant's figures; `None` when not measured (host has no cold, CI or image figure).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_bin_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_lib_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bump_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_warm_bin_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_warm_lib_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_bytes: Option<u64>,
}

impl Figures {
    pub fn seconds(&self, s: Scenario) -> Option<f64> {
        match s {
            Scenario::Cold => self.cold_s,
            Scenario::WarmBin => self.warm_bin_s,
            Scenario::WarmLib => self.warm_lib_s,
            Scenario::Bump => self.bump_s,
            Scenario::CiWarmBin => self.ci_warm_bin_s,
            Scenario::CiWarmLib => self.ci_warm_lib_s,
        }
    }

    pub fn set_seconds(&mut self, s: Scenario, v: Option<f64>) {
        let slot = match s {
            Scenario::Cold => &mut self.cold_s,
            Scenario::WarmBin => &mut self.warm_bin_s,
            Scenario::WarmLib => &mut self.warm_lib_s,
            Scenario::Bump => &mut self.bump_s,
            Scenario::CiWarmBin => &mut self.ci_warm_bin_s,
            Scenario::CiWarmLib => &mut self.ci_warm_lib_s,
        };
        *slot = v;
    }
}

/// The bench's result. Serializes to exactly
/// `{"workspace", "cpus", "variants": {name: figures}}`, variants in bench order.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    /// The workspace's manifest, as given (relative to the current directory when inside it).
    pub workspace: String,
    pub cpus: usize,
    pub variants: Vec<(Variant, Figures)>,
    /// Not in the JSON: facts the README and targets need.
    pub details: Details,
}

/// Facts printed with the table but kept out of the JSON schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Details {
    pub bin: String,
    pub lib: Option<String>,
    pub runs: usize,
    /// The measured binary inside ours' image (stripped when the plan strips).
    pub binary_bytes: Option<u64>,
    pub binary_stripped: bool,
    /// Ours' image unpacked (the sum of its layers, uncompressed); `image_bytes` in the
    /// JSON is what `docker image inspect` reports (compressed content).
    pub image_unpacked_bytes: Option<u64>,
    /// A rebuild with nothing changed, per variant (median seconds).
    pub noop_s: Vec<(Variant, f64)>,
    /// Seconds ours' CI-warm builds spent unpacking imported cache layers (median).
    pub ci_import_s: Option<f64>,
    pub total_seconds: f64,
}

impl Serialize for BenchReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Variants<'a>(&'a [(Variant, Figures)]);
        impl Serialize for Variants<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (v, f) in self.0 {
                    map.serialize_entry(v.name(), f)?;
                }
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("workspace", &self.workspace)?;
        map.serialize_entry("cpus", &self.cpus)?;
        map.serialize_entry("variants", &Variants(&self.variants))?;
        map.end()
    }
}

impl BenchReport {
    pub fn figures(&self, v: Variant) -> Option<&Figures> {
        self.variants.iter().find(|(x, _)| *x == v).map(|(_, f)| f)
    }

    pub fn json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the report serializes");
        text.push('\n');
        text
    }

    /// The host figure a scenario's time is compared with: the same kind of edit.
    pub fn host_reference(&self, s: Scenario) -> Option<f64> {
        let host = self.figures(Variant::Host)?;
        match s {
            Scenario::Cold => None,
            Scenario::WarmBin | Scenario::CiWarmBin => host.warm_bin_s,
            Scenario::WarmLib | Scenario::CiWarmLib => host.warm_lib_s,
            Scenario::Bump => host.bump_s,
        }
    }

    /// The table: seconds, and in brackets the ratio to the host's figure for the same
    /// edit (CI-warm figures against the host's warm ones).
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut header = format!("{:<13}", "variant");
        for s in Scenario::ALL {
            write!(header, " {:>15}", s.title()).unwrap();
        }
        write!(header, " {:>10}", "image").unwrap();
        out.push_str(header.trim_end());
        out.push('\n');
        for (v, f) in &self.variants {
            let mut line = format!("{:<13}", v.name());
            for s in Scenario::ALL {
                let cell = match (f.seconds(s), self.host_reference(s)) {
                    (None, _) => "–".to_string(),
                    (Some(t), Some(h)) if h > 0.0 && *v != Variant::Host => {
                        format!("{t:.1} ({:.2}×)", t / h)
                    }
                    (Some(t), _) => format!("{t:.1}"),
                };
                write!(line, " {cell:>15}").unwrap();
            }
            let image = f.image_bytes.map(human).unwrap_or_else(|| "–".into());
            write!(line, " {image:>10}").unwrap();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The targets, each with what was measured.
    pub fn targets(&self) -> Vec<TargetCheck> {
        let ours = self.figures(Variant::Ours);
        let host = self.figures(Variant::Host);
        let single = self.figures(Variant::SingleStage);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let o = |f: fn(&Figures) -> Option<f64>| ours.and_then(f);
        let h = |f: fn(&Figures) -> Option<f64>| host.and_then(f);
        let mut checks = vec![
            TargetCheck::ratio(
                "ours.warm_bin_s ≤ 1.1 × host.warm_bin_s",
                ratio(o(|f| f.warm_bin_s), h(|f| f.warm_bin_s)),
                1.1,
                "host",
            ),
            TargetCheck::ratio(
                "ours.warm_lib_s ≤ 1.2 × host.warm_lib_s",
                ratio(o(|f| f.warm_lib_s), h(|f| f.warm_lib_s)),
                1.2,
                "host",
            ),
            TargetCheck::ratio(
                "ours.ci_warm_bin_s ≤ 1.3 × host.warm_bin_s",
                ratio(o(|f| f.ci_warm_bin_s), h(|f| f.warm_bin_s)),
                1.3,
                "host",
            ),
            TargetCheck::ratio(
                "ours.ci_warm_lib_s ≤ 1.5 × host.warm_lib_s",
                ratio(o(|f| f.ci_warm_lib_s), h(|f| f.warm_lib_s)),
                1.5,
                "host",
            ),
            TargetCheck::ratio(
                "ours.bump_s ≤ 1.2 × host.warm_bin_s",
                ratio(o(|f| f.bump_s), h(|f| f.warm_bin_s)),
                1.2,
                "host",
            ),
            TargetCheck::ratio(
                "ours.cold_s ≤ single-stage.cold_s",
                ratio(o(|f| f.cold_s), single.and_then(|f| f.cold_s)),
                1.0,
                "single-stage",
            ),
        ];
        // Unpacked: the compressed size can be smaller than the binary alone.
        let image = self.details.image_unpacked_bytes;
        let binary = self.details.binary_bytes;
        let (status, measured) = match (image, binary) {
            (Some(i), Some(b)) => {
                let overhead = i as f64 - b as f64;
                (
                    if overhead <= 1e6 {
                        Status::Pass
                    } else {
                        Status::Miss
                    },
                    format!(
                        "unpacked image {} = binary {} + {} (limit + 1 MB)",
                        human(i),
                        human(b),
                        human_signed(overhead)
                    ),
                )
            }
            _ => (Status::NotMeasured, "not measured".to_string()),
        };
        checks.push(TargetCheck {
            target: "ours' scratch image ≤ stripped binary + 1 MB".into(),
            status,
            measured,
        });
        checks
    }

    /// The fixed costs the ratios include: each variant's no-op rebuild, and the time
    /// ours' CI-warm builds spent unpacking the imported cache.
    pub fn floors_text(&self) -> String {
        let mut out = String::new();
        if !self.details.noop_s.is_empty() {
            let cells: Vec<String> = self
                .details
                .noop_s
                .iter()
                .map(|(v, t)| format!("{} {t:.2} s", v.name()))
                .collect();
            writeln!(out, "no-op rebuild (nothing edited): {}", cells.join(", ")).unwrap();
        }
        let host = self.figures(Variant::Host);
        let floor = |v: Variant| {
            self.details
                .noop_s
                .iter()
                .find(|(x, _)| *x == v)
                .map(|(_, t)| *t)
        };
        if let (Some(f), Some(h)) = (floor(Variant::Ours), host.and_then(|h| h.warm_bin_s)) {
            writeln!(
                out,
                "ours' no-op rebuild alone is {:.2}× host.warm_bin_s ({h:.2} s)",
                f / h
            )
            .unwrap();
        }
        if let Some(i) = self.details.ci_import_s {
            writeln!(
                out,
                "ours' CI-warm builds unpacked imported cache layers for {i:.2} s"
            )
            .unwrap();
        }
        out
    }

    /// The targets as printed lines: `PASS  target  (measured)`.
    pub fn targets_text(&self) -> String {
        let mut out = String::new();
        for c in self.targets() {
            writeln!(
                out,
                "{:<4}  {:<46} {}",
                c.status.word(),
                c.target,
                c.measured
            )
            .unwrap();
        }
        out
    }
}

/// Whether a target was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Miss,
    NotMeasured,
}

impl Status {
    pub fn word(&self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Miss => "MISS",
            Status::NotMeasured => "n/a",
        }
    }
}

/// One of the targets, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetCheck {
    pub target: String,
    pub status: Status,
    pub measured: String,
}

impl TargetCheck {
    fn ratio(target: &str, ratio: Option<f64>, limit: f64, against: &str) -> TargetCheck {
        match ratio {
            Some(r) => TargetCheck {
                target: target.into(),
                status: if r <= limit {
                    Status::Pass
                } else {
                    Status::Miss
                },
                measured: format!("{r:.2}× {against} (limit {limit}×)"),
            },
            None => TargetCheck {
                target: target.into(),
                status: Status::NotMeasured,
                measured: "not measured".into(),
            },
        }
    }
}

/// Bytes in decimal units, as Docker shows them; in the bench's tables: megabytes with two decimals.
pub fn human(bytes: u64) -> String {
    cargo_image::image::human(bytes, 2)
}

fn human_signed(bytes: f64) -> String {
    if bytes < 0.0 {
        format!("-{}", human((-bytes) as u64))
    } else {
        human(bytes as u64)
    }
}

/// The median of some measurements (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> BenchReport {
        BenchReport {
            workspace: "ws/Cargo.toml".into(),
            cpus: 2,
            variants: vec![
                (
                    Variant::Host,
                    Figures {
                        warm_bin_s: Some(10.0),
                        warm_lib_s: Some(20.0),
                        bump_s: Some(12.0),
                        ..Figures::default()
                    },
                ),
                (
                    Variant::Ours,
                    Figures {
                        cold_s: Some(50.0),
                        warm_bin_s: Some(10.5),
                        warm_lib_s: Some(30.0),
                        bump_s: Some(11.0),
                        ci_warm_bin_s: Some(12.0),
                        ci_warm_lib_s: Some(29.0),
                        image_bytes: Some(4_000_000),
                    },
                ),
            ],
            details: Details {
                binary_bytes: Some(3_500_000),
                image_unpacked_bytes: Some(4_400_000),
                ..Details::default()
            },
        }
    }

    #[test]
    fn json_has_exactly_the_schema() {
        let v: serde_json::Value = serde_json::from_str(&report().json()).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["cpus", "variants", "workspace"]);
        assert_eq!(v["variants"]["host"].as_object().unwrap().len(), 3);
        assert_eq!(v["variants"]["ours"]["image_bytes"], 4_000_000);
    }

    #[test]
    fn targets_compare_with_the_right_figures() {
        let words: Vec<&str> = report().targets().iter().map(|c| c.status.word()).collect();
        assert_eq!(
            words,
            ["PASS", "MISS", "PASS", "PASS", "PASS", "n/a", "PASS"]
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
