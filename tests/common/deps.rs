//! What some tests need from outside the repository: Python packages (the OTLP schema, Phoenix,
//! MLflow, detect-secrets) and npm packages (the real Claude Code CLI, ccusage). Each is installed
//! once, by the tests themselves, into a cache that outlives the checkout, so a fresh clone needs
//! only Rust and python3 (and node for the npm ones) and only the first run downloads.
//!
//! The cache: `$CLAUDE_SESSION_TEST_CACHE`, else `$XDG_CACHE_HOME/claude-session/test`, else
//! `~/.cache/claude-session/test`, else `target/test-cache`. A test whose dependency cannot be had
//! (no python3, no node, a registry out of reach) prints one `skipped: <why>` line and passes: the
//! rest of the suite still runs.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn cache_root() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("CLAUDE_SESSION_TEST_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("claude-session/test")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/claude-session/test")))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-cache"))
}

/// A virtualenv named `name` holding `packages` (pip requirement strings, pinned where the tests
/// depend on a version). Returns its `python`. Made once; later calls only check a stamp.
pub fn venv(name: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let dir = cache_root().join(format!("venv-{name}"));
    let python = dir.join("bin/python");
    prepared(&dir, packages, || {
        let python3 = which("python3").ok_or("no python3 on PATH")?;
        if !python.exists() {
            run(Command::new(&python3).args(["-m", "venv"]).arg(&dir), "python3 -m venv")?;
        }
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "1"])
                .args(["--timeout", "30"])
                .args(packages),
            &format!("pip install {}", packages.join(" ")),
        )
    })?;
    Ok(python)
}

/// An npm prefix named `name` holding `packages` (`name@version`). Returns its `node_modules`.
pub fn npm(name: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let dir = cache_root().join(format!("npm-{name}"));
    prepared(&dir, packages, || {
        let npm = which("npm").ok_or("no npm on PATH")?;
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !dir.join("package.json").exists() {
            fs::write(dir.join("package.json"), "{\"private\": true}\n").map_err(|e| e.to_string())?;
        }
        run(
            Command::new(npm)
                .current_dir(&dir)
                .args(["install", "--no-audit", "--no-fund", "--fetch-retries=1", "--fetch-timeout=60000"])
                .args(packages),
            &format!("npm install {}", packages.join(" ")),
        )
    })?;
    Ok(dir.join("node_modules"))
}

/// Prints the one line a test that cannot run says, and gives back the value when there is one:
/// `let Some(python) = deps::or_skip(deps::venv(...)) else { return };`
pub fn or_skip<T>(got: Result<T, String>) -> Option<T> {
    match got {
        Ok(v) => Some(v),
        Err(why) => {
            // Straight to the terminal: libtest captures print!/eprint! of a passing test, and
            // then nobody would learn that it ran nothing.
            let _ = writeln!(std::io::stderr(), "skipped: {why}");
            None
        }
    }
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

/// Runs `install` once for `dir` and `wanted`, under a lock so that parallel tests (and parallel
/// test binaries) install once and wait for each other. The stamp is written last: an install cut
/// short is redone.
fn prepared(dir: &Path, wanted: &[&str], install: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let root = dir.parent().unwrap();
    fs::create_dir_all(root).map_err(|e| format!("test cache {}: {e}", root.display()))?;
    let lock_path = dir.with_extension("lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("{}: {e}", lock_path.display()))?;
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("lock {}: {e}", lock_path.display()))?;
    let stamp = dir.join(".claude-session-stamp");
    let want = wanted.join("\n");
    if fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(());
    }
    eprintln!("installing {} into {} (once)", wanted.join(" "), dir.display());
    install()?;
    fs::write(&stamp, want).map_err(|e| format!("{}: {e}", stamp.display()))
}

/// Runs an install command; on failure, the reason is its last line of output that says something.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let why = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .find(|l| l.contains("rror") || l.contains("ERR"))
        .or_else(|| text.lines().map(str::trim).rfind(|l| !l.is_empty()))
        .unwrap_or("no output")
        .to_owned();
    Err(format!("{what} failed ({}): {why}", out.status))
}
