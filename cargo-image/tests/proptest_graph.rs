//! Property tests of the planner over generated workspace graphs, built as
//! [`cargo_image::model::Workspace`] values (no filesystem, no cargo).
//!
//! A generated workspace has 1 to 12 members `p0..pN`, each with a library, some with a
//! binary, a build script, a test or an example. Normal and build edges only go from a
//! higher index to a lower one (cargo forbids cycles through them); dev edges go anywhere,
//! so dev-dependency cycles are common. Properties:
//! - every member the shipped binaries need is in exactly one layer of the chain or one
//!   leaf, and nothing else is;
//! - every layer's members depend only on earlier layers or their own over normal and
//!   build edges (what `cargo build` compiles), and no planned member depends on a leaf;
//!   dev edges may point anywhere;
//! - every shipped binary is installed once, by the leaf that built its package;
//! - without a `max-layers` cap in play every layer holds one package (dev cycles do not
//!   merge layers);
//! - every target's crate root has a file in the skeleton;
//! - the plan and the Dockerfile do not depend on the order of the model's vectors;
//! - a `max-layers` cap below the number of layers (or leaves) is honoured, and ordering
//!   still holds.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use cargo_image::model::{DepKind, LocalDep, Package, Target, TargetKind, Workspace};
use cargo_image::plan::{group_layers, plan, Plan, PlanOptions};

/// A generated graph, before it becomes a model.
#[derive(Clone, Debug)]
struct Graph {
    /// Per member: bit 0 a binary, bit 1 a build script, bit 2 a test, bit 3 an example.
    targets: Vec<u8>,
    /// `(from, to, kind)`, no duplicates.
    edges: BTreeSet<(usize, usize, DepKind)>,
}

fn graph() -> impl Strategy<Value = Graph> {
    (1usize..=12)
        .prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec(0u8..16, n),
                prop::collection::vec(0u8..24, n * n),
                0..n,
            )
        })
        .prop_map(|(n, mut targets, picks, forced_bin)| {
            // At least one binary overall.
            if targets.iter().all(|t| t & 1 == 0) {
                targets[forced_bin] |= 1;
            }
            let mut edges = BTreeSet::new();
            for from in 0..n {
                for to in 0..n {
                    let pick = picks[from * n + to];
                    // About one pair in three gets edges; bits choose the kinds.
                    if from == to || pick >= 8 {
                        continue;
                    }
                    if pick & 1 != 0 && from > to {
                        edges.insert((from, to, DepKind::Normal));
                    }
                    if pick & 2 != 0 && from > to {
                        edges.insert((from, to, DepKind::Build));
                    }
                    if pick & 4 != 0 {
                        edges.insert((from, to, DepKind::Dev));
                    }
                }
            }
            Graph { targets, edges }
        })
}

fn name(i: usize) -> String {
    format!("p{i}")
}

fn target(kind: TargetKind, name: &str, src_path: String) -> Target {
    Target {
        kind,
        name: name.to_string(),
        src_path,
        required_features: Vec::new(),
    }
}

fn workspace(g: &Graph) -> Workspace {
    let packages = g
        .targets
        .iter()
        .enumerate()
        .map(|(i, &bits)| {
            let n = name(i);
            let dir = format!("crates/{n}");
            let mut targets = vec![target(TargetKind::Lib, &n, format!("{dir}/src/lib.rs"))];
            if bits & 1 != 0 {
                targets.push(target(TargetKind::Bin, &n, format!("{dir}/src/main.rs")));
            }
            if bits & 2 != 0 {
                targets.push(target(
                    TargetKind::BuildScript,
                    "build-script-build",
                    format!("{dir}/build.rs"),
                ));
            }
            if bits & 4 != 0 {
                targets.push(target(TargetKind::Test, "it", format!("{dir}/tests/it.rs")));
            }
            if bits & 8 != 0 {
                targets.push(target(
                    TargetKind::Example,
                    "demo",
                    format!("{dir}/examples/demo.rs"),
                ));
            }
            let deps = g
                .edges
                .iter()
                .filter(|(from, _, _)| *from == i)
                .map(|&(_, to, kind)| LocalDep {
                    package: name(to),
                    kind,
                })
                .collect();
            Package {
                name: n.clone(),
                version: "0.1.0".into(),
                member: true,
                manifest: format!(
                    "[package]\nname = \"{n}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
                ),
                dir,
                description: None,
                license: None,
                repository: None,
                homepage: None,
                targets,
                deps,
                config: Default::default(),
                sources: Vec::new(),
                features: Vec::new(),
                feature_deps: BTreeMap::new(),
                own_target: None,
                default_run: None,
                default_features: Vec::new(),
                needs_subcommand: Default::default(),
                needs_arguments: Default::default(),
                env_reads: Default::default(),
                loopback: Default::default(),
                spawns: Default::default(),
                listen: Default::default(),
                feature_guards: Default::default(),
                unseen_watches: Default::default(),
                daemon_calls: Default::default(),
                foreground_flag: None,
                signals: Default::default(),
                run_env: Default::default(),
                system_paths: Default::default(),
                writes: Default::default(),
                creates: Default::default(),
                git_use: None,
            }
        })
        .collect();
    Workspace {
        root: String::new(),
        packages,
        extra_files: BTreeMap::new(),
        root_manifest: "[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\"]\n".into(),
        config: Default::default(),
        rust_version: "1.85.0".into(),
        dockerignore: None,
        dockerfile_append: None,
        resolved: Vec::new(),
        vendor_dirs: Vec::new(),
        patch_dirs: Vec::new(),
        links: BTreeMap::new(),
        git_dir: None,
        git_available: false,
        git_ignored_by: None,
        own_dockerfile: None,
        own_compose: None,
        ssh_sources: Vec::new(),
        compile_reads: BTreeMap::new(),
        run_reads: BTreeMap::new(),
        missing_reads: BTreeMap::new(),
        missing_submodules: Vec::new(),
        sqlx_online: Vec::new(),
        sqlx_database: None,
        tests_left_out: BTreeMap::new(),
        context_dirs: BTreeMap::new(),
        run_loopbacks: BTreeMap::new(),
        shipped_secrets: BTreeMap::new(),
        shipped_ports: BTreeMap::new(),
    }
}

fn options() -> PlanOptions {
    PlanOptions {
        builder: Some("rust:1.85.0-slim-bookworm".into()),
        ..Default::default()
    }
}

/// The members the binaries need: their packages and everything they reach over normal
/// and build edges (computed here, independently of the planner).
fn needed(g: &Graph) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = (0..g.targets.len())
        .filter(|&i| g.targets[i] & 1 != 0)
        .collect();
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            for &(from, to, kind) in &g.edges {
                if from == i && kind != DepKind::Dev {
                    stack.push(to);
                }
            }
        }
    }
    seen.into_iter().map(name).collect()
}

/// Checks that the chain of layers and the leaves hold each needed member exactly once;
/// that every edge between planned members points to the same or an earlier layer of the
/// chain, and never to a leaf; and that the leaves install every shipped binary once, each
/// from the leaf holding its package (or, for a package in the chain, the leaf without
/// packages). `capped`: the workspace sets a `max-layers` below its number of crates.
fn check_layers(g: &Graph, plan: &Plan, capped: bool) -> Result<(), TestCaseError> {
    let mut layer_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, layer) in plan.layers.iter().enumerate() {
        prop_assert!(!layer.packages.is_empty(), "layer {} is empty", i);
        for p in &layer.packages {
            prop_assert!(
                layer_of.insert(p, i).is_none(),
                "{} is in more than one layer: {:?}",
                p,
                plan.layers
            );
        }
    }
    let mut leaf_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, leaf) in plan.leaves.iter().enumerate() {
        prop_assert!(!leaf.bins.is_empty(), "leaf {} installs nothing", i);
        for p in &leaf.packages {
            prop_assert!(
                !layer_of.contains_key(p.as_str()) && leaf_of.insert(p, i).is_none(),
                "{} is planned twice: {:?} {:?}",
                p,
                plan.layers,
                plan.leaves
            );
        }
    }
    let planned: BTreeSet<String> = layer_of
        .keys()
        .chain(leaf_of.keys())
        .map(|s| s.to_string())
        .collect();
    prop_assert_eq!(&planned, &needed(g));
    let stages = cargo_image::plan::MAX_LEAF_STAGES;
    if !capped && planned.len() <= cargo_image::plan::DEFAULT_MAX_LAYERS {
        for layer in &plan.layers {
            prop_assert_eq!(layer.packages.len(), 1, "a merged layer: {:?}", plan.layers);
        }
        if leaf_of.len() <= stages {
            for leaf in plan.leaves.iter().filter(|l| !l.packages.is_empty()) {
                prop_assert_eq!(leaf.packages.len(), 1, "a merged leaf: {:?}", plan.leaves);
            }
        }
    }
    prop_assert!(
        plan.leaves
            .iter()
            .filter(|l| !l.packages.is_empty())
            .count()
            <= stages,
        "more than {} leaf stages: {:?}",
        stages,
        plan.leaves
    );
    // Every shipped binary is installed once, by the leaf that built its package.
    let mut installed: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, leaf) in plan.leaves.iter().enumerate() {
        for bin in &leaf.bins {
            prop_assert!(
                installed.insert(bin, i).is_none(),
                "{} installed twice",
                bin
            );
        }
    }
    for img in &plan.images {
        let leaf = installed.get(img.bin.as_str()).copied();
        let expected = match leaf_of.get(img.package.as_str()) {
            Some(&i) => Some(i),
            None => plan.leaves.iter().position(|l| l.packages.is_empty()),
        };
        prop_assert_eq!(
            leaf,
            expected,
            "{} of {} installed by the wrong leaf",
            &img.bin,
            &img.package
        );
    }
    prop_assert_eq!(installed.len(), plan.images.len());
    for &(from, to, kind) in &g.edges {
        if kind == DepKind::Dev {
            continue;
        }
        let (from, to) = (name(from), name(to));
        if !planned.contains(&from) {
            continue;
        }
        prop_assert!(
            !leaf_of.contains_key(to.as_str()),
            "{} has a {:?} edge to {}, a leaf",
            from,
            kind,
            to
        );
        if let (Some(&a), Some(&b)) = (layer_of.get(from.as_str()), layer_of.get(to.as_str())) {
            prop_assert!(
                b <= a,
                "{} (layer {}) has a {:?} edge to {} in the later layer {}",
                from,
                a,
                kind,
                to,
                b
            );
        }
    }
    Ok(())
}

/// A deterministic shuffle (xorshift), so that a failing case replays exactly.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        items.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

fn outputs(ws: &Workspace) -> (String, String) {
    let plan = plan(ws, &options()).expect("a generated workspace plans");
    (
        cargo_image::artifacts::plan_json(&plan),
        cargo_image::render::dockerfile::render(&plan),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn layers_cover_needed_members_in_dependency_order(g in graph()) {
        let ws = workspace(&g);
        let plan = plan(&ws, &options()).expect("a generated workspace plans");
        check_layers(&g, &plan, false)?;
    }

    #[test]
    fn every_target_has_a_skeleton_file(g in graph()) {
        let ws = workspace(&g);
        let plan = plan(&ws, &options()).expect("a generated workspace plans");
        let sk = &plan.skeleton;
        for p in &ws.packages {
            for t in &p.targets {
                prop_assert!(
                    sk.files.contains_key(&t.src_path)
                        || sk.empty_sources.contains(&t.src_path)
                        || sk.main_sources.contains(&t.src_path),
                    "no skeleton file for {}",
                    t.src_path
                );
                let needs_main = !matches!(t.kind, TargetKind::Lib | TargetKind::ProcMacro);
                prop_assert_eq!(sk.main_sources.contains(&t.src_path), needs_main);
            }
            let manifest = format!("{}/Cargo.toml", p.dir);
            prop_assert!(sk.files.contains_key(&manifest), "no skeleton manifest {}", manifest);
        }
    }

    #[test]
    fn output_does_not_depend_on_model_order(g in graph(), seed in 1u64..u64::MAX) {
        let ws = workspace(&g);
        let mut shuffled = ws.clone();
        let mut seed = seed;
        shuffle(&mut shuffled.packages, &mut seed);
        for p in &mut shuffled.packages {
            shuffle(&mut p.deps, &mut seed);
            shuffle(&mut p.targets, &mut seed);
        }
        let (json, dockerfile) = outputs(&ws);
        let (json2, dockerfile2) = outputs(&shuffled);
        prop_assert_eq!(json, json2);
        prop_assert_eq!(dockerfile, dockerfile2);
    }

    #[test]
    fn max_layers_caps_the_layers_and_keeps_the_order(g in graph(), pick in 0usize..64) {
        let mut ws = workspace(&g);
        let uncapped = plan(&ws, &options()).expect("a generated workspace plans");
        let leaf_stages = |p: &Plan| p.leaves.iter().filter(|l| !l.packages.is_empty()).count();
        let count = uncapped.layers.len().max(leaf_stages(&uncapped));
        prop_assume!(count >= 2);
        let cap = 1 + pick % (count - 1);
        ws.config.max_layers = Some(cap);
        let capped = plan(&ws, &options()).expect("a capped workspace plans");
        prop_assert!(
            capped.layers.len() <= cap && leaf_stages(&capped) <= cap,
            "{} layers and {} leaf stages with max-layers = {}",
            capped.layers.len(),
            leaf_stages(&capped),
            cap
        );
        check_layers(&g, &capped, true)?;
    }

    #[test]
    fn group_layers_merges_consecutive_layers(
        sizes in prop::collection::vec(1usize..4, 0..40),
        max in 1usize..50,
    ) {
        let mut next = 0;
        let layers: Vec<Vec<String>> = sizes
            .iter()
            .map(|&size| {
                (0..size)
                    .map(|_| {
                        next += 1;
                        format!("c{next:03}")
                    })
                    .collect()
            })
            .collect();
        let grouped = group_layers(layers.clone(), max);
        prop_assert_eq!(grouped.len(), layers.len().min(max));
        // Every input layer lands whole in one group, and groups keep the input order.
        let group_of: BTreeMap<&String, usize> = grouped
            .iter()
            .enumerate()
            .flat_map(|(g, members)| members.iter().map(move |m| (m, g)))
            .collect();
        prop_assert_eq!(group_of.len(), next);
        let mut last = 0;
        for layer in &layers {
            let g = group_of[&layer[0]];
            for m in layer {
                prop_assert_eq!(group_of[m], g);
            }
            prop_assert!(g >= last);
            last = g;
        }
    }
}
