//! Whole-process cost of the hooks, as Claude Code runs them, next to an empty static binary
//! built the same way, all in one run. Standard library only.
//!
//!     cargo bench                  # everything
//!     cargo bench -- latency       # only sections whose name contains "latency"
//!     cargo bench -- server flush  # several sections
//!
//! Each run spawns the process with its payload on a pipe and stops the clock when stdout and
//! stderr have both reached EOF (what Claude Code waits for) and the process has exited.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/server.rs"]
mod server;
use server::{Mode, TestServer};

const TARGET: &str = "x86_64-unknown-linux-gnu";
const STATIC: &str = "-C target-feature=+crt-static";

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let bench = Bench::setup();
    println!(
        "claude-session {} ({} bytes), empty static binary ({} bytes)",
        bench.hook.display(),
        size(&bench.hook),
        size(&bench.empty)
    );
    if wanted("latency") {
        bench.latency();
    }
    if wanted("server") {
        bench.server();
    }
    if wanted("flush") {
        bench.flush();
    }
}

struct Bench {
    root: PathBuf,
    hook: PathBuf,
    empty: PathBuf,
    fixtures: PathBuf,
}

impl Bench {
    /// Builds the static release binary exactly as install.sh does, and an empty static binary
    /// with the same flags, then makes a private environment for the runs.
    fn setup() -> Bench {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--target", TARGET])
            .env("RUSTFLAGS", STATIC)
            .current_dir(manifest)
            .status()
            .expect("cargo build");
        assert!(status.success(), "static build failed");
        let hook = manifest.join("target").join(TARGET).join("release/claude-session");

        let root = std::env::temp_dir().join(format!("claude-session-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for dir in ["bin", "run", "state", "home", "work"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        let source = root.join("empty.rs");
        fs::write(&source, "fn main() {}\n").unwrap();
        let empty = root.join("bin/empty");
        let status = Command::new("rustc")
            .args([
                "--edition",
                "2024",
                "-C",
                "opt-level=3",
                "-C",
                "panic=abort",
                "-C",
                "strip=symbols",
                "-C",
                "lto=fat",
            ])
            .args(["-C", "codegen-units=1"])
            .args(["-C", "target-feature=+crt-static", "--target", TARGET, "-o"])
            .arg(&empty)
            .arg(&source)
            .status()
            .expect("rustc");
        assert!(status.success(), "empty binary failed to build");
        for applet in ["session-start", "pre-tool", "post-tool", "show", "cleanup"] {
            std::os::unix::fs::symlink(&hook, root.join("bin").join(applet)).unwrap();
        }
        let fixtures = manifest.join("../shared/fixtures/claude-code-2.1.330");
        Bench { root, hook, empty, fixtures }
    }

    /// `post-tool` with the observability server up, refusing connections, and hung.
    fn server(&self) {
        let runs = 1000;
        let input = self.fixture("PostToolUse-Bash.json");
        let hook = self.root.join("bin/post-tool");
        let up = TestServer::start();
        let hung = TestServer::start();
        hung.set(Mode::Hang);
        let down = format!("http://127.0.0.1:{}/events", TestServer::closed_port());
        section("server: post-tool, whole process, with the server in each state");
        for (name, url) in
            [("none", None), ("up", Some(up.url.clone())), ("down", Some(down)), ("hung", Some(hung.url.clone()))]
        {
            let (mut base, mut ours) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                base.push(run_once(self.command(&self.empty), &input));
                let mut cmd = self.command(&hook);
                if let Some(url) = &url {
                    cmd.env("CLAUDE_SESSION_SERVER_URL", url)
                        .env("CLAUDE_SESSION_LOG_DIR", self.root.join(format!("logs-{name}")));
                }
                ours.push(run_once(cmd, &input));
            }
            report("post-tool", &format!("server {name}"), &mut base, &mut ours);
        }
        let delivered = up.wait_for(runs, Duration::from_secs(30)).len();
        println!("server up: {delivered} of {runs} events delivered");
        hung.set(Mode::Up);
    }

    /// How fast `flush` empties an outbox of events queued while the server was down.
    fn flush(&self) {
        let events = 5000;
        let port = TestServer::closed_port();
        let url = format!("http://127.0.0.1:{port}/events");
        let logs = self.root.join("logs-flush");
        let input = self.fixture("PostToolUse-Bash.json");
        let queue = |cmd: &mut Command| {
            cmd.env("CLAUDE_SESSION_SERVER_URL", &url).env("CLAUDE_SESSION_LOG_DIR", &logs);
        };
        for _ in 0..events {
            let mut cmd = self.command(&self.root.join("bin/post-tool"));
            queue(&mut cmd);
            run_once(cmd, &input);
        }
        let server = TestServer::start_on(port);
        let mut cmd = self.command(&self.hook);
        queue(&mut cmd);
        let started = Instant::now();
        let out = cmd.arg("flush").output().unwrap();
        let took = started.elapsed();
        println!("\n## flush: {events} queued events to a local server");
        println!("{}", String::from_utf8_lossy(&out.stdout).trim());
        let accepted = server.accepted().len();
        println!("{accepted} accepted in {took:.2?}: {:.0} events/s", accepted as f64 / took.as_secs_f64());
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.root.join("home"))
            .env("USER", "bench")
            .env("XDG_RUNTIME_DIR", self.root.join("run"))
            .env("XDG_STATE_HOME", self.root.join("state"))
            .current_dir(self.root.join("work"));
        cmd
    }

    fn fixture(&self, name: &str) -> Vec<u8> {
        fs::read(self.fixtures.join(name)).expect(name)
    }

    /// Median and p99 of each hook on its real fixture, interleaved with the empty binary so
    /// that both see the same machine.
    fn latency(&self) {
        let runs = 2000;
        let cases = [
            ("session-start", "SessionStart-startup.json"),
            ("pre-tool", "PreToolUse-Bash.json"),
            ("post-tool", "PostToolUse-Bash.json"),
        ];
        section("latency: whole process, stdin a pipe, stdout+stderr read to EOF");
        for (applet, fixture) in cases {
            let input = self.fixture(fixture);
            let hook = self.root.join("bin").join(applet);
            let (mut base, mut ours) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                base.push(run_once(self.command(&self.empty), &input));
                ours.push(run_once(self.command(&hook), &input));
            }
            report(applet, fixture, &mut base, &mut ours);
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// One run as Claude Code does it: payload on a pipe, both output pipes read to EOF.
fn run_once(mut cmd: Command, input: &[u8]) -> Duration {
    let start = Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    drop(stdin);
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let mut sink = Vec::new();
    let _ = out.read_to_end(&mut sink);
    let _ = err.read_to_end(&mut sink);
    let status = child.wait().unwrap();
    let took = start.elapsed();
    assert!(
        status.success() && sink.is_empty(),
        "a hook failed or printed: {status} {:?}",
        String::from_utf8_lossy(&sink)
    );
    took
}

fn section(title: &str) {
    println!("\n## {title}");
    println!(
        "{:<14} {:<28} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "hook", "input", "empty p50", "empty p99", "hook p50", "hook p99", "ratio"
    );
}

fn report(name: &str, input: &str, base: &mut [Duration], ours: &mut [Duration]) {
    let (b50, b99) = (percentile(base, 50.0), percentile(base, 99.0));
    let (o50, o99) = (percentile(ours, 50.0), percentile(ours, 99.0));
    println!(
        "{name:<14} {input:<28} {:>10} {:>10} {:>10} {:>10} {:>6.2}x",
        us(b50),
        us(b99),
        us(o50),
        us(o99),
        o50.as_secs_f64() / b50.as_secs_f64()
    );
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p / 100.0).round() as usize;
    samples[i]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
