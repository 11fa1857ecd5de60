//! The crate graph algorithms the planner layers the build with: which local packages the
//! shipped binaries need ([`closure`]), which of them no other one needs ([`leaves_of`]),
//! the order of the others, dependencies first ([`order_layers`], over Tarjan's strongly
//! connected components), merging that order into at most `max-layers` layers
//! ([`group_layers`]), and what to copy for a package ([`copy_paths`]).
//!
//! Pure functions of the [`Workspace`] model. Results are sets or sorted lists and ties
//! are broken by name, so the order `cargo metadata` listed packages in never reaches the
//! Dockerfile.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{is_within, join, DepKind, Package, Workspace};

/// An entry of a package's sources that a bind mount cannot carry by name
/// ([`super::image::mount_source_problem`]: casey/just's `README.中文.md` at the root of
/// its root package) and that is neither its manifest nor holds one of its targets'
/// sources: its compile steps go without it (said by a note; a build that reads it fails
/// and is fixed by renaming it). One that holds a source is refused instead.
pub fn left_out(p: &Package, path: &str) -> bool {
    super::image::mount_source_problem(path).is_some()
        && path != join(&p.dir, "Cargo.toml")
        && !p.targets.iter().any(|t| is_within(&t.src_path, path))
}

/// The local packages reachable from `roots` over edges of the given kinds, roots included.
pub fn closure<'a>(
    ws: &'a Workspace,
    roots: impl Iterator<Item = &'a str>,
    kinds: &[DepKind],
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = roots.map(String::from).collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(p) = ws.package(&name) {
            for d in &p.deps {
                if kinds.contains(&d.kind) && !seen.contains(&d.package) {
                    stack.push(d.package.clone());
                }
            }
        }
    }
    seen
}

/// The packages in `needed` that no other package in it depends on (normal and build
/// edges): the leaves of the graph `cargo build` compiles.
pub fn leaves_of(ws: &Workspace, needed: &BTreeSet<String>) -> BTreeSet<String> {
    let used: BTreeSet<&str> = needed
        .iter()
        .filter_map(|n| ws.package(n))
        .flat_map(|p| {
            p.deps
                .iter()
                .filter(|d| d.kind != DepKind::Dev && d.package != p.name)
                .map(|d| d.package.as_str())
        })
        .collect();
    needed
        .iter()
        .filter(|n| !used.contains(n.as_str()))
        .cloned()
        .collect()
}

/// Orders `packages` into layers, dependencies first.
///
/// Only normal and build edges count: they are what `cargo build` compiles. Every real
/// manifest is in place before the first crate layer, so a dev-dependency on a crate in a
/// later layer still resolves, and a cycle through dev-dependencies does not force its
/// crates into one layer (where an edit to either would recompile both). Cargo forbids
/// cycles through normal and build edges, but a strongly connected component stays a
/// layer of its own should one appear. Among the
/// components ready to be placed, the one with the most transitive dependents goes
/// first: shared foundations sink to the bottom, and the crates people edit most (the
/// binaries, on top) invalidate as few unrelated layers as possible.
pub fn order_layers(ws: &Workspace, packages: &BTreeSet<String>) -> Vec<Vec<String>> {
    let names: Vec<&String> = packages.iter().collect();
    let index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let edges: Vec<BTreeSet<usize>> = names
        .iter()
        .map(|n| {
            ws.package(n)
                .map(|p| {
                    p.deps
                        .iter()
                        .filter(|d| d.kind != DepKind::Dev)
                        .filter_map(|d| index.get(d.package.as_str()).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let comps = tarjan(&edges);
    let mut comp_of = vec![0; names.len()];
    for (c, members) in comps.iter().enumerate() {
        for &m in members {
            comp_of[m] = c;
        }
    }
    // deps[c]: components c depends on; users[c]: components depending on c.
    let mut deps = vec![BTreeSet::new(); comps.len()];
    let mut users = vec![BTreeSet::new(); comps.len()];
    for (from, tos) in edges.iter().enumerate() {
        for &to in tos {
            let (a, b) = (comp_of[from], comp_of[to]);
            if a != b {
                deps[a].insert(b);
                users[b].insert(a);
            }
        }
    }
    let dependents: Vec<usize> = (0..comps.len())
        .map(|c| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![c];
            while let Some(x) = stack.pop() {
                for &u in &users[x] {
                    if seen.insert(u) {
                        stack.push(u);
                    }
                }
            }
            seen.len()
        })
        .collect();
    let comp_name = |c: usize| {
        comps[c]
            .iter()
            .map(|&m| names[m].as_str())
            .min()
            .unwrap_or("")
    };
    let mut placed = vec![false; comps.len()];
    let mut order = Vec::new();
    while order.len() < comps.len() {
        let next = (0..comps.len())
            .filter(|&c| !placed[c] && deps[c].iter().all(|&d| placed[d]))
            .max_by(|&a, &b| {
                dependents[a]
                    .cmp(&dependents[b])
                    .then_with(|| comp_name(b).cmp(comp_name(a)))
            })
            .expect("the component graph is acyclic");
        placed[next] = true;
        let mut members: Vec<String> = comps[next].iter().map(|&m| names[m].clone()).collect();
        members.sort();
        order.push(members);
    }
    order
}

/// Tarjan's strongly connected components; components come out in reverse topological
/// order, members unsorted.
fn tarjan(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.edges[v].iter() {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(comp);
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Merges consecutive layers so that there are at most `max` of them, as evenly as the
/// order allows (order is kept, so every layer still only depends on earlier ones).
pub fn group_layers(layers: Vec<Vec<String>>, max: usize) -> Vec<Vec<String>> {
    if layers.len() <= max {
        return layers;
    }
    let n = layers.len();
    let mut out: Vec<Vec<String>> = vec![Vec::new(); max];
    for (i, layer) in layers.into_iter().enumerate() {
        out[i * max / n].extend(layer);
    }
    for group in &mut out {
        group.sort();
    }
    out
}

/// What to copy for a package: the sources the reader found in the build context
/// ([`Package::sources`]). Without them (a model built by hand): its directory when that
/// holds no other local package; otherwise its manifest, build script and the directories
/// holding its targets' sources.
pub fn copy_paths(ws: &Workspace, p: &Package) -> Vec<String> {
    if !p.sources.is_empty() {
        return p
            .sources
            .iter()
            .filter(|path| !left_out(p, path))
            .cloned()
            .collect();
    }
    let nests_others = |dir: &str| {
        ws.packages
            .iter()
            .any(|o| o.name != p.name && is_within(&o.dir, dir))
    };
    if !p.dir.is_empty() && !nests_others(&p.dir) {
        return vec![p.dir.clone()];
    }
    let mut paths = BTreeSet::new();
    paths.insert(join(&p.dir, "Cargo.toml"));
    for t in &p.targets {
        let parent = t.src_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if parent == p.dir || nests_others(parent) || parent.is_empty() {
            paths.insert(t.src_path.clone());
        } else {
            paths.insert(parent.to_string());
        }
    }
    // Drop paths inside another listed directory.
    let all: Vec<String> = paths.iter().cloned().collect();
    paths.retain(|x| !all.iter().any(|y| y != x && is_within(x, y)));
    paths.into_iter().collect()
}
