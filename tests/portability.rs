//! What the process gets from wherever it is started and built: its arguments on musl, closed
//! standard fds, an inherited ignored SIGPIPE, and install.sh with the build output elsewhere.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::server::{Mode, TestServer};
use common::*;

/// A hook started with `2>&-` must not open the outbox lock as its fd 2: it points fd 2 at
/// /dev/null before forking the deliverer, which would close the lock and let every hook start a
/// deliverer of its own. Against a hung server, three such hooks make one request, not three.
#[test]
fn closed_stderr_does_not_become_the_outbox_lock() {
    let mut env = TestEnv::new();
    let server = TestServer::start();
    server.set(Mode::Hang);
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url).set("CLAUDE_SESSION_SERVER_TIMEOUT", "10s");
    let input = fixture("PostToolUse-Bash.json");
    for _ in 0..3 {
        let mut cmd = env.command("/bin/sh");
        cmd.args(["-c", "exec \"$0\" 2>&-"]).arg(env.bin.join("post-tool"));
        let out = feed(cmd, &input);
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Time for a second deliverer, had one started, to send its request too.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.requests(), 1, "one deliverer, holding the lock, while the server hangs");
    server.set(Mode::Up);
    // The hung request timed out into a backoff: `flush` ignores it.
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.wait_for(3, Duration::from_secs(20)).len(), 3, "all three events delivered");
}

/// `show --timeline ID | head -1` where the shell ignores SIGPIPE (so the child inherits it
/// ignored): a write to the closed pipe fails with EPIPE, and that is a quiet end, not a panic
/// (exit 134).
#[test]
fn sigpipe_inherited_as_ignored_is_a_quiet_exit() {
    let env = TestEnv::new();
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let id = json(&fixture("PreToolUse-Bash.json"))["session_id"].as_str().unwrap().to_owned();
    // A pipe whose reader is already gone: the first write fails, whatever the timing.
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    let mut cmd = env.command("/bin/sh");
    cmd.args(["-c", "trap '' PIPE; exec \"$0\" show --timeline \"$1\""]).arg(env.bin.join("claude-session")).arg(&id);
    let out = cmd.stdin(Stdio::null()).stdout(Stdio::from(writer)).stderr(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// Built for musl, the binary still sees its arguments: std gets them from glibc's `.init_array`
/// only on linux-gnu, so they must come from `main`'s own argc/argv.
#[test]
fn musl_binary_sees_its_arguments() {
    let env = TestEnv::new();
    let Some(binary) = musl_binary(&env) else { return };
    let out = env.command(&binary).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Usage: claude-session"), "{}", stdout(&out));
    // By subcommand, and by applet name with an argument.
    let mut cmd = env.command(&binary);
    cmd.arg("pre-tool").env("CLAUDE_SESSION_DEBUG", "1");
    let out = feed(cmd, &fixture("PreToolUse-Bash.json"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("PreToolUse"), "{}", stderr(&out));
    let show = env.root.join("show");
    std::os::unix::fs::symlink(&binary, &show).unwrap();
    let out = env.command(&show).args(["--bogus-flag"]).output().unwrap();
    assert!(stderr(&out).contains("--bogus-flag"), "the argument reached the parser: {}", stderr(&out));
}

/// The binary under test when the tests themselves run on musl (`cargo test --target
/// x86_64-unknown-linux-musl`), else a musl debug build (see `build`); None (with a line
/// saying so) where no musl target is installed.
fn musl_binary(env: &TestEnv) -> Option<PathBuf> {
    if cfg!(target_env = "musl") {
        return Some(PathBuf::from(BIN));
    }
    let target = musl_target()?;
    Some(build(env, Path::new(env!("CARGO_MANIFEST_DIR")), Some(&target), &[]))
}

/// This machine's musl target when it is installed; else None, with a line saying why.
fn musl_target() -> Option<String> {
    if !cfg!(target_os = "linux") {
        println!("skipped: not Linux, no musl build");
        return None;
    }
    let target = format!("{}-unknown-linux-musl", std::env::consts::ARCH);
    if !target_installed(&target) {
        println!("skipped: the {target} target is not installed");
        return None;
    }
    Some(target)
}

/// The variable that names `target`'s linker to cargo.
fn linker_var(target: &str) -> String {
    format!("CARGO_TARGET_{}_LINKER", target.to_uppercase().replace('-', "_"))
}

/// Whether the standard library for `target` is installed (`rustup target add`).
fn target_installed(target: &str) -> bool {
    let libdir = std::process::Command::new("rustc")
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    libdir.and_then(|dir| fs::read_dir(dir).ok()).is_some_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
    })
}

/// A debug build of the binary from the package at `manifest_dir`, for `target` (None: the
/// host's), with `envs` set, copied into the test's own directory. Builds share one target dir
/// under the tests' temp dir, one at a time, so dependencies are built once (and kept for the next
/// run), and each test runs the binary its own build made.
fn build(env: &TestEnv, manifest_dir: &Path, target: Option<&str>, envs: &[(&str, &str)]) -> PathBuf {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _building = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("builds");
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--bin", "claude-session"]).current_dir(manifest_dir);
    if let Some(target) = target {
        cmd.args(["--target", target]);
    }
    let out = cmd.env("CARGO_TARGET_DIR", &dir).env_remove("RUSTFLAGS").envs(envs.iter().copied()).output().unwrap();
    assert!(out.status.success(), "build: {}", stderr(&out));
    let built = match target {
        Some(target) => dir.join(target),
        None => dir,
    };
    let binary = env.root.join("built/claude-session");
    fs::create_dir_all(binary.parent().unwrap()).unwrap();
    fs::copy(built.join("debug/claude-session"), &binary).unwrap();
    binary
}

/// A hook run by the binary at `binary` keeps the contract and journals its event.
fn records(env: &TestEnv, binary: &Path) {
    let mut cmd = env.command(binary);
    cmd.arg("pre-tool");
    let out = feed(cmd, &fixture("PreToolUse-Bash.json"));
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0), "{}", stderr(&out));
    assert_eq!(list(&env.journal_dir()).len(), 1, "one journal file: {}", stderr(&out));
}

/// build.rs gave the linker its script (src/layout.ld) as `-Wl,-T,<path>`, which the C compiler
/// splits at every comma: a checkout at a path with a comma in it no longer linked
/// (`cannot find linker script /…/src`).
#[test]
fn a_checkout_whose_path_has_a_comma_builds() {
    let env = TestEnv::new();
    let checkout = env.root.join("src,tools/claude-session");
    let from = Path::new(env!("CARGO_MANIFEST_DIR"));
    fn copy(from: &Path, to: &Path) {
        if from.is_dir() {
            fs::create_dir_all(to).unwrap();
            for entry in fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                copy(&entry.path(), &to.join(entry.file_name()));
            }
        } else {
            fs::copy(from, to).unwrap();
        }
    }
    fs::create_dir_all(&checkout).unwrap();
    for part in ["Cargo.toml", "Cargo.lock", "build.rs", "src", "benches", ".cargo"] {
        copy(&from.join(part), &checkout.join(part));
    }
    records(&env, &build(&env, &checkout, None, &[]));
}

/// `-Wl,-T,<path>` is for a C compiler driver only: with the linker set to `rust-lld` (how one
/// builds the musl targets, and cross-compiles to them, without a C toolchain) every build failed
/// (`rust-lld: error: unknown argument '-Wl,-T,…'`).
#[test]
fn a_build_linked_by_rust_lld_itself_runs() {
    let env = TestEnv::new();
    let Some(target) = musl_target() else { return };
    let binary =
        build(&env, Path::new(env!("CARGO_MANIFEST_DIR")), Some(&target), &[(&linker_var(&target), "rust-lld")]);
    records(&env, &binary);
}

/// build.rs leaves the layout script out for gold, which cannot read it; but cargo reruns a build
/// script when the linker alone changes only if the script asks, so a build after switching to
/// gold by name (`CARGO_TARGET_<TRIPLE>_LINKER`) still passed gold the script, and failed
/// (`ld.gold: unable to parse script file …/layout.ld`) until `cargo clean`.
#[test]
fn switching_the_linker_to_gold_leaves_the_layout_out() {
    let env = TestEnv::new();
    let Some(target) = musl_target() else { return };
    if !["/usr/bin/ld.gold", "/bin/ld.gold", "/usr/local/bin/ld.gold"].iter().any(|p| Path::new(p).exists()) {
        println!("skipped: no ld.gold");
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // First linked as usual (with the script), then by a C compiler that links with gold.
    build(&env, manifest, Some(&target), &[]);
    let wrapper = env.root.join("cc-gold");
    fs::write(&wrapper, "#!/bin/sh\nexec cc -fuse-ld=gold \"$@\"\n").unwrap();
    fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let binary = build(&env, manifest, Some(&target), &[(&linker_var(&target), wrapper.to_str().unwrap())]);
    records(&env, &binary);
}

/// `CARGO_TARGET_DIR=/elsewhere ./install.sh` installed nothing (it looked in ./target), or a
/// stale binary from there. Now it installs the file cargo built, wherever that is; and
/// `--uninstall` removes the binary, the links and the cron line.
#[test]
fn install_with_cargo_target_dir_elsewhere_installs_what_it_built() {
    let mut env = TestEnv::new();
    let table = fake_crontab(&mut env);
    let elsewhere = env.root.join("cargo-target");
    let bin_dir = env.root.join("opt/bin");
    let home = std::env::var("HOME").unwrap_or_default();
    let install = |args: &[&str]| {
        let mut cmd = env.command("/bin/sh");
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")).args(args);
        let cargo_bin = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
        cmd.env("PATH", format!("{}:{}:/usr/local/bin:/usr/bin:/bin", env.bin.display(), cargo_bin.display()))
            .env("CARGO_TARGET_DIR", &elsewhere);
        for (var, default) in [("CARGO_HOME", format!("{home}/.cargo")), ("RUSTUP_HOME", format!("{home}/.rustup"))] {
            cmd.env(var, std::env::var(var).unwrap_or(default));
        }
        if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
            cmd.env("RUSTUP_TOOLCHAIN", toolchain);
        }
        feed(cmd, b"")
    };
    let bin_dir_s = bin_dir.to_str().unwrap();
    let out = install(&["--bin-dir", bin_dir_s, "--cron"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let binary = bin_dir.join("claude-session");
    let built: Vec<PathBuf> = fs::read_dir(&elsewhere)
        .unwrap()
        .map(|e| e.unwrap().path().join("release/claude-session"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(built.len(), 1, "one release build in CARGO_TARGET_DIR: {built:?}");
    assert_eq!(fs::read(&binary).unwrap(), fs::read(&built[0]).unwrap(), "the binary just built");
    let hook_dir = env.home.join(".claude/hooks/claude-session");
    assert_eq!(fs::read_link(hook_dir.join("pre-tool")).unwrap(), binary);
    assert!(fs::read_to_string(&table).unwrap().contains("cleanup # claude-session cleanup"));
    let run = feed(env.command(hook_dir.join("pre-tool")), &fixture("PreToolUse-Bash.json"));
    assert_eq!((run.status.code(), run.stdout.len()), (Some(0), 0), "{}", stderr(&run));

    let out = install(&["--bin-dir", bin_dir_s, "--uninstall"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!binary.exists() && !hook_dir.exists());
    assert!(!fs::read_to_string(&table).unwrap().contains("claude-session"));
}

/// Issue 17: a host name in an endpoint resolves (musl's resolver works in a static binary; a
/// static glibc one may not load NSS). Uses a name /etc/hosts maps to 127.0.0.1 other than
/// `localhost`, which is rewritten to 127.0.0.1 before any lookup.
#[test]
fn a_host_name_in_the_server_url_resolves() {
    let hosts = fs::read_to_string("/etc/hosts").unwrap_or_default();
    let name = hosts.lines().filter_map(|l| l.split('#').next()).find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("127.0.0.1")).then(|| words.find(|w| !w.eq_ignore_ascii_case("localhost"))).flatten()
    });
    let Some(name) = name else {
        eprintln!("skipped: /etc/hosts names nothing but localhost for 127.0.0.1");
        return;
    };
    let server = TestServer::start();
    let url = format!("http://{name}:{}/events", server.port);
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", &url);
    env.hook("post-tool", &fixture("PostToolUse-Bash.json"));
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{url}: {}", stderr(&out));
    assert_eq!(server.wait_for(1, Duration::from_secs(10)).len(), 1, "delivered through {url}");
}
