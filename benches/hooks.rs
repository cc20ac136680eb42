//! Whole-process cost of the hooks, as Claude Code runs them, next to empty static binaries built
//! the same way, all in one run: the floors no hook can go under. Standard library only.
//!
//!     cargo bench                  # everything
//!     cargo bench -- latency       # only sections whose name contains "latency"
//!     cargo bench -- server flush  # several sections: latency form server backlog model flush big
//!                                  # concurrency journal cleanup memory
//!
//! The binary measured is the one `install.sh --build-only` builds (what users install). On Linux
//! the floors are an empty static glibc binary and, when the musl target is there, an empty static
//! musl one, both built by install.sh with our profile and flags.
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

/// Where `cargo bench` should put each hook, as a ratio of each floor's median.
const TARGETS: &[(&str, f64)] = &[("glibc", 0.75), ("musl", 1.5)];

fn main() {
    // Section names to run (`cargo bench -- server flush`); none: all of them.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let bench = Bench::setup();
    println!("claude-session {} ({} bytes)", bench.built.display(), size(&bench.hook));
    for floor in &bench.floors {
        println!("floor: empty {} binary {} ({} bytes)", floor.name, floor.path.display(), size(&floor.path));
    }
    // Subreaper: the deliverers hooks start are reaped here, so their CPU counts (server sections).
    subreaper();
    let sections: [(&str, Section); 12] = [
        ("latency", Bench::latency),
        ("form", Bench::form),
        ("sessions", Bench::two_sessions),
        ("server", Bench::server),
        ("backlog", Bench::backlog),
        ("model", Bench::model_name),
        ("flush", Bench::flush),
        ("big", Bench::big_payload),
        ("concurrency", Bench::concurrency),
        ("journal", Bench::journal),
        ("cleanup", Bench::cleanup),
        ("memory", Bench::memory),
    ];
    for (name, run) in sections {
        if wanted(name) {
            run(&bench);
        }
    }
}

type Section = fn(&Bench);

/// Each hook with the payload its latency is measured on.
const HOOK_CASES: [(&str, &str); 3] = [
    ("session-start", "SessionStart-startup.json"),
    ("pre-tool", "PreToolUse-Bash.json"),
    ("post-tool", "PostToolUse-Bash.json"),
];

struct Bench {
    root: PathBuf,
    /// What install.sh built, and our copy of it that is measured.
    built: PathBuf,
    hook: PathBuf,
    /// Empty binaries, highest first; the last is the floor other sections compare with.
    floors: Vec<Floor>,
    fixtures: PathBuf,
}

struct Floor {
    name: &'static str,
    path: PathBuf,
}

impl Bench {
    /// Builds the release binary with install.sh, as an install does, and the empty binaries with
    /// install.sh too, then makes a private environment for the runs.
    fn setup() -> Bench {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let built = build(&[]);
        let root = std::env::temp_dir().join(format!("claude-session-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for dir in ["bin", "run", "state", "home", "work", "empty/src"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        // An empty crate with our release profile, built by install.sh: the same target, flags and
        // profile as ours, and nothing else.
        let ours = fs::read_to_string(manifest.join("Cargo.toml")).unwrap();
        let profile = ours.split("\n[").find(|part| part.starts_with("profile.release]")).expect("[profile.release]");
        fs::write(
            root.join("empty/Cargo.toml"),
            format!("[package]\nname = \"empty\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[{profile}\n"),
        )
        .unwrap();
        fs::write(root.join("empty/Cargo.lock"), "version = 4\n\n[[package]]\nname = \"empty\"\nversion = \"0.0.0\"\n")
            .unwrap();
        fs::write(root.join("empty/src/main.rs"), "fn main() {}\n").unwrap();
        let empty_manifest = root.join("empty/Cargo.toml");
        let empty_manifest = empty_manifest.to_str().unwrap();
        // Copied as install.sh copies it: a file the linker wrote in pieces can sit in the page
        // cache in small folios, and then costs a hook up to 80 µs more in page faults than the
        // installed copy does (measured on ext4, Linux 6.18).
        let hook = copy(&built, &root.join("bin/claude-session"));
        let mut floors = Vec::new();
        let linux = cfg!(target_os = "linux");
        let musl = built.to_string_lossy().contains("-linux-musl/");
        if linux {
            let path = build(&["--glibc", "--manifest-path", empty_manifest]);
            floors.push(Floor { name: "glibc", path: copy(&path, &root.join("bin/empty-glibc")) });
        }
        if musl || !linux {
            let path = build(&["--manifest-path", empty_manifest]);
            let name = if musl { "musl" } else { "release" };
            floors.push(Floor { name, path: copy(&path, &root.join(format!("bin/empty-{name}"))) });
        } else {
            println!("no musl target: the musl floor is not measured");
        }
        for applet in ["session-start", "pre-tool", "post-tool", "show", "cleanup"] {
            std::os::unix::fs::symlink(&hook, root.join("bin").join(applet)).unwrap();
        }
        let fixtures = manifest.join("tests/fixtures/claude-code-2.1.330");
        Bench { root, built, hook, floors, fixtures }
    }

    /// The lowest floor: what the sections other than `latency` compare with.
    fn empty(&self) -> &Path {
        &self.floors.last().unwrap().path
    }

    /// `post-tool` with the observability server up, refusing connections, and hung: the hook's
    /// time against the empty binary in the same run, and CPU per hook including the deliverers
    /// hooks start (this process is their subreaper, so their CPU lands in its children's times).
    fn server(&self) {
        subreaper();
        let runs = 1000;
        let input = self.fixture("PostToolUse-Bash.json");
        let up = TestServer::start();
        let hung = TestServer::start();
        hung.set(Mode::Hang);
        let down = format!("http://127.0.0.1:{}/events", TestServer::closed_port());
        cpu_section("server: post-tool, whole process, with the server in each state");
        for (name, url) in
            [("none", None), ("up", Some(up.url.clone())), ("down", Some(down)), ("hung", Some(hung.url.clone()))]
        {
            let logs = self.root.join(format!("logs-{name}"));
            self.server_case(
                &format!("server {name}"),
                "CLAUDE_SESSION_SERVER_URL",
                url.as_deref(),
                &logs,
                &input,
                runs,
            );
        }
        // An OpenTelemetry collector that refuses connections: two more sinks, each backing off.
        let collector = format!("http://127.0.0.1:{}", TestServer::closed_port());
        let logs = self.root.join("logs-otlp-down");
        self.server_case("otlp down", "CLAUDE_SESSION_OTLP_ENDPOINT", Some(&collector), &logs, &input, runs);
        let delivered = up.wait_for(2 * runs, Duration::from_secs(30)).len();
        println!("server up: {delivered} of {} events delivered", 2 * runs);
        hung.set(Mode::Up);
    }

    /// One server case: interleaved timing against the empty binary, then CPU per run of each.
    fn server_case(&self, name: &str, var: &str, url: Option<&str>, logs: &Path, input: &[u8], runs: usize) {
        let hook = self.root.join("bin/post-tool");
        let cmd = || {
            let mut cmd = self.command(&hook);
            if let Some(url) = url {
                cmd.env(var, url).env("CLAUDE_SESSION_LOG_DIR", logs);
            }
            cmd
        };
        let (mut base, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            base.push(run_once(self.command(self.empty()), input));
            ours.push(run_once(cmd(), input));
        }
        let (empty_cpu, hook_cpu) = (
            cpu_per_run(runs, || {
                run_once(self.command(self.empty()), input);
            }),
            cpu_per_run(runs, || {
                run_once(cmd(), input);
            }),
        );
        report_cpu("post-tool", name, &mut base, &mut ours, empty_cpu, hook_cpu);
    }

    /// The server refusing connections while 100 000 events wait: a deliverer's run (a `flush`,
    /// which ignores the backoff) against one with a near-empty queue, then hooks as above.
    fn backlog(&self) {
        subreaper();
        let (pending, runs) = (100_000, 1000);
        let url = format!("http://127.0.0.1:{}/events", TestServer::closed_port());
        let input = self.fixture("PostToolUse-Bash.json");
        let record = {
            let body = serde_json::json!({"source_app": "bench", "session_id": "s", "hook_event_type": "PostToolUse",
                "payload": serde_json::from_slice::<serde_json::Value>(&input).unwrap(), "timestamp": 1, "summary": ""});
            body.to_string()
        };
        // One deliverer run: wall time, CPU and what it said.
        let flush_cost = |logs: &Path| {
            let mut cmd = self.command(&self.hook);
            cmd.env("CLAUDE_SESSION_SERVER_URL", &url).env("CLAUDE_SESSION_LOG_DIR", logs).arg("flush");
            let (mut took, mut said) = (Duration::ZERO, String::new());
            let cpu = cpu_per_run(1, || {
                let started = Instant::now();
                let out = cmd.output().unwrap();
                took = started.elapsed();
                said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            });
            (took, cpu, said)
        };
        let mut lines = Vec::new();
        for (name, n) in [("10 pending", 10), ("100 000 pending", pending)] {
            let logs = self.root.join(format!("logs-backlog-{n}"));
            // A first flush makes the destination's queue; its spool then gets the backlog, as
            // hooks would have left it: the next flush numbers it all.
            fs::create_dir_all(&logs).unwrap();
            fs::set_permissions(&logs, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
            flush_cost(&logs);
            let outbox = logs.join("outbox");
            let queue = fs::read_dir(&outbox)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("dashboard-"))
                .expect("the destination's queue");
            fs::write(queue.join("spool"), format!("{record}\n").repeat(n)).unwrap();
            fs::set_permissions(queue.join("spool"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            let (took, cpu, _) = flush_cost(&logs);
            lines.push(format!(
                "flush, server down, {name}, first run (admits them all): {} wall, {} CPU",
                ms(took),
                ms(cpu)
            ));
            // Ticks of 10 ms are too coarse for one run: CPU over 20 runs, and their median time.
            let (mut runs_took, mut said) = (Vec::new(), String::new());
            let cpu = cpu_per_run(20, || {
                let (took, _, out) = flush_cost(&logs);
                runs_took.push(took);
                said = out;
            });
            lines.push(format!(
                "flush, server down, {name}, later runs: median {} wall, {} CPU each ({said})",
                ms(percentile(&mut runs_took, 50.0)),
                ms(cpu)
            ));
            if n == pending {
                cpu_section(&format!("backlog: post-tool with the server down and {pending} events pending"));
                self.server_case("down, 100 000 pending", "CLAUDE_SESSION_SERVER_URL", Some(&url), &logs, &input, runs);
            }
        }
        println!();
        for line in lines {
            println!("{line}");
        }
    }

    /// What filling `model_name` from the transcript costs the deliverer: `flush` of 1000 queued
    /// events to a local server without a transcript, with one transcript for all (read once
    /// per 2 s), and with a transcript path of its own for each (a hard link each: 1000 reads of
    /// the last 64 KiB).
    fn model_name(&self) {
        subreaper();
        let events = 1000;
        let transcript = fs::read_dir(self.fixtures.join("transcript")).unwrap().next().unwrap().unwrap().path();
        let dir = self.root.join("transcripts");
        fs::create_dir_all(&dir).unwrap();
        let first = dir.join("t0.jsonl");
        fs::copy(&transcript, &first).unwrap();
        for i in 1..events {
            fs::hard_link(&first, dir.join(format!("t{i}.jsonl"))).unwrap();
        }
        let mut event: serde_json::Value = serde_json::from_slice(&self.fixture("PostToolUse-Bash.json")).unwrap();
        println!("\n## model_name: flush of {events} events to a local server, by where the model comes from");
        let mut rows = Vec::new();
        for case in ["no transcript", "one transcript", "a transcript each"] {
            let port = TestServer::closed_port();
            let url = format!("http://127.0.0.1:{port}/events");
            let logs = self.root.join(format!("logs-model-{}", case.replace(' ', "-")));
            for i in 0..events {
                let path = match case {
                    "no transcript" => dir.join("missing.jsonl"),
                    "one transcript" => first.clone(),
                    _ => dir.join(format!("t{i}.jsonl")),
                };
                event["transcript_path"] = path.to_string_lossy().into();
                let mut cmd = self.command(&self.root.join("bin/post-tool"));
                cmd.env("CLAUDE_SESSION_SERVER_URL", &url).env("CLAUDE_SESSION_LOG_DIR", &logs);
                run_once(cmd, &serde_json::to_vec(&event).unwrap());
            }
            reap_orphans();
            let server = TestServer::start_on(port);
            let mut cmd = self.command(&self.hook);
            cmd.env("CLAUDE_SESSION_SERVER_URL", &url).env("CLAUDE_SESSION_LOG_DIR", &logs).arg("flush");
            let mut took = Duration::ZERO;
            let cpu = cpu_per_run(1, || {
                let started = Instant::now();
                let out = cmd.output().unwrap();
                took = started.elapsed();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            });
            let accepted = server.accepted();
            let named = accepted.iter().filter(|e| e["model_name"].is_string()).count();
            rows.push((case, took, cpu, accepted.len(), named));
        }
        let base = rows[0].2.as_secs_f64() / rows[0].3.max(1) as f64;
        for (case, took, cpu, accepted, named) in rows {
            let per = cpu.as_secs_f64() / accepted.max(1) as f64;
            println!(
                "{case:<18} {accepted} sent ({named} with model_name) in {}, CPU {} = {:.0} µs/event ({:+.0} µs)",
                ms(took),
                ms(cpu),
                per * 1e6,
                (per - base) * 1e6
            );
        }
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

    /// A 10 MiB PostToolUse (a big Read), against the empty binary fed the same bytes.
    fn big_payload(&self) {
        let input = self.big_input(10 << 20);
        let hook = self.root.join("bin/post-tool");
        let (mut base, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..50 {
            base.push(run_once(self.command(self.empty()), &input));
            ours.push(run_once(self.command(&hook), &input));
        }
        section("big: a 10 MiB PostToolUse payload");
        report("post-tool", "10 MiB tool_response", &mut base, &mut ours);
    }

    fn big_input(&self, size: usize) -> Vec<u8> {
        let mut event: serde_json::Value = serde_json::from_slice(&self.fixture("PostToolUse-Bash.json")).unwrap();
        let line = "fn main() { println!(\"hello\"); }\n";
        event["tool_response"]["stdout"] = line.repeat(size / line.len()).into();
        let mut bytes = serde_json::to_vec(&event).unwrap();
        bytes.push(b'\n');
        bytes
    }

    /// 20 workers firing pre-tool and post-tool at one project for 10 s; then the empty binary
    /// the same way, which is the floor this machine puts under any hook at that load.
    fn concurrency(&self) {
        let (workers, length) = (20, Duration::from_secs(10));
        let inputs = [self.fixture("PreToolUse-Bash.json"), self.fixture("PostToolUse-Bash.json")];
        let hooks = [self.root.join("bin/pre-tool"), self.root.join("bin/post-tool")];
        println!("\n## concurrency: {workers} workers for {length:?}, pre-tool and post-tool on one project");
        self.storm("hooks", workers, length, &hooks, &inputs);
        self.storm("empty binary", workers, length, &[self.empty().to_path_buf(), self.empty().to_path_buf()], &inputs);
        let journal = self.root.join("state/claude-session/logs");
        let mut lines = 0;
        for entry in fs::read_dir(&journal).unwrap() {
            let text = fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
            for line in text.lines() {
                serde_json::from_str::<serde_json::Value>(line).expect("a torn journal line");
                lines += 1;
            }
        }
        println!("journal: {lines} lines, all whole");
    }

    fn storm(&self, name: &str, workers: usize, length: Duration, programs: &[PathBuf; 2], inputs: &[Vec<u8>; 2]) {
        let deadline = Instant::now() + length;
        let started = Instant::now();
        let results: Vec<(Vec<Duration>, usize)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    s.spawn(move || {
                        let (mut times, mut errors) = (Vec::new(), 0);
                        let mut i = w;
                        while Instant::now() < deadline {
                            match try_once(self.command(&programs[i % 2]), &inputs[i % 2]) {
                                Ok(took) => times.push(took),
                                Err(_) => errors += 1,
                            }
                            i += 1;
                        }
                        (times, errors)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let elapsed = started.elapsed();
        let mut all: Vec<Duration> = results.iter().flat_map(|(t, _)| t.iter().copied()).collect();
        let errors: usize = results.iter().map(|(_, e)| e).sum();
        println!(
            "{name:<13} {:>6} runs, {:>5.0}/s, p50 {:>8}, p99 {:>8}, max {:>8}, errors {errors}",
            all.len(),
            all.len() as f64 / elapsed.as_secs_f64(),
            us(percentile(&mut all, 50.0)),
            us(percentile(&mut all, 99.0)),
            us(percentile(&mut all, 100.0))
        );
    }

    /// `show --timeline` and `show --sessions` over 100 000 generated journal lines (30 days,
    /// 300 sessions), and `show` of one session.
    fn journal(&self) {
        let logs = self.root.join("logs-journal");
        fs::create_dir_all(&logs).unwrap();
        // The journal directory must be private (0700), as the hooks make it.
        fs::set_permissions(&logs, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let template: serde_json::Value = {
            let mut cmd = self.command(&self.root.join("bin/post-tool"));
            cmd.env("CLAUDE_SESSION_LOG_DIR", self.root.join("logs-template"));
            run_once(cmd, &self.fixture("PostToolUse-Bash.json"));
            let dir = self.root.join("logs-template");
            let file = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
            serde_json::from_slice(&fs::read(file).unwrap()).unwrap()
        };
        let (lines, days, sessions) = (100_000, 30, 300);
        let mut files: Vec<String> = vec![String::new(); days];
        for i in 0..lines {
            let day = i * days / lines;
            let mut line = template.clone();
            let session = format!("session-{:04}", i * sessions / lines);
            let event = ["PreToolUse", "PostToolUse"][i % 2];
            line["session_id"] = session.into();
            line["event"] = event.into();
            line["tool_use_id"] = format!("toolu_{}", i / 2).into();
            line["timestamp"] =
                format!("2026-10-{:02}T12:{:02}:{:02}.{:06}Z", day + 1, (i / 60) % 60, i % 60, i).into();
            files[day].push_str(&line.to_string());
            files[day].push('\n');
        }
        let mut bytes = 0;
        for (day, text) in files.iter().enumerate() {
            bytes += text.len();
            fs::write(logs.join(format!("2026-10-{:02}.jsonl", day + 1)), text).unwrap();
        }
        println!("\n## journal: {lines} lines, {days} files, {sessions} sessions, {:.0} MB", bytes as f64 / 1e6);
        let show = |args: &[&str]| {
            let mut times = Vec::new();
            for _ in 0..5 {
                let mut cmd = self.command(&self.hook);
                cmd.env("CLAUDE_SESSION_LOG_DIR", &logs).arg("show").args(args);
                let started = Instant::now();
                let out = cmd.output().unwrap();
                times.push(started.elapsed());
                assert!(out.status.success(), "show {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
            println!("show {:<32} median {}", args.join(" "), ms(percentile(&mut times, 50.0)));
        };
        show(&["--sessions", "--days", "100000"]);
        show(&["--timeline", "session-0150"]);
        show(&["--timeline", "--json", "session-0150"]);
    }

    /// `cleanup` over 10 000 session files, half of them stale or corrupt.
    fn cleanup(&self) {
        let store = self.root.join("store-cleanup");
        let mut times = Vec::new();
        for _ in 0..3 {
            let _ = fs::remove_dir_all(&store);
            fs::create_dir_all(&store).unwrap();
            fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
            fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
            for i in 0..10_000 {
                let body = match i % 4 {
                    0 => "stale\n2020-01-01T00:00:00Z\n".to_owned(),
                    1 => "corrupt".to_owned(),
                    _ => "fresh\n2099-01-01T00:00:00Z\n".to_owned(),
                };
                let path = store.join(format!("project{i}-{:016x}", i));
                fs::write(&path, body).unwrap();
                fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            }
            let mut cmd = self.command(&self.hook);
            cmd.env("CLAUDE_SESSION_DIR", &store).env("CLAUDE_SESSION_TTL", "100000d").arg("cleanup");
            let started = Instant::now();
            let out = cmd.output().unwrap();
            times.push(started.elapsed());
            assert!(out.status.success());
        }
        println!("\n## cleanup: 10 000 session files (2 500 stale, 2 500 corrupt)");
        println!("cleanup median {}", ms(percentile(&mut times, 50.0)));
    }

    /// Peak resident memory of each hook: its own VmHWM, from the debug line it prints.
    fn memory(&self) {
        let big = self.big_input(10 << 20);
        let cases = [
            ("session-start", "session-start", self.fixture("SessionStart-startup.json")),
            ("pre-tool", "pre-tool", self.fixture("PreToolUse-Bash.json")),
            ("post-tool", "post-tool", self.fixture("PostToolUse-subagent-Agent.json")),
            ("post-tool 10 MiB", "post-tool", big),
        ];
        println!("\n## memory: peak RSS (VmHWM) of the hook process");
        for (name, applet, input) in cases {
            let mut cmd = self.command(&self.root.join("bin").join(applet));
            cmd.env("CLAUDE_SESSION_DEBUG", "1").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let writer = std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            let kib: f64 = err
                .lines()
                .find_map(|l| l.split("peak RSS ").nth(1)?.split_whitespace().next()?.parse().ok())
                .unwrap_or_else(|| panic!("no peak RSS in {err}"));
            println!("{name:<18} {:>6.2} MiB", kib / 1024.0);
        }
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

    /// Median and p99 of each hook on its real fixture, interleaved with every floor so that all
    /// see the same machine; then each hook's ratio to each floor, against its target.
    /// Two `claude` processes in one project: every hook's id differs from the stored one, so each
    /// rewrites the project's session file. Against one session's hook and the empty binary, in
    /// one run (issue 12: within 1.2x of one session).
    fn two_sessions(&self) {
        let runs = 1000;
        let template: serde_json::Value = serde_json::from_slice(&self.fixture("PreToolUse-Bash.json")).unwrap();
        let with_id = |id: &str| {
            let mut v = template.clone();
            v["session_id"] = id.into();
            let mut bytes = serde_json::to_vec(&v).unwrap();
            bytes.push(b'\n');
            bytes
        };
        let (a, b) = (with_id("11111111-1111-4111-8111-111111111111"), with_id("22222222-2222-4222-8222-222222222222"));
        let hook = self.root.join("bin/pre-tool");
        println!("\n## sessions: pre-tool, one session against two alternating in one project ({runs} runs each)");
        let (mut base, mut one, mut two) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..runs {
            base.push(run_once(self.command(self.empty()), &a));
            one.push(run_once(self.command(&hook), &a));
            two.push(run_once(self.command(&hook), if i % 2 == 0 { &b } else { &a }));
        }
        let (e50, o50, t50) = (percentile(&mut base, 50.0), percentile(&mut one, 50.0), percentile(&mut two, 50.0));
        println!(
            "empty {} p50, one session {} p50 ({:.2}x), two alternating {} p50 ({:.2}x), two / one {:.2}x",
            us(e50),
            us(o50),
            o50.as_secs_f64() / e50.as_secs_f64(),
            us(t50),
            t50.as_secs_f64() / e50.as_secs_f64(),
            t50.as_secs_f64() / o50.as_secs_f64()
        );
    }

    /// A hook as Claude Code starts it in each form of its wiring: the shell form
    /// (`"command": "<path>"`) as `/bin/sh -c "<path>"`, the exec form (`"args": []`, what
    /// `hooks install` and the plugin write) as the path itself. Interleaved, one run.
    fn form(&self) {
        let runs = 2000;
        println!("\n## form: the hook as Claude Code starts it, shell form against exec form ({runs} runs each)");
        println!("{:<14} {:>19} {:>19} {:>13}", "hook", "sh -c p50/p99", "exec p50/p99", "exec / sh -c");
        for (applet, fixture) in HOOK_CASES {
            let input = self.fixture(fixture);
            let hook = self.root.join("bin").join(applet);
            let (mut shell, mut exec) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let mut cmd = self.command(Path::new("/bin/sh"));
                cmd.arg("-c").arg(&hook);
                shell.push(run_once(cmd, &input));
                exec.push(run_once(self.command(&hook), &input));
            }
            let (s50, e50) = (percentile(&mut shell, 50.0), percentile(&mut exec, 50.0));
            println!(
                "{applet:<14} {:>19} {:>19} {:>12.2}x",
                format!("{} / {}", us(s50), us(percentile(&mut shell, 99.0))),
                format!("{} / {}", us(e50), us(percentile(&mut exec, 99.0))),
                e50.as_secs_f64() / s50.as_secs_f64()
            );
        }
    }

    fn latency(&self) {
        let runs = 2000;
        println!("\n## latency: whole process, stdin a pipe, stdout+stderr read to EOF ({runs} runs each)");
        let mut header = format!("{:<14}", "hook");
        for floor in &self.floors {
            header += &format!(" {:>19}", format!("empty {} p50/p99", floor.name));
        }
        header += &format!(" {:>19}", "hook p50/p99");
        for floor in &self.floors {
            header += &format!(" {:>9}", format!("/ {}", floor.name));
        }
        println!("{header}");
        let mut missed = Vec::new();
        let mut faults = Vec::new();
        for (applet, fixture) in HOOK_CASES {
            let input = self.fixture(fixture);
            let hook = self.root.join("bin").join(applet);
            let mut floors: Vec<Vec<Duration>> = vec![Vec::new(); self.floors.len()];
            let mut floor_faults = vec![0; self.floors.len()];
            let (mut ours, mut our_faults) = (Vec::new(), 0);
            for _ in 0..runs {
                for ((floor, times), n) in self.floors.iter().zip(&mut floors).zip(&mut floor_faults) {
                    let (took, f) = with_faults(|| run_once(self.command(&floor.path), &input));
                    times.push(took);
                    *n += f;
                }
                let (took, f) = with_faults(|| run_once(self.command(&hook), &input));
                ours.push(took);
                our_faults += f;
            }
            let o50 = percentile(&mut ours, 50.0);
            let mut line = format!("{applet:<14}");
            let mut ratios = String::new();
            for (floor, times) in self.floors.iter().zip(&mut floors) {
                let b50 = percentile(times, 50.0);
                line += &format!(" {:>19}", format!("{} / {}", us(b50), us(percentile(times, 99.0))));
                let ratio = o50.as_secs_f64() / b50.as_secs_f64();
                ratios += &format!(" {:>8.2}x", ratio);
                if let Some((_, target)) = TARGETS.iter().find(|(name, _)| *name == floor.name)
                    && ratio >= *target
                {
                    missed.push(format!("{applet}: {ratio:.2}x the empty {} binary (target < {target}x)", floor.name));
                }
            }
            line += &format!(" {:>19}", format!("{} / {}", us(o50), us(percentile(&mut ours, 99.0))));
            println!("{line}{ratios}");
            let per_run = |n: i64| n as f64 / runs as f64;
            let mut row = format!("{applet:<14}");
            for (floor, n) in self.floors.iter().zip(&floor_faults) {
                row += &format!(" {:>13.1} ({})", per_run(*n), floor.name);
            }
            faults.push(format!("{row} {:>13.1} (hook)", per_run(our_faults)));
        }
        // Page faults are most of what a hook costs above an empty binary: the code it runs is
        // grouped by src/layout.ld so that it faults in few 64 KiB windows.
        println!("page faults per run (minor, from getrusage):");
        for row in faults {
            println!("{row}");
        }
        if missed.is_empty() {
            println!("every hook is within its targets: {TARGETS:?}");
        }
        for miss in missed {
            println!("MISSED {miss}");
        }
    }
}

/// `install.sh --build-only` with `args`: the path of the executable it built.
fn build(args: &[&str]) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("sh")
        .arg(manifest.join("install.sh"))
        .arg("--build-only")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("sh install.sh");
    assert!(out.status.success(), "install.sh --build-only {args:?} failed");
    let path = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(path.lines().last().expect("install.sh printed no path"))
}

/// A copy of a built binary that a later build cannot replace under the run.
fn copy(from: &Path, to: &Path) -> PathBuf {
    fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    to.to_path_buf()
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// One run as Claude Code does it: payload on a pipe, both output pipes read to EOF.
fn run_once(cmd: Command, input: &[u8]) -> Duration {
    try_once(cmd, input).unwrap_or_else(|e| panic!("{e}"))
}

/// [`run_once`], with a failure (non-zero exit, or anything printed) as an error.
fn try_once(mut cmd: Command, input: &[u8]) -> Result<Duration, String> {
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
    if !status.success() || !sink.is_empty() {
        return Err(format!("a hook failed or printed: {status} {:?}", String::from_utf8_lossy(&sink)));
    }
    Ok(took)
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

/// What `run` returns, and the minor page faults of the children it waited for.
fn with_faults<T>(run: impl FnOnce() -> T) -> (T, i64) {
    use nix::sys::resource::{UsageWho, getrusage};
    let faults = || getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0, |u| u.minor_page_faults());
    let before = faults();
    let out = run();
    (out, faults() - before)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// CPU (user + system) of this process's reaped children, from /proc (clock ticks of 10 ms).
fn children_cpu() -> Duration {
    let stat = fs::read_to_string("/proc/self/stat").unwrap();
    // After the name come state, ppid, ...: cutime and cstime are the 14th and 15th fields.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<u64>().unwrap();
    Duration::from_millis((ticks(13) + ticks(14)) * 10)
}

/// Makes this process the reaper of the deliverers hooks leave behind, so that their CPU lands
/// in its children's times once reaped.
fn subreaper() {
    // Linux only: elsewhere a deliverer's CPU is not counted in the server sections.
    #[cfg(target_os = "linux")]
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
}

/// Waits for every orphan reparented to us (deliverers, once they stop lingering).
fn reap_orphans() {
    use nix::sys::wait::waitpid;
    loop {
        match waitpid(nix::unistd::Pid::from_raw(-1), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

/// CPU per run of `once` run `runs` times, including every process it left behind.
fn cpu_per_run(runs: usize, mut once: impl FnMut()) -> Duration {
    reap_orphans();
    let before = children_cpu();
    for _ in 0..runs {
        once();
    }
    reap_orphans();
    (children_cpu() - before) / runs as u32
}

fn cpu_section(title: &str) {
    println!("\n## {title}");
    println!(
        "{:<14} {:<28} {:>10} {:>10} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7}",
        "hook", "input", "empty p50", "empty p99", "hook p50", "hook p99", "ratio", "empty CPU", "hook CPU", "ratio"
    );
}

fn report_cpu(
    name: &str,
    input: &str,
    base: &mut [Duration],
    ours: &mut [Duration],
    empty_cpu: Duration,
    hook_cpu: Duration,
) {
    let (b50, b99) = (percentile(base, 50.0), percentile(base, 99.0));
    let (o50, o99) = (percentile(ours, 50.0), percentile(ours, 99.0));
    println!(
        "{name:<14} {input:<28} {:>10} {:>10} {:>10} {:>10} {:>6.2}x {:>10} {:>10} {:>6.2}x",
        us(b50),
        us(b99),
        us(o50),
        us(o99),
        o50.as_secs_f64() / b50.as_secs_f64(),
        us(empty_cpu),
        us(hook_cpu),
        hook_cpu.as_secs_f64() / empty_cpu.as_secs_f64().max(1e-9)
    );
}
