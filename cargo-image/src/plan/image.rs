//! Per-image configuration: which binaries get an image, each one's layered
//! configuration (`image_config`: workspace, then package, then binary), and what it
//! resolves to (`plan_image`): the runtime behind a keyword ([`Runtime`]), the user,
//! ports, healthcheck and its timing, labels, tags ([`fill_template`]), and the runtime keys
//! ([`Extras`]: packages, files, workdir, volumes, entrypoint, stop signal), and what an
//! image may miss at run time ([`run_time_notes`]).
//!
//! The values these keys take are checked here, so that a bad one is refused at plan time
//! with the key and the fix rather than failing a build. The planner checks some
//! workspace-wide keys with the same functions: image references (`builder`,
//! `base-images`), variable names (`build-env`), Debian package names (`build-packages`,
//! `link-packages`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ImagePlan, PlanOptions};
use crate::config::{HealthcheckConfig, HealthcheckSpec, ImageConfig, Port, WorkspaceConfig};
use crate::error::Error;
use crate::model::{is_env_name, join, Package, Target, TargetKind, Workspace};
use crate::skeleton;

/// The user every runtime image runs as unless configured: distroless' `nonroot`.
pub const DEFAULT_USER: &str = "65532:65532";
const DEFAULT_TAGS: [&str; 2] = ["{bin}:{version}", "{bin}:latest"];

/// The configuration of binary `bin` of `pkg`: the workspace's keys, overlaid with the
/// package's, overlaid with the binary's own table.
pub(super) fn image_config(ws: &Workspace, pkg: &Package, bin: &str) -> ImageConfig {
    ws.config
        .common()
        .overlay(&pkg.config.common())
        .overlay(&pkg.config.bin.get(bin).cloned().unwrap_or_default())
}

/// Checks the workspace keys that name images: `base-images` (runtime keywords to image
/// references) and `builder`.
pub(super) fn check_image_references(wcfg: &WorkspaceConfig) -> Result<(), String> {
    for (keyword, image) in &wcfg.base_images {
        if Runtime::parse(keyword) == Runtime::Custom {
            return Err(format!(
                "key `base-images`: `{keyword}` is not a runtime keyword; use scratch, \
                 distroless-static, distroless-cc or debian-slim"
            ));
        }
        if !is_image_reference(image) {
            return Err(format!(
                "key `base-images.{keyword}`: `{image}` is not an image reference (e.g. \
                 \"registry.local/distroless/cc:nonroot\")"
            ));
        }
        check_pinned(&format!("base-images.{keyword}"), image)?;
    }
    if let Some(builder) = &wcfg.builder {
        if !is_image_reference(builder) {
            return Err(format!(
                "key `builder`: `{builder}` is not an image reference (e.g. \
                 \"rust:1.85-slim-bookworm\")"
            ));
        }
        check_pinned("builder", builder)?;
    }
    Ok(())
}

/// Checks that a configured image reference names a version: a tag other than `latest`,
/// or a digest. Without one the image changes under the Dockerfile, so two builds of one
/// commit differ (and hadolint, which lints every generated Dockerfile, says DL3006/DL3007).
fn check_pinned(key: &str, reference: &str) -> Result<(), String> {
    let name = reference.split('@').next().unwrap_or(reference);
    let tag = name
        .rsplit_once(':')
        .map(|(_, t)| t)
        .filter(|t| !t.contains('/'));
    if reference.contains('@') || tag.is_some_and(|t| t != "latest") {
        return Ok(());
    }
    Err(format!(
        "key `{key}`: `{reference}` names no version ({}), so the image changes under the \
         Dockerfile and two builds of one commit differ; add a tag such as `:3.20` or a digest \
         (`@sha256:…`)",
        if tag.is_some() { "`latest`" } else { "no tag" }
    ))
}

/// Crates that hold code for Windows only. A binary whose required features enable one is
/// a Windows program that does not compile for the Linux images (shadowsocks-rust's
/// `sswinservice` requires `winservice`, which enables windows-service): built with the
/// others, it failed the build of every image.
const WINDOWS_ONLY: &[&str] = &[
    "windows-service",
    "winapi",
    "winreg",
    "windows-registry",
    "windows-sys",
    "windows",
];

/// Desktop GUI toolkits: a package that depends on one directly is a desktop application
/// (rqbit's Tauri app, a workspace member its `default-members` leave out), which needs a
/// display no container has, and system libraries (WebKitGTK) only its build would miss.
const GUI_TOOLKITS: &[&str] = &[
    "tauri",
    "eframe",
    "iced",
    "gtk",
    "gtk4",
    "relm4",
    "slint",
    "druid",
    "fltk",
    "dioxus-desktop",
    "winit",
];

/// Browser front-end frameworks: a package that depends on one directly is a WebAssembly
/// application for a browser (iggy's Yew dashboard, which trunk builds), no Linux program.
const WEB_FRONTENDS: &[&str] = &["yew", "sycamore", "seed", "dioxus-web"];

/// The [`GUI_TOOLKITS`] or [`WEB_FRONTENDS`] crate `pkg` depends on directly, if any, with
/// what that makes the package: (`tauri`, "a desktop application", why no container runs it).
pub(super) fn not_a_service<'a>(
    ws: &'a Workspace,
    pkg: &Package,
) -> Option<(&'a str, &'static str, &'static str)> {
    let node = ws
        .resolved
        .iter()
        .find(|r| r.name == pkg.name && r.version == pkg.version)?;
    (node.deps.iter())
        .map(|&d| ws.resolved[d].name.as_str())
        .find_map(|name| {
            if GUI_TOOLKITS.contains(&name) {
                Some((
                    name,
                    "a desktop application",
                    "a desktop GUI toolkit, and no container has a display",
                ))
            } else if WEB_FRONTENDS.contains(&name) {
                Some((
                    name,
                    "a browser application",
                    "a browser front-end framework: it is WebAssembly for a browser, not a \
                     Linux program",
                ))
            } else {
                None
            }
        })
}

/// The required feature of `bin` that enables a [`WINDOWS_ONLY`] crate, with the crate.
fn windows_only<'a>(pkg: &'a Package, bin: &'a Target) -> Option<(&'a str, &'a str)> {
    bin.required_features.iter().find_map(|f| {
        let deps = pkg.feature_deps.get(f)?;
        let dep = deps.iter().find(|d| WINDOWS_ONLY.contains(&d.as_str()))?;
        Some((f.as_str(), dep.as_str()))
    })
}

/// The images to build, in the order of [`Workspace::binaries`]: the binaries `opts` names,
/// else every binary not marked `skip` (by default, those of a package named `xtask`,
/// Windows programs, and those whose package's own cargo configuration builds for another
/// target, said in `notes`). A binary table naming no binary of its package
/// is refused, as is a selection that leaves no image.
pub(super) fn plan_images(
    ws: &Workspace,
    opts: &PlanOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<ImagePlan>, Error> {
    let all_bins = ws.binaries();
    if all_bins.is_empty() {
        return Err(Error::NoBinaries {
            workspace: ws.in_root("Cargo.toml"),
        });
    }
    let available: Vec<String> = all_bins.iter().map(|(_, t)| t.name.clone()).collect();
    for name in &opts.bins {
        if !available.contains(name) {
            return Err(Error::UnknownBin {
                name: name.clone(),
                available: available.clone(),
            });
        }
    }
    let mut images = Vec::new();
    // Each binary left out, with why: `skip = true`, or the default that skipped it.
    let mut skipped = Vec::new();
    let mut other_targets: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (pkg, bin) in &all_bins {
        let mut cfg = image_config(ws, pkg, &bin.name);
        let inferred = match cfg.ports {
            None => {
                let shipped: Vec<String> = (cfg.files.iter().flatten())
                    .map(|(src, _)| ws.in_root(src.trim_end_matches('/')))
                    .collect();
                inferred_ports(
                    ws,
                    pkg,
                    &bin.name,
                    cfg.args.as_deref().unwrap_or_default(),
                    cfg.env.as_ref(),
                    &shipped,
                )
            }
            Some(_) => Vec::new(),
        };
        if !inferred.is_empty() {
            cfg.ports = Some(inferred.iter().map(|(port, _)| *port).collect());
        }
        let stop_inferred = match cfg.stop_signal {
            None => inferred_stop_signal(ws, pkg, &bin.name),
            Some(_) => None,
        };
        if stop_inferred.is_some() {
            cfg.stop_signal = Some("SIGINT".into());
        }
        // An entrypoint or a stop signal of the user's says they chose how it runs (tini
        // of their own, a signal they know it handles).
        let init_inferred = match (&cfg.init, &cfg.entrypoint, &cfg.stop_signal) {
            (None, None, None) => {
                inferred_init(ws, pkg, &bin.name, cfg.ports.as_deref().unwrap_or_default())
            }
            _ => None,
        };
        if init_inferred.is_some() {
            cfg.init = Some(true);
        }
        let selected = if opts.bins.is_empty() {
            let windows = windows_only(pkg, bin);
            if let (Some((feature, dep)), None) = (windows, cfg.skip) {
                notes.push(format!(
                    "binary `{}` is not built: it requires feature `{feature}`, which enables \
                     `{dep}`, a Windows-only crate, so it cannot compile for Linux images; \
                     `skip = false` under [package.metadata.image.bin.{}] in {} builds it",
                    bin.name,
                    bin.name,
                    skeleton::manifest_path(pkg),
                ));
            }
            let gui = not_a_service(ws, pkg);
            if let (Some((toolkit, what, why)), None) = (gui, cfg.skip) {
                notes.push(format!(
                    "binary `{}` is not built: it is {what} (its package depends on \
                     `{toolkit}`, {why}); `skip = false` under \
                     [package.metadata.image.bin.{}] in {} builds it",
                    bin.name,
                    bin.name,
                    skeleton::manifest_path(pkg),
                ));
            }
            // A package whose own cargo configuration builds it for another target than
            // Linux (zellij's WebAssembly plugins) is no program for a Linux image.
            let elsewhere = pkg.own_target.as_deref().filter(|t| !t.contains("-linux"));
            if let (Some(target), None) = (elsewhere, cfg.skip) {
                other_targets
                    .entry(target)
                    .or_default()
                    .push(bin.name.as_str());
            }
            // An `xtask` package (the cargo-xtask convention, and where our library lives in
            // a user's repository) is the workspace's build tool, not a service.
            let why = match cfg.skip {
                Some(true) => Some("`skip = true`".to_string()),
                Some(false) => None,
                None if pkg.name == "xtask" => {
                    Some("package `xtask`, the workspace's build tool".into())
                }
                None if windows.is_some() => Some("Windows-only".into()),
                None if gui.is_some() => gui.map(|(_, what, _)| what.to_string()),
                None => elsewhere.map(|t| format!("built for `{t}`")),
            };
            if let Some(why) = &why {
                skipped.push(format!("`{}`: {why}", bin.name));
            }
            why.is_none()
        } else {
            opts.bins.contains(&bin.name)
        };
        // `cargo build` leaves out a binary whose required features are off by default
        // (qdrant's debugging tools behind `service_debug`); its image turns them on, which
        // the user should hear about rather than find a debugging tool shipped (unless they
        // asked for it by name or with `skip = false`).
        let off: Vec<String> = bin
            .required_features
            .iter()
            .filter(|f| !pkg.default_features.contains(f))
            .filter(|f| !cfg.features.iter().flatten().any(|g| g == *f))
            .map(|f| format!("`{f}`"))
            .collect();
        if selected && opts.bins.is_empty() && cfg.skip.is_none() && !off.is_empty() {
            notes.push(format!(
                "binary `{}` requires {} {}, off by default, so `cargo build` leaves it out; \
                 its image is built with {}: `skip = true` under \
                 [package.metadata.image.bin.{}] in {} leaves it out too",
                bin.name,
                if off.len() == 1 {
                    "feature"
                } else {
                    "features"
                },
                off.join(", "),
                if off.len() == 1 { "it" } else { "them" },
                bin.name,
                skeleton::manifest_path(pkg),
            ));
        }
        if selected {
            let mut image =
                plan_image(ws, pkg, &bin.name, &cfg, opts).map_err(|m| Error::InvalidConfig {
                    manifest: skeleton::manifest_path(pkg),
                    message: m,
                })?;
            image.ports_inferred_from = inferred.into_iter().map(|(_, why)| why).collect();
            image.stop_signal_inferred_from = stop_inferred;
            image.init_inferred_from = init_inferred;
            images.push(image);
        }
    }
    for (target, bins) in &other_targets {
        let names: Vec<String> = bins.iter().map(|b| format!("`{b}`")).collect();
        let (what, whose) = if bins.len() == 1 {
            (
                "binary",
                "is not built: its package's own .cargo/config.toml builds it",
            )
        } else {
            (
                "binaries",
                "are not built: their packages' own .cargo/config.toml builds them",
            )
        };
        notes.push(format!(
            "{what} {} {whose} for `{target}`, not Linux; `skip = false` under \
             [package.metadata.image.bin.<name>] builds one for Linux",
            names.join(", "),
        ));
    }
    for (pkg, _) in &all_bins {
        for name in pkg.config.bin.keys() {
            if !pkg
                .targets
                .iter()
                .any(|t| t.kind == TargetKind::Bin && &t.name == name)
            {
                return Err(Error::InvalidConfig {
                    manifest: skeleton::manifest_path(pkg),
                    message: format!(
                        "key `package.metadata.image.bin.{name}`: the package has no binary `{name}`"
                    ),
                });
            }
        }
    }
    // Two packages with a binary of the same name: cargo builds both to the same
    // `target/<triple>/<profile>/<name>`, so one image would ship the other's binary.
    // Chosen by default, those images are left out with a note (actix/examples has two
    // such pairs among 73 binaries, and the rest still build); chosen by name (`--bin`),
    // the plan is refused.
    let owners = |bin: &str| -> Vec<&Package> {
        (all_bins.iter())
            .filter(|(_, t)| t.name == bin)
            .map(|(p, _)| *p)
            .collect()
    };
    let clashing: BTreeSet<String> = (images.iter())
        .map(|img| img.bin.clone())
        .filter(|bin| owners(bin).len() > 1)
        .collect();
    let clashes: Vec<String> = (clashing.iter())
        .map(|bin| {
            let by: Vec<String> = (owners(bin).iter())
                .map(|p| format!("`{}` ({})", p.name, skeleton::manifest_path(p)))
                .collect();
            format!("`{bin}` by {}", by.join(" and "))
        })
        .collect();
    if !clashes.is_empty() {
        let why = format!(
            "defined twice: {}; cargo builds both to the same file, so one image would ship the \
             other's binary",
            clashes.join(", ")
        );
        let fix = "rename one (`[[bin]] name = \"…\"`)";
        if let Some(chosen) = clashing.iter().find(|bin| opts.bins.contains(bin)) {
            return Err(Error::InvalidConfig {
                manifest: skeleton::manifest_path(owners(chosen)[1]),
                message: format!("binary `{chosen}` is {why}: {fix}"),
            });
        }
        images.retain(|img| !clashing.contains(&img.bin));
        skipped.push(format!("binaries {why}"));
        notes.push(format!(
            "binaries {why}: their images are not built; {fix} to build them"
        ));
    }
    if images.is_empty() {
        return Err(Error::EveryBinarySkipped {
            workspace: ws.in_root("Cargo.toml"),
            skipped,
        });
    }
    Ok(images)
}

/// The ports the program of binary `bin` of `pkg` listens on: those its `args` give
/// (`--bind 0.0.0.0:7878`, `--port 8080`), then by its code (its package's and the local
/// libraries it links, not another binary's own file; [`crate::listen`]): ports given with
/// the unspecified address, then, when neither gives one, those a configuration file its
/// `files` ship sets (`shipped`, context paths; [`Workspace::shipped_ports`]: pgcat's
/// `port = 6432`, which wins over the code's defaults), else, when that code binds or
/// listens somewhere, the defaults of a server port option or variable; each with what
/// names it (`src/server.rs: ([0,0,0,0], CONTROL_PORT)`). A constant resolves through the
/// same code's `const`s; one it cannot resolve is left out.
pub(super) fn inferred_ports(
    ws: &Workspace,
    pkg: &Package,
    bin: &str,
    args: &[String],
    env: Option<&BTreeMap<String, String>>,
    shipped: &[String],
) -> Vec<(Port, String)> {
    use crate::listen::PortRef;
    let mut out: Vec<(u16, String)> = Vec::new();
    let mut udp: Vec<(u16, String)> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let value = arg.split_once('=').map_or(arg.as_str(), |(_, v)| v);
        let previous = i.checked_sub(1).map(|j| args[j].as_str());
        let port = ["0.0.0.0:", "[::]:"]
            .iter()
            .find_map(|host| value.strip_prefix(host))
            .or_else(|| match arg.split_once('=') {
                Some(("--port", v)) => Some(v),
                _ => None,
            })
            .or_else(|| matches!(previous, Some("--port" | "-p")).then_some(arg.as_str()))
            .or_else(|| arg.strip_prefix("-p").filter(|v| !v.is_empty()))
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0);
        if let Some(port) = port {
            if !out.iter().any(|(m, _)| *m == port) {
                out.push((port, format!("args: \"{arg}\"")));
            }
        }
    }
    let reach = super::graph::closure(
        ws,
        std::iter::once(pkg.name.as_str()),
        &[crate::model::DepKind::Normal],
    );
    // The program's own package first: its ports lead (the healthcheck probes the first).
    let mut files: Vec<(&Package, &String, &crate::listen::ListenFacts)> =
        super::code_of(ws, &pkg.name, bin, &reach, |p| &p.listen).collect();
    files.sort_by_key(|(p, _, _)| p.name != pkg.name);
    let files: Vec<(&String, &crate::listen::ListenFacts)> = files
        .into_iter()
        .map(|(_, file, facts)| (file, facts))
        .collect();
    let resolve = |port: &PortRef| match port {
        PortRef::Number(n) => Some(*n),
        PortRef::Const(name) => files
            .iter()
            .flat_map(|(_, f)| &f.consts)
            .find(|(c, _)| c == name)
            .map(|(_, n)| *n),
    };
    let from_args = out.len();
    for (file, (port, why), list) in files.iter().flat_map(|(file, f)| {
        let tcp = f.public.iter().map(move |p| (file, p, false));
        tcp.chain(f.udp.iter().map(move |p| (file, p, true)))
    }) {
        let (list, why) = match list {
            true => (&mut udp, format!("{file}: {why} (UDP)")),
            false => (&mut out, format!("{file}: {why}")),
        };
        if let Some(n) = resolve(port) {
            if !list.iter().any(|(m, _)| *m == n) {
                list.push((n, why));
            }
        }
    }
    // A default counts for a program that binds somewhere, not on loopback only (that is
    // said as such), and not once `args` give the port; the variable it reads
    // (`env = "MINISERVE_PORT"`, `var("PORT")`), set in `env`, overrides it.
    let listens = files.iter().any(|(_, f)| f.listens);
    // Not once `args` or `env` name a public address (sshx-server's `--listen ::` over its
    // `::1` default): its port default counts again.
    let public = args.iter().any(|a| crate::listen::names_public_address(a))
        || env.is_some_and(|e| e.values().any(|v| crate::listen::names_public_address(v)));
    let loopback_only = out.len() == from_args
        && !public
        && udp.is_empty()
        && ws
            .packages
            .iter()
            .filter(|p| reach.contains(&p.name))
            .any(|p| !p.loopback.is_empty());
    // TCP first, as `EXPOSE` lists them. Of those read from code, TLS's 443 and 8443 go
    // last: the first port is the healthcheck's, whose probe speaks plain HTTP, and TLS
    // is the mode a certificate turns on (SQLPage's 443 with `https_domain`, else 8080).
    let tagged = |mut tcp: Vec<(u16, String)>, udp: Vec<(u16, String)>| -> Vec<(Port, String)> {
        tcp[from_args..].sort_by_key(|(n, _)| matches!(n, 443 | 8443));
        let tcp = tcp.into_iter().map(|(n, why)| (Port::tcp(n), why));
        tcp.chain(
            udp.into_iter()
                .map(|(number, why)| (Port { number, udp: true }, why)),
        )
        .collect()
    };
    // The configuration the image ships says where it listens, over the code's defaults.
    if out.is_empty() && udp.is_empty() {
        for entries in shipped.iter().filter_map(|path| ws.shipped_ports.get(path)) {
            for (n, e) in entries {
                if !out.iter().any(|(m, _)| m == n) {
                    let why = format!("{}:{}: `{}`", ws.from_root(&e.file), e.line, e.text);
                    out.push((*n, why));
                }
            }
        }
        if !out.is_empty() {
            return tagged(out, udp);
        }
    }
    if !listens || from_args > 0 || loopback_only {
        return tagged(out, udp);
    }
    for (file, default) in files
        .iter()
        .flat_map(|(file, f)| f.defaults.iter().map(move |d| (file, d)))
    {
        let set = default
            .variable
            .as_deref()
            .and_then(|v| env?.get(v).map(|value| (v, value)));
        let port = match set {
            Some((v, value)) => match value.parse::<u16>() {
                Ok(n) if n != 0 => Some((n, format!("env: {v}={value}"))),
                _ => None,
            },
            None => resolve(&default.port).map(|n| (n, format!("{file}: {}", default.why))),
        };
        if let Some((n, why)) = port {
            if !out.iter().any(|(m, _)| *m == n) {
                out.push((n, why));
            }
        }
    }
    tagged(out, udp)
}

/// Resolves one binary's configuration `cfg` into its image.
fn plan_image(
    ws: &Workspace,
    pkg: &Package,
    bin: &str,
    cfg: &ImageConfig,
    opts: &PlanOptions,
) -> Result<ImagePlan, String> {
    let keyword = cfg
        .runtime
        .clone()
        .unwrap_or_else(|| "distroless-cc".into());
    let runtime = Runtime::parse(&keyword);
    let base = match runtime.default_image() {
        Some(default) => opts
            .base_images
            .get(&keyword)
            .or_else(|| ws.config.base_images.get(&keyword))
            .cloned()
            .unwrap_or_else(|| default.to_string()),
        None => keyword.clone(),
    };
    if runtime == Runtime::Custom && !is_image_reference(&keyword) {
        return Err(format!("key `runtime`: `{keyword}` is neither a runtime keyword (scratch, distroless-static, distroless-cc, debian-slim) nor an image reference"));
    }
    if runtime == Runtime::Custom {
        check_pinned("runtime", &keyword)?;
    }
    let user = cfg.user.clone().unwrap_or_else(|| DEFAULT_USER.into());
    check_user(&user)?;
    let uid = user.split(':').next().unwrap_or("");
    if runtime == Runtime::Scratch && !uid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "key `user`: a scratch image has no user database for `{user}`; use a numeric `uid:gid`"
        ));
    }
    let home = user_home(&runtime, uid);
    let mut seen = BTreeSet::new();
    for port in cfg.ports.iter().flatten() {
        if port.number == 0 {
            return Err("key `ports`: 0 is not a port; use 1-65535".into());
        }
        if !seen.insert(port) {
            return Err(format!("key `ports`: {port} is listed twice"));
        }
    }
    let (udp, tcp): (Vec<Port>, Vec<Port>) = cfg.ports.iter().flatten().partition(|p| p.udp);
    let ports: Vec<u16> = tcp.iter().map(|p| p.number).collect();
    let udp_ports: Vec<u16> = udp.iter().map(|p| p.number).collect();
    let healthcheck = plan_healthcheck(cfg, &runtime, &keyword, &ports)?;
    let (tags, notes) = plan_tags(cfg, bin, &pkg.version)?;
    let mut labels = BTreeMap::new();
    let oci = |k: &str| format!("org.opencontainers.image.{k}");
    labels.insert(oci("title"), bin.to_string());
    labels.insert(oci("version"), pkg.version.clone());
    for (key, value) in [
        ("description", &pkg.description),
        ("licenses", &pkg.license),
        ("source", &pkg.repository),
        ("url", &pkg.homepage),
    ] {
        if let Some(v) = value {
            labels.insert(oci(key), v.clone());
        }
    }
    // Labels may hold line breaks: bake and the drivers set them exactly; only the
    // Dockerfile's `LABEL`, for a plain `docker build`, writes them escaped. A trailing
    // backslash would make hadolint misread the whole file.
    for (k, v) in cfg.labels.iter().flatten() {
        for (what, text) in [("the label", k), ("the value of", v)] {
            if text.ends_with('\\') {
                return Err(format!(
                    "key `labels`: {what} `{}` ends with `\\`, which Dockerfile linters \
                     misread as escaping the closing quote; drop the trailing backslash",
                    k.escape_debug()
                ));
            }
        }
    }
    labels.extend(cfg.labels.clone().unwrap_or_default());
    let env = cfg.env.clone().unwrap_or_default();
    check_env_names("env", env.keys())?;
    for (k, v) in &env {
        check_dockerfile_word("env", &format!("the value of `{k}`"), v)?;
    }
    let mut run_env = cfg.run_env.clone().unwrap_or_default();
    check_env_names("run-env", &run_env)?;
    if let Some(both) = run_env.iter().find(|k| env.contains_key(*k)) {
        return Err(format!(
            "key `run-env`: `{both}` is in `env` too, which puts its value in the image; keep \
             it in one of them"
        ));
    }
    run_env.sort();
    run_env.dedup();
    let extras = plan_extras(cfg, &runtime, &base, &ws.root)?;
    let libc = plan_libc(cfg, bin, &base)?;
    Ok(ImagePlan {
        bin: bin.to_string(),
        package: pkg.name.clone(),
        version: pkg.version.clone(),
        stage: bin.to_string(),
        runtime,
        base,
        libc,
        user,
        home,
        ports,
        udp_ports,
        ports_inferred_from: Vec::new(),
        stop_signal_inferred_from: None,
        init_inferred_from: None,
        env,
        run_env,
        labels,
        healthcheck,
        tags,
        extras,
        notes,
    })
}

/// `libc`: `gnu` unless it says `musl` or the runtime is a musl image (Alpine), where a
/// glibc binary is refused. A musl binary is static: `static = false` is refused with it.
fn plan_libc(cfg: &ImageConfig, bin: &str, base: &str) -> Result<Libc, String> {
    let musl_runtime = super::musl_base(base);
    let libc = match cfg.libc.as_deref() {
        None if musl_runtime => Libc::Musl,
        None | Some("gnu") => Libc::Gnu,
        Some("musl") => Libc::Musl,
        Some(other) => {
            return Err(format!(
                "key `libc`: `{other}` is neither `gnu` (glibc, the default) nor `musl`"
            ))
        }
    };
    if libc == Libc::Gnu && musl_runtime {
        return Err(format!(
            "key `libc`: `{bin}` runs on `{base}`, a musl image, but is built against glibc, \
             which that image lacks; remove `libc = \"gnu\"` (it then builds for musl) or \
             use a glibc runtime (debian-slim, distroless-cc)"
        ));
    }
    if libc == Libc::Musl && cfg.static_link == Some(false) {
        let why = if musl_runtime {
            format!("runs on `{base}`, a musl image")
        } else {
            "says `libc = \"musl\"`".to_string()
        };
        return Err(format!(
            "key `static`: `{bin}` {why}, and a musl binary links statically (a dynamic \
             one needs musl's loader, which no glibc image has); remove `static = false`, \
             or build against glibc (`libc = \"gnu\"` on a glibc runtime: debian-slim, \
             distroless-cc)"
        ));
    }
    Ok(libc)
}

/// The C library a binary is built against: the `*-unknown-linux-<libc>` target triple.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Libc {
    /// glibc (`*-unknown-linux-gnu`), linked statically or dynamically.
    Gnu,
    /// musl (`*-unknown-linux-musl`), always static: runs on any runtime.
    Musl,
}

/// `healthcheck`: `"none"`, an HTTP probe (on the first of `ports` unless it names a port)
/// or an exec-form command, with our timing defaults (10s, 3s, 5s, 3 retries). A command on
/// a runtime without a shell or tools must be a program the image holds.
fn plan_healthcheck(
    cfg: &ImageConfig,
    runtime: &Runtime,
    keyword: &str,
    ports: &[u16],
) -> Result<Option<Healthcheck>, String> {
    let shorthand;
    let spec = match &cfg.healthcheck {
        None => None,
        Some(HealthcheckConfig::Keyword(k)) if k == "none" => None,
        // `"/health"`, as users write it first: `{ http = "/health" }` on the first port.
        Some(HealthcheckConfig::Keyword(k)) if k.starts_with('/') => {
            shorthand = HealthcheckSpec {
                http: Some(k.clone()),
                ..HealthcheckSpec::default()
            };
            Some(&shorthand)
        }
        Some(HealthcheckConfig::Keyword(k)) => {
            return Err(format!(
                "key `healthcheck`: `{k}` is not valid; use \"none\", an HTTP path (\"/health\", \
                 probed on the first of `ports`), {{ http = \"/health\", port = 8080 }} or \
                 {{ cmd = [...] }}"
            ))
        }
        Some(HealthcheckConfig::Spec(s)) => Some(s),
    };
    Ok(match spec {
        None => None,
        Some(s) => {
            let duration = |key: &str, value: Option<&String>, default: &str| {
                let value = value.map(String::as_str).unwrap_or(default);
                match is_duration(value).then(|| single_unit(value)).flatten() {
                    Some(d) => Ok(d),
                    None => Err(format!(
                        "key `healthcheck.{key}`: `{value}` is not a duration; write a number \
                         with a unit and no space, e.g. \"30s\", \"1m30s\", \"500ms\""
                    )),
                }
            };
            let timing = Timing {
                interval: duration("interval", s.interval.as_ref(), "10s")?,
                timeout: duration("timeout", s.timeout.as_ref(), "3s")?,
                start_period: duration("start-period", s.start_period.as_ref(), "5s")?,
                retries: s.retries.unwrap_or(3),
            };
            if s.port == Some(0) {
                return Err("key `healthcheck.port`: 0 is not a port; use 1-65535".into());
            }
            if let (Some(cmd), true) = (&s.cmd, runtime.without_shell()) {
                let program = cmd.first().map(String::as_str).unwrap_or("");
                if !program.starts_with('/')
                    || program.starts_with("/bin/")
                    || program.starts_with("/usr/bin/")
                {
                    return Err(format!(
                        "key `healthcheck.cmd`: `{program}` is not in a {keyword} image, which \
                         has no shell or tools; use {{ http = \"/health\", port = … }} (a probe \
                         is added) or a program the image holds, by absolute path"
                    ));
                }
            }
            match (&s.http, &s.cmd) {
                (Some(_), Some(_)) => {
                    return Err("key `healthcheck`: set either `http` or `cmd`, not both".into())
                }
                (Some(path), None) => {
                    let port = s.port.or(ports.first().copied()).ok_or_else(|| {
                        "key `healthcheck.port`: an HTTP healthcheck needs a port (or a TCP port in `ports`)"
                            .to_string()
                    })?;
                    if !path.starts_with('/') {
                        return Err(format!(
                            "key `healthcheck.http`: `{path}` must be a path starting with `/`"
                        ));
                    }
                    Some(Healthcheck::Http {
                        port,
                        path: path.clone(),
                        timing,
                    })
                }
                (None, Some(cmd)) if !cmd.is_empty() => {
                    check_exec_form("healthcheck.cmd", cmd)?;
                    Some(Healthcheck::Cmd {
                        cmd: cmd.clone(),
                        timing,
                    })
                }
                _ => return Err("key `healthcheck`: needs `http` (with `port`) or `cmd`".into()),
            }
        }
    })
}

/// `tags` (default `{bin}:{version}` and `{bin}:latest`), filled in, with `registry`
/// before those that name none.
/// The image's tags from its templates, and notes on what Docker's name rules changed.
fn plan_tags(
    cfg: &ImageConfig,
    bin: &str,
    version: &str,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut tags = Vec::new();
    let mut notes = Vec::new();
    // Checked on its own, so that a bad prefix is not reported as a bad tag template the
    // user may never have written (the default ones).
    if let Some(r) = &cfg.registry {
        if !is_image_reference(&format!("{}/x", r.trim_end_matches('/'))) {
            return Err(format!(
                "key `registry`: `{r}` is not a registry and repository prefix (a host, then \
                 lowercase `a-z 0-9 . _ -` parts separated by `/`, e.g. \"ghcr.io/acme\")"
            ));
        }
    }
    for template in cfg
        .tags
        .clone()
        .unwrap_or_else(|| DEFAULT_TAGS.map(String::from).to_vec())
    {
        let tag = fill_template(&template, bin, version).map_err(|m| format!("key `tags`: {m}"))?;
        let tag = match &cfg.registry {
            Some(r) if !tag.contains('/') => format!("{}/{tag}", r.trim_end_matches('/')),
            _ => tag,
        };
        let reference = docker_reference(&tag);
        if !is_image_reference(&reference) {
            return Err(format!(
                "key `tags`: `{template}` gives `{reference}` for binary `{bin}`, which is not \
                 an image reference Docker accepts (`[registry/]name[:tag]`: a lowercase name of \
                 `a-z 0-9 . _ -` parts, a tag of `A-Z a-z 0-9 _ . -` not starting with `.` or `-`, \
                 at most 128 characters); fix the template or the `registry` key"
            ));
        }
        if reference != tag {
            notes.push(format!(
                "binary `{bin}`: tagged `{reference}`, not `{tag}` (Docker's repository names \
                 are lowercase and its tags have no `+`)"
            ));
        }
        tags.push(reference);
    }
    Ok((tags, notes))
}

/// A tag template (`--tag`) filled for `bin` at `version`, as Docker takes it
/// ([`fill_template`], then [`docker_reference`]).
pub fn fill_tag(template: &str, bin: &str, version: &str) -> Result<String, String> {
    fill_template(template, bin, version).map(|t| docker_reference(&t))
}

/// A filled tag as Docker takes it: the name lowercased (Docker refuses capitals: a binary
/// `MyApp` gets the repository `myapp`), and semver build metadata's `+` in the tag
/// written `_` (tags allow `A-Z a-z 0-9 _ . -`; `_` keeps `1.0.0+build.5` unambiguous,
/// where `-` would read as a pre-release).
pub fn docker_reference(reference: &str) -> String {
    let slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match reference[slash..].find(':') {
        Some(i) => reference.split_at(slash + i),
        None => (reference, ""),
    };
    format!("{}{}", name.to_ascii_lowercase(), tag.replace('+', "_"))
}

/// What a runtime keyword means.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Empty image: the tool supplies `/etc/passwd`, `/etc/group`, CA certificates, `/tmp`.
    Scratch,
    DistrolessStatic,
    DistrolessCc,
    /// Debian slim: has a libc and a shell, but no CA certificates; the tool adds them.
    DebianSlim,
    /// Any other image, used as it is.
    Custom,
}

/// The one table of runtime keywords (what `runtime` and `base-images` accept).
pub const RUNTIME_KEYWORDS: [(&str, Runtime); 4] = [
    ("scratch", Runtime::Scratch),
    ("distroless-static", Runtime::DistrolessStatic),
    ("distroless-cc", Runtime::DistrolessCc),
    ("debian-slim", Runtime::DebianSlim),
];

impl Runtime {
    fn parse(keyword: &str) -> Runtime {
        RUNTIME_KEYWORDS
            .iter()
            .find(|(k, _)| *k == keyword)
            .map(|(_, r)| r.clone())
            .unwrap_or(Runtime::Custom)
    }

    /// Whether the runtime has no shell and no tools: scratch and distroless (an image of
    /// the user's own is taken to have what it needs).
    pub fn without_shell(&self) -> bool {
        matches!(
            self,
            Runtime::Scratch | Runtime::DistrolessStatic | Runtime::DistrolessCc
        )
    }

    /// The keyword that names this runtime; `None` for an image used as it is.
    pub fn keyword(&self) -> Option<&'static str> {
        RUNTIME_KEYWORDS
            .iter()
            .find(|(_, r)| r == self)
            .map(|(k, _)| *k)
    }

    /// The image behind a keyword when nothing overrides it.
    pub fn default_image(&self) -> Option<&'static str> {
        match self {
            Runtime::Scratch => Some("scratch"),
            Runtime::DistrolessStatic => Some("gcr.io/distroless/static-debian12:nonroot"),
            Runtime::DistrolessCc => Some("gcr.io/distroless/cc-debian12:nonroot"),
            Runtime::DebianSlim => Some("debian:bookworm-slim"),
            Runtime::Custom => None,
        }
    }

    /// Runtimes without a libc need a static binary.
    pub fn needs_static(&self) -> bool {
        matches!(self, Runtime::Scratch | Runtime::DistrolessStatic)
    }
}

/// How Docker checks a container's health.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Healthcheck {
    /// Our static probe GETs `http://127.0.0.1:{port}{path}`; no shell needed.
    Http {
        port: u16,
        path: String,
        #[serde(flatten)]
        timing: Timing,
    },
    /// An exec-form command.
    Cmd {
        cmd: Vec<String>,
        #[serde(flatten)]
        timing: Timing,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub interval: String,
    pub timeout: String,
    pub start_period: String,
    pub retries: u32,
}

/// The runtime keys of one image, checked.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Extras {
    /// Debian packages for the runtime (with `tzdata` when asked and the runtime lacks it).
    pub packages: Vec<String>,
    /// How they arrive: apt in the runtime image, or unpacked in a build stage.
    pub packages_by: PackagesBy,
    /// Context path → absolute path in the image.
    pub files: BTreeMap<String, String>,
    pub workdir: Option<String>,
    pub volumes: Vec<String>,
    pub args: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub stop_signal: Option<String>,
    /// Our init (`templates/init.rs`) is the entrypoint and runs the program as its child.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    /// A dynamically linked binary: the shared libraries it needs that the runtime lacks
    /// are copied from the builder (ELF `NEEDED`, recursively).
    #[serde(default)]
    pub shared_libs: bool,
}

impl Extras {
    pub fn is_empty(&self) -> bool {
        *self == Extras::default()
    }

    /// Whether one of `volumes` holds `path` (a volume written `/data/` too).
    pub fn in_volume(&self, path: &str) -> bool {
        (self.volumes.iter()).any(|v| crate::model::is_within(path, v.trim_end_matches('/')))
    }

    /// Whether a build stage prepares files for the image (unpacked packages, `files`,
    /// the working directory, volumes owned by the runtime user).
    pub fn needs_stage(&self) -> bool {
        (!self.packages.is_empty() && self.packages_by == PackagesBy::Unpack)
            || self.shared_libs
            || !self.files.is_empty()
            || self.workdir.is_some()
            || !self.volumes.is_empty()
    }
}

/// How runtime packages reach an image.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PackagesBy {
    /// `apt-get install` in the runtime image (Debian slim, or an image with apt).
    #[default]
    Apt,
    /// Unpacked from the `.deb`s with their dependencies in a build stage (distroless,
    /// scratch: no package manager, no shell).
    Unpack,
}

/// The shared libraries every runtime with a C library has (glibc and libgcc), never
/// copied into an image.
pub const LIBC_SONAMES: [&str; 11] = [
    "ld-linux-aarch64.so.1",
    "ld-linux-x86-64.so.2",
    "libc.so.6",
    "libdl.so.2",
    "libgcc_s.so.1",
    "libm.so.6",
    "libpthread.so.0",
    "libresolv.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libanl.so.1",
];

/// What each runtime without apt already holds, as Debian packages: never unpacked again.
pub fn provided_packages(runtime: &Runtime) -> &'static [&'static str] {
    // Packages no runtime needs, which Depends closures drag in (maintainer tooling).
    const TOOLING: [&str; 8] = [
        "base-files",
        "debconf",
        "dpkg",
        "install-info",
        "libc-bin",
        "perl-base",
        "tzdata-legacy",
        "usr-is-merged",
    ];
    match runtime {
        Runtime::DistrolessCc => &[
            "base-files",
            "ca-certificates",
            "debconf",
            "dpkg",
            "gcc-12-base",
            "gcc-14-base",
            "install-info",
            "libc-bin",
            "libc6",
            "libgcc-s1",
            "netbase",
            "perl-base",
            "tzdata",
            "tzdata-legacy",
            "usr-is-merged",
        ],
        Runtime::DistrolessStatic => &[
            "base-files",
            "ca-certificates",
            "debconf",
            "dpkg",
            "install-info",
            "libc-bin",
            "netbase",
            "perl-base",
            "tzdata",
            "tzdata-legacy",
            "usr-is-merged",
        ],
        _ => &TOOLING,
    }
}

/// The runtime keys of one image, checked against its runtime.
fn plan_extras(
    cfg: &ImageConfig,
    runtime: &Runtime,
    base: &str,
    root: &str,
) -> Result<Extras, String> {
    let mut pkgs = checked_packages(
        "runtime-packages",
        cfg.runtime_packages.as_deref().unwrap_or(&[]),
    )?;
    let packages_by = match runtime {
        Runtime::DebianSlim => PackagesBy::Apt,
        Runtime::Scratch | Runtime::DistrolessStatic | Runtime::DistrolessCc => PackagesBy::Unpack,
        Runtime::Custom => {
            if !pkgs.is_empty() && (base.contains("alpine") || base.contains("musl")) {
                return Err(format!(
                    "key `runtime-packages`: `{base}` has no apt and is no Debian image, so \
                     Debian packages cannot be added to it; use a Debian-based runtime \
                     (debian-slim, distroless-cc) or install them in a stage of your own"
                ));
            }
            PackagesBy::Apt
        }
    };
    if cfg.tzdata == Some(true) && !provided_packages(runtime).contains(&"tzdata") {
        pkgs.push("tzdata".into());
        pkgs.sort();
        pkgs.dedup();
    }
    let mut files = BTreeMap::new();
    for (src, dest) in cfg.files.clone().unwrap_or_default() {
        let rel = src.trim_end_matches('/');
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
            return Err(format!(
                "key `files`: `{src}` must be a path in the workspace, relative to its root"
            ));
        }
        check_mount_source("files", &src)?;
        if !is_image_path(&dest) {
            return Err(format!(
                "key `files`: `{dest}` (for `{src}`) must be an absolute path in the image, \
                 e.g. \"/app/config\""
            ));
        }
        files.insert(join(root, rel), dest);
    }
    // `/` too: vaultwarden's relative `data/` is its `/data` volume only from there.
    let workdir = match &cfg.workdir {
        Some(dir) if dir != "/" && !is_image_path(dir) => {
            return Err(format!(
                "key `workdir`: `{dir}` must be an absolute path, e.g. \"/app\""
            ))
        }
        other => other.clone(),
    };
    if let Some(dir) = &workdir {
        check_expanded_path("workdir", "WORKDIR", dir)?;
    }
    let mut volumes = cfg.volumes.clone().unwrap_or_default();
    if let Some(bad) = volumes.iter().find(|v| !is_image_path(v)) {
        return Err(format!(
            "key `volumes`: `{bad}` must be an absolute path, e.g. \"/data\""
        ));
    }
    for v in &volumes {
        check_expanded_path("volumes", "VOLUME", v)?;
    }
    volumes.sort();
    volumes.dedup();
    let entrypoint = match &cfg.entrypoint {
        Some(e) if e.is_empty() || e[0].is_empty() => {
            return Err(
                "key `entrypoint`: give the program and its arguments, e.g. \
                        [\"/usr/local/bin/app\", \"serve\"]"
                    .into(),
            )
        }
        other => other.clone(),
    };
    for (key, items) in [("args", &cfg.args), ("entrypoint", &cfg.entrypoint)] {
        check_exec_form(key, items.as_deref().unwrap_or(&[]))?;
    }
    let stop_signal = match &cfg.stop_signal {
        Some(sig) => {
            let named = sig.strip_prefix("SIG").is_some_and(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+')
            });
            let numbered = !sig.is_empty() && sig.bytes().all(|b| b.is_ascii_digit());
            if !named && !numbered {
                return Err(format!(
                    "key `stop-signal`: `{sig}` is not a signal; use a name such as \"SIGINT\" \
                     or a number"
                ));
            }
            Some(sig.clone())
        }
        None => None,
    };
    Ok(Extras {
        packages_by: if pkgs.is_empty() {
            PackagesBy::default()
        } else {
            packages_by
        },
        packages: pkgs,
        files,
        workdir,
        volumes,
        args: cfg.args.clone().unwrap_or_default(),
        entrypoint,
        stop_signal,
        init: cfg.init == Some(true),
        shared_libs: false,
    })
}

/// Crates that handle SIGTERM in the programs built on them (actix-web's server and
/// ntex's, Rocket, pingora, tokio-graceful-shutdown): such a program stops on `docker stop`
/// as it is, and actix's takes SIGINT for a stop without the graceful drain.
const HANDLE_SIGTERM: &[&str] = &[
    "actix-server",
    "ntex",
    "ntex-server",
    "rocket",
    "pingora-core",
    "tokio-graceful-shutdown",
];

/// SIGINT's reason, for a program whose code (its package's and the local libraries it
/// links, not another binary's own file) waits for Ctrl-C and handles no SIGTERM, nor does
/// a crate it is built on ([`HANDLE_SIGTERM`]; the `ctrlc` crate with its `termination`
/// feature): as a container's main process it ignores `docker stop`'s SIGTERM and is
/// killed ten seconds later, without its shutdown (rathole, dufs).
fn inferred_stop_signal(ws: &Workspace, pkg: &Package, bin: &str) -> Option<String> {
    let reach = super::graph::closure(
        ws,
        std::iter::once(pkg.name.as_str()),
        &[crate::model::DepKind::Normal],
    );
    let files: Vec<(&String, &crate::signals::SignalFacts)> =
        super::code_of(ws, &pkg.name, bin, &reach, |p| &p.signals)
            .map(|(_, file, f)| (file, f))
            .collect();
    if files.iter().any(|(_, f)| f.terminate) {
        return None;
    }
    let (file, call) = files
        .iter()
        .find_map(|(file, f)| f.ctrl_c.as_ref().map(|c| (*file, c)))?;
    let framework = super::reached(ws, |name| name == pkg.name)
        .into_iter()
        .map(|i| &ws.resolved[i])
        .any(|r| {
            HANDLE_SIGTERM.contains(&r.name.as_str())
                || (r.name == "ctrlc" && r.features.iter().any(|f| f == "termination"))
        });
    (!framework).then(|| format!("{file} stops on `{call}` and handles no SIGTERM"))
}

/// Why a program that listens on `ports`, or on a loopback address its code binds, gets
/// our init: no code of it (its package's and the local libraries it links) handles a
/// signal, nor does a crate it is built on ([`HANDLE_SIGTERM`], `ctrlc`, signal-hook). As a
/// container's main process it would ignore `docker stop`'s SIGTERM and be killed ten
/// seconds later (bore, an axum service serving without graceful shutdown; rust-web-app's
/// `127.0.0.1:8080`, run with host networking); as the init's child SIGTERM ends it at
/// once. A handler this reading misses costs nothing: the init passes every signal on.
fn inferred_init(ws: &Workspace, pkg: &Package, bin: &str, ports: &[Port]) -> Option<String> {
    let reach = super::graph::closure(
        ws,
        std::iter::once(pkg.name.as_str()),
        &[crate::model::DepKind::Normal],
    );
    if super::code_of(ws, &pkg.name, bin, &reach, |p| &p.signals).any(|(_, _, f)| !f.is_empty()) {
        return None;
    }
    // What it listens on: its ports, else the loopback address its code binds.
    let listens = match ports {
        [] => {
            let loopback = super::code_of(ws, &pkg.name, bin, &reach, |p| &p.loopback)
                .find_map(|(_, _, binds)| binds.first())?;
            format!("`{}`", loopback.literal)
        }
        [port] => format!("port {port}"),
        _ => format!(
            "ports {}",
            ports
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let handled = super::reached(ws, |name| name == pkg.name)
        .into_iter()
        .map(|i| &ws.resolved[i])
        .any(|r| {
            HANDLE_SIGTERM.contains(&r.name.as_str())
                || ["ctrlc", "signal-hook", "signal-hook-tokio", "async-signals"]
                    .contains(&r.name.as_str())
        });
    (!handled).then(|| {
        format!(
            "`{bin}` listens on {listens} and no code of it handles a signal: as PID 1 it \
             would ignore `docker stop`"
        )
    })
}

/// Whether `name` is a Debian package name (lowercase letters, digits, `+ - .`).
fn is_debian_package(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

/// Checks a list of Debian package names given under `key`.
pub(super) fn checked_packages(key: &str, names: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for name in names {
        if !is_debian_package(name) {
            return Err(format!(
                "key `{key}`: `{name}` is not a Debian package name (e.g. \"libssl-dev\"; \
                 the architecture is chosen for you)"
            ));
        }
        out.push(name.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether `path` is absolute, normalized and not the root (`/app`, `/srv/static`).
fn is_image_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && !path.contains("//")
        && !path
            .split('/')
            .any(|c| c == ".." || c == "." || c.contains(char::is_whitespace))
}

/// Checks a context path that a step bind-mounts (`--mount=type=bind,source=PATH,…`): the
/// Dockerfile separates a step's options on whitespace and a mount's fields on `,`, and
/// expands `$`, so a path holding one of them (or a quote, a backslash, a control
/// character) would mount something else or fail the build.
pub(super) fn check_mount_source(key: &str, path: &str) -> Result<(), String> {
    match mount_source_problem(path) {
        Some(problem) => Err(format!(
            "key `{key}`: `{}` {problem}; rename the file, or list a directory that holds it",
            path.escape_debug(),
        )),
        None => Ok(()),
    }
}

/// Why a bind mount of the Dockerfile cannot carry `path` as its source, if it cannot.
///
/// Besides the separators: BuildKit (0.13, in Docker 26) reads a mount's non-ASCII source
/// byte by byte as Latin-1, so `README.中文.md` is looked up as `README.ä¸\u{ad}æ\u{96}\u{87}.md`
/// and the step fails with "not found" (measured; a `COPY` of the same name works, and so
/// does the file inside a bound directory).
pub(super) fn mount_source_problem(path: &str) -> Option<String> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || ",$\"'\\".contains(c);
    if let Some(c) = path.chars().find(|c| bad(*c)) {
        return Some(format!(
            "holds {c:?}, which a bind mount of the Dockerfile cannot carry (it splits \
             options on whitespace and fields on `,`, and expands `$`)"
        ));
    }
    path.chars().find(|c| !c.is_ascii()).map(|c| {
        format!(
            "holds {c:?}, which a bind mount of the Dockerfile cannot carry (BuildKit reads \
             a non-ASCII mount source as Latin-1 and finds no such file)"
        )
    })
}

/// Checks the items of an exec-form list (`ENTRYPOINT`, `CMD`, `HEALTHCHECK CMD`): Docker
/// decodes it as JSON, but an item ending in `\` puts `\\"` in the line, which hadolint
/// (which lints every generated Dockerfile) misreads as an escaped quote and so as no JSON.
fn check_exec_form(key: &str, items: &[String]) -> Result<(), String> {
    match items.iter().find(|i| i.ends_with('\\')) {
        Some(item) => Err(format!(
            "key `{key}`: `{item}` ends with `\\`, which Dockerfile linters misread in an \
             exec-form list; drop the trailing backslash"
        )),
        None => Ok(()),
    }
}

/// Checks a path that Docker reads through its variable expansion (`WORKDIR`, `VOLUME`):
/// there `$` starts a variable and quotes and `\` are unquoted, so such a path would name
/// another directory, or fail the build.
fn check_expanded_path(key: &str, instruction: &str, path: &str) -> Result<(), String> {
    match path.chars().find(|c| matches!(c, '$' | '"' | '\'' | '\\')) {
        Some(c) => Err(format!(
            "key `{key}`: `{path}` holds `{c}`, which Docker's {instruction} interprets (`$` \
             expands a variable, quotes and `\\` are removed); use a path without it"
        )),
        None => Ok(()),
    }
}

/// Fills `{bin}` and `{version}`; any other placeholder is an error.
pub fn fill_template(template: &str, bin: &str, version: &str) -> Result<String, String> {
    let filled = template.replace("{bin}", bin).replace("{version}", version);
    if filled.contains('{') || filled.contains('}') {
        return Err(format!(
            "`{template}` has a placeholder other than {{bin}} and {{version}}"
        ));
    }
    if filled.is_empty() || filled.contains(char::is_whitespace) {
        return Err(format!("`{template}` does not give a valid image tag"));
    }
    Ok(filled)
}

/// Whether the image's user gets to own its `workdir`, as it owns its home: a program
/// writes where it starts (rustypaste's `./upload`, a SQLite file), which a directory of
/// root's refuses with "Permission denied". Not a directory the system lays out
/// (`/usr/local/bin`, `/etc`, `/`): the program must not rewrite those.
pub fn user_owns_workdir(dir: &str) -> bool {
    const SYSTEM: [&str; 27] = [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/var/lib",
        "/var/log",
        "/var/cache",
        "/var/run",
        "/var/tmp",
        "/usr/share",
    ];
    // An application's own directory under `/usr/src` or `/usr/local` (sonic's
    // `WORKDIR /usr/src/sonic`, where it writes `./data/store`), not one of the
    // hierarchy's own (`/usr/local/bin`).
    const LOCAL: [&str; 11] = [
        "bin", "sbin", "lib", "lib64", "libexec", "include", "share", "etc", "games", "man", "src",
    ];
    let dir = dir.trim_end_matches('/');
    let dir = if dir.is_empty() { "/" } else { dir };
    let application = ["/usr/src/", "/usr/local/"].iter().any(|prefix| {
        dir.strip_prefix(prefix)
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|first| !first.is_empty() && !LOCAL.contains(&first))
    });
    application || !(SYSTEM.contains(&dir) || dir.starts_with("/usr/") || dir.starts_with("/etc/"))
}

/// The home directory an image adds for a numeric user its base has none for: the name
/// the `rootfs` stage gives the user (`nonroot` for 65532, else `user<UID>`). Distroless
/// has `/home/nonroot` for 65532; an image of the user's own is used as it is; a named
/// user is the base image's own.
fn user_home(runtime: &Runtime, uid: &str) -> Option<String> {
    if !uid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nonroot = uid == DEFAULT_USER.split(':').next().unwrap_or_default();
    let adds = match runtime {
        Runtime::Scratch | Runtime::DebianSlim => true,
        Runtime::DistrolessStatic | Runtime::DistrolessCc => !nonroot,
        Runtime::Custom => false,
    };
    let name = if nonroot {
        "nonroot".to_string()
    } else {
        format!("user{uid}")
    };
    adds.then(|| format!("/home/{name}"))
}

/// `user`: `uid[:gid]` (numbers) or a name, never root in any spelling.
fn check_user(user: &str) -> Result<(), String> {
    let parts: Vec<&str> = user.split(':').collect();
    let valid = |p: &str| {
        !p.is_empty()
            && (p.bytes().all(|b| b.is_ascii_digit())
                || (p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && p.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    })))
    };
    if parts.len() > 2 || !parts.iter().all(|p| valid(p)) {
        return Err(format!(
            "key `user`: `{user}` is not `uid[:gid]` or a user name; use e.g. `{DEFAULT_USER}`"
        ));
    }
    let uid = parts[0];
    if uid == "root"
        || (uid.bytes().all(|b| b.is_ascii_digit()) && uid.trim_start_matches('0').is_empty())
    {
        return Err(format!(
            "key `user`: `{user}` runs as root; use a non-root user such as `{DEFAULT_USER}`"
        ));
    }
    Ok(())
}

/// A duration [`is_duration`] accepts, written with one unit of `s`, `m` or `h` as
/// hadolint's parser needs (it refuses `1m30s` and `500ms`, which Docker takes): kept when it
/// is one already, else in seconds (`1m30s` → `90s`, `500ms` → `0.5s`). `None` when a
/// number has two decimal points.
fn single_unit(value: &str) -> Option<String> {
    let split = value.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    if matches!(&value[split..], "s" | "m" | "h") && value[..split].matches('.').count() <= 1 {
        return Some(value.to_string());
    }
    let mut nanos: u128 = 0;
    let mut rest = value;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (number, tail) = rest.split_at(digits);
        let unit = ["ms", "us", "ns", "h", "m", "s"]
            .into_iter()
            .find(|u| tail.starts_with(u))?;
        let per_unit: u128 = match unit {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" => 1_000,
            _ => 1,
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if fraction.contains('.') {
            return None;
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        // The fraction's digits beyond a nanosecond are dropped, as Go's parser does.
        let digits = fraction.len().min(18);
        let fraction_value: u128 = if digits == 0 {
            0
        } else {
            fraction[..digits].parse().ok()?
        };
        nanos = nanos.checked_add(whole.checked_mul(per_unit)?)?;
        nanos = nanos.checked_add(fraction_value * per_unit / 10u128.pow(digits as u32))?;
        rest = &tail[unit.len()..];
    }
    let (seconds, sub) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    Some(if sub == 0 {
        format!("{seconds}s")
    } else {
        format!("{seconds}.{}s", format!("{sub:09}").trim_end_matches('0'))
    })
}

/// A Docker duration as HEALTHCHECK takes it: numbers with units (`30s`, `1m30s`, `500ms`).
fn is_duration(value: &str) -> bool {
    let mut rest = value;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ms", "us", "ns", "h", "m", "s"]
            .iter()
            .find(|u| rest.starts_with(**u))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// Whether `reference` reads as an image reference (`name[:tag][@digest]`, lowercase
/// repository path, optional registry host with a port).
pub fn is_image_reference(reference: &str) -> bool {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if digest.is_some_and(|d| !d.contains(':') || d.contains(char::is_whitespace)) {
        return false;
    }
    let (path, tag) = match name.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (name, None),
    };
    if tag.is_some_and(|t| {
        t.is_empty()
            || t.len() > 128
            || !t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    }) {
        return false;
    }
    let mut components: Vec<&str> = path.split('/').collect();
    if components.len() > 1
        && (components[0].contains('.')
            || components[0].contains(':')
            || components[0] == "localhost")
    {
        components.remove(0);
    }
    !path.is_empty()
        && components.iter().all(|c| {
            !c.is_empty()
                && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// Checks that every name a key lists (`env`, `run-env`, `build-env`, `build-args`) is a
/// variable name a Dockerfile and a shell both take.
pub(super) fn check_env_names<S: AsRef<str>>(
    key: &str,
    names: impl IntoIterator<Item = S>,
) -> Result<(), String> {
    match names.into_iter().find(|n| !is_env_name(n.as_ref())) {
        Some(bad) => Err(format!(
            "key `{key}`: `{}` is not a variable name (letters, digits and `_`, not starting \
             with a digit)",
            bad.as_ref()
        )),
        None => Ok(()),
    }
}

/// Checks a string that becomes a quoted word of a Dockerfile line (`ENV`, `LABEL`): an
/// ASCII control character, a line break above all, has no spelling there. Inside Docker's
/// double quotes only `\"`, `\\` and `\$` are escapes, so `\n` would reach the container
/// as two characters, and a raw line break would end the instruction.
pub(super) fn check_dockerfile_word(key: &str, what: &str, value: &str) -> Result<(), String> {
    match value
        .chars()
        .find(|c| c.is_ascii_control() && *c != '\u{7f}')
    {
        Some(c) => Err(format!(
            "key `{key}`: {what} holds the control character U+{:04X}{}, which a Dockerfile \
             cannot carry (inside its quotes `\\n` stays two characters); remove it, or set \
             the value when the container starts (`docker run -e`) or ship it in a file \
             (`files`)",
            c as u32,
            if c == '\n' { " (a line break)" } else { "" },
        )),
        // `"…\\"` is what Docker reads as a value ending in `\`, but hadolint, which lints
        // every generated Dockerfile, reads an escaped quote and fails to parse the file.
        None if value.ends_with('\\') => Err(format!(
            "key `{key}`: {what} ends with `\\`, which Dockerfile linters misread as escaping \
             the closing quote; drop the trailing backslash"
        )),
        None => Ok(()),
    }
}

/// The images whose binary compiles one of `readers` (`reach`: per image, the local
/// packages its package reaches over normal dependencies).
fn reaching<'a>(
    images: &'a [ImagePlan],
    reach: &[BTreeSet<String>],
    readers: &BTreeSet<String>,
) -> Vec<&'a ImagePlan> {
    images
        .iter()
        .zip(reach)
        .filter(|(_, reached)| readers.iter().any(|r| reached.contains(r)))
        .map(|(img, _)| img)
        .collect()
}

/// A note for each path program code embeds at compile time that the build context lacks
/// ([`Workspace::missing_reads`]), naming the images whose build then fails: said before a
/// build that would stop minutes in (kellnr's `include_dir!` of a front-end bundle that
/// its npm build writes). A path in a submodule not checked out (oxigraph's yasgui) names
/// the submodule to check out instead.
pub(super) fn missing_read_notes(
    missing_reads: &BTreeMap<String, crate::model::CompileRead>,
    missing_submodules: &[String],
    images: &[ImagePlan],
    reach: &[BTreeSet<String>],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (path, read) in missing_reads {
        let failing = reaching(images, reach, &read.readers);
        if failing.is_empty() {
            continue;
        }
        let fix = match missing_submodules
            .iter()
            .find(|m| crate::model::is_within(path, m))
        {
            Some(submodule) => format!(
                "it is in git submodule `{submodule}`, not checked out: run `git submodule \
                 update --init {submodule}`"
            ),
            None => "create it first (a front-end bundle: run its build before `cargo xtask \
                     image`, and in CI)"
                .to_string(),
        };
        notes.push(format!(
            "`{path}` is not in the build context, and {}: building {} fails; {fix}",
            read.why,
            super::ticked(failing.iter().map(|img| &img.bin)),
        ));
    }
    notes
}

/// A note for each path the images' code names as it would open it at run time
/// ([`Workspace::run_reads`]) that an image reaching that code does not carry (`files`):
/// started from the workspace root, the program finds `configuration/` or `pgcat.toml`;
/// in its image it stops at startup, and nothing said why. Each names the images, the
/// literal, and the `files` entry (with a `workdir`, since a relative path is looked up
/// there) under the manifest that gives it to them.
pub(super) fn run_time_notes(
    ws: &Workspace,
    images: &[ImagePlan],
    reach: &[BTreeSet<String>],
) -> Vec<String> {
    use crate::model::{is_within, RunAs, BUILD_DIR};
    // Per image set (named, and how many), manifest and `workdir` advice: the paths, where
    // they go, and why.
    type Group = (String, usize, String, String);
    type Entry = (String, String, String);
    let mut groups: Vec<(Group, Vec<Entry>)> = Vec::new();
    let mut database_notes = Vec::new();
    for (path, read) in &ws.run_reads {
        let lacking: Vec<&ImagePlan> = reaching(images, reach, &read.readers)
            .into_iter()
            .filter(|img| {
                !img.extras
                    .files
                    .keys()
                    .any(|f| is_within(path, f) || is_within(f, path))
            })
            .collect();
        let Some(first) = lacking.first() else {
            continue;
        };
        let rel = ws.from_root(path);
        // The working directory the project's own Dockerfile gives this program, when it
        // has one, so that this note and its note agree (pgcat's `/etc/pgcat`).
        let own_workdir = (ws.own_dockerfile.as_ref())
            .filter(|o| o.programs.contains(&first.bin) || images.len() == 1)
            .and_then(|o| o.workdir.clone());
        let workdir = |dir: &str, run_as: &str| format!("{}/{run_as}", dir.trim_end_matches('/'));
        let (target, set_workdir) = match (&read.run_as, &first.extras.workdir, own_workdir) {
            // Where the program looks for it: the build stage's path, fixed as it compiled.
            (Some(RunAs::BuildStage), _, _) => (join(BUILD_DIR, path), String::new()),
            (run_as, dir, own) => {
                // As the code names it, from the working directory.
                let run_as = match run_as {
                    Some(RunAs::FromWorkdir(name)) => name.as_str(),
                    _ => rel,
                };
                match (dir, own) {
                    (Some(dir), _) => (workdir(dir, run_as), String::new()),
                    (None, own) => {
                        let dir = own.unwrap_or_else(|| "/app".to_string());
                        (workdir(&dir, run_as), format!(" and `workdir = {dir:?}`"))
                    }
                }
            }
        };
        let one_package = lacking.iter().all(|img| img.package == first.package);
        let table = match ws.package(&first.package) {
            Some(p) if one_package => super::package_table(p),
            _ => ws.workspace_table(),
        };
        let bins = super::ticked(lacking.iter().map(|img| &img.bin));
        // A SQLite database the program opens is one it writes (rustdesk-server's
        // `db_v2.sqlite3`, which it creates; the workspace's copy was sqlx's, for the
        // build): a volume where it opens it keeps it, a shipped copy would be read-only
        // to its user and go with the container.
        if is_database(path) && !matches!(read.run_as, Some(RunAs::BuildStage)) {
            let run_as = match &read.run_as {
                Some(RunAs::FromWorkdir(name)) => name.as_str(),
                _ => rel,
            };
            // Where each image's program would create it: below its working directory.
            let opened =
                |img: &ImagePlan| workdir(img.extras.workdir.as_deref().unwrap_or("/app"), run_as);
            let lacking: Vec<&&ImagePlan> = (lacking.iter())
                .filter(|img| !img.extras.in_volume(&opened(img)))
                .collect();
            let Some(first) = lacking.first() else {
                continue;
            };
            let bins = super::ticked(lacking.iter().map(|img| &img.bin));
            let target = opened(first);
            let dir = target.rsplit_once('/').map_or("/", |(d, _)| d);
            let (dir, set_workdir) = match (&first.extras.workdir, dir) {
                (None, "/app") => (
                    "/data".to_string(),
                    " and `workdir = \"/data\"`".to_string(),
                ),
                (None, dir) => (dir.to_string(), " and `workdir = \"/app\"`".to_string()),
                (Some(_), dir) => (dir.to_string(), String::new()),
            };
            let (it, they, table) = match lacking.len() {
                1 => ("it", "it", super::image_table(ws, first)),
                _ => ("they", "each", table),
            };
            // The volumes it has, kept in the key the note gives.
            let all: Vec<String> = (first.extras.volumes.iter().map(String::as_str))
                .chain([dir.as_str()])
                .map(|v| format!("{v:?}"))
                .collect();
            database_notes.push(format!(
                "{bins} may open `{rel}` at run time ({}), a SQLite database, which {it} would \
                 write: keep it in a volume, not in the image (a shipped copy is read-only to \
                 the image's user and goes with the container): set `volumes = [{}]`\
                 {set_workdir} under {table}, where {they} creates it",
                read.why,
                all.join(", "),
            ));
            continue;
        }
        let key = (bins, lacking.len(), table, set_workdir);
        let entry = (rel.to_string(), target, read.why.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, entries)) => entries.push(entry),
            None => groups.push((key, vec![entry])),
        }
    }
    // One note per image set and manifest: a package's six files (actix's TLS examples'
    // `cert.pem` and `key.pem`) are one `files` table to add.
    let mut notes: Vec<String> = groups
        .into_iter()
        .map(|((bins, count, table, set_workdir), entries)| {
            let files = entries
                .iter()
                .map(|(rel, target, _)| format!("\"{rel}\" = \"{target}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let (whose, they) = match count {
                1 => ("its image", "it does"),
                _ => ("their images", "they do"),
            };
            match &entries[..] {
                [(rel, _, why)] => format!(
                    "{bins} may open `{rel}` at run time ({why}), which is in the workspace \
                     but not in {whose}: if {they}, add `files = {{ {files} }}`{set_workdir} \
                     under {table}"
                ),
                _ => format!(
                    "{bins} may open these at run time, which are in the workspace but not in \
                     {whose}: {}; if {they}, add `files = {{ {files} }}`{set_workdir} under \
                     {table}",
                    entries
                        .iter()
                        .map(|(rel, _, why)| format!("`{rel}` ({why})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        })
        .collect();
    notes.extend(database_notes);
    notes.extend(run_loopback_notes(ws, images, reach));
    notes.extend(shipped_secret_notes(ws, images, reach));
    notes.extend(cargo_env_notes(ws, images, reach));
    notes.extend(written_notes(ws, images, reach));
    notes.extend(system_path_notes(ws, images, reach));
    notes
}

/// Whether context path `path` names a SQLite database file.
fn is_database(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    [".sqlite", ".sqlite3", ".db", ".db3"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// A note for each image whose code names its own configuration under `/etc` or its own
/// state directory under `/var/run`, `/var/lib`, … ([`Package::system_paths`]) that the
/// image lacks (ntpd-rs: without `/etc/ntpd-rs/ntp.toml` the daemon ran doing nothing;
/// its `/var/run/ntpd-rs/observe` socket failed twice, with no directory and then one its
/// user could not write). A configuration is shipped with `files` (the workspace's file
/// of that name, when there is one) or mounted when it runs; a state directory becomes a
/// volume, created writable by the image's user, which other containers can share (its
/// `ntp-ctl`). Not noted once `files` or `volumes` holds the path.
fn system_path_notes(
    ws: &Workspace,
    images: &[ImagePlan],
    reach: &[BTreeSet<String>],
) -> Vec<String> {
    use crate::model::is_within;
    use crate::reads::SystemPath;
    // What an image lacks: configurations (file naming it, path, the workspace's file of
    // that name) and state directories (file naming it, directory, the literal).
    type Configs<'a> = Vec<(&'a String, &'a String, &'a Option<String>)>;
    type States<'a> = Vec<(&'a String, &'a String, &'a String)>;
    let mut groups: Vec<(Vec<&ImagePlan>, Configs, States)> = Vec::new();
    for (img, reached) in images.iter().zip(reach) {
        let shipped = |path: &str| {
            (img.extras.files.values()).any(|dest| is_within(path, dest.trim_end_matches('/')))
        };
        let mut configs: Configs = Vec::new();
        let mut states: States = Vec::new();
        for (file, paths) in super::image_code(ws, img, reached, |p| &p.system_paths) {
            for sp in paths {
                match sp {
                    SystemPath::Config { path, local } => {
                        if !shipped(path)
                            && !img.extras.in_volume(path)
                            && !configs.iter().any(|c| c.1 == path)
                        {
                            configs.push((file, path, local));
                        }
                    }
                    SystemPath::State { dir, literal } => {
                        if !img.extras.in_volume(dir)
                            && !shipped(dir)
                            && !states.iter().any(|s| s.1 == dir)
                        {
                            states.push((file, dir, literal));
                        }
                    }
                }
            }
        }
        if configs.is_empty() && states.is_empty() {
            continue;
        }
        // One note for a package's images that lack the same (ntpd-rs's three binaries).
        let same = |(imgs, c, st): &&mut (Vec<&ImagePlan>, Configs, States)| {
            imgs[0].package == img.package
                && imgs[0].extras.volumes == img.extras.volumes
                && *c == configs
                && *st == states
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some((imgs, _, _)) => imgs.push(img),
            None => groups.push((vec![img], configs, states)),
        }
    }
    let mut notes = Vec::new();
    for (imgs, configs, states) in groups {
        let first = imgs[0];
        let table = match ws.package(&first.package) {
            Some(p) if imgs.len() > 1 => super::package_table(p),
            _ => super::image_table(ws, first),
        };
        let bins = super::ticked(imgs.iter().map(|img| &img.bin));
        let (their, lack) = match imgs.len() {
            1 => ("its", "its image lacks"),
            _ => ("their", "their images lack"),
        };
        for (file, path, local) in configs {
            let name = path.rsplit('/').next().unwrap_or(path);
            let ship = match local {
                Some(local) => format!(
                    "ship the workspace's with `files = {{ \"{}\" = \"{path}\" }}` under \
                     {table}",
                    ws.from_root(local)
                ),
                None => format!("ship one with `files` under {table}"),
            };
            notes.push(format!(
                "{bins} may read {their} configuration from `{path}` ({} names it), which \
                 {lack}: {ship}, or mount one when it runs (`-v ./{name}:{path}:ro`)",
                ws.from_root(file),
            ));
        }
        if let Some((file, _, literal)) = states.first() {
            let all: Vec<String> = (first.extras.volumes.iter())
                .chain(states.iter().map(|(_, d, _)| *d))
                .map(|v| format!("{v:?}"))
                .collect();
            notes.push(format!(
                "{bins} may keep files in {} ({} names `{literal}`), which {lack} and the \
                 user {} could not create: set `volumes = [{}]` under {table} (created \
                 writable by that user; other containers can mount the same volume)",
                super::ticked(states.iter().map(|(_, d, _)| d)),
                ws.from_root(file),
                first.user,
                all.join(", "),
            ));
        }
    }
    notes
}

/// A note for each image whose code writes, when it runs, below its working directory
/// ([`Package::writes`]: microbin's `data_dir` default `"microbin_data"`, a
/// `create_dir_all("uploads")`, a `"sqlite://data.db"`) where no `volumes` entry keeps
/// it: the data lives in the container's writable layer and goes with the container. The
/// fix is a volume there: through the variable the code reads the path from when there is
/// one (`env` pointing at `/data`), else a `workdir` and a volume under it. Not noted: a path
/// a volume holds, or one the image's `env` moves to where a volume is.
fn written_notes(ws: &Workspace, images: &[ImagePlan], reach: &[BTreeSet<String>]) -> Vec<String> {
    use crate::model::is_within;
    let mut notes = Vec::new();
    for (img, reached) in images.iter().zip(reach) {
        let workdir = img
            .extras
            .workdir
            .as_deref()
            .map(|d| d.trim_end_matches('/'));
        // A served directory that defaults to the working directory counts where the code
        // creates files at paths it computes (dufs's uploads).
        // A file created by name tells more than an `OpenOptions` (a log file's, often).
        let creates = super::image_code(ws, img, reached, |p| &p.creates)
            .min_by_key(|(_, call)| call.starts_with(".create"));
        // Each path with its file, the directory to keep and the variable that moves it.
        let mut lost: Vec<(&String, &crate::reads::Written, String)> = Vec::new();
        for (file, written) in super::image_code(ws, img, reached, |p| &p.writes) {
            for w in written
                .iter()
                .filter(|w| w.path != "." || creates.is_some())
            {
                // Where it is: as the code names it, or as the image's `env` moves it.
                let moved = w.env.as_ref().and_then(|var| img.env.get(var));
                let path = moved.map_or(w.path.as_str(), |v| v.trim_end_matches('/'));
                let path = if path == "." { "" } else { path };
                let dir = if w.dir {
                    path.to_string()
                } else {
                    path.rsplit_once('/')
                        .map_or(String::new(), |(d, _)| d.to_string())
                };
                let at = match workdir {
                    _ if dir.starts_with('/') => dir.clone(),
                    Some(wd) => join(wd, &dir),
                    // Unknown until a `workdir` is set: kept by nothing.
                    None => String::new(),
                };
                let known = lost
                    .iter()
                    .any(|(_, l, _)| l.path == w.path && l.env == w.env);
                if (at.is_empty() || !img.extras.in_volume(&at)) && !known {
                    lost.push((file, w, dir));
                }
            }
        }
        let Some((_, first, _)) = lost.first() else {
            continue;
        };
        let table = super::image_table(ws, img);
        // Every one movable by its variable: all into one volume at /data (rustus's
        // `RUSTUS_DATA_DIR` and `RUSTUS_INFO_DIR`, both "./data", there together).
        let all_moved = lost.iter().all(|(_, w, _)| w.env.is_some());
        let one_place = lost.iter().all(|(_, w, _)| w.path == first.path);
        let fix = match all_moved {
            true => {
                let vars: Vec<String> = lost
                    .iter()
                    .filter_map(|(_, w, _)| {
                        let name = w.path.rsplit('/').next().unwrap_or(&w.path);
                        let value = match (w.dir, one_place) {
                            (true, true) => "/data".to_string(),
                            (true, false) => format!("/data/{}", w.path),
                            (false, _) => format!("/data/{name}"),
                        };
                        Some(format!("{} = \"{value}\"", w.env.as_ref()?))
                    })
                    .collect();
                format!(
                    "`env = {{ {} }}` and `volumes = [\"/data\"]`",
                    vars.join(", ")
                )
            }
            false => {
                let here = lost.iter().any(|(_, w, _)| w.path == ".");
                let wd = workdir.unwrap_or(if here { "/data" } else { "/app" });
                let mut dirs: Vec<String> = lost
                    .iter()
                    .map(|(_, _, d)| match d.starts_with('/') {
                        true => d.clone(),
                        false => join(wd, d),
                    })
                    .collect();
                dirs.sort();
                dirs.dedup();
                let dirs: Vec<String> = dirs
                    .iter()
                    .filter(|d| !dirs.iter().any(|o| o != *d && is_within(d, o)))
                    .map(|d| format!("\"{d}\""))
                    .collect();
                let set_workdir = match workdir {
                    Some(_) => String::new(),
                    None => format!("`workdir = \"{wd}\"` and "),
                };
                format!("{set_workdir}`volumes = [{}]`", dirs.join(", "))
            }
        };
        let what = lost
            .iter()
            .map(|(f, w, _)| match (w.path.as_str(), creates) {
                (".", Some((created, call))) => format!(
                    "files in its working directory ({}: {}, and {} creates files where it \
                     is told: `{call}`)",
                    ws.from_root(f),
                    w.how,
                    ws.from_root(created),
                ),
                _ => format!("`{}` ({}: {})", w.path, ws.from_root(f), w.how),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let relative = match lost.iter().all(|(_, w, _)| w.path == ".") {
            true => "",
            false => " relative to its working directory",
        };
        notes.push(format!(
            "`{}` writes {what}{relative} when it runs: in a container that is its writable \
             layer, gone when the container is removed; keep it in a volume: set {fix} under \
             {table} (a directory mounted there must be writable by {})",
            img.bin, img.user,
        ));
    }
    notes
}

/// A note for each image whose code reads, when it runs, a variable that
/// `.cargo/config.toml`'s `[env]` gives every `cargo run` ([`Package::run_env`]), and whose
/// `env` does not set it: on a laptop the program starts; in its image it stops at once
/// (rust-web-app's `MissingEnv("SERVICE_DB_URL")`). The fix is `env` for what is not a
/// secret, and the container's environment when it runs for what is: the `[env]` table is
/// there for development, its values often dev-only passwords.
fn cargo_env_notes(
    ws: &Workspace,
    images: &[ImagePlan],
    reach: &[BTreeSet<String>],
) -> Vec<String> {
    let (config, given) = super::packages::config_env(ws);
    if given.is_empty() {
        return Vec::new();
    }
    let mut notes = Vec::new();
    for (img, reached) in images.iter().zip(reach) {
        let set = |var: &str| img.env.contains_key(var) || img.run_env.iter().any(|v| v == var);
        // Each variable with what reads it: the first file that names it, or the logger.
        let mut read: BTreeMap<String, String> = BTreeMap::new();
        for (file, vars) in super::image_code(ws, img, reached, |p| &p.run_env) {
            for var in vars.iter().filter(|v| given.contains_key(*v) && !set(v)) {
                let by = format!("{} names `{var}`", ws.from_root(file));
                read.entry(var.clone()).or_insert(by);
            }
        }
        // `RUST_LOG`, which the logger reads by itself: without it the program logs nothing
        // (rust-web-app's `tracing-subscriber` filter).
        if given.contains_key(LOG_VAR) && !set(LOG_VAR) && !read.contains_key(LOG_VAR) {
            let logger = super::reached(ws, |name| name == img.package)
                .into_iter()
                .map(|i| &ws.resolved[i])
                .find(|r| {
                    LOGGERS.contains(&r.name.as_str())
                        || (r.name == "tracing-subscriber"
                            && r.features.iter().any(|f| f == "env-filter"))
                });
            if let Some(logger) = logger {
                let by = format!("`{}` reads `{LOG_VAR}`", logger.name);
                read.insert(LOG_VAR.to_string(), by);
            }
        }
        // The code's own read first: it shows the user where the program asks.
        let Some((_, by)) =
            (read.iter().find(|(v, _)| *v != LOG_VAR)).or_else(|| read.first_key_value())
        else {
            continue;
        };
        let vars = super::ticked(read.keys());
        notes.push(format!(
            "`{}` reads {vars} from its environment when it runs ({by}), which {config}'s \
             [env] gives `cargo run` but not its image: set those that are not secrets in \
             `env` under {}, and name the others in `run-env` there: the container gets them \
             when it runs (`docker run -e NAME`; compose.yaml requires them)",
            img.bin,
            super::image_table(ws, img),
        ));
    }
    notes
}

/// The variable Rust's loggers take their filter from.
const LOG_VAR: &str = "RUST_LOG";

/// Loggers that read [`LOG_VAR`] by themselves (tracing-subscriber only with its
/// `env-filter` feature).
const LOGGERS: &[&str] = &[
    "env_logger",
    "pretty_env_logger",
    "flexi_logger",
    "simple_logger",
];

/// How the code of `img`'s program lets the environment override its configuration
/// ([`crate::listen::EnvOverride`]), with the file that sets it up.
fn env_override<'a>(
    ws: &'a Workspace,
    img: &'a ImagePlan,
    reached: &'a BTreeSet<String>,
) -> Option<(&'a String, &'a crate::listen::EnvOverride)> {
    super::image_code(ws, img, reached, |p| &p.listen)
        .find_map(|(file, f)| f.env_override.as_ref().map(|o| (file, o)))
}

/// A note for each image whose `files` ship a configuration that sets a secret to a
/// literal ([`Workspace::shipped_secrets`]: sonic's `auth_password`): anyone who can pull
/// the image reads it. The fix is at run time, not in `env` (an `ENV` is in the image
/// too): the variable the program's code lets override it, when it lets one, or the file
/// mounted when the container runs.
fn shipped_secret_notes(
    ws: &Workspace,
    images: &[ImagePlan],
    reach: &[BTreeSet<String>],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (img, reached) in images.iter().zip(reach) {
        for src in img.extras.files.keys() {
            let Some(secrets) = ws.shipped_secrets.get(src) else {
                continue;
            };
            let over = env_override(ws, img, reached);
            let keys: Vec<String> = secrets
                .iter()
                .map(|e| format!("`{}` ({}:{})", e.key, ws.from_root(&e.file), e.line))
                .collect();
            let variables: Vec<String> = match over {
                Some((_, o)) if !secrets.iter().any(|e| e.file.ends_with(".json")) => secrets
                    .iter()
                    .filter_map(|e| o.variable(&e.section, &e.key))
                    .map(|v| format!("`{v}`"))
                    .collect(),
                _ => Vec::new(),
            };
            let env = match (over, variables.is_empty()) {
                (Some((file, _)), false) => format!(
                    "{} in the container's environment when it runs (`docker run -e`, \
                     compose's `environment:`; its code lets it override the file: {}), or ",
                    variables.join(", "),
                    ws.from_root(file)
                ),
                _ => String::new(),
            };
            notes.push(format!(
                "`{}`'s image ships `{}` (`files`), which sets {} to a literal: anyone who can \
                 pull the image reads it; keep it out of the shipped copy and give it at run \
                 time: {env}the file mounted when the container runs (`docker run -v`, a \
                 compose secret) instead of shipping it",
                img.bin,
                ws.from_root(src),
                match keys.len() {
                    n if n > 3 => format!("{}, {} more", keys[..3].join(", "), n - 3),
                    _ => keys.join(", "),
                },
            ));
        }
    }
    notes
}

/// A note for each run-time configuration that listens on loopback
/// ([`Workspace::run_loopbacks`]), for the images of the programs that read it, shipped or
/// not: a service configured so answers only its own container (rustypaste's `address =
/// "127.0.0.1:8000"`), while a healthcheck run inside passes. When the program's code lets
/// the environment override its configuration ([`crate::listen::EnvOverride`]), the
/// variable is named with a public address (sonic's `SONIC_CHANNEL__INET`), and an image
/// whose `env` sets it is not said.
fn run_loopback_notes(
    ws: &Workspace,
    images: &[ImagePlan],
    reach: &[BTreeSet<String>],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (path, found) in &ws.run_loopbacks {
        let Some(read) = ws.run_reads.get(path) else {
            continue;
        };
        // Each reader with the variable its code would take instead (not for JSON, whose
        // nesting the line reader does not follow).
        let readers: Vec<(&ImagePlan, Option<(&String, String)>)> = images
            .iter()
            .zip(reach)
            .filter(|(_, reached)| read.readers.iter().any(|r| reached.contains(r)))
            .map(|(img, reached)| {
                let over = env_override(ws, img, reached)
                    .filter(|_| !found.file.ends_with(".json"))
                    .and_then(|(file, o)| Some((file, o.variable(&found.section, &found.key)?)));
                (img, over)
            })
            .filter(|(img, over)| !over.as_ref().is_some_and(|(_, v)| img.env.contains_key(v)))
            .collect();
        if readers.is_empty() {
            continue;
        }
        let public = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .fold(found.value.clone(), |v, host| {
                v.replacen(host, "0.0.0.0", 1)
            });
        let fix = match (&readers[0].1, readers.len()) {
            (Some((file, var)), 1) => format!(
                ", or override it from the environment, as its code lets ({}): `{var} = \
                 {public:?}` in `env` under {}",
                ws.from_root(file),
                super::image_table(ws, readers[0].0)
            ),
            (Some((file, var)), _)
                if readers
                    .iter()
                    .all(|(_, o)| o.as_ref().map(|(_, v)| v) == Some(var)) =>
            {
                format!(
                    ", or override it from the environment, as their code lets ({}): `{var} = \
                     {public:?}` in each image's `env`",
                    ws.from_root(file)
                )
            }
            _ => " (or set the override its `env` reads)".to_string(),
        };
        notes.push(format!(
            "{} may read `{}`, which listens on loopback ({}:{}: `{}`): in a container it \
             answers only the container itself, and a published port reaches nothing; listen \
             on `0.0.0.0` in the copy its image gets{fix}",
            super::ticked(readers.iter().map(|(img, _)| &img.bin)),
            ws.from_root(path),
            ws.from_root(&found.file),
            found.line,
            found.text,
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `healthcheck = "/health"`: an HTTP probe of that path on the first of `ports`.
    #[test]
    fn a_path_alone_is_an_http_probe_on_the_first_port() {
        let cfg = ImageConfig {
            healthcheck: Some(HealthcheckConfig::Keyword("/health_check".into())),
            ..ImageConfig::default()
        };
        let got = plan_healthcheck(&cfg, &Runtime::DistrolessCc, "distroless-cc", &[8000, 9000]);
        match got {
            Ok(Some(Healthcheck::Http { port, path, .. })) => {
                assert_eq!((port, path.as_str()), (8000, "/health_check"))
            }
            other => panic!("{other:?}"),
        }
    }

    /// hadolint parses one number with `s`, `m` or `h`; Docker takes Go durations.
    #[test]
    fn durations_are_written_in_one_unit() {
        for (given, written) in [
            ("30s", "30s"),
            ("1m", "1m"),
            ("1.5s", "1.5s"),
            ("1m30s", "90s"),
            ("500ms", "0.5s"),
            ("1h0m0.25s", "3600.25s"),
            ("250us", "0.00025s"),
        ] {
            assert_eq!(single_unit(given).as_deref(), Some(written), "{given}");
        }
        assert_eq!(single_unit("1.2.3s"), None);
    }

    #[test]
    fn the_user_owns_its_working_directory_unless_the_system_lays_it_out() {
        for dir in [
            "/app",
            "/srv/app",
            "/var/lib/app",
            "/home/nonroot/work",
            "/data/",
            "/usr/src/sonic",
            "/usr/local/app/data",
        ] {
            assert!(super::user_owns_workdir(dir), "{dir}");
        }
        for dir in [
            "/",
            "/etc",
            "/usr/local/bin",
            "/usr/local/share/app",
            "/usr/src",
            "/usr/src/",
            "/usr/local",
            "/usr/share/app",
            "/etc/app",
            "/var/lib/",
            "/tmp",
        ] {
            assert!(!super::user_owns_workdir(dir), "{dir}");
        }
    }

    /// An image adds its user's home where its base has none for that user: scratch and
    /// Debian slim always, distroless for users other than its own `nonroot`, never for a
    /// named user (the base image's own) or an image of the user's own.
    #[test]
    fn a_home_is_added_where_the_base_has_none_for_the_user() {
        use Runtime::*;
        for (runtime, uid, home) in [
            (Scratch, "65532", Some("/home/nonroot")),
            (Scratch, "1000", Some("/home/user1000")),
            (DebianSlim, "65532", Some("/home/nonroot")),
            (DebianSlim, "app", None),
            (DistrolessCc, "65532", None),
            (DistrolessStatic, "65532", None),
            (DistrolessCc, "1000", Some("/home/user1000")),
            (Custom, "1000", None),
        ] {
            assert_eq!(
                user_home(&runtime, uid).as_deref(),
                home,
                "{runtime:?} {uid}"
            );
        }
    }
}
