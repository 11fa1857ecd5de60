//! Inferring system packages from the resolved dependency graph
//! (`data/sys-crates.toml`): features on and off, crates reached through dev-dependencies
//! only, crates no shipped binary needs.

// The fixture builder, shared with the end-to-end tests (the `e2e` crate in `tests/`).
#[path = "../../tests/support/mod.rs"]
mod support;

use cargo_image::model::Resolved;
use cargo_image::plan::infer_from_graph;
use support::{fixed_options, Fixture};

fn node(name: &str, version: &str, features: &[&str], deps: &[usize]) -> Resolved {
    Resolved {
        name: name.into(),
        version: version.into(),
        features: features.iter().map(|f| f.to_string()).collect(),
        deps: deps.to_vec(),
        rust_version: None,
    }
}

/// A workspace model (read from a real one-package fixture) with `graph` as its resolve.
fn with_graph(graph: Vec<Resolved>) -> cargo_image::model::Workspace {
    let built = Fixture::new("graph")
        .root_package("svc", |p| p.main())
        .build();
    let (loaded, _) = built.plan();
    let mut ws = loaded.workspace;
    ws.resolved = graph;
    ws
}

fn pairs(map: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[test]
fn openssl_through_native_tls_needs_pkg_config_and_libssl_dev_unless_vendored() {
    for (features, expected) in [(&[][..], true), (&["vendored"][..], false)] {
        let ws = with_graph(vec![
            node("native-tls", "0.2.12", &[], &[1]),
            node("openssl-sys", "0.9.109", features, &[]),
            node("reqwest", "0.12.9", &["native-tls"], &[0]),
            node("svc", "0.1.0", &[], &[2]),
        ]);
        let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
        if expected {
            let why = "openssl-sys 0.9.109 via reqwest → native-tls (feature vendored off)";
            assert_eq!(pairs(&build), [("pkg-config".into(), why.into())]);
            assert_eq!(pairs(&link), [("libssl-dev".into(), why.into())]);
        } else {
            assert!(build.is_empty() && link.is_empty(), "{build:?} {link:?}");
        }
    }
}

/// `vendored` compiles OpenSSL (openssl-src): `perl ./Configure` and `make`, which a slim
/// builder lacks (perl-base has no FindBin).
#[test]
fn vendored_openssl_needs_make_and_perl() {
    let ws = with_graph(vec![
        node("openssl", "0.10.82", &["vendored"], &[2]),
        node("openssl-src", "300.6.1+3.6.3", &[], &[]),
        node("openssl-sys", "0.9.118", &["openssl-src", "vendored"], &[1]),
        node("svc", "0.1.0", &[], &[0]),
    ]);
    let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
    let why = "openssl-src 300.6.1+3.6.3 via openssl → openssl-sys";
    assert_eq!(
        pairs(&build),
        [("make".into(), why.into()), ("perl".into(), why.into())]
    );
    assert!(link.is_empty(), "{link:?}");
}

/// prost-build (and tonic-build through it) runs `protoc`; the well-known types a `.proto`
/// imports (`google/protobuf/timestamp.proto`) are in libprotobuf-dev, which Debian's
/// protobuf-compiler only recommends.
#[test]
fn prost_build_needs_protoc_and_the_well_known_types() {
    let ws = with_graph(vec![
        node("prost-build", "0.14.6", &[], &[]),
        node("svc", "0.1.0", &[], &[0]),
    ]);
    let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
    assert_eq!(
        pairs(&build),
        [
            ("libprotobuf-dev".into(), "prost-build 0.14.6".into()),
            ("protobuf-compiler".into(), "prost-build 0.14.6".into())
        ]
    );
    assert!(link.is_empty(), "{link:?}");
}

/// A build script that hands prost-build the `protoc` of protoc-bin-vendored (through
/// PROTOC; the well-known types beside it) or of protobuf-src (built from source), or
/// compiles the protos with protox (atuin's daemon: `skip_protoc_run`), needs neither
/// Debian package.
#[test]
fn vendored_protoc_or_protox_needs_no_protobuf_packages() {
    for instead in ["protoc-bin-vendored", "protox", "protobuf-src"] {
        let ws = with_graph(vec![
            node("prost-build", "0.14.6", &[], &[]),
            node(instead, "3.2.0", &[], &[]),
            node("svc", "0.1.0", &[], &[0, 1]),
        ]);
        let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
        assert!(
            build.is_empty() && link.is_empty(),
            "{instead}: {build:?} {link:?}"
        );
    }
}

/// aws-lc-sys needs CMake and clang only in old versions: since aws-lc-rs 1.7 the cc crate
/// builds it for x86_64 and aarch64 Linux with pregenerated bindings (rauthy's 0.39,
/// sccache's 0.41 got both for nothing).
#[test]
fn only_old_aws_lc_sys_needs_cmake_and_clang() {
    for (version, expected) in [
        ("0.14.1", true),
        ("0.20.1", true),
        ("0.21.0", false),
        ("0.39.1", false),
    ] {
        // aws-lc-sys depends on the cmake crate in every version.
        let ws = with_graph(vec![
            node("aws-lc-sys", version, &[], &[1]),
            node("cmake", "0.1.58", &[], &[]),
            node("svc", "0.1.0", &[], &[0]),
        ]);
        let (build, _) = infer_from_graph(&ws, ["svc"].into_iter());
        let names: Vec<&str> = build.keys().map(String::as_str).collect();
        let want: &[&str] = if expected {
            &["clang", "cmake", "make"]
        } else {
            &[]
        };
        assert_eq!(names, want, "{version}");
    }
    // The cmake crate reached another way still needs cmake.
    let ws = with_graph(vec![
        node("aws-lc-sys", "0.39.1", &[], &[1]),
        node("cmake", "0.1.58", &[], &[]),
        node("svc", "0.1.0", &[], &[0, 1]),
    ]);
    let (build, _) = infer_from_graph(&ws, ["svc"].into_iter());
    assert_eq!(build.keys().collect::<Vec<_>>(), ["cmake", "g++", "make"]);
}

/// The cmake crate needs `make` (the default generator's program, which Debian's cmake
/// only recommends) and g++ (a `project()` naming no languages enables C++): protobuf-src
/// builds protoc that way. librocksdb-sys compiles RocksDB's C++ with the cc crate (`c++`).
#[test]
fn cmake_and_cpp_builds_need_make_and_gpp() {
    let ws = with_graph(vec![
        node("protobuf-src", "2.1.1+27.1", &[], &[1]),
        node("cmake", "0.1.54", &[], &[]),
        node("svc", "0.1.0", &[], &[0]),
    ]);
    let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
    assert_eq!(
        pairs(&build),
        [
            ("cmake".into(), "cmake 0.1.54 via protobuf-src".into()),
            ("g++".into(), "cmake 0.1.54 via protobuf-src".into()),
            ("make".into(), "cmake 0.1.54 via protobuf-src".into()),
        ]
    );
    assert!(link.is_empty(), "{link:?}");
    let ws = with_graph(vec![
        node("librocksdb-sys", "0.17.1+9.9.3", &[], &[]),
        node("svc", "0.1.0", &[], &[0]),
    ]);
    let (build, _) = infer_from_graph(&ws, ["svc"].into_iter());
    assert_eq!(
        build.keys().collect::<Vec<_>>(),
        ["clang", "g++", "libclang-dev"]
    );
}

/// libsodium-sys compiles its bundled libsodium with ./configure and `make` (garage), unless
/// `use-pkg-config` links the system's.
#[test]
fn bundled_libsodium_needs_make() {
    for (features, expected) in [(&[][..], true), (&["use-pkg-config"][..], false)] {
        let ws = with_graph(vec![
            node("libsodium-sys", "0.2.7", features, &[]),
            node("svc", "0.1.0", &[], &[0]),
        ]);
        let (build, _) = infer_from_graph(&ws, ["svc"].into_iter());
        assert_eq!(
            build.contains_key("make"),
            expected,
            "{features:?}: {build:?}"
        );
    }
}

/// odbc-sys links the system's unixODBC (SQLPage's build failed on `-lodbc`) unless a
/// feature vendors it or links iODBC; boring-sys2 patches BoringSSL with `git apply` on
/// every build (redlib), and the slim builder has no git.
#[test]
fn odbc_links_unixodbc_and_boring_sys2_runs_git() {
    for (features, expected) in [
        (&["odbc_version_3_80"][..], true),
        (&["static"][..], true),
        (&["vendored-unix-odbc", "static"][..], false),
        (&["iodbc"][..], false),
    ] {
        let ws = with_graph(vec![
            node("odbc-sys", "0.31.0", features, &[]),
            node("svc", "0.1.0", &[], &[0]),
        ]);
        let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
        assert!(build.is_empty(), "{build:?}");
        assert_eq!(
            link.contains_key("unixodbc-dev"),
            expected,
            "{features:?}: {link:?}"
        );
    }
    let ws = with_graph(vec![
        node("boring-sys2", "5.0.0-alpha.13", &[], &[]),
        node("svc", "0.1.0", &[], &[0]),
    ]);
    let (build, _) = infer_from_graph(&ws, ["svc"].into_iter());
    assert_eq!(
        pairs(&build),
        [("git".into(), "boring-sys2 5.0.0-alpha.13".into())]
    );
}

/// Crates that link a system library by name, with no pkg-config probe (PAM for login
/// services, seccomp for sandboxes): the library's `-dev` package only.
#[test]
fn pam_and_seccomp_link_their_dev_packages_without_pkg_config() {
    for (name, dev) in [
        ("pam-sys", "libpam0g-dev"),
        ("libseccomp-sys", "libseccomp-dev"),
    ] {
        let ws = with_graph(vec![
            node(name, "0.5.6", &[], &[]),
            node("svc", "0.1.0", &[], &[0]),
        ]);
        let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
        assert!(build.is_empty(), "{name}: {build:?}");
        assert_eq!(
            pairs(&link),
            [(dev.into(), format!("{name} 0.5.6"))],
            "{name}"
        );
    }
}

/// Both jemalloc crates (jemallocator 0.5's `jemalloc-sys`, and `tikv-jemalloc-sys`, as
/// it was renamed) run jemalloc's configure and `make`, which a slim builder lacks (a real
/// service, pgcat, failed with `failed to execute command: No such file or directory`).
#[test]
fn both_jemalloc_crates_need_make() {
    for (name, version, via) in [
        ("jemalloc-sys", "0.5.3+5.3.0-patched", "jemallocator"),
        (
            "tikv-jemalloc-sys",
            "0.6.0+5.3.0-1-ge13ca993e8ccb9ba9847cc330696e02839f328f7",
            "tikv-jemallocator",
        ),
    ] {
        let ws = with_graph(vec![
            node(name, version, &["background_threads_runtime_support"], &[]),
            node("svc", "0.1.0", &[], &[2]),
            node(via, "0.5.0", &[], &[0]),
        ]);
        let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
        let why = format!("{name} {version} via {via}");
        assert_eq!(pairs(&build), [("make".into(), why)]);
        assert!(link.is_empty(), "{link:?}");
    }
}

/// Desktop and device libraries that services and daemons link (spotifyd's ALSA and
/// PulseAudio backends, D-Bus, udev, fontconfig for plotters' fonts; hurl's libxml2 and
/// libcurl): found by pkg-config,
/// so each needs it and its `-dev` package, unless a feature builds or loads the library
/// another way.
#[test]
fn audio_dbus_udev_fontconfig_and_gtk_need_their_dev_packages() {
    for (name, dev, off) in [
        ("alsa-sys", "libasound2-dev", None),
        ("libpulse-sys", "libpulse-dev", None),
        ("libdbus-sys", "libdbus-1-dev", Some("vendored")),
        ("libudev-sys", "libudev-dev", None),
        ("libxml", "libxml2-dev", None),
        ("curl-sys", "libcurl4-openssl-dev", Some("static-curl")),
        ("pcap", "libpcap-dev", None),
        ("libsystemd-sys", "libsystemd-dev", None),
        (
            "yeslogic-fontconfig-sys",
            "libfontconfig-dev",
            Some("dlopen"),
        ),
        ("glib-sys", "libglib2.0-dev", None),
        ("gobject-sys", "libglib2.0-dev", None),
        ("gio-sys", "libglib2.0-dev", None),
        ("cairo-sys-rs", "libcairo2-dev", None),
        ("pango-sys", "libpango1.0-dev", None),
        ("gdk-pixbuf-sys", "libgdk-pixbuf-2.0-dev", None),
        ("atk-sys", "libatk1.0-dev", None),
        ("gdk-sys", "libgtk-3-dev", None),
        ("gtk-sys", "libgtk-3-dev", None),
        ("gdk4-sys", "libgtk-4-dev", None),
        ("gtk4-sys", "libgtk-4-dev", None),
    ] {
        let ws = with_graph(vec![
            node(name, "0.2.0", &[], &[]),
            node("svc", "0.1.0", &[], &[0]),
        ]);
        let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
        let why = match off {
            Some(feature) => format!("{name} 0.2.0 (feature {feature} off)"),
            None => format!("{name} 0.2.0"),
        };
        assert_eq!(
            pairs(&build),
            [("pkg-config".into(), why.clone())],
            "{name}"
        );
        assert_eq!(pairs(&link), [(dev.into(), why)], "{name}");
        if let Some(feature) = off {
            let ws = with_graph(vec![
                node(name, "0.2.0", &[feature], &[]),
                node("svc", "0.1.0", &[], &[0]),
            ]);
            let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
            assert!(
                build.is_empty() && link.is_empty(),
                "{name}: {build:?} {link:?}"
            );
        }
    }
}

#[test]
fn only_the_shipped_binaries_dependencies_count() {
    let ws = with_graph(vec![
        node("pq-sys", "0.6.3", &[], &[]),
        node("svc", "0.1.0", &[], &[]),
        node("tool", "0.1.0", &[], &[0]),
    ]);
    let (build, link) = infer_from_graph(&ws, ["svc"].into_iter());
    assert!(build.is_empty() && link.is_empty(), "{build:?} {link:?}");
}

#[test]
fn feature_that_turns_the_need_on() {
    for (features, expected) in [(&[][..], 0), (&["pkg-config"][..], 1)] {
        let ws = with_graph(vec![
            node("svc", "0.1.0", &[], &[1]),
            node("zstd-sys", "2.0.13", features, &[]),
        ]);
        let (_, link) = infer_from_graph(&ws, ["svc"].into_iter());
        assert_eq!(link.len(), expected, "{link:?}");
    }
}

/// Read from a real workspace (libz-sys from the local registry cache, as the example
/// workspace uses it): a normal dependency infers its packages; a dev-dependency does not.
#[test]
fn read_keeps_normal_edges_and_drops_dev_only_ones() {
    for (dev, inferred) in [(false, true), (true, false)] {
        let built = Fixture::new("zdep")
            .root_package("svc", |p| {
                let p = p.main();
                if dev {
                    p.dev_dep("libz-sys", "\"1.1\"")
                } else {
                    p.dep("libz-sys", "\"1.1\"")
                }
            })
            .build();
        let (_, plan) = built.load(&fixed_options()).expect("plans");
        assert_eq!(
            plan.build.link_packages.contains(&"zlib1g-dev".to_string()),
            inferred,
            "dev-dependency: {dev}: {:?}",
            plan.build
        );
    }
}

/// An optional dependency that an image's `features` enable: `cargo metadata` resolves
/// default features only, so the workspace is read again with the build's features and
/// the dependency's packages are inferred; without the feature, nothing is.
#[test]
fn an_optional_dependency_enabled_by_an_images_features_is_inferred() {
    for enabled in [false, true] {
        let built = Fixture::new("optz")
            .root_package("svc", |p| {
                let p = p
                    .main()
                    .dep("libz-sys", "{ version = \"1.1\", optional = true }")
                    .toml("[features]\nzlib = [\"dep:libz-sys\"]\n");
                if enabled {
                    p.toml("[package.metadata.image]\nfeatures = [\"zlib\"]\n")
                } else {
                    p
                }
            })
            .build();
        let (_, plan) = built.load(&fixed_options()).expect("plans");
        assert_eq!(
            plan.build.link_packages.contains(&"zlib1g-dev".to_string()),
            enabled,
            "feature enabled: {enabled}: {:?}",
            plan.build
        );
    }
}

/// A dependency for another platform is never built into a Linux image: nothing inferred
/// for a `cfg(windows)` one; one for arm64 only (`cfg(target_arch = "aarch64")`) counts,
/// since images are built for amd64 and arm64.
#[test]
fn target_specific_dependencies_count_only_for_the_images_targets() {
    for (cfg, inferred) in [
        ("cfg(windows)", false),
        ("cfg(target_arch = \"aarch64\")", true),
    ] {
        let built = Fixture::new("targetdep")
            .root_package("svc", |p| {
                p.main().toml(&format!(
                    "[target.'{cfg}'.dependencies]\nlibz-sys = \"1.1\"\n"
                ))
            })
            .build();
        let (_, plan) = built.load(&fixed_options()).expect("plans");
        assert_eq!(
            plan.build.link_packages.contains(&"zlib1g-dev".to_string()),
            inferred,
            "{cfg}: {:?}",
            plan.build
        );
    }
}

/// Paths sources read at compile time outside their package (`crate::reads`) become build
/// files, each with the line that asked: a build script's reads (a sibling member's file,
/// a directory at the root), `include_str!` (relative to its file), a macro's and an
/// attribute's path (relative to the package). Not: a read at run time, a path that does
/// not exist, one `.dockerignore` leaves out, one `build-files` already lists, one a test
/// module of its own (`src/tests.rs`) reads.
#[test]
fn compile_time_reads_outside_a_package_become_build_files() {
    let built = Fixture::new("reads")
        .virtual_workspace(&["crates/*"])
        .workspace_toml("[workspace.metadata.image]\nbuild-files = [\"schema\"]\n")
        .package("crates/gateway", |p| {
            p.source(
                "build.rs",
                "fn main() {\n    let api = std::fs::read_to_string(\"../worker/proto/api.txt\").unwrap();\n    \
                 tonic_build::configure().compile(&[\"../../proto/a.proto\"], &[\"../../proto\"]);\n}\n",
            )
            .source(
                "src/main.rs",
                "const SCHEMA: &str = include_str!(\"../../../schema/api.graphql\");\n\
                 const API: &str = include_str!(\"../../worker/proto/api.txt\");\nfn main() {}\n",
            )
        })
        .package("crates/db", |p| {
            p.source(
                "src/lib.rs",
                "static M: Migrator = sqlx::migrate!(\"../../migrations\");\n\
                 #[derive(RustEmbed)]\n#[folder = \"../../web/dist\"]\nstruct Assets;\n\
                 pub fn config() -> Vec<u8> { std::fs::read(\"../../config/app.toml\").unwrap() }\n\
                 const GONE: &str = include_str!(\"../../../missing.txt\");\n\
                 const KEY: &str = include_str!(\"../../../secrets/key\");\n",
            )
        })
        .package("crates/worker", |p| {
            p.main()
                .source("proto/api.txt", "v1\n")
                // A test module of its own: `cargo test` only, which sees everything.
                .source("src/tests.rs", "const T: &str = include_str!(\"../../../config/app.toml\");\n")
        })
        .file("proto/a.proto", "syntax = \"proto3\";\n")
        .file("schema/api.graphql", "type Query { a: Int }\n")
        .file("migrations/0001_init.sql", "CREATE TABLE a (id INT);\n")
        .file("web/dist/index.html", "<p>hi</p>\n")
        .file("config/app.toml", "port = 1\n")
        .file("secrets/key", "do-not-ship\n")
        .file(".dockerignore", "secrets/\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(
        inferred(&plan),
        [
            (
                "crates/worker/proto/api.txt",
                "crates/gateway/build.rs reads \"../worker/proto/api.txt\""
            ),
            (
                "migrations",
                "crates/db/src/lib.rs reads \"../../migrations\""
            ),
            ("proto", "crates/gateway/build.rs reads \"../../proto\""),
            ("web/dist", "crates/db/src/lib.rs reads \"../../web/dist\""),
        ]
    );
    // Every compile step sees them, beside `build-files`' own.
    for dir in [
        "crates/worker/proto/api.txt",
        "migrations",
        "proto",
        "schema",
        "web/dist",
    ] {
        assert!(
            plan.local_dirs.contains(&dir.to_string()),
            "{dir}: {:?}",
            plan.local_dirs
        );
    }
    assert!(
        !plan.local_dirs.iter().any(|d| d.starts_with("config")),
        "{:?}",
        plan.local_dirs
    );
    // The `layers` mode binds a read where its reader compiles: gateway's leaf sees the
    // protos, worker's leaf beside it does not (a `.proto` edit leaves it cached); both see
    // `build-files`.
    let copy_of = |package: &str| {
        let leaf = plan
            .leaves
            .iter()
            .find(|l| l.packages.iter().any(|p| p == package))
            .unwrap_or_else(|| panic!("no leaf builds {package}: {:?}", plan.leaves));
        leaf.copy.clone()
    };
    let gateway = copy_of("gateway");
    for dir in ["crates/worker/proto/api.txt", "proto", "schema"] {
        assert!(gateway.contains(&dir.to_string()), "{dir}: {gateway:?}");
    }
    assert_eq!(copy_of("worker"), ["crates/worker", "schema"]);
}

/// askama (and rinja) read templates from the directories its `askama.toml` lists,
/// relative to the package: one shared with another crate, above the package, is
/// inferred; the package's own `templates/` needs nothing.
#[test]
fn askama_template_directories_above_the_package_are_inferred() {
    let built = Fixture::new("askamadirs")
        .virtual_workspace(&["crates/*"])
        .package("crates/web", |p| {
            p.main()
                .source(
                    "askama.toml",
                    "[general]\ndirs = [\"templates\", \"../../shared/templates\"]\n",
                )
                .source("templates/page.html", "{% extends \"base.html\" %}\n")
        })
        .file(
            "shared/templates/base.html",
            "<html>{% block body %}{% endblock %}</html>\n",
        )
        .build();
    let (_, plan) = built.plan();
    assert_eq!(
        inferred(&plan),
        [(
            "shared/templates",
            "crates/web/askama.toml lists \"../../shared/templates\""
        )]
    );
}

/// A build script inside `src/` (`build = "src/build.rs"`) reads at compile time; the
/// library beside it still reads at run time, whichever target cargo lists first; a
/// module under `src/bin/` (walked once, with `src/`) includes at compile time.
#[test]
fn a_build_script_beside_the_library_leaves_the_library_run_time_reads_alone() {
    let built = Fixture::new("srcbuild")
        .virtual_workspace(&["crates/*"])
        .package("crates/svc", |p| {
            p.package_key("build", "\"src/build.rs\"")
                .source(
                    "src/build.rs",
                    "fn main() { let _ = std::fs::read(\"../../proto/a.proto\"); }\n",
                )
                .source(
                    "src/lib.rs",
                    "pub fn config() -> Vec<u8> { std::fs::read(\"../../config/app.toml\").unwrap() }\n",
                )
                .source(
                    "src/bin/svc/main.rs",
                    "mod banner;\nfn main() { print!(\"{}\", banner::TEXT); }\n",
                )
                .source(
                    "src/bin/svc/banner.rs",
                    "pub const TEXT: &str = include_str!(\"../../../../../assets/banner.txt\");\n",
                )
        })
        .file("proto/a.proto", "syntax = \"proto3\";\n")
        .file("config/app.toml", "port = 1\n")
        .file("assets/banner.txt", "hi\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(
        inferred(&plan),
        [
            (
                "assets/banner.txt",
                "crates/svc/src/bin/svc/banner.rs reads \"../../../../../assets/banner.txt\""
            ),
            (
                "proto/a.proto",
                "crates/svc/src/build.rs reads \"../../proto/a.proto\""
            ),
        ]
    );
}

/// sqlx's query macros read the offline query data at the workspace root (docs.rs keeps
/// one `.sqlx/` for all its crates): it is inferred for a member whose own code uses sqlx,
/// not for one that uses it only in its tests (`cargo test` sees the whole context).
#[test]
fn sqlx_offline_data_at_the_workspace_root_is_read_by_its_users() {
    for normal in [false, true] {
        let built = Fixture::new("sqlxroot")
            .virtual_workspace(&["crates/*"])
            .package("crates/db", |p| {
                if normal {
                    p.lib().dep_path("sqlx", "../../stub/sqlx")
                } else {
                    p.lib().dev_dep_path("sqlx", "../../stub/sqlx")
                }
            })
            .package("crates/api", |p| p.main().dep_path("db", "../db"))
            .file(
                "stub/sqlx/Cargo.toml",
                "[package]\nname = \"sqlx\"\nversion = \"0.8.6\"\nedition = \"2021\"\n",
            )
            .file("stub/sqlx/src/lib.rs", "")
            .file(".sqlx/query-0a1b.json", "{}\n")
            .build();
        let (_, plan) = built.plan();
        if normal {
            assert_eq!(
                inferred(&plan),
                [(
                    ".sqlx",
                    "sqlx's query macros in `db` read the workspace's offline query data"
                )]
            );
            assert!(
                plan.local_dirs.contains(&".sqlx".to_string()),
                "{:?}",
                plan.local_dirs
            );
        } else {
            assert!(inferred(&plan).is_empty(), "{:?}", inferred(&plan));
        }
    }
}

/// A member whose own code calls sqlx's query macros, with no offline query data in the
/// context, is said before the build (realworld-axum-sqlx failed minutes in): not when
/// `.sqlx/` is beside it or at the root, nor when `build-args` or `build-env` gives the
/// build a database, nor for macro calls in its tests only. `build-args` comes first: a
/// URL with a password in `build-env` is written into the committed Dockerfile.
#[test]
fn sqlx_query_macros_without_offline_data_are_noted() {
    let note = |data: Option<&str>, build_env: &str, in_tests_only: bool| -> Vec<String> {
        let mut fixture = Fixture::new("sqlxnote")
            .virtual_workspace(&["crates/*"])
            .workspace_toml(build_env)
            .package("crates/db", |p| {
                let p = p.dep_path("sqlx", "../../stub/sqlx");
                let call = "pub fn one() { let _ = sqlx::query!(\"SELECT 1\"); }\n";
                if in_tests_only {
                    p.lib().source("tests/q.rs", call)
                } else {
                    p.source("src/lib.rs", call)
                }
            })
            .file(
                "stub/sqlx/Cargo.toml",
                "[package]\nname = \"sqlx\"\nversion = \"0.8.6\"\nedition = \"2021\"\n",
            )
            .package("crates/api", |p| p.main().dep_path("db", "../db"))
            .file("stub/sqlx/src/lib.rs", "");
        if let Some(dir) = data {
            fixture = fixture.file(&format!("{dir}/query-0a1b.json"), "{}\n");
        }
        let (_, plan) = fixture.build().plan();
        plan.notes
    };
    let notes = note(None, "", false);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("sqlx's query macros in `db` check each query against a database")
            && notes[0].contains("cargo sqlx prepare")
            && notes[0].contains(
                "`build-args = [\"DATABASE_URL\"]` takes its URL from the \
                                  environment of each build"
            ),
        "{notes:?}"
    );
    for (data, build_env, tests_only) in [
        (
            None,
            "[workspace.metadata.image]\nbuild-args = [\"DATABASE_URL\"]\n",
            false,
        ),
        (Some(".sqlx"), "", false),
        (Some("crates/db/.sqlx"), "", false),
        (
            None,
            "[workspace.metadata.image]\nbuild-env = { DATABASE_URL = \"postgres://db/app\" }\n",
            false,
        ),
        (None, "", true),
    ] {
        let notes = note(data, build_env, tests_only);
        assert!(
            notes.is_empty(),
            "{data:?} {build_env:?} {tests_only}: {notes:?}"
        );
    }
}

/// A `.env` naming a SQLite database in the context (rustdesk-server commits
/// `DATABASE_URL=sqlite://./db_v2.sqlite3` beside the database) gives the build that
/// database: its file is bound where the queries compile, relative to the workspace root
/// (where cargo runs rustc) and the URL is the compile steps' `DATABASE_URL`; the `.env`
/// itself stays out of the context. Not a server's URL, an absolute or in-memory path, a
/// file the context lacks, nor over the user's own `build-env`.
#[test]
fn a_dotenv_sqlite_database_is_given_to_the_query_macros() {
    let built = |env_dir: &str, url: &str, db: Option<&str>, build_env: &str| {
        let mut fixture = Fixture::new("sqlxenv")
            .virtual_workspace(&["crates/*"])
            .workspace_toml(build_env)
            .package("crates/db", |p| {
                p.dep_path("sqlx", "../../stub/sqlx").source(
                    "src/lib.rs",
                    "pub fn one() { let _ = sqlx::query!(\"SELECT 1\"); }\n",
                )
            })
            .package("crates/api", |p| p.main().dep_path("db", "../db"))
            .file(
                "stub/sqlx/Cargo.toml",
                "[package]\nname = \"sqlx\"\nversion = \"0.8.6\"\nedition = \"2021\"\n",
            )
            .file("stub/sqlx/src/lib.rs", "")
            .file(
                &format!("{env_dir}.env"),
                &format!("# local settings\nexport RUST_LOG=debug\nDATABASE_URL=\"{url}\"\n"),
            );
        if let Some(db) = db {
            fixture = fixture.file(db, "SQLite format 3\0");
        }
        fixture.build().plan().1
    };
    for env_dir in ["", "crates/db/"] {
        let plan = built(
            env_dir,
            "sqlite://./data/dev.db?mode=rwc",
            Some("data/dev.db"),
            "",
        );
        assert!(plan.notes.is_empty(), "{env_dir}: {:?}", plan.notes);
        assert_eq!(
            plan.build_env.get("DATABASE_URL").map(String::as_str),
            Some("sqlite://./data/dev.db?mode=rwc")
        );
        assert!(
            plan.inferred_build_env["DATABASE_URL"].starts_with(&format!(
                "{env_dir}.env: sqlx's query macros in `db` check their queries against \
                 `data/dev.db`"
            )),
            "{:?}",
            plan.inferred_build_env
        );
        assert!(
            plan.inferred_build_files.contains_key("data/dev.db"),
            "{plan:?}"
        );
        let dockerfile = cargo_image::render::dockerfile::render(&plan);
        assert!(
            dockerfile.contains("DATABASE_URL=\"sqlite://./data/dev.db?mode=rwc\"")
                && dockerfile.contains("source=data/dev.db,target=/app/data/dev.db"),
            "{dockerfile}"
        );
        assert!(!dockerfile.contains(".env"), "{dockerfile}");
    }
    for (url, db, build_env) in [
        ("postgres://localhost/app", None, ""),
        ("sqlite:///var/lib/app/dev.db", None, ""),
        ("sqlite::memory:", None, ""),
        ("sqlite://./data/dev.db", None, ""),
        (
            "sqlite://./data/dev.db",
            Some("data/dev.db"),
            "[workspace.metadata.image]\nbuild-env = { DATABASE_URL = \"sqlite://./other.db\" }\n",
        ),
    ] {
        let plan = built("", url, db, build_env);
        assert!(plan.inferred_build_env.is_empty(), "{url}: {plan:?}");
        assert!(
            !plan.inferred_build_files.contains_key("data/dev.db"),
            "{url}"
        );
        let noted = plan
            .notes
            .iter()
            .any(|n| n.starts_with("sqlx's query macros in `db`"));
        assert_eq!(noted, build_env.is_empty(), "{url}: {:?}", plan.notes);
    }
}

/// sqlx 0.5/0.6 read `sqlx-data.json`, and only with their `offline` feature on; 0.7+ read
/// `.sqlx/` only. Data the resolved sqlx does not read leaves the build asking a database,
/// and the note then names what is missing (realworld-axum-sqlx: 0.5, feature off).
#[test]
fn sqlx_offline_data_counts_only_where_its_version_reads_it() {
    let note = |version: &str, features: &str, data: &str| -> Vec<String> {
        Fixture::new("sqlxversions")
            .virtual_workspace(&["crates/*"])
            .package("crates/db", |p| {
                p.dep(
                    "sqlx",
                    &format!("{{ path = \"../../stub/sqlx\"{features} }}"),
                )
                .source(
                    "src/lib.rs",
                    "pub fn one() { let _ = sqlx::query!(\"SELECT 1\"); }\n",
                )
            })
            .file(
                "stub/sqlx/Cargo.toml",
                &format!(
                    "[package]\nname = \"sqlx\"\nversion = \"{version}\"\nedition = \"2021\"\n\n\
                     [features]\noffline = []\n"
                ),
            )
            .file("stub/sqlx/src/lib.rs", "")
            .file(data, "{}\n")
            .package("crates/api", |p| p.main().dep_path("db", "../db"))
            .build()
            .plan()
            .1
            .notes
    };
    let offline = ", features = [\"offline\"]";
    // Read: no note.
    for (version, features, data) in [
        ("0.6.3", offline, "sqlx-data.json"),
        ("0.8.6", "", ".sqlx/query-0a1b.json"),
    ] {
        let notes = note(version, features, data);
        assert!(notes.is_empty(), "{version} {features} {data}: {notes:?}");
    }
    // Not read: the build would fail, and the note says why.
    let notes = note("0.6.3", "", "sqlx-data.json");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("sqlx 0.6.3 reads `sqlx-data.json` only with its `offline` feature")
            && notes[0].contains("features = [\"offline\"]"),
        "{notes:?}"
    );
    for (version, features, data) in [
        ("0.8.6", "", "sqlx-data.json"),
        ("0.6.3", offline, ".sqlx/query-0a1b.json"),
    ] {
        let notes = note(version, features, data);
        assert_eq!(notes.len(), 1, "{version} {features} {data}: {notes:?}");
        assert!(
            notes[0].contains("holds no offline query data they read")
                && !notes[0].contains("only with its `offline` feature"),
            "{notes:?}"
        );
    }
}

/// A submodule that was not checked out (a clone without `--recursive`) is said by every
/// command, before a build fails on it: lemmy's build script reads one.
#[test]
fn a_submodule_not_checked_out_is_noted() {
    let built = Fixture::new("submodules")
        .virtual_workspace(&["crates/*"])
        .package("crates/email", |p| p.main())
        .file(
            ".gitmodules",
            "[submodule \"translations\"]\n\tpath = crates/email/translations\n\turl = https://example.com/t.git\n\
             [submodule \"present\"]\n\tpath = third_party/present\n\turl = https://example.com/p.git\n",
        )
        .file("third_party/present/README", "checked out\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(
        plan.notes[0].contains("`crates/email/translations` is not checked out")
            && plan.notes[0].contains("git submodule update --init"),
        "{:?}",
        plan.notes
    );
}

/// A file the code embeds from a submodule not checked out (oxigraph's yasgui bundle) names
/// the submodule to check out, not a front-end build to run.
#[test]
fn an_embedded_file_in_a_missing_submodule_names_the_submodule() {
    let built = Fixture::new("subembed")
        .virtual_workspace(&["crates/*"])
        .package("crates/web", |p| {
            p.source(
                "src/main.rs",
                "const JS: &str = include_str!(\"../ui/app.min.js\");\nfn main() { print!(\"{JS}\"); }\n",
            )
        })
        .file(
            ".gitmodules",
            "[submodule \"ui\"]\n\tpath = crates/web/ui\n\turl = https://example.com/ui.git\n",
        )
        .build();
    let (_, plan) = built.plan();
    let embed: Vec<&String> = plan
        .notes
        .iter()
        .filter(|n| n.contains("`crates/web/ui/app.min.js` is not in the build context"))
        .collect();
    assert_eq!(embed.len(), 1, "{:?}", plan.notes);
    assert!(
        embed[0].contains("git submodule update --init crates/web/ui")
            && !embed[0].contains("front-end"),
        "{}",
        embed[0]
    );
}

/// Many submodules not checked out make one note naming the first few and counting the
/// rest: bat has 93, and a note each buried everything else a command said.
#[test]
fn many_submodules_not_checked_out_make_one_note() {
    let gitmodules: String = (1..=7)
        .map(|i| format!("[submodule \"t{i}\"]\n\tpath = assets/themes/t{i}\n\turl = https://example.com/{i}.git\n"))
        .collect();
    let built = Fixture::new("manysubmodules")
        .root_package("viewer", |p| p.main())
        .file(".gitmodules", &gitmodules)
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    let note = &plan.notes[0];
    assert!(
        note.starts_with("7 git submodules are not checked out")
            && note.contains("`assets/themes/t1`, `assets/themes/t2`")
            && note.contains("`assets/themes/t5`, 2 more;")
            && !note.contains("t6")
            && note.contains("git submodule update --init"),
        "{note}"
    );
}

/// A feature turned on only for another platform is off for the images' targets, as the
/// build resolves them: `cargo metadata` unifies features across platforms, so rathole's
/// musl-only `openssl = { features = ["vendored"] }` hid the system OpenSSL its glibc
/// build needs. Here libz-sys's `static` (which compiles zlib) comes only with musl.
#[test]
fn a_feature_enabled_only_for_another_platform_does_not_count() {
    let built = Fixture::new("platformfeature")
        .root_package("svc", |p| {
            p.main().toml(
                "[dependencies]\nlibz-sys = \"1.1\"\n\n\
                 [target.'cfg(target_env = \"musl\")'.dependencies]\n\
                 libz-sys = { version = \"1.1\", features = [\"static\"] }\n",
            )
        })
        .build();
    let (_, plan) = built.load(&fixed_options()).expect("plans");
    let why = plan.build.inferred_link_packages.get("zlib1g-dev");
    assert!(
        why.is_some_and(|w| w.starts_with("libz-sys ") && w.ends_with("(feature static off)")),
        "{:?}",
        plan.build
    );
}

/// A binary whose required features enable a Windows-only crate (shadowsocks-rust's
/// `sswinservice`: `winservice` enables windows-service) gets no image, said in a note;
/// the feature is not enabled for the others; `skip = false` builds it anyway. Through
/// another feature, too; a weak one (`winapi?/std`) enables nothing.
#[test]
fn a_windows_program_gets_no_image_unless_asked() {
    let fixture = |skip: &str| {
        Fixture::new("winbin")
            .root_package("svc", |p| {
                p.main()
                    .source("src/bin/winservice.rs", "fn main() {}\n")
                    .source("src/bin/tool.rs", "fn main() {}\n")
                    .dep("winapi", "{ path = \"shims/winapi\", optional = true }")
                    .toml(&format!(
                        "[[bin]]\nname = \"svc-winservice\"\npath = \"src/bin/winservice.rs\"\n\
                         required-features = [\"winservice\"]\n\n\
                         [[bin]]\nname = \"svc-tool\"\npath = \"src/bin/tool.rs\"\n\
                         required-features = [\"tool\"]\n\n\
                         [features]\nwinservice = [\"service\"]\nservice = [\"dep:winapi\"]\n\
                         tool = [\"winapi?/std\"]\n\n{skip}"
                    ))
            })
            .package("shims/winapi", |p| {
                p.name("winapi")
                    .version("0.3.9")
                    .lib()
                    .toml("[features]\nstd = []\n")
            })
            .build()
    };
    let built = fixture("");
    let (_, plan) = built.plan();
    let stages: Vec<&str> = plan.images.iter().map(|i| i.stage.as_str()).collect();
    assert_eq!(stages, ["svc", "svc-tool"]);
    assert_eq!(plan.build.features, ["tool"]);
    // Two notes: this one, and that `svc-tool`'s feature `tool` is off by default.
    assert_eq!(plan.notes.len(), 2, "{:?}", plan.notes);
    let windows: Vec<&String> = plan
        .notes
        .iter()
        .filter(|n| n.contains("`svc-winservice`"))
        .collect();
    assert!(
        windows.len() == 1
            && windows[0].contains("`winservice`")
            && windows[0].contains("`winapi`")
            && windows[0].contains("skip = false"),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("binary `svc-tool` requires feature `tool`")),
        "{:?}",
        plan.notes
    );

    let built = fixture("[package.metadata.image.bin.svc-winservice]\nskip = false\n");
    let (_, plan) = built.plan();
    let stages: Vec<&str> = plan.images.iter().map(|i| i.stage.as_str()).collect();
    assert_eq!(stages, ["svc", "svc-tool", "svc-winservice"]);
    // Asked for by `skip = false`: not said again; `svc-tool` still is.
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(plan.notes[0].contains("`svc-tool`"), "{:?}", plan.notes);
}

/// Rustflags asking for the building machine's CPU (`target-cpu=native`) make images that
/// stop with SIGILL on an older one: said in a note, for the triples they apply to.
#[test]
fn native_cpu_rustflags_are_noted() {
    for (file, config, triples) in [
        (
            ".cargo/config.toml",
            "[build]\nrustflags = [\"-C\", \"target-cpu=native\"]\n",
            "for aarch64-unknown-linux-gnu and x86_64-unknown-linux-gnu:",
        ),
        // The legacy name, which cargo still reads: the note names it.
        (
            ".cargo/config",
            "[target.x86_64-unknown-linux-gnu]\nrustflags = \"-Ctarget-cpu=native\"\n",
            "for x86_64-unknown-linux-gnu:",
        ),
    ] {
        let built = Fixture::new("nativecpu")
            .root_package("svc", |p| p.main())
            .file(file, config)
            .build();
        let (_, plan) = built.plan();
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(
            plan.notes[0].starts_with(&format!("{file} rustflags"))
                && plan.notes[0].contains(triples)
                && plan.notes[0].contains("SIGILL"),
            "{}",
            plan.notes[0]
        );
    }
    let built = Fixture::new("nativecpu")
        .root_package("svc", |p| p.main())
        .file(
            ".cargo/config.toml",
            "[build]\nrustflags = [\"-C\", \"target-cpu=x86-64-v2\"]\n",
        )
        .build();
    assert!(built.plan().1.notes.is_empty());
}

/// The inferred build files of `plan`, each with the line that asked.
fn inferred(plan: &cargo_image::plan::Plan) -> Vec<(&str, &str)> {
    plan.inferred_build_files
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// A file the program opens at run time by a path relative to where it starts (zero2prod's
/// `base.join("configuration")`, pgcat's `"pgcat.toml"`) works from the workspace root and
/// fails in an image that lacks it: each image whose code names one gets a note with the
/// `files` entry that carries it. Not noted: an image that carries it, code that does not
/// reach the naming crate, a test module's fixture, a bare word that is not a path call's
/// argument (a subcommand sharing a directory's name), the workspace's documents, and a
/// directory the code reads at compile time (lemmy names its `include_str!`s' directory in
/// an error message).
#[test]
fn files_a_program_opens_at_run_time_and_its_image_lacks_are_noted() {
    let built = Fixture::new("runtimefiles")
        .virtual_workspace(&["crates/*"])
        .package("crates/settings", |p| {
            p.source(
                "src/lib.rs",
                "use std::path::{Path, PathBuf};\n\
                 pub fn dir(base: &Path) -> PathBuf {\n    base.join(\"configuration\")\n}\n\
                 pub const SETUP: &str = include_str!(\"../sql/setup.sql\");\n\
                 pub const SETUP_DIR: &str = \"crates/settings/sql\";\n\
                 #[cfg(test)]\nmod tests {\n    #[test]\n    fn reads() {\n        \
                 let _ = std::path::Path::new(\"fixtures/a.txt\");\n    }\n}\n",
            )
        })
        .file("crates/settings/sql/setup.sql", "CREATE SCHEMA r;\n")
        .package("crates/api", |p| p.main().dep_path("settings", "../settings"))
        .package("crates/worker", |p| {
            p.main().dep_path("settings", "../settings").toml(
                "[package.metadata.image]\nfiles = { \"configuration\" = \"/etc/app/configuration\" }\n",
            )
        })
        .package("crates/cli", |p| {
            p.source(
                "src/main.rs",
                "fn main() {\n    let cmd = [\"scripts\", \"docs/guide.md\"];\n    \
                 println!(\"{cmd:?}\");\n}\n",
            )
        })
        .file("configuration/base.yaml", "port: 8000\n")
        .file("fixtures/a.txt", "fixture\n")
        .file("docs/guide.md", "# Guide\n")
        .file("scripts/run.sh", "#!/bin/sh\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    let note = &plan.notes[0];
    assert!(
        note.starts_with(
            "`api` may open `configuration` at run time (crates/settings/src/lib.rs names \
             \"configuration\"), which is in the workspace but not in its image"
        ) && note.contains(
            "add `files = { \"configuration\" = \"/app/configuration\" }` and `workdir = \
             \"/app\"` under [package.metadata.image] in crates/api/Cargo.toml"
        ),
        "{note}"
    );
    // The project's own Dockerfile runs `api` in /srv/api (pgcat's /etc/pgcat): the file
    // goes there, as the note on that Dockerfile says to set `workdir`.
    std::fs::write(
        built.root.join("Dockerfile"),
        "FROM scratch\nWORKDIR /srv/api\nCMD [\"/api\"]\n",
    )
    .unwrap();
    let (_, plan) = built.plan();
    assert_eq!(plan.notes.len(), 2, "{:?}", plan.notes);
    assert!(
        plan.notes[0].contains(
            "add `files = { \"configuration\" = \"/srv/api/configuration\" }` and `workdir = \
             \"/srv/api\"`"
        ) && plan.notes[1].contains("`workdir = \"/srv/api\"`"),
        "{:?}",
        plan.notes
    );
}

/// A program started from its own package's directory (actix's examples: `cd
/// basics/static-files && cargo run`) opens `"./static/root/"` there, not at the workspace
/// root: found only there, the note carries it to that path under the working directory
/// (`/app/static/root`, not `/app/basics/...`). A literal the root has is read from the
/// root, as before; one neither has says nothing. A path through
/// `env!("CARGO_MANIFEST_DIR")` (actix's tera example) is the build stage's directory,
/// fixed in the binary: carried to that very path. A package's several files make one
/// note (actix's TLS examples' `cert.pem` and `key.pem`).
#[test]
fn a_run_time_path_found_from_the_package_directory_goes_where_the_program_looks() {
    let built = Fixture::new("pkgrelative")
        .virtual_workspace(&["basics/*"])
        .package("basics/static-files", |p| {
            p.source(
                "src/main.rs",
                "fn main() {\n    let files = Files::new(\"/\", \"./static/root/\");\n    \
                 let conf = std::fs::read_to_string(\"app.toml\");\n    \
                 let gone = std::path::Path::new(\"./missing/dir\");\n}\n",
            )
        })
        .file(
            "basics/static-files/static/root/index.html",
            "<html></html>\n",
        )
        .file("basics/static-files/app.toml", "name = \"pkg\"\n")
        .file("app.toml", "name = \"root\"\n")
        .package("basics/tera", |p| {
            p.source(
                "src/main.rs",
                "fn main() {\n    let t = Tera::new(concat!(env!(\"CARGO_MANIFEST_DIR\"), \
                 \"/templates/**/*\"));\n}\n",
            )
        })
        .file("basics/tera/templates/index.html", "{{ name }}\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.notes.len(), 2, "{:?}", plan.notes);
    // One package's two files: one note, one `files` table.
    assert_eq!(
        plan.notes[0],
        "`static-files` may open these at run time, which are in the workspace but not in \
         its image: `app.toml` (basics/static-files/src/main.rs names \"app.toml\"), \
         `basics/static-files/static/root` (basics/static-files/src/main.rs names \
         \"static/root\", found from its package's directory); if it does, add `files = { \
         \"app.toml\" = \"/app/app.toml\", \"basics/static-files/static/root\" = \
         \"/app/static/root\" }` and `workdir = \"/app\"` under [package.metadata.image] in \
         basics/static-files/Cargo.toml"
    );
    // The path the binary holds is the build stage's: it goes there, whatever the
    // working directory.
    assert_eq!(
        plan.notes[1],
        "`tera` may open `basics/tera/templates` at run time (basics/tera/src/main.rs names it \
         as concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/templates/**/*\"), the build stage's \
         directory fixed as it compiled), which is in the workspace but not in its image: if \
         it does, add `files = { \"basics/tera/templates\" = \"/app/basics/tera/templates\" }` \
         under [package.metadata.image] in basics/tera/Cargo.toml"
    );
}

/// `.cargo/config.toml`'s `[env]` gives `cargo run` the variables a service reads when it
/// starts (rust-web-app's `SERVICE_DB_URL` through its own `get_env`); its image has none
/// of them, and it stops with `MissingEnv`. Each image whose code reads some gets one note
/// naming them. Not named: a variable the image's `env` sets, one `[env]` does not give, one
/// only a compile reads (`env!`), and code the image does not reach.
#[test]
fn run_time_variables_only_cargo_config_env_gives_are_noted() {
    let built = Fixture::new("cargoenv")
        .virtual_workspace(&["crates/*"])
        .package("crates/lib-core", |p| {
            p.source(
                "src/lib.rs",
                "pub fn get_env(name: &'static str) -> Result<String, String> {\n    \
                 std::env::var(name).map_err(|_| name.to_string())\n}\n\
                 pub fn db() -> String { get_env(\"SERVICE_DB_URL\").unwrap() }\n\
                 pub const BUILT: &str = env!(\"SERVICE_BUILD\");\n",
            )
        })
        .package("crates/web-server", |p| {
            p.source(
                "src/main.rs",
                "fn main() {\n    let _ = lib_core::db();\n    \
                 let key = std::env::var(\"SERVICE_TOKEN_KEY\");\n    \
                 let port = std::env::var_os(\"PORT\");\n    \
                 let folder = std::env::var(\"SERVICE_WEB_FOLDER\");\n    \
                 let listener = std::net::TcpListener::bind(\"0.0.0.0:8080\");\n}\n",
            )
            .dep_path("lib-core", "../lib-core")
            .toml("[package.metadata.image]\nenv = { SERVICE_WEB_FOLDER = \"/app/web\" }\n")
        })
        .package("crates/tool", |p| p.main())
        .file(
            ".cargo/config.toml",
            "[env]\nSERVICE_DB_URL = \"postgres://localhost/app\"\nSERVICE_TOKEN_KEY = \"dev\"\n\
             SERVICE_WEB_FOLDER = \"web/\"\nSERVICE_BUILD = \"dev\"\nRUST_LOG = \"debug\"\n",
        )
        .build();
    let (loaded, plan) = built.plan();
    let said: Vec<&String> = plan.notes.iter().filter(|n| n.contains("[env]")).collect();
    assert_eq!(
        said,
        [
            "`web-server` reads `SERVICE_DB_URL`, `SERVICE_TOKEN_KEY` from its environment when \
             it runs (crates/lib-core/src/lib.rs names `SERVICE_DB_URL`), which \
             .cargo/config.toml's [env] gives `cargo run` but not its image: set those that \
             are not secrets in `env` under [package.metadata.image] in \
             crates/web-server/Cargo.toml, and name the others in `run-env` there: the \
             container gets them when it runs (`docker run -e NAME`; compose.yaml requires \
             them)"
        ],
        "{:?}",
        plan.notes
    );
    // Built on a logger that reads RUST_LOG by itself (tracing-subscriber's `env-filter`):
    // named too, the code's own read still shown.
    let mut ws = loaded.workspace.clone();
    let server = ws
        .resolved
        .iter()
        .position(|r| r.name == "web-server")
        .unwrap();
    ws.resolved.push(cargo_image::model::Resolved {
        name: "tracing-subscriber".into(),
        version: "0.3.19".into(),
        features: vec!["env-filter".into()],
        deps: Vec::new(),
        rust_version: None,
    });
    let logger = ws.resolved.len() - 1;
    ws.resolved[server].deps.push(logger);
    let plan = cargo_image::plan::plan(&ws, &support::fixed_options()).unwrap();
    let said: Vec<&String> = plan.notes.iter().filter(|n| n.contains("[env]")).collect();
    assert!(
        said.len() == 1
            && said[0].starts_with(
                "`web-server` reads `RUST_LOG`, `SERVICE_DB_URL`, `SERVICE_TOKEN_KEY` from its \
                 environment when it runs (crates/lib-core/src/lib.rs names `SERVICE_DB_URL`)"
            ),
        "{said:?}"
    );
    // The advice taken: the secrets in `run-env`, which compose.yaml requires from the
    // environment of `docker compose up` and the image never holds.
    built.write(
        "crates/web-server/Cargo.toml",
        &std::fs::read_to_string(built.root.join("crates/web-server/Cargo.toml"))
            .unwrap()
            .replace(
                "env = {",
                "run-env = [\"SERVICE_TOKEN_KEY\", \"SERVICE_DB_URL\"]\nenv = {",
            ),
    );
    let (_, plan) = built.plan();
    assert!(
        !plan.notes.iter().any(|n| n.contains("[env]")),
        "{:?}",
        plan.notes
    );
    let image = plan.images.iter().find(|i| i.bin == "web-server").unwrap();
    assert_eq!(image.run_env, ["SERVICE_DB_URL", "SERVICE_TOKEN_KEY"]);
    let compose = cargo_image::render::compose::render(&plan, ".", "Dockerfile");
    assert!(
        compose.contains(
            "    environment:\n      \"SERVICE_WEB_FOLDER\": \"/app/web\"\n      \
             \"SERVICE_DB_URL\": \"${SERVICE_DB_URL:?set SERVICE_DB_URL for web-server}\"\n      \
             \"SERVICE_TOKEN_KEY\": \"${SERVICE_TOKEN_KEY:?set SERVICE_TOKEN_KEY for web-server}\"\n"
        ),
        "{compose}"
    );
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(!dockerfile.contains("SERVICE_DB_URL"), "{dockerfile}");
}

/// A variable `.cargo/config.toml`'s `[env]` sets to a directory of the workspace names
/// files the program opens when it runs (rust-web-app's `SERVICE_WEB_FOLDER =
/// "web-folder/"`): once its image has the variable it still lacks the files, so the
/// run-time files note names them. Not for a value that names nothing in the workspace
/// (`RUST_LOG = "info"`), nor for a variable the code does not read.
#[test]
fn a_cargo_config_env_value_naming_a_workspace_directory_is_a_run_time_read() {
    let built = Fixture::new("envfolder")
        .root_package("envfolder", |p| {
            p.source(
                "src/main.rs",
                "fn main() {\n    let web = std::env::var(\"SERVICE_WEB_FOLDER\").unwrap();\n    \
                 let log = std::env::var(\"RUST_LOG\");\n    \
                 let _ = std::fs::read_dir(web);\n}\n",
            )
        })
        .file("web-folder/index.html", "<h1>hi</h1>\n")
        .file("assets/logo.svg", "<svg/>\n")
        .file(
            ".cargo/config.toml",
            "[env]\nSERVICE_WEB_FOLDER = \"web-folder/\"\nRUST_LOG = \"info\"\n\
             UNREAD = { value = \"assets\", relative = true }\n",
        )
        .build();
    let (_, plan) = built.plan();
    let said: Vec<&String> = plan
        .notes
        .iter()
        .filter(|n| n.contains("at run time"))
        .collect();
    assert_eq!(
        said,
        [
            "`envfolder` may open `web-folder` at run time (src/main.rs reads \
             `SERVICE_WEB_FOLDER`, which .cargo/config.toml's [env] sets to \"web-folder/\"), \
             which is in the workspace but not in its image: if it does, add `files = { \
             \"web-folder\" = \"/app/web-folder\" }` and `workdir = \"/app\"` under \
             [package.metadata.image] in Cargo.toml"
        ],
        "{:?}",
        plan.notes
    );
}

/// A daemon's own configuration under `/etc` and state directory under `/var/run` (ntpd-rs:
/// without `/etc/ntpd-rs/ntp.toml` it ran doing nothing, and its observation socket failed
/// with no directory, then with one its user could not write): one note each for the
/// package's images, naming the workspace's file of that name; none once `files` and
/// `volumes` hold them, and none for the system's paths (the Docker socket, CA
/// certificates).
#[test]
fn a_daemon_s_own_etc_configuration_and_run_directory_are_noted() {
    let built = |config: &str| {
        Fixture::new("sysdaemon")
            .root_package("sysdaemon", |p| {
                p.source(
                    "src/lib.rs",
                    "pub const CONFIG: &str = \"/etc/sysdaemon/daemon.toml\";\n\
                     pub fn socket() -> std::path::PathBuf { \"/var/run/sysdaemon/ctl.sock\".into() }\n\
                     pub const DOCKER: &str = \"/var/run/docker.sock\";\n\
                     pub const CA: &str = \"/etc/ssl/certs/ca-certificates.crt\";\n",
                )
                .bin("sysdaemon")
                .bin("sysctl-cli")
                .toml(config)
            })
            .file("daemon.toml", "listen = \"0.0.0.0:123\"\n")
            .build()
    };
    let (_, plan) = built("").plan();
    let said: Vec<&String> = plan
        .notes
        .iter()
        .filter(|n| n.contains("/etc/") || n.contains("/var/"))
        .collect();
    assert_eq!(
        said,
        [
            "`sysctl-cli`, `sysdaemon` may read their configuration from \
             `/etc/sysdaemon/daemon.toml` (src/lib.rs names it), which their images lack: \
             ship the workspace's with `files = { \"daemon.toml\" = \
             \"/etc/sysdaemon/daemon.toml\" }` under [package.metadata.image] in Cargo.toml, \
             or mount one when it runs (`-v ./daemon.toml:/etc/sysdaemon/daemon.toml:ro`)",
            "`sysctl-cli`, `sysdaemon` may keep files in `/var/run/sysdaemon` (src/lib.rs names \
             `/var/run/sysdaemon/ctl.sock`), which their images lack and the user 65532:65532 \
             could not create: set `volumes = [\"/var/run/sysdaemon\"]` under \
             [package.metadata.image] in Cargo.toml (created writable by that user; other \
             containers can mount the same volume)"
        ],
        "{:?}",
        plan.notes
    );
    let (_, plan) = built(
        "[package.metadata.image]\nfiles = { \"daemon.toml\" = \"/etc/sysdaemon/daemon.toml\" }\n\
         volumes = [\"/var/run/sysdaemon\"]\n",
    )
    .plan();
    assert!(
        !plan
            .notes
            .iter()
            .any(|n| n.contains("/etc/sysdaemon") || n.contains("/var/run")),
        "{:?}",
        plan.notes
    );
}

/// The ports a configuration file the image ships sets (pgcat's `[general] port = 6432`
/// beside its host, its exporter's `prometheus_exporter_port`; zero2prod's `application:`
/// section): the image's, over the code's defaults, when neither `args` nor a literal
/// address in code give one; not from a file the image does not ship, nor a database's.
#[test]
fn ports_a_shipped_configuration_sets_are_the_image_s() {
    let built = |config: &str| {
        Fixture::new("confports")
            .root_package("pooler", |p| {
                p.toml(config).source(
                    "src/main.rs",
                    "#[derive(clap::Parser)]\nstruct Args {\n    #[arg(long, default_value_t = 8080)]\n    \
                     port: u16,\n}\nfn main() { let l = std::net::TcpListener::bind(addr()); }\n",
                )
            })
            .file(
                "pooler.toml",
                "[general]\nhost = \"0.0.0.0\"\nport = 6432\nprometheus_exporter_port = 9930\n\
                 [database]\nhost = \"db\"\nport = 5432\n",
            )
            .build()
    };
    let ports = |config: &str| -> (Vec<u16>, Vec<String>) {
        let (_, plan) = built(config).plan();
        let img = &plan.images[0];
        (img.ports.clone(), img.ports_inferred_from.clone())
    };
    let shipped =
        "[package.metadata.image]\nfiles = { \"pooler.toml\" = \"/etc/pooler/pooler.toml\" }\n";
    assert_eq!(
        ports(shipped),
        (
            vec![6432, 9930],
            vec![
                "pooler.toml:3: `port = 6432`".to_string(),
                "pooler.toml:4: `prometheus_exporter_port = 9930`".to_string()
            ]
        )
    );
    // Not shipped: the code's default.
    assert_eq!(ports("").0, [8080]);
}

/// A SQLite database the program opens at run time, with a copy in the workspace (the one
/// sqlx checked queries against while compiling: rustdesk-server's `db_v2.sqlite3`): the
/// note keeps it in a volume where the program creates it, rather than shipping the
/// copy, read-only to the image's user; none once a volume holds it.
#[test]
fn a_sqlite_database_read_at_run_time_goes_in_a_volume() {
    let notes = |config: &str| -> Vec<String> {
        Fixture::new("rundb")
            .root_package("relay", |p| {
                p.toml(config).source(
                    "src/main.rs",
                    "fn main() {\n    let db = Database::new(\"db_v2.sqlite3\").unwrap();\n}\n",
                )
            })
            .file("db_v2.sqlite3", "SQLite format 3\0")
            .build()
            .plan()
            .1
            .notes
            .into_iter()
            .filter(|n| n.contains("db_v2"))
            .collect()
    };
    assert_eq!(
        notes(""),
        [
            "`relay` may open `db_v2.sqlite3` at run time (src/main.rs names \"db_v2.sqlite3\"), \
             a SQLite database, which it would write: keep it in a volume, not in the image (a \
             shipped copy is read-only to the image's user and goes with the container): set \
             `volumes = [\"/data\"]` and `workdir = \"/data\"` under [package.metadata.image] in \
             Cargo.toml, where it creates it"
        ]
    );
    let kept = notes("[package.metadata.image]\nworkdir = \"/data\"\nvolumes = [\"/data\"]\n");
    assert!(kept.is_empty(), "{kept:?}");
}

/// A package that depends on a desktop GUI toolkit (rqbit's Tauri app) is a desktop
/// application: its binary gets no image, said in a note; `skip = false` builds it, and a
/// workspace of nothing else is refused naming why.
#[test]
fn a_desktop_application_s_binary_is_skipped() {
    let built = |app_config: &str| {
        Fixture::new("desktop")
            .virtual_workspace(&["crates/*"])
            .package("crates/server", |p| p.main())
            .package("crates/app", |p| p.main().toml(app_config))
            .build()
    };
    let plan_with = |app_config: &str, toolkit: &str| {
        let (loaded, _) = built(app_config).plan();
        let mut ws = loaded.workspace;
        ws.resolved = vec![
            node("app", "0.1.0", &[], &[2]),
            node("server", "0.1.0", &[], &[]),
            node(toolkit, "2.1.0", &[], &[]),
        ];
        cargo_image::plan::plan(&ws, &fixed_options())
    };
    let plan = plan_with("", "tauri").unwrap();
    let bins: Vec<&str> = plan.images.iter().map(|i| i.bin.as_str()).collect();
    assert_eq!(bins, ["server"]);
    let skipped = |plan: &cargo_image::plan::Plan| -> Vec<String> {
        (plan.notes.iter())
            .filter(|n| n.starts_with("binary `app` is not built"))
            .cloned()
            .collect()
    };
    assert_eq!(
        skipped(&plan),
        [
            "binary `app` is not built: it is a desktop application (its package depends on \
          `tauri`, a desktop GUI toolkit, and no container has a display); `skip = false` \
          under [package.metadata.image.bin.app] in crates/app/Cargo.toml builds it"
        ]
    );
    // Nor do the dev and test targets compile it: their `--workspace` commands leave it
    // out (a Tauri app needs GTK and WebKit), said in a note.
    assert_eq!(plan.dev.exclude, ["app"]);
    let script = cargo_image::render::scripts::cargo_image_script(&plan);
    assert!(
        script.contains("cargo_ws test --frozen --workspace --exclude app\n"),
        "{script}"
    );
    assert!(
        (plan.notes.iter()).any(|n| n
            .starts_with("the `dev` and `test` targets leave out `app` (`--workspace --exclude`)")),
        "{:?}",
        plan.notes
    );
    // iggy's Yew dashboard: WebAssembly for a browser.
    let plan = plan_with("", "yew").unwrap();
    assert_eq!(plan.images.len(), 1);
    assert!(
        skipped(&plan)[0].contains("it is a browser application (its package depends on `yew`"),
        "{:?}",
        plan.notes
    );
    let plan = plan_with("[package.metadata.image]\nskip = false\n", "tauri").unwrap();
    assert_eq!(plan.images.len(), 2);
    assert!(plan.dev.exclude.is_empty());
    let only = Fixture::new("desktoponly")
        .root_package("app", |p| p.main())
        .build();
    let (loaded, _) = only.plan();
    let mut ws = loaded.workspace;
    ws.resolved = vec![
        node("app", "0.1.0", &[], &[1]),
        node("tauri", "2.1.0", &[], &[]),
    ];
    let err = cargo_image::plan::plan(&ws, &fixed_options()).unwrap_err();
    assert!(
        err.to_string().contains("`app`: a desktop application"),
        "{err}"
    );
}

/// A service that routes a health path and has a port but no healthcheck (zero2prod's
/// `/health_check` on 8000): the note names the key that probes it; not once
/// `healthcheck` is set (`"none"` too), nor for a program without a port.
#[test]
fn a_health_route_without_a_healthcheck_is_noted() {
    let notes = |config: &str| -> Vec<String> {
        Fixture::new("healthroute")
            .root_package("newsletter", |p| {
                p.toml(config).source(
                    "src/main.rs",
                    "fn main() {\n    let app = App::new()\n        .route(\"/health_check\", web::get().to(ok));\n    \
                     HttpServer::new(app).bind((\"0.0.0.0\", 8000)).run();\n}\n",
                )
            })
            .build()
            .plan()
            .1
            .notes
            .into_iter()
            .filter(|n| n.contains("healthcheck"))
            .collect()
    };
    assert_eq!(
        notes(""),
        [
            "`newsletter` answers `/health_check` (src/main.rs), and its image has no \
             healthcheck: `healthcheck = \"/health_check\"` under [package.metadata.image] in \
             Cargo.toml has Docker probe it on port 8000 (a static probe, no curl needed), so \
             `docker ps` shows when it stops answering"
        ]
    );
    for set in ["healthcheck = \"/health_check\"", "healthcheck = \"none\""] {
        let said = notes(&format!("[package.metadata.image]\n{set}\n"));
        assert!(said.is_empty(), "{said:?}");
    }
    assert!(notes("[package.metadata.image]\nports = []\n").is_empty());
}

/// Ports read from library code every binary of a package links (ntpd-rs: statime's PTP
/// ports went to `ntp-daemon`, the metrics exporter and `ntp-ctl`, a command-line tool):
/// one note names them all, until a binary's own `ports` says which listens. A port in a
/// binary's own file is that binary's, and not said.
#[test]
fn ports_every_binary_of_a_package_links_are_noted_until_each_says_its_own() {
    let built = |lib: &str, config: &str| {
        Fixture::new("sharedports")
            .root_package("sharedports", |p| {
                p.source("src/lib.rs", lib)
                    .bin("portd")
                    .bin("portctl")
                    .toml(config)
            })
            .build()
    };
    let serve = "pub fn serve() { let s = std::net::TcpListener::bind(\"0.0.0.0:7000\"); }\n";
    let shared = |plan: &cargo_image::plan::Plan| -> Vec<String> {
        (plan.notes.iter())
            .filter(|n| n.contains("all expose"))
            .cloned()
            .collect()
    };
    let (_, plan) = built(serve, "").plan();
    assert_eq!(
        shared(&plan),
        [
            "`portctl`, `portd` all expose `7000`, which code each of them links names \
             (src/lib.rs: \"0.0.0.0:7000\"): the code does not tell which of them listens \
             there, and one that does not still gets `EXPOSE` and an init; give each its own \
             `ports` (`ports = []` for one that does not listen) under \
             [package.metadata.image.bin.NAME] in Cargo.toml"
        ],
        "{:?}",
        plan.notes
    );
    let (_, plan) = built(serve, "[package.metadata.image.bin.portctl]\nports = []\n").plan();
    assert!(shared(&plan).is_empty(), "{:?}", plan.notes);
    // Only the daemon's own file binds: its port is its own.
    let (_, plan) = Fixture::new("ownport")
        .root_package("ownport", |p| {
            p.source("src/lib.rs", "pub fn version() {}\n")
                .source(
                    "src/bin/portd.rs",
                    "fn main() { let s = std::net::TcpListener::bind(\"0.0.0.0:7000\"); }\n",
                )
                .bin("portctl")
        })
        .build()
        .plan();
    assert!(shared(&plan).is_empty(), "{:?}", plan.notes);
    let ports: Vec<(&str, &Vec<u16>)> = (plan.images.iter())
        .map(|i| (i.bin.as_str(), &i.ports))
        .collect();
    assert_eq!(ports, [("portctl", &vec![]), ("portd", &vec![7000])]);
}

/// What a service writes below its working directory (microbin's `data_dir` default
/// `"microbin_data"`, a `create_dir_all("uploads")`) lands in the container's writable
/// layer and goes with it: each image gets a note with the volume that keeps it, through
/// the option's variable when it has one. Not noted once a volume holds it, or once `env`
/// moves it into one; nor scratch space (`./tmp`), nor a bare word a field that does not
/// say path takes (rustus's `storage` default "file-storage"). Several the code lets
/// variables move go to one volume (rustus's data and info directories).
#[test]
fn data_a_service_writes_below_its_working_directory_is_noted_until_a_volume_keeps_it() {
    let fixture = |config: &str, uploads_config: &str| {
        Fixture::new("written")
            .virtual_workspace(&["crates/*"])
            .package("crates/paste", |p| {
                p.source(
                    "src/main.rs",
                    "#[derive(Parser)]\nstruct Args {\n    \
                     #[clap(long, env = \"PASTE_DATA_DIR\", default_value = \"paste_data\")]\n    \
                     data_dir: String,\n    \
                     #[clap(long, env = \"PASTE_INDEX_DIR\", default_value = \"./paste_data\")]\n    \
                     index_dir: String,\n    \
                     #[clap(long, env = \"PASTE_STORAGE\", default_value = \"file-storage\")]\n    \
                     storage: String,\n}\nfn main() {}\n",
                )
                .toml(config)
            })
            .package("crates/uploads", |p| {
                p.source(
                    "src/main.rs",
                    "fn main() {\n    std::fs::create_dir_all(\"./uploads\").unwrap();\n    \
                     std::fs::create_dir_all(\"./tmp\").unwrap();\n}\n",
                )
                .toml(uploads_config)
            })
            .build()
    };
    let (_, plan) = fixture("", "").plan();
    let said: Vec<&String> = plan
        .notes
        .iter()
        .filter(|n| n.contains(" writes "))
        .collect();
    assert_eq!(
        said,
        [
            "`paste` writes `paste_data` (crates/paste/src/main.rs: `data_dir`'s default \
             \"paste_data\"), `paste_data` (crates/paste/src/main.rs: `index_dir`'s default \
             \"./paste_data\") relative to its working directory when it runs: in a container \
             that is its writable layer, gone when the container is removed; keep it in a \
             volume: set `env = { PASTE_DATA_DIR = \"/data\", PASTE_INDEX_DIR = \"/data\" }` and \
             `volumes = [\"/data\"]` under [package.metadata.image] in crates/paste/Cargo.toml \
             (a directory mounted there must be writable by 65532:65532)",
            "`uploads` writes `uploads` (crates/uploads/src/main.rs: \
             fs::create_dir_all(\"./uploads\")) relative to its working directory when it runs: \
             in a container that is its writable layer, gone when the container is removed; \
             keep it in a volume: set `workdir = \"/app\"` and `volumes = [\"/app/uploads\"]` \
             under [package.metadata.image] in crates/uploads/Cargo.toml (a directory mounted \
             there must be writable by 65532:65532)",
        ],
        "{:?}",
        plan.notes
    );
    // The advice taken: nothing left to say.
    let (_, plan) = fixture(
        "[package.metadata.image]\nenv = { PASTE_DATA_DIR = \"/data\", PASTE_INDEX_DIR = \
         \"/data/index\" }\nvolumes = [\"/data\"]\n",
        "[package.metadata.image]\nworkdir = \"/app\"\nvolumes = [\"/app/uploads\"]\n",
    )
    .plan();
    assert!(
        !plan.notes.iter().any(|n| n.contains(" writes ")),
        "{:?}",
        plan.notes
    );
}

/// A file server that serves its working directory by default and creates files where a
/// request says (dufs: `default_serve_path()` returns `"."`, its uploads go through
/// `File::create(path)` in another file) writes into the container's layer: noted with a
/// working directory in a volume, and not once one keeps it. A server that only reads what
/// it serves (static-web-server's `root` default `"."`) is not noted.
#[test]
fn a_server_that_writes_into_its_working_directory_is_noted_until_a_volume_keeps_it() {
    let fixture = |config: &str| {
        Fixture::new("servedir")
            .virtual_workspace(&["crates/*"])
            .package("crates/files", |p| {
                p.source(
                    "src/main.rs",
                    "mod args;
mod server;
fn main() {}
",
                )
                .source(
                    "src/args.rs",
                    "pub struct Args {\n    #[serde(default = \"default_serve_path\")]\n    \
                     pub serve_path: PathBuf,\n}\n\
                     fn default_serve_path() -> PathBuf {\n    PathBuf::from(\".\")\n}\n",
                )
                .source(
                    "src/server.rs",
                    "async fn upload(path: &Path) {\n    \
                     let file = fs::File::create(path).await?;\n}\n",
                )
                .toml(config)
            })
            .package("crates/static", |p| {
                p.source(
                    "src/main.rs",
                    "struct General {\n    \
                     #[arg(long, short = 'd', default_value = \".\", env = \"SERVER_ROOT\")]\n    \
                     pub root: PathBuf,\n}\nfn main() {}\n",
                )
            })
            .build()
    };
    let (_, plan) = fixture("").plan();
    let said: Vec<&String> = (plan.notes.iter())
        .filter(|n| n.contains(" writes "))
        .collect();
    assert_eq!(
        said,
        [
            "`files` writes files in its working directory (crates/files/src/args.rs: \
             `default_serve_path()` returns \".\", and crates/files/src/server.rs creates files \
             where it is told: `File::create(path)`) when it runs: in a container that is its \
             writable layer, gone when the container is removed; keep it in a volume: set \
             `workdir = \"/data\"` and `volumes = [\"/data\"]` under [package.metadata.image] in \
             crates/files/Cargo.toml (a directory mounted there must be writable by \
             65532:65532)"
        ],
        "{:?}",
        plan.notes
    );
    let (_, plan) =
        fixture("[package.metadata.image]\nworkdir = \"/data\"\nvolumes = [\"/data\"]\n").plan();
    assert!(
        !plan.notes.iter().any(|n| n.contains(" writes ")),
        "{:?}",
        plan.notes
    );
}

/// A path program code embeds at compile time that the build context lacks fails the
/// compile minutes into a build: kellnr's `include_dir!("$CARGO_MANIFEST_DIR/static")`,
/// which its npm build fills. Said first, for the images that compile it: missing, or left
/// out by the user's `.dockerignore` (with the rule); a present file, or a crate no image
/// compiles, says nothing.
#[test]
fn embedded_paths_the_build_context_lacks_are_noted() {
    let built = Fixture::new("embedmissing")
        .virtual_workspace(&["crates/*"])
        .package("crates/web", |p| {
            p.source(
                "src/lib.rs",
                "static STATIC: Dir = include_dir!(\"$CARGO_MANIFEST_DIR/static\");\n\
                 #[derive(RustEmbed)]\n#[folder = \"dist/\"]\nstruct Dist;\n\
                 pub const LOGO: &[u8] = include_bytes!(\"../assets/logo.svg\");\n",
            )
        })
        .file("crates/web/assets/logo.svg", "<svg/>\n")
        .file("crates/web/dist/index.html", "<html></html>\n")
        .package("crates/api", |p| p.main().dep_path("web", "../web"))
        .package("crates/unused", |p| {
            p.source(
                "src/lib.rs",
                "pub const X: &str = include_str!(\"../generated/x.txt\");\n",
            )
        })
        .file(".dockerignore", "**/dist\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.notes.len(), 2, "{:?}", plan.notes);
    assert!(
        plan.notes[0].starts_with(
            "`crates/web/dist` is not in the build context, and crates/web/src/lib.rs embeds \
             it with #[folder = \"dist/\"], and the rule `**/dist` in .dockerignore leaves it \
             out: building `api` fails"
        ),
        "{}",
        plan.notes[0]
    );
    assert!(
        plan.notes[1].starts_with(
            "`crates/web/static` is not in the build context, and crates/web/src/lib.rs \
             embeds it with include_dir!(\"$CARGO_MANIFEST_DIR/static\"): building `api` fails"
        ),
        "{}",
        plan.notes[1]
    );
}

/// Environment variables the images' crates read while compiling, which nothing in the
/// build sets, are named in one note, each with its file and what happens without it
/// (kanidm's build script reads `KANIDM_BUILD_PROFILE`, garage compiles in
/// `option_env!("GIT_VERSION")`). Not named: what the crate's own build script sets, what
/// cargo sets, what a crate no image compiles reads, and what `build-args`, `build-env` or
/// `.cargo/config.toml`'s `[env]` give the build.
#[test]
fn compile_time_environment_nothing_sets_is_noted() {
    let note = |workspace_toml: &str, cargo_config: Option<&str>| -> Vec<String> {
        let mut fixture = Fixture::new("buildenv")
            .virtual_workspace(&["crates/*"])
            .workspace_toml(workspace_toml)
            .package("crates/core", |p| {
                p.source(
                    "build.rs",
                    "use std::env;\nfn main() {\n    let profile = env::var(\"APP_BUILD_PROFILE\").unwrap_or_default();\n    \
                     let target = env::var(\"TARGET\").unwrap();\n    \
                     println!(\"cargo:rerun-if-env-changed=APP_BUILD_PROFILE\");\n    \
                     println!(\"cargo:rustc-env=CORE_TARGET={target}-{profile}\");\n}\n",
                )
                .source(
                    "src/lib.rs",
                    "pub const TARGET: &str = env!(\"CORE_TARGET\");\n\
                     pub const COMMIT: Option<&str> = option_env!(\"GIT_VERSION\");\n\
                     pub const VERSION: &str = env!(\"CARGO_PKG_VERSION\");\n",
                )
            })
            .package("crates/server", |p| {
                p.dep_path("core", "../core").source(
                    "src/main.rs",
                    "const FLAVOUR: &str = env!(\"SERVER_FLAVOUR\");\n\
                     fn main() { println!(\"{FLAVOUR} {}\", core::TARGET); }\n",
                )
            })
            .package("crates/unshipped", |p| {
                p.source("src/lib.rs", "pub const X: &str = env!(\"NOBODY_BUILDS_THIS\");\n")
            });
        if let Some(config) = cargo_config {
            fixture = fixture.file(".cargo/config.toml", config);
        }
        let (_, plan) = fixture.build().plan();
        plan.notes
    };
    let notes = note("", None);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with(
            "the images' crates read `APP_BUILD_PROFILE` (crates/core/build.rs: its build \
             script reads it), `GIT_VERSION` (crates/core/src/lib.rs: `option_env!`: compiled \
             in as `None` without it), `SERVER_FLAVOUR` (crates/server/src/main.rs: `env!`: \
             the compile fails without it) while compiling"
        ) && notes[0].contains("`build-args = [\"APP_BUILD_PROFILE\"]`"),
        "{notes:?}"
    );
    let notes = note(
        "[workspace.metadata.image]\nbuild-args = [\"GIT_VERSION={revision}\"]\n\
         build-env = { SERVER_FLAVOUR = \"container\" }\n",
        Some("[env]\nAPP_BUILD_PROFILE = \"container\"\n"),
    );
    assert!(notes.is_empty(), "{notes:?}");
}

/// A loopback host that is the config crate's default of a `host` setting, in a file whose
/// `Environment::with_prefix("atuin")` lets variables override its keys (atuin's server):
/// the note names the variable to set (`ATUIN_HOST`), and is gone once `env` sets it.
#[test]
fn a_loopback_setting_default_names_the_variable_that_overrides_it() {
    let note = |config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("settings")
            .root_package("syncd", |p| {
                p.toml(config).source(
                    "src/main.rs",
                    "fn settings() -> Result<Settings, ConfigError> {\n    Config::builder()\n        \
                     .set_default(\"host\", \"127.0.0.1\")?\n        \
                     .set_default(\"port\", 8888)?\n        \
                     .add_source(Environment::with_prefix(\"syncd\").prefix_separator(\"_\").separator(\"__\"))\n        \
                     .build()?.try_deserialize()\n}\n\
                     fn main() { let s = settings(); serve(s); }\n",
                )
            })
            .build()
            .plan();
        (plan.notes.into_iter())
            .filter(|n| n.contains("127.0.0.1"))
            .collect()
    };
    assert_eq!(
        note(""),
        [
            "`syncd` listens on `127.0.0.1` (the default of its `host` setting, src/main.rs), \
             which a published port does not reach (the container answers only itself): set \
             `env = { SYNCD_HOST = \"0.0.0.0\" }` \
             under [package.metadata.image] in Cargo.toml (the file's config::Environment lets \
             that variable override it)"
        ]
    );
    let fixed = note("[package.metadata.image]\nenv = { SYNCD_HOST = \"0.0.0.0\" }\n");
    assert!(fixed.is_empty(), "{fixed:?}");
}

/// A program listening on a loopback address is said for its image (mini-redis's server
/// binds `127.0.0.1`, zola's `serve` defaults to it): a published port reaches nothing.
/// Not said for the package's other binary (a client connecting there), for a crate the
/// image does not compile, nor once `args` give it a public address.
#[test]
fn listening_on_loopback_is_noted() {
    let note = |serve_config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("loopback")
            .virtual_workspace(&["crates/*"])
            .package("crates/kv", |p| {
                p.source(
                    "src/bin/server.rs",
                    "fn main() {\n    let port = 6379;\n    \
                     let l = std::net::TcpListener::bind(format!(\"127.0.0.1:{port}\")).unwrap();\n    \
                     drop(l);\n}\n",
                )
                .source(
                    "src/bin/client.rs",
                    "fn main() { let _ = std::net::TcpStream::connect(\"127.0.0.1:6379\"); }\n",
                )
            })
            .package("crates/site", |p| {
                p.toml(serve_config).source(
                    "src/main.rs",
                    "struct Serve {\n    /// Where to listen\n    \
                     #[arg(long, default_value = \"127.0.0.1\")]\n    interface: String,\n}\n\
                     fn main() {}\n",
                )
            })
            .package("crates/unshipped", |p| {
                p.source(
                    "src/lib.rs",
                    "pub fn serve() { let _ = std::net::TcpListener::bind(\"localhost:80\"); }\n",
                )
            })
            .build()
            .plan();
        plan.notes
    };
    let notes = note("");
    assert_eq!(
        notes,
        [
            "`server` listens on `127.0.0.1:{port}` (crates/kv/src/bin/server.rs), which a \
             published port does not reach (the container answers only itself): listen on \
             `0.0.0.0` in the code, or read the address from the environment and set it in \
             `env`",
            "`site` listens on `127.0.0.1` (the default of its `interface` option, \
             crates/site/src/main.rs), which a published port does not reach (the container \
             answers only itself): give that option `0.0.0.0` in `args` under \
             [package.metadata.image] in crates/site/Cargo.toml",
        ]
    );
    // With a healthcheck, that it passes all the same.
    let notes = note("[package.metadata.image]\nports = [1111]\nhealthcheck = { http = \"/\" }\n");
    assert!(
        notes.len() == 2
            && notes[1].contains(
                "(the container answers only itself; its healthcheck, run inside, still passes)"
            )
            && !notes[0].contains("healthcheck"),
        "{notes:?}"
    );
    // `0.0.0.0`, or IPv6's `::` alone (sshx-server's `--listen ::`, which answered from
    // the host while the note said otherwise).
    for public in ["0.0.0.0", "::", "--interface=::"] {
        let args = match public.strip_prefix("--interface=") {
            Some(_) => format!("\"serve\", \"{public}\""),
            None => format!("\"serve\", \"--interface\", \"{public}\""),
        };
        let notes = note(&format!("[package.metadata.image]\nargs = [{args}]\n"));
        assert_eq!(notes.len(), 1, "{public}: {notes:?}");
        assert!(notes[0].starts_with("`server` listens"), "{notes:?}");
    }
}

/// Many images binding one loopback address in their code (actix/examples: 62) get one
/// note naming them; three or fewer get one each.
#[test]
fn many_loopback_listeners_are_said_once() {
    let plan = |count: usize| -> Vec<String> {
        let mut fixture = Fixture::new("loopbacks").virtual_workspace(&["crates/*"]);
        for i in 0..count {
            fixture = fixture.package(&format!("crates/svc{i}"), |p| {
                p.source(
                    "src/main.rs",
                    "fn main() { let _ = std::net::TcpListener::bind(\"127.0.0.1:8080\"); }\n",
                )
            });
        }
        fixture.build().plan().1.notes
    };
    let notes = plan(4);
    assert_eq!(
        notes,
        [
            "4 images' programs listen on `127.0.0.1:8080` in their code (`svc0`, `svc1`, \
          `svc2`, `svc3`), which a published port does not reach (each container answers \
          only itself): listen on `0.0.0.0` in the code, or read the address from the \
          environment and set it in `env`"
        ]
    );
    let notes = plan(3);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes[2].starts_with("`svc2` listens on `127.0.0.1:8080` (crates/svc2/src/main.rs)"));
}

/// A program that starts another (`Command::new("ffmpeg")` in a crate it compiles) is said
/// for the images whose runtime lacks it, with the fix: a runtime package, or `debian-slim`
/// for its own commands (`sh`). Not said once a runtime package is named like the program,
/// on `debian-slim` for its commands, nor for a crate no image compiles.
#[test]
fn starting_a_program_the_runtime_lacks_is_noted() {
    // A test module declared above the code hides none of it; what another system
    // compiles (atuin's `taskkill`) is not this image's; Debian's `kill` is procps's.
    let media = "#[cfg(test)]\nmod tests;\n\npub fn thumbnail(path: &str) {\n    \
                 let _ = std::process::Command::new(\"ffmpeg\").arg(path).status();\n    \
                 let _ = std::process::Command::new(\"sh\").args([\"-c\", path]).status();\n}\n\
                 #[cfg(unix)]\npub fn stop() { let _ = std::process::Command::new(\"kill\").status(); }\n\
                 #[cfg(not(unix))]\npub fn stop() { let _ = std::process::Command::new(\"taskkill\").status(); }\n";
    let app = "fn main() { media::thumbnail(\"x\"); }\n";
    let note = |api_config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("spawns")
            .virtual_workspace(&["crates/*"])
            .package("crates/media", |p| {
                p.source("src/lib.rs", media).source("src/tests.rs", "")
            })
            .package("crates/api", |p| {
                p.dep_path("media", "../media")
                    .toml(api_config)
                    .source("src/main.rs", app)
            })
            .package("crates/worker", |p| {
                p.dep_path("media", "../media")
                    .toml("[package.metadata.image]\nruntime = \"debian-slim\"\n")
                    .source("src/main.rs", app)
            })
            .package("crates/unshipped", |p| {
                p.source(
                    "src/lib.rs",
                    "pub fn ps() { let _ = std::process::Command::new(\"docker\").status(); }\n",
                )
            })
            .build()
            .plan();
        plan.notes
    };
    let notes = note("[package.metadata.image]\nruntime = \"distroless-cc\"\n");
    assert_eq!(
        notes,
        [
            "`api` may start `ffmpeg`, `sh`, `kill` (a process started in crates/media/src/lib.rs), \
             which its `distroless-cc` runtime does not have: the call fails with \"No such file \
             or directory\" when it runs. If it does start them, under [package.metadata.image] \
             in crates/api/Cargo.toml: add `procps` (for `kill`) and the Debian package that \
             provides `ffmpeg` to `runtime-packages`; set `runtime = \"debian-slim\"` (it has \
             `sh`)",
            "`worker` may start `ffmpeg`, `kill` (a process started in crates/media/src/lib.rs), \
             which its `debian-slim` runtime does not have: the call fails with \"No such file \
             or directory\" when it runs. If it does start them, under [package.metadata.image] \
             in crates/worker/Cargo.toml: add `procps` (for `kill`) and the Debian package that \
             provides `ffmpeg` to `runtime-packages`",
        ]
    );
    // procps provides kill: api on debian-slim with both packages has every program.
    let notes = note(
        "[package.metadata.image]\nruntime = \"debian-slim\"\n\
         runtime-packages = [\"ffmpeg\", \"procps\"]\n",
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("`worker` may start `ffmpeg`, `kill`"),
        "{notes:?}"
    );
    // Two binaries of one package that lack the same (rustdesk-server's): one note.
    let (_, plan) = Fixture::new("spawns2")
        .root_package("relay", |p| {
            p.source(
                "src/lib.rs",
                "pub fn probe() { let _ = std::process::Command::new(\"ffmpeg\").status(); }\n",
            )
            .bin("relayd")
            .bin("relayctl")
        })
        .build()
        .plan();
    let said: Vec<&String> = plan
        .notes
        .iter()
        .filter(|n| n.contains("may start"))
        .collect();
    assert_eq!(
        said,
        [
            "`relayctl`, `relayd` may start `ffmpeg` (a process started in src/lib.rs), which \
             their `distroless-cc` runtime does not have: the call fails with \"No such file or \
             directory\" when it runs. If they do start it, under [package.metadata.image] in \
             Cargo.toml: add the Debian package that provides `ffmpeg` to `runtime-packages`"
        ]
    );
}

/// A program started through the package's own function (pict-rs's `Process::run`, in
/// another file than its callers) is said where it is named.
#[test]
fn a_program_started_through_the_package_s_own_function_is_noted() {
    let process = "pub struct Process;\nimpl Process {\n    \
                   pub fn run(command: &str, args: &[&str]) -> std::io::Result<()> {\n        \
                   std::process::Command::new(command).args(args).status().map(|_| ())\n    }\n}\n";
    let main = "mod process;\nfn main() {\n    \
                let _ = process::Process::run(\"exiftool\", &[\"-n\", \"-\"]);\n    \
                let _ = process::Process::run(\"/bin/sh\", &[\"-c\", \"true\"]);\n    \
                let _ = process::Process::run(\"ffprobe\", &[]);\n    \
                let _ = process::Process::run(\"ffmpeg\", &[]);\n}\n";
    let notes = |config: &str| {
        Fixture::new("wrapped")
            .root_package("imgsvc", |p| {
                p.source("src/main.rs", main)
                    .source("src/process.rs", process)
                    .toml(config)
            })
            .build()
            .plan()
            .1
            .notes
    };
    assert_eq!(
        notes(""),
        [
            "`imgsvc` may start `exiftool`, `sh`, `ffprobe`, `ffmpeg` (a process started in \
             src/main.rs), which its `distroless-cc` runtime does not have: the call fails \
             with \"No such file or directory\" when it runs. If it does start them, under \
             [package.metadata.image] in Cargo.toml: add `libimage-exiftool-perl` (for \
             `exiftool`) and `ffmpeg` (for `ffprobe`, `ffmpeg`) to `runtime-packages`; set \
             `runtime = \"debian-slim\"` (it has `sh`)"
        ]
    );
    let carried = "[package.metadata.image]\nruntime = \"debian-slim\"\n\
                   runtime-packages = [\"libimage-exiftool-perl\", \"ffmpeg\"]\n";
    assert_eq!(notes(carried), Vec::<String>::new());
}

/// A crate that asks git while compiling (lemmy's `git_version!`, a build script running
/// `git`) is said with `git = true` as the fix, when the context has a `.git` to give; not
/// once the key is set, nor from a source tarball (no `.git`).
#[test]
fn asking_git_while_compiling_is_noted() {
    let note = |git_dir: bool, workspace_toml: &str| -> Vec<String> {
        let mut fixture = Fixture::new("gitnote")
            .virtual_workspace(&["crates/*"])
            .workspace_toml(workspace_toml)
            .package("crates/version", |p| {
                p.source(
                    "src/lib.rs",
                    "pub const V: &str = git_version::git_version!(\n    \
                     args = [\"--tags\"],\n    fallback = env!(\"CARGO_PKG_VERSION\")\n);\n",
                )
            })
            .package("crates/app", |p| {
                p.main()
                    .dep_path("version", "../version")
                    .source(
                        "build.rs",
                        "fn main() {\n    let head = std::process::Command::new(\"git\").arg(\"rev-parse\").output();\n    \
                         drop(head);\n}\n",
                    )
            });
        if git_dir {
            fixture = fixture.file(".git/HEAD", "ref: refs/heads/main\n");
        }
        let (_, plan) = fixture.build().plan();
        plan.notes
    };
    let notes = note(true, "");
    assert_eq!(
        notes,
        [
            "`app` and `version` ask git while compiling (crates/app/build.rs: runs `git`), and \
          the image build has no repository: a version string falls back without the commit, \
          or the build fails; set `git = true` under [workspace.metadata.image] in Cargo.toml \
          to give its compile steps git and the `.git`"
        ]
    );
    assert!(note(false, "").is_empty());
    assert!(note(true, "[workspace.metadata.image]\ngit = true\n").is_empty());
    // The user's .dockerignore leaves `.git` out (static-web-server's, sozu's): `git = true`
    // alone would be refused, so the note names the rule to drop too.
    let (_, plan) = Fixture::new("gitignored")
        .root_package("app", |p| {
            p.main().source(
                "build.rs",
                "fn main() {\n    let _ = std::process::Command::new(\"git\").arg(\"describe\");\n}\n",
            )
        })
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file(".dockerignore", "target\n.git\n")
        .build()
        .plan();
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(
        plan.notes[0].ends_with(
            "set `git = true` under [workspace.metadata.image] in Cargo.toml to give its \
             compile steps git and the `.git`, and drop the rule `.git` from your \
             .dockerignore, which leaves the `.git` out of the build context"
        ),
        "{:?}",
        plan.notes
    );
    // The user's .dockerignore keeps `.git` in the context (vaultwarden's `*` then `!.git`):
    // it is still not the root package's sources, so no compile step binds it or copies it
    // into a layer until `git = true` (with git), and the note stays true.
    let fixture = |workspace_toml: &str| {
        Fixture::new("gitkept")
            .root_package("app", |p| {
                p.main().source(
                    "build.rs",
                    "fn main() {\n    let _ = std::process::Command::new(\"git\").arg(\"describe\");\n}\n",
                )
            })
            .workspace_toml(workspace_toml)
            .file(".git/HEAD", "ref: refs/heads/main\n")
            .file(
                ".dockerignore",
                "*\n!.git\n!src\n!build.rs\n!Cargo.toml\n!Cargo.lock\n",
            )
            .build()
    };
    let (_, plan) = fixture("").plan();
    assert_eq!(plan.local_dirs, ["Cargo.toml", "build.rs", "src"]);
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(!dockerfile.contains(".git"), "{dockerfile}");
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(
        plan.notes[0].starts_with("`app` asks git while compiling (build.rs: runs `git`)"),
        "{:?}",
        plan.notes
    );
    let (_, plan) = fixture("[workspace.metadata.image]\ngit = true\n").plan();
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(
        dockerfile.contains("--mount=type=bind,source=.git,target=/app/.git"),
        "{dockerfile}"
    );
}

/// A `compile_error!` under a feature `cfg` that the build's features set off is said
/// before the build (vaultwarden's build script wants one database feature, and has none by
/// default), with the image's table and a feature to choose; not once `features` turns one
/// on. A dependency's guard that the features an image asks for set off names the workspace
/// table, a guard other features leave quiet says nothing.
#[test]
fn a_compile_error_the_features_set_off_is_noted() {
    let guard = "fn main() {\n    #[cfg(not(any(feature = \"sqlite\",\n        \
                 feature = \"postgres\")))]\n    compile_error!(\"enable one database backend\");\n    \
                 #[cfg(not(any(feature = \"tls-ring\", feature = \"tls-native\")))]\n    \
                 compile_error!(\"no TLS: build with --features tls.\");\n}\n";
    let store = "#[cfg(all(feature = \"fast\", feature = \"small\"))]\n\
                 compile_error!(\"`fast` and `small` cannot be on together\");\n\
                 #[cfg(feature = \"never\")]\ncompile_error!(\"not reached\");\n\
                 pub fn get() {}\n";
    let notes = |api: &str, store_features: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("guards")
            .virtual_workspace(&["crates/*"])
            .package("crates/store", |p| {
                p.toml("[features]\nfast = []\nsmall = []\nnever = []\n")
                    .source("src/lib.rs", store)
            })
            .package("crates/api", |p| {
                p.dep(
                    "store",
                    &format!("{{ path = \"../store\"{store_features} }}"),
                )
                .toml(&format!(
                    "[features]\nsqlite = []\npostgres = []\ntls = [\"tls-ring\"]\n\
                     tls-ring = []\ntls-native = []\n{api}"
                ))
                .source("build.rs", guard)
                .source("src/main.rs", "fn main() { store::get(); }\n")
            })
            .build()
            .plan();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("compile_error!"))
            .collect()
    };
    assert_eq!(
        notes("", ""),
        [
            "crates/api/build.rs:4 stops the build with `compile_error!(\"enable one database \
          backend\")` under `cfg(not(any(feature = \"sqlite\", feature = \"postgres\")))`, \
          and that condition holds for the features the build of `api` turns on: the build will fail; turn one \
          of `sqlite`, `postgres` on, e.g. `features = [\"sqlite\"]` in \
          [package.metadata.image] in crates/api/Cargo.toml",
            // The feature the message asks for, which the package has, is the example.
            "crates/api/build.rs:6 stops the build with `compile_error!(\"no TLS: build with \
          --features tls.\")` under `cfg(not(any(feature = \"tls-ring\", feature = \
          \"tls-native\")))`, and that condition holds for the features the build of `api` turns on: the build \
          will fail; turn one of `tls-ring`, `tls-native` on, e.g. `features = [\"tls\"]` in \
          [package.metadata.image] in crates/api/Cargo.toml"
        ]
    );
    let chosen = "[package.metadata.image]\nfeatures = [\"postgres\", \"tls\"]\n";
    assert!(notes(chosen, "").is_empty());
    // Without default features the build turns on others than the resolve counts: not
    // known, not said.
    assert!(notes("[package.metadata.image]\ndefault-features = false\n", "").is_empty());
    // Through the dependency's features: the guard that both set off, not the other.
    assert_eq!(
        notes(chosen, ", features = [\"fast\", \"small\"]"),
        [
            "crates/store/src/lib.rs:2 stops the build with `compile_error!(\"`fast` and \
          `small` cannot be on together\")` under `cfg(all(feature = \"fast\", feature = \
          \"small\"))`, and that condition holds for the features the build of `api` turns on: the build will \
          fail; the features that meet it come from `features` in [workspace.metadata.image] \
          in Cargo.toml or from the manifests that depend on `store`: change them so that it \
          no longer holds"
        ]
    );
}

/// With no `ports` key, an image's ports come from its program: the server's clap default
/// (its code binds), a constant paired with the unspecified address in a library it links;
/// not the client's `--port` default (its code never binds), nor another binary's own
/// file. `args` naming a public address come first; `ports = []` exposes none. The dev
/// image runs the program with ports.
#[test]
fn ports_are_read_from_the_program_when_no_key_sets_them() {
    let server = "#[derive(clap::Parser)]\nstruct Args {\n    /// Where to listen\n    \
                  #[arg(\n        long,\n        default_value_t = 8080,\n    )]\n    \
                  port: u16,\n}\nfn main() {\n    \
                  let l = std::net::TcpListener::bind((\"0.0.0.0\", 8080));\n    \
                  net::control();\n}\n";
    let net = "pub const CONTROL: u16 = 7835;\npub fn control() {\n    \
               let a = std::net::SocketAddr::from(([0, 0, 0, 0], CONTROL));\n}\n";
    let client = "#[derive(clap::Parser)]\nstruct Cli {\n    \
                  #[arg(long, default_value_t = 6379)]\n    port: u16,\n}\n\
                  fn main() { let s = std::net::TcpStream::connect((\"db\", 6379)); }\n";
    let plan = |server_config: &str| {
        Fixture::new("ports")
            .virtual_workspace(&["crates/*"])
            .package("crates/net", |p| p.source("src/lib.rs", net))
            .package("crates/cli", |p| p.source("src/main.rs", client))
            .package("crates/server", |p| {
                p.dep_path("net", "../net")
                    .toml(server_config)
                    .source("src/main.rs", server)
            })
            .build()
            .plan()
            .1
    };
    let found = plan("");
    let ports = |bin: &str| {
        let img = found.images.iter().find(|i| i.bin == bin).unwrap();
        (img.ports.clone(), img.ports_inferred_from.clone())
    };
    assert_eq!(
        ports("server"),
        (
            vec![8080, 7835],
            vec![
                "crates/server/src/main.rs: (\"0.0.0.0\", 8080)".to_string(),
                "crates/net/src/lib.rs: ([0,0,0,0], CONTROL)".to_string(),
            ]
        )
    );
    assert_eq!(ports("cli"), (vec![], vec![]));
    assert_eq!(found.dev.bin, "server");
    let with_args = plan("[package.metadata.image]\nargs = [\"--bind\", \"[::]:9000\"]\n");
    let server = with_args.images.iter().find(|i| i.bin == "server").unwrap();
    assert_eq!(server.ports, [9000, 8080, 7835]);
    assert_eq!(server.ports_inferred_from[0], "args: \"[::]:9000\"");
    let none = plan("[package.metadata.image]\nports = []\n");
    let server = none.images.iter().find(|i| i.bin == "server").unwrap();
    assert!(server.ports.is_empty() && server.ports_inferred_from.is_empty());
}

/// Read from code, TLS's port goes after plain HTTP's (the first is the healthcheck's, a
/// plain HTTP probe: SQLPage's 443 serves only with a certificate), unless `args` give it;
/// a UDP socket's port is UDP.
#[test]
fn inferred_tls_ports_go_last_and_a_udp_socket_s_port_is_udp() {
    let server = "fn main() {\n    let tls = std::env::args().count() > 1;\n    \
                  let addr = if tls {\n        std::net::SocketAddr::from(([0, 0, 0, 0], 443))\n    \
                  } else {\n        std::net::SocketAddr::from(([0, 0, 0, 0], 8080))\n    };\n    \
                  let l = std::net::TcpListener::bind(addr);\n    \
                  let dns = std::net::UdpSocket::bind(\"0.0.0.0:5353\");\n}\n";
    let image = |config: &str| {
        let (_, plan) = Fixture::new("tlsports")
            .root_package("svc", |p| p.toml(config).source("src/main.rs", server))
            .build()
            .plan();
        let img = plan.images[0].clone();
        (img.ports, img.udp_ports)
    };
    assert_eq!(image(""), (vec![8080, 443], vec![5353]));
    let args = "[package.metadata.image]\nargs = [\"--bind\", \"0.0.0.0:443\"]\n";
    assert_eq!(image(args), (vec![443, 8080], vec![5353]));
}

/// An absolute path the image's `args` or `env` name that nothing lays out is said, with
/// `volumes` and `files` as the fixes (oxigraph's `serve --location /data`); not once a
/// volume, a file or a system directory holds it.
#[test]
fn paths_the_args_name_that_the_image_lacks_are_noted() {
    let notes = |config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("named-paths")
            .virtual_workspace(&["crates/*"])
            .package("crates/db", |p| {
                p.toml(&format!("[package.metadata.image]\n{config}"))
                    .source("src/main.rs", "fn main() {}\n")
            })
            .file("conf/db.toml", "")
            .build()
            .plan();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("args or env"))
            .collect()
    };
    assert_eq!(
        notes(
            "args = [\"serve\", \"--location\", \"/data\", \"--config=/etc/db/db.toml\", \
             \"--log\", \"/dev/stderr\", \"--tmp\", \"/tmp/db\"]\n\
             env = { CACHE = \"/var/cache/db/\", URL = \"http://db:80/x\" }\n"
        ),
        [
            "`db`'s args or env name `/data`, `/etc/db/db.toml`, `/var/cache/db`, which its \
          image does not have: the program fails there when it runs (its user \
          `65532:65532` may not create it). Under [package.metadata.image] in \
          crates/db/Cargo.toml: a directory it writes goes in `volumes = [\"/data\"]` \
          (created, owned by its user); a file it reads, in `files = { \"<path in the \
          build context>\" = \"/data\" }`"
        ]
    );
    assert!(notes(
        "args = [\"--location\", \"/data/db\", \"--config\", \"/etc/db/db.toml\"]\n\
         volumes = [\"/data\"]\nfiles = { \"conf/db.toml\" = \"/etc/db/db.toml\" }\n"
    )
    .is_empty());
}

/// `workdir = "/"` is a working directory like any other (vaultwarden's relative `data/`
/// is its `/data` volume only from `/`): accepted, written, and left root's.
#[test]
fn the_root_directory_is_a_working_directory() {
    let (_, plan) = Fixture::new("root-workdir")
        .virtual_workspace(&["crates/*"])
        .package("crates/vault", |p| {
            p.toml("[package.metadata.image]\nworkdir = \"/\"\nvolumes = [\"/data\"]\n")
                .source("src/main.rs", "fn main() {}\n")
        })
        .build()
        .plan();
    assert_eq!(plan.images[0].extras.workdir.as_deref(), Some("/"));
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(dockerfile.contains("\nWORKDIR /\n"), "{dockerfile}");
    assert!(
        dockerfile.contains("chown 65532:65532 /extras/data"),
        "{dockerfile}"
    );
    assert!(
        !dockerfile.contains("chown 65532:65532 /extras \\"),
        "{dockerfile}"
    );
    assert!(
        !dockerfile.contains("chown 65532:65532 /extras/ "),
        "{dockerfile}"
    );
}

/// A crate the images compile whose `rust-version` is above the builder's Rust fails the
/// build minutes in (cargo: "requires rustc 1.81 or newer"): said before it, naming the
/// builder that would do; not for a builder whose Rust is unknown or new enough, a
/// crate only a dev-dependency reaches, or a workspace that pins its toolchain (rustup
/// in the builder installs the pin).
#[test]
fn a_crate_asking_for_a_newer_rust_than_the_builder_s_is_noted() {
    let note = |builder: &str, edge: bool, pin: bool| -> Vec<String> {
        let deps: &[usize] = if edge { &[1] } else { &[] };
        let mut wants = node("url", "2.5.4", &[], &[]);
        wants.rust_version = Some("1.82.0".into());
        let mut older = node("zlib-ng", "0.1.0", &[], &[]);
        older.rust_version = Some("1.70".into());
        let mut ws = with_graph(vec![
            node("svc", "0.1.0", &[], &[1, 2][..deps.len() * 2]),
            wants,
            older,
        ]);
        if pin {
            ws.extra_files.insert(
                "rust-toolchain.toml".into(),
                "[toolchain]\nchannel = \"1.79\"\n".into(),
            );
        }
        let mut opts = fixed_options();
        opts.builder = Some(builder.into());
        let plan = cargo_image::plan::plan(&ws, &opts).unwrap();
        (plan.notes.into_iter())
            .filter(|n| n.contains("rust-version"))
            .collect()
    };
    assert_eq!(
        note("rust:1.79-slim-bookworm", true, false),
        [
            "the builder `rust:1.79-slim-bookworm` has an older Rust than 1 crate the images \
             compile asks for in `rust-version` (`url 2.5.4`: 1.82.0), so cargo will refuse to \
             compile it: set `builder = \"rust:1.82.0-slim-bookworm\"` (or newer) in \
             [workspace.metadata.image] in Cargo.toml, or pass that as `--builder-image`"
        ]
    );
    // A tag without a patch version is that minor's newest: 1.82 has 1.82.0.
    assert!(note("rust:1.82-slim-bookworm", true, false).is_empty());
    assert!(note("docker.io/library/rust:1.81", true, false).len() == 1);
    assert!(note("rust:slim", true, false).is_empty());
    assert!(note("ghcr.io/acme/rust:1.60", true, false).is_empty());
    assert!(note("rust:1.79-slim-bookworm", false, false).is_empty());
    assert!(note("rust:1.79-slim-bookworm", true, true).is_empty());
}

/// A `time` 0.3 before 0.3.35 with its parser (`formatting`, `parsing`) fails to compile
/// on Rust 1.80 and later (rathole's first build): said before the build when the builder
/// is such a `rust` image, not with an older one, a fixed `time`, a builder whose Rust is
/// unknown, a `time` without those features, or one the images do not compile (a
/// dev-dependency's: no edge from them).
#[test]
fn an_old_time_crate_with_a_newer_builder_is_noted() {
    let noted = |time: &str, features: &[&str], edge: bool, builder: Option<&str>| -> bool {
        let deps: &[usize] = if edge { &[1] } else { &[] };
        let ws = with_graph(vec![
            node("svc", "0.1.0", &[], deps),
            node("time", time, features, &[]),
        ]);
        let mut opts = fixed_options();
        opts.builder = builder.map(String::from);
        let plan = cargo_image::plan::plan(&ws, &opts).unwrap();
        plan.notes
            .iter()
            .any(|n| n.starts_with(&format!("Cargo.lock holds `time` {time}, which Rust 1.80")))
    };
    let said = |time: &str, builder: Option<&str>| noted(time, &["formatting"], true, builder);
    assert!(said("0.3.29", Some("rust:1.95.0-slim-bookworm")));
    assert!(said("0.3.34", Some("rust:slim")));
    assert!(noted(
        "0.3.31",
        &["parsing"],
        true,
        Some("rust:1.95.0-slim-bookworm")
    ));
    assert!(!said("0.3.29", Some("rust:1.79-slim-bookworm")));
    assert!(!said("0.3.35", Some("rust:1.95.0-slim-bookworm")));
    assert!(!said("0.3.29", Some("ghcr.io/acme/builder:1.95")));
    assert!(!noted(
        "0.3.31",
        &["std"],
        true,
        Some("rust:1.95.0-slim-bookworm")
    ));
    assert!(!noted(
        "0.3.31",
        &["formatting"],
        false,
        Some("rust:1.95.0-slim-bookworm")
    ));
}

/// A build script watching a path the compile steps do not see re-runs, and recompiles
/// its package, on every image build (cargo counts a missing path as changed;
/// vaultwarden's `rerun-if-changed=.git`): said with `git = true` for `.git`, with the
/// rule for a path the user's `.dockerignore` leaves out; not a path no checkout has, not
/// once `git = true` gives `.git`.
#[test]
fn a_build_script_watching_what_the_build_cannot_see_is_noted() {
    let build_rs = "fn main() {\n    println!(\"cargo:rerun-if-changed=.git/HEAD\");\n    \
                    println!(\"cargo::rerun-if-changed=assets\");\n    \
                    println!(\"cargo:rerun-if-changed=generated.rs\");\n    \
                    println!(\"cargo:rerun-if-changed={}\", std::env::var(\"X\").unwrap());\n}\n";
    let notes = |workspace: &str, dockerignore: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("watch")
            .root_package("vault", |p| {
                p.source("build.rs", build_rs)
                    .source("src/main.rs", "fn main() {}\n")
                    .source("assets/logo.svg", "<svg/>")
            })
            .workspace_toml(workspace)
            .file(".dockerignore", dockerignore)
            .git_root()
            .build()
            .plan();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("rerun-if-changed"))
            .collect()
    };
    assert_eq!(
        notes("", ""),
        [
            "build.rs re-runs when `.git/HEAD` changes (`rerun-if-changed`), which the compile \
          steps do not see (the repository's `.git` reaches them only with `git = true`): \
          cargo counts a missing path as changed, so every image build re-runs it and \
          recompiles `vault` (and what depends on it), even after an edit to nothing it \
          reads; set `git = true` under [workspace.metadata.image] in Cargo.toml (they then \
          re-run after a commit only)"
        ]
    );
    let git = "[workspace.metadata.image]\ngit = true\n";
    assert!(notes(git, "").is_empty());
    let said = notes(git, "assets/\n");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("build.rs re-runs when `assets` changes (`rerun-if-changed`), which the rule `assets/` in .dockerignore leaves out")
            && said[0].ends_with("drop that rule, or add `!assets` on a line after it"),
        "{said:?}"
    );
}

/// A configuration that `files` ships with a secret set to a literal (sonic's
/// `[channel] auth_password`) is said for the image shipping it, with the variable the
/// program's code lets override it at run time; not a secret left to a reference, nor a
/// configuration no image ships.
#[test]
fn a_shipped_configuration_holding_a_secret_is_said() {
    let notes = |config: &str, files: &str| {
        let (_, plan) = Fixture::new("shipsecret")
            .root_package("search", |p| {
                p.toml(files).source(
                    "src/main.rs",
                    "fn main() {\n    let c = config::Config::builder()\n        \
                     .add_source(config::File::with_name(\"config.cfg\"))\n        \
                     .add_source(config::Environment::with_prefix(\"SEARCH\").separator(\"__\"));\n}\n",
                )
            })
            .file("config.cfg", config)
            .build()
            .plan();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("to a literal"))
            .collect::<Vec<_>>()
    };
    let secret = "[channel]\ninet = \"0.0.0.0:1491\"\nauth_password = \"SecretPassword\"\n";
    let shipped = "[package.metadata.image]\nfiles = { \"config.cfg\" = \"/etc/search.cfg\" }\n";
    assert_eq!(
        notes(secret, shipped),
        [
            "`search`'s image ships `config.cfg` (`files`), which sets `auth_password` \
             (config.cfg:3) to a literal: anyone who can pull the image reads it; keep it out \
             of the shipped copy and give it at run time: `SEARCH__CHANNEL__AUTH_PASSWORD` in \
             the container's environment when it runs (`docker run -e`, compose's \
             `environment:`; its code lets it override the file: src/main.rs), or the file \
             mounted when the container runs (`docker run -v`, a compose secret) instead of \
             shipping it"
        ]
    );
    assert!(notes(secret, "").is_empty());
    let reference = "[channel]\nauth_password = \"${SEARCH_PASSWORD}\"\n";
    assert!(notes(reference, shipped).is_empty());
}

/// A server port's default (clap's, with the variable it reads) gives way to what the
/// image sets: the variable in `env`, the port in `args` (`-p 3200`); a program that binds
/// it on loopback only exposes nothing (the loopback note says why).
#[test]
fn a_port_default_gives_way_to_env_and_args() {
    let web = |host: &str| {
        format!(
            "#[derive(clap::Parser)]\nstruct Args {{\n    \
             #[arg(short, long, env = \"WEB_PORT\", default_value_t = 3000)]\n    port: u16,\n}}\n\
             fn main() {{\n    let l = std::net::TcpListener::bind((\"{host}\", args.port));\n}}\n"
        )
    };
    let ports = |host: &str, config: &str| {
        let (_, plan) = Fixture::new("port-default")
            .root_package("web", |p| {
                p.toml(&format!("[package.metadata.image]\n{config}"))
                    .source("src/main.rs", &web(host))
            })
            .build()
            .plan();
        let img = &plan.images[0];
        (img.ports.clone(), img.ports_inferred_from.clone())
    };
    let (found, from) = ports("::", "");
    assert_eq!(found, [3000]);
    assert!(from[0].starts_with("src/main.rs: port: #[arg("), "{from:?}");
    assert_eq!(
        ports("::", "env = { WEB_PORT = \"3100\" }\n"),
        (vec![3100], vec!["env: WEB_PORT=3100".to_string()])
    );
    assert_eq!(
        ports("::", "args = [\"-p\", \"3200\"]\n"),
        (vec![3200], vec!["args: \"3200\"".to_string()])
    );
    assert_eq!(ports("127.0.0.1", ""), (vec![], vec![]));
    // A loopback default that `args` replace with a public address (sshx-server's
    // `--listen ::`): the port default counts again.
    assert_eq!(
        ports("127.0.0.1", "args = [\"--listen\", \"::\"]\n").0,
        vec![3000]
    );
}

/// A configuration the program reads at run time that listens on loopback (rustypaste's
/// `[server] address = "127.0.0.1:8000"`, vigil's `inet = "[::1]:8080"`) makes a service
/// only its own container reaches: said for its image whether the file is shipped or not,
/// with the line; not for a database's address, nor once the file listens on 0.0.0.0.
#[test]
fn a_run_time_configuration_listening_on_loopback_is_said() {
    let config = |text: &str, files: &str| {
        let built = Fixture::new("loopconf")
            .root_package("paste", |p| {
                p.source(
                    "src/main.rs",
                    "fn main() {\n    let text = std::fs::read_to_string(\"config.toml\").unwrap();\n    \
                     let listener = std::net::TcpListener::bind(address(&text)).unwrap();\n}\n",
                )
                .toml(files)
            })
            .file("config.toml", text)
            .build();
        let (_, plan) = built.plan();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("loopback"))
            .collect::<Vec<_>>()
    };
    let said = config("[server]\naddress = \"127.0.0.1:8000\"\n", "");
    assert_eq!(
        said,
        [
            "`paste` may read `config.toml`, which listens on loopback (config.toml:2: `address = \
          \"127.0.0.1:8000\"`): in a container it answers only the container itself, and a \
          published port reaches nothing; listen on `0.0.0.0` in the copy its image gets (or \
          set the override its `env` reads)"
        ]
    );
    let shipped = "[package.metadata.image]\nfiles = { \"config.toml\" = \"/app/config.toml\" }\nworkdir = \"/app\"\n";
    assert_eq!(
        config("[server]\naddress = \"127.0.0.1:8000\"\n", shipped).len(),
        1
    );
    assert!(config("[server]\naddress = \"0.0.0.0:8000\"\n", shipped).is_empty());
    assert!(config("[database]\naddress = \"127.0.0.1:5432\"\n", shipped).is_empty());

    // A program whose code lets the environment override its configuration (sonic's
    // `config::Environment::with_prefix("SONIC").separator("__").prefix_separator("_")`):
    // the variable is named, with a public address; quiet once the image's `env` sets it.
    let with_env = |env: &str| {
        let (_, plan) = Fixture::new("loopenv")
            .virtual_workspace(&["server"])
            .package("server", |p| {
                p.main()
                    .toml(env)
                    .source(
                        "src/config.rs",
                        "pub fn read() -> Config {\n    Config::builder()\n        \
                         .add_source(config::File::with_name(\"config.cfg\"))\n        \
                         .add_source(\n            config::Environment::with_prefix(\"SONIC\")\n                \
                         .separator(\"__\")\n                .prefix_separator(\"_\"),\n        )\n        \
                         .build()\n}\n",
                    )
                    .source(
                        "src/main.rs",
                        "mod config;\nfn main() {\n    let path = \"config.cfg\";\n    \
                         let c = std::fs::read_to_string(path);\n    \
                         let l = std::net::TcpListener::bind(c.inet);\n}\n",
                    )
            })
            .file(
                "config.cfg",
                "[server]\nlog_level = \"error\"\n\n[channel]\ninet = \"[::1]:1491\"\n",
            )
            .build()
            .plan();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("loopback"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        with_env(""),
        [
            "`server` may read `config.cfg`, which listens on loopback (config.cfg:5: `inet = \
             \"[::1]:1491\"`): in a container it answers only the container itself, and a \
             published port reaches nothing; listen on `0.0.0.0` in the copy its image gets, \
             or override it from the environment, as its code lets (server/src/config.rs): \
             `SONIC_CHANNEL__INET = \"0.0.0.0:1491\"` in `env` under [package.metadata.image] \
             in server/Cargo.toml"
        ]
    );
    let set = "[package.metadata.image]\nenv = { SONIC_CHANNEL__INET = \"0.0.0.0:1491\" }\n";
    assert_eq!(with_env(set), Vec::<String>::new());
}
