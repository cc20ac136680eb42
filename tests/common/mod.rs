//! The test environment: each test gets its own temp directories, a clean environment, and the
//! real binary symlinked under every applet name, as Claude Code and cron run it.
#![allow(dead_code)]

pub mod backends;
pub mod claude;
pub mod deps;
pub mod server;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub const BIN: &str = env!("CARGO_BIN_EXE_claude-session");
pub const APPLETS: &[&str] = &["session-start", "pre-tool", "post-tool", "cleanup", "show"];
pub const HOOKS: &[&str] = &["session-start", "pre-tool", "post-tool"];

/// The real Claude Code payloads, vendored into the repository.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330")
}

pub fn fixture(name: &str) -> Vec<u8> {
    fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Every single-event fixture, by file name.
pub fn fixture_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("json")))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "fixtures missing");
    files
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

pub struct TestEnv {
    pub root: PathBuf,
    pub home: PathBuf,
    /// `$XDG_RUNTIME_DIR`: the store is `run/claude-session`.
    pub run: PathBuf,
    /// `$XDG_STATE_HOME`: the journal is `state/claude-session/logs`.
    pub state: PathBuf,
    pub bin: PathBuf,
    /// The working directory commands start in (a project with no git).
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        static N: AtomicU32 = AtomicU32::new(0);
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(sweep_dead_runs);
        // In the system's temp dir, outside any git checkout: a project's root is then the test's
        // own working directory, as on a user's machine.
        let root = std::env::temp_dir().join(format!(
            "{TEST_PREFIX}{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&root);
        let env = TestEnv {
            home: root.join("home"),
            run: root.join("run"),
            state: root.join("state"),
            bin: root.join("bin"),
            cwd: root.join("work"),
            root,
            env: BTreeMap::new(),
        };
        for dir in [&env.home, &env.run, &env.state, &env.bin, &env.cwd] {
            fs::create_dir_all(dir).unwrap();
        }
        fs::set_permissions(&env.run, fs::Permissions::from_mode(0o700)).unwrap();
        for applet in APPLETS {
            symlink(BIN, env.bin.join(applet)).unwrap();
        }
        symlink(BIN, env.bin.join("claude-session")).unwrap();
        env
    }

    pub fn set(&mut self, key: &str, value: impl AsRef<OsStr>) -> &mut Self {
        self.env.insert(key.into(), value.as_ref().to_string_lossy().into_owned());
        self
    }

    pub fn store(&self) -> PathBuf {
        self.env.get("CLAUDE_SESSION_DIR").map(PathBuf::from).unwrap_or_else(|| self.run.join("claude-session"))
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.env
            .get("CLAUDE_SESSION_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.state.join("claude-session/logs"))
    }

    /// A clean environment: only what a hook would see from Claude Code, plus `self.env`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.display()))
            .env("HOME", &self.home)
            .env("USER", "tester")
            .env("XDG_RUNTIME_DIR", &self.run)
            .env("XDG_STATE_HOME", &self.state)
            .envs(&self.env)
            .current_dir(&self.cwd);
        cmd
    }

    /// Runs an applet by its symlink (as Claude Code does) with `stdin` piped in.
    pub fn run(&self, applet: &str, args: &[&str], stdin: &[u8]) -> Output {
        let mut cmd = self.command(self.bin.join(applet));
        cmd.args(args);
        feed(cmd, stdin)
    }

    /// Runs a hook and checks the contract: exit 0, nothing on stdout.
    pub fn hook(&self, applet: &str, stdin: &[u8]) -> Output {
        let out = self.run(applet, &[], stdin);
        assert_eq!(out.status.code(), Some(0), "{applet}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{applet} printed {:?}", String::from_utf8_lossy(&out.stdout));
        out
    }

    /// `show` for a project directory: (stdout without the newline, exit code).
    pub fn show(&self, project_dir: &str) -> (String, i32) {
        let mut cmd = self.command(self.bin.join("show"));
        cmd.env("CLAUDE_PROJECT_DIR", project_dir);
        let out = feed(cmd, b"");
        (String::from_utf8_lossy(&out.stdout).trim_end().to_owned(), out.status.code().unwrap_or(-1))
    }

    /// Every journal line of every day file and then of the late files, parsed. Each file ends whole.
    pub fn journal(&self) -> Vec<serde_json::Value> {
        let (dir, late) = (self.journal_dir(), self.journal_dir().join("late"));
        let days = list(&dir).into_iter().filter(|n| n.ends_with(".jsonl")).map(|n| dir.join(n));
        // Lines a hook could not append in time, one file each, until `cleanup` folds them in.
        let late = list(&late).into_iter().filter(|n| n.ends_with(".jsonl")).map(|n| late.join(n));
        let mut lines = Vec::new();
        for path in days.chain(late) {
            let text = fs::read_to_string(&path).unwrap();
            assert!(text.is_empty() || text.ends_with('\n'), "torn tail in {}", path.display());
            lines.extend(text.lines().map(|l| json(l.as_bytes())));
        }
        lines
    }

    /// The queues of `sink` (`dashboard`, `otlp-logs`, `otlp-traces`) in the outbox, one per
    /// destination (`<sink>-<16 hex>`), sorted.
    pub fn queues(&self, sink: &str) -> Vec<PathBuf> {
        let outbox = self.journal_dir().join("outbox");
        let prefix = format!("{sink}-");
        let ours = |n: &str| {
            n.strip_prefix(&prefix).is_some_and(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        list(&outbox).into_iter().filter(|n| ours(n)).map(|n| outbox.join(n)).collect()
    }

    /// The queue of `sink`'s one destination: the directory a test's hooks queue in.
    pub fn queue(&self, sink: &str) -> PathBuf {
        let queues = self.queues(sink);
        assert_eq!(queues.len(), 1, "one {sink} queue expected in {:?}", list(&self.journal_dir().join("outbox")));
        queues.into_iter().next().unwrap()
    }

    /// Names in the store directory, sorted.
    pub fn store_names(&self) -> Vec<String> {
        list(&self.store())
    }

    /// The only session file in the store, as text.
    pub fn only_session_file(&self) -> (PathBuf, String) {
        let names: Vec<_> = self.store_names().into_iter().filter(|n| !n.starts_with('.')).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let path = self.store().join(&names[0]);
        let text = fs::read_to_string(&path).unwrap();
        (path, text)
    }
}

const TEST_PREFIX: &str = "claude-session-test-";

/// Removes what earlier test processes left (a run killed mid-test, or a deliverer that wrote
/// after its test's directory was removed): every test directory whose process is gone.
fn sweep_dead_runs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(TEST_PREFIX).and_then(|r| r.split('-').next()?.parse::<i32>().ok()) else {
            continue;
        };
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH);
        if gone {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

pub fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// Runs `cmd` with `stdin` written from a thread, so a big input cannot deadlock the pipes; a
/// process still running after ten minutes fails the test rather than hanging it.
pub fn feed(cmd: Command, stdin: &[u8]) -> Output {
    within(cmd, stdin, std::time::Duration::from_secs(600))
}

/// A payload of one event.
pub fn payload(event: &str, session: Option<&str>, cwd: &str, extra: serde_json::Value) -> Vec<u8> {
    let mut v = serde_json::json!({ "hook_event_name": event, "cwd": cwd });
    if let Some(id) = session {
        v["session_id"] = id.into();
    }
    if let serde_json::Value::Object(extra) = extra {
        for (k, x) in extra {
            v[k] = x;
        }
    }
    let mut bytes = serde_json::to_vec(&v).unwrap();
    bytes.push(b'\n');
    bytes
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The four recorded sessions, in order, one payload each line.
pub fn recorded() -> Vec<serde_json::Value> {
    let text = fs::read_to_string(fixtures().join("recorded-sessions.jsonl")).unwrap();
    text.lines().map(|l| json(l.as_bytes())).collect()
}

/// The applet install wires an event to, from the binary's own table (`session-start` for events
/// it does not wire).
pub fn applet_for(event: &serde_json::Value) -> &'static str {
    let name = event["hook_event_name"].as_str().unwrap_or("");
    claude_session::applets::wiring().find(|(e, _)| *e == name).map_or("session-start", |(_, applet)| applet.name)
}

/// Feeds each event to its applet, as Claude Code would, checking the hook contract.
pub fn replay(env: &TestEnv, events: &[serde_json::Value]) {
    for event in events {
        let mut bytes = serde_json::to_vec(event).unwrap();
        bytes.push(b'\n');
        env.hook(applet_for(event), &bytes);
    }
}

/// A `crontab` that keeps the table in a file: tests never touch the machine's real crontab.
pub fn fake_crontab(env: &mut TestEnv) -> PathBuf {
    let table = env.root.join("crontab.txt");
    let script = env.bin.join("crontab");
    fs::write(
        &script,
        "#!/bin/sh\nf=\"$CRONTAB_FILE\"\ncase \"$1\" in\n  -l) [ -f \"$f\" ] || { echo \"no crontab for $USER\" >&2; exit 1; }; cat \"$f\" ;;\n  -) t=$(cat); printf '%s\\n' \"$t\" > \"$f\" ;;\n  *) exit 2 ;;\nesac\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    env.set("CRONTAB_FILE", &table);
    table
}

/// Runs `cmd` with `stdin` piped in, killing it and failing the test if it has not finished
/// within `limit`: a hang detector (what these tests guard against never returned), not a
/// speed claim.
pub fn within(mut cmd: Command, stdin: &[u8], limit: std::time::Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

/// [`within`], with the command's address space limited to `bytes` (as `prlimit --as` does).
pub fn within_address_space(mut cmd: Command, bytes: u64, stdin: &[u8]) -> Output {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_AS, bytes, bytes)
                .map_err(std::io::Error::from)
        });
    }
    within(cmd, stdin, std::time::Duration::from_secs(600))
}

/// `cmd` made into a process group of its own with a watchdog: the group is killed when the test
/// process dies, even by SIGKILL (a `timeout` around `cargo test`), when Drop never runs. Servers
/// such as MLflow start grandchildren that outlive a killed parent; left behind, each run of the
/// suite would add a tree of them. Kill the group with [`kill_group`].
pub fn guarded(cmd: &Command) -> Command {
    // sh is the group's leader: it starts the program, then waits while both the test and the
    // program live, then kills the whole group, itself included.
    let script = r#"test=$1; shift; "$@" & child=$!
while kill -0 "$test" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill -9 -$$"#;
    let mut guarded = Command::new("/bin/sh");
    guarded.arg("-c").arg(script).arg("sh").arg(std::process::id().to_string());
    guarded.arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => guarded.env(k, v),
            None => guarded.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        guarded.current_dir(dir);
    }
    std::os::unix::process::CommandExt::process_group(&mut guarded, 0);
    guarded
}

/// Kills the process group a [`guarded`] command leads.
pub fn kill_group(child: &mut std::process::Child) {
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGKILL);
    let _ = child.wait();
}
