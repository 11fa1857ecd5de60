//! The bench chart: grouped bars drawn with plotters' SVG backend. Three panels, each on
//! its own scale: rebuilds on a warm machine (with the host), builds on a fresh runner
//! (cold and CI-warm), and runtime image sizes.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::BenchReport;
use crate::{Scenario, Variant};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 520;

fn color(v: Variant) -> RGBColor {
    match v {
        Variant::Host => RGBColor(120, 120, 120),
        Variant::SingleStage => RGBColor(214, 39, 40),
        Variant::Chef => RGBColor(255, 127, 14),
        Variant::CacheMount => RGBColor(31, 119, 180),
        Variant::Ours => RGBColor(44, 160, 44),
    }
}

/// One panel: groups along x, one bar per variant in each group.
struct Panel<'a> {
    title: &'a str,
    unit: &'a str,
    groups: Vec<&'a str>,
    /// (variant, value per group)
    series: Vec<(Variant, Vec<Option<f64>>)>,
}

/// The SVG text of the chart for `report`.
pub fn svg(report: &BenchReport) -> Result<String> {
    let panel = |title, scenarios: &[Scenario], with_host: bool| Panel {
        title,
        unit: "seconds",
        groups: scenarios.iter().map(|s| s.title()).collect(),
        series: report
            .variants
            .iter()
            .filter(|(v, _)| with_host || *v != Variant::Host)
            .map(|(v, f)| (*v, scenarios.iter().map(|s| f.seconds(*s)).collect()))
            .collect(),
    };
    let warm = panel(
        "rebuild on a warm machine (s)",
        &[Scenario::WarmBin, Scenario::WarmLib, Scenario::Bump],
        true,
    );
    let fresh = panel(
        "build on a fresh runner (s)",
        &[Scenario::Cold, Scenario::CiWarmBin, Scenario::CiWarmLib],
        false,
    );
    let size = Panel {
        title: "runtime image (MB)",
        unit: "MB",
        groups: vec!["image"],
        series: report
            .variants
            .iter()
            .filter(|(_, f)| f.image_bytes.is_some())
            .map(|(v, f)| (*v, vec![f.image_bytes.map(|b| b as f64 / 1e6)]))
            .collect(),
    };

    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow!("drawing the chart: {e}"))?;
        let title = format!(
            "cargo xtask bench: {} (bin {}), {} CPUs, median of {} run{}",
            report.workspace,
            report.details.bin,
            report.cpus,
            report.details.runs,
            if report.details.runs == 1 { "" } else { "s" }
        );
        let (head, body) = root.split_vertically(60);
        let err = |e| anyhow!("drawing the chart: {e}");
        head.draw_text(
            &title,
            &TextStyle::from(("sans-serif", 18).into_font()).color(&BLACK),
            (12, 8),
        )
        .map_err(err)?;
        // One legend for all panels, in the header.
        let mut x = 12;
        for (v, _) in &report.variants {
            head.draw(&Rectangle::new([(x, 38), (x + 12, 50)], color(*v).filled()))
                .map_err(err)?;
            head.draw_text(
                v.name(),
                &TextStyle::from(("sans-serif", 14).into_font()).color(&BLACK),
                (x + 18, 37),
            )
            .map_err(err)?;
            x += 30 + 9 * v.name().len() as i32;
        }
        let areas =
            body.split_by_breakpoints([WIDTH as i32 * 2 / 5, WIDTH as i32 * 4 / 5], [] as [i32; 0]);
        for (area, panel) in areas.iter().zip([&warm, &fresh, &size]) {
            draw_panel(area, panel).map_err(|e| anyhow!("drawing the chart: {e}"))?;
        }
        root.present()
            .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    }
    Ok(text)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let n = panel.groups.len();
    let max = panel
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    let top = if max > 0.0 { max * 1.2 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    let groups = panel.groups.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(1)
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < groups.len() {
                groups[i as usize].to_string()
            } else {
                String::new()
            }
        })
        .y_desc(panel.unit)
        .draw()?;
    let k = panel.series.len().max(1) as f64;
    let width = 0.8 / k;
    for (j, (variant, values)) in panel.series.iter().enumerate() {
        let fill = color(*variant);
        let x0 = |i: usize| i as f64 - 0.4 + j as f64 * width;
        chart.draw_series(values.iter().enumerate().filter_map(|(i, v)| {
            v.map(|v| {
                Rectangle::new(
                    [(x0(i) + width * 0.08, 0.0), (x0(i) + width * 0.92, v)],
                    fill.filled(),
                )
            })
        }))?;
        chart.draw_series(values.iter().enumerate().filter_map(|(i, v)| {
            v.map(|v| {
                let label = if v >= 100.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                };
                Text::new(
                    label,
                    (x0(i) + width / 2.0, v + top * 0.01),
                    ("sans-serif", 11)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            })
        }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Details, Figures};

    #[test]
    fn draws_one_bar_per_figure() {
        let f = |s: f64| Figures {
            cold_s: Some(60.0 * s),
            warm_bin_s: Some(10.0 * s),
            warm_lib_s: Some(20.0 * s),
            bump_s: Some(12.0 * s),
            ci_warm_bin_s: Some(15.0 * s),
            ci_warm_lib_s: Some(25.0 * s),
            image_bytes: Some((4e6 * s) as u64),
        };
        let host = Figures {
            cold_s: None,
            ci_warm_bin_s: None,
            ci_warm_lib_s: None,
            image_bytes: None,
            ..f(1.0)
        };
        let report = BenchReport {
            workspace: "ws/Cargo.toml".into(),
            cpus: 2,
            variants: vec![
                (Variant::Host, host),
                (Variant::SingleStage, f(4.0)),
                (Variant::Ours, f(1.1)),
            ],
            details: Details {
                bin: "app".into(),
                runs: 1,
                ..Details::default()
            },
        };
        let text = svg(&report).unwrap();
        if let Ok(path) = std::env::var("BENCH_CHART_PREVIEW") {
            std::fs::write(path, &text).unwrap();
        }
        // Background, three legend swatches, 3 host bars, 2 × (6 + 1) variant bars.
        assert_eq!(text.matches("<rect").count(), 1 + 3 + 3 + 14, "{text}");
        assert!(text.contains(">\nCI-warm lib\n<") || text.contains("CI-warm lib"));
    }
}
