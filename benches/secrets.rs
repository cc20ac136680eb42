//! What the secrets filter costs: in process on the real hook payloads (ns per hook, next to
//! parsing them), on a 10 MiB value (MB/s), and the whole `post-tool` process with the filter on
//! against off, interleaved so both see the same machine. Also what wiring the watched events
//! (issue 14) costs a session: each event's whole-process cost, and the recorded sessions replayed
//! with today's wiring and with the proposed one. Standard library only.
//!
//!     cargo bench --bench secrets               # everything
//!     cargo bench --bench secrets -- hook big   # sections: hook big process wiring corpus
//!
//! `corpus` is the false-positive measure, over pinned inputs anyone can have: the crates of
//! Cargo.lock and fuzz/Cargo.lock (fetched when missing) and the site-packages of two venvs the
//! tests make with pinned packages (MLflow, the OTLP schema), plus `$SECRETS_CORPUS_EXTRA` (paths
//! joined by `:`, machine-specific, never compared). Every text file goes through the filter whole,
//! as a Read's content would; every marker there is a false positive (or a real secret someone
//! shipped). It prints the inputs it read (each crate and Python distribution with its version),
//! the rate per MB and per line and counts by kind, compares the marks with the checked-in list of
//! known cases (benches/secrets-corpus-known.txt) and prints each new mark and each listed one not
//! found; each marked line, before and after, goes to `target/secrets-corpus.txt`. Not part of a
//! default run.

use std::fs;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use claude_session::payload::Payload;

// The tests' cache of Python venvs: the corpus reads two of them.
#[path = "../tests/common/deps.rs"]
mod deps;
use claude_session::secrets;

const FIELD_MAX: usize = 16 * 1024;

fn main() {
    // Section names to run (`cargo bench --bench secrets -- big`); none: all of them.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330");
    let sections: [(&str, Section); 5] =
        [("hook", in_process), ("big", big), ("process", whole_process), ("wiring", wiring), ("corpus", corpus)];
    for (name, run) in sections {
        // The corpus takes minutes: only when asked for by name.
        if wanted(name) && (name != "corpus" || !filter.is_empty()) {
            run(&fixtures);
        }
    }
}

type Section = fn(&Path);

/// Nanoseconds per call of `f`, best of 5 rounds of `n` calls.
fn ns_per(n: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn in_process(fixtures: &Path) {
    println!("\n== in process: redact_fields on a parsed payload (clean: nothing to replace)");
    for name in ["PreToolUse-Bash.json", "PostToolUse-Bash.json", "PostToolUse-subagent-Agent.json"] {
        let bytes = fs::read(fixtures.join(name)).unwrap();
        let parse = ns_per(20_000, || {
            black_box(Payload::parse(black_box(&bytes), FIELD_MAX));
        });
        let mut payload = Payload::parse(&bytes, FIELD_MAX);
        // A clean payload is never changed, so the same one can be filtered again and again.
        let filter = ns_per(100_000, || {
            black_box(secrets::redact_fields(black_box(&mut payload.fields)));
        });
        println!(
            "{name:<34} {:>5} bytes  parse {parse:>7.0} ns  filter {filter:>6.0} ns  ({:.0}% of parsing)",
            bytes.len(),
            100.0 * filter / parse
        );
    }
    let text = "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY && curl -H \
        'Authorization: Bearer ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d' https://api.github.com/user";
    let dirty = ns_per(100_000, || {
        black_box(secrets::redact_text(black_box(text)));
    });
    println!("a {}-byte command holding 2 secrets: {dirty:.0} ns", text.len());
}

/// 10 MiB of what tools print (this crate's source and the recorded transcript, repeated), clean
/// and with a secret every 64 KiB.
fn big(fixtures: &Path) {
    println!("\n== a 10 MiB value: redact_text");
    let mut corpus = String::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("secrets.rs") {
            corpus.push_str(&fs::read_to_string(path).unwrap());
        }
    }
    let transcript = fixtures.join("transcript");
    for entry in fs::read_dir(&transcript).unwrap() {
        corpus.push_str(&fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let mut clean = String::with_capacity(10 << 20);
    while clean.len() < 10 << 20 {
        clean.push_str(&corpus);
    }
    let cut = (0..=10 << 20).rev().find(|&i| clean.is_char_boundary(i)).unwrap();
    clean.truncate(cut);
    let found = secrets::redact_text(&clean).map(|t| t.matches("[redacted: ").count()).unwrap_or(0);
    report("clean text", &clean, found);

    let mut dirty = String::with_capacity(clean.len() + 4096);
    for (i, chunk) in clean.as_bytes().chunks(64 << 10).enumerate() {
        dirty.push_str(&String::from_utf8_lossy(chunk));
        dirty.push_str(if i % 2 == 0 {
            " GITHUB_TOKEN=ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d "
        } else {
            " password=hunter2 "
        });
    }
    let found = secrets::redact_text(&dirty).map(|t| t.matches("[redacted: ").count()).unwrap_or(0);
    report("a secret every 64 KiB", &dirty, found);
}

/// The venvs of the corpus: the ones the tests make, with the same pins (tests/common/backends.rs,
/// tests/otlp.rs), so the test cache already holds them.
const CORPUS_VENVS: &[(&str, &[&str])] =
    &[("mlflow", &["mlflow==3.17.2"]), ("otlp-schema", &["opentelemetry-proto==1.45.2", "protobuf==7.36.2"])];

/// The checked-in list of lines the corpus still marks, each a known case.
const KNOWN: &str = "benches/secrets-corpus-known.txt";

/// One root of the corpus: its name in the listing (`cargo`, `venv-mlflow`, `extra:/usr/share/doc`),
/// its directory, and whether its marks are compared with the known list (pinned inputs only).
struct Input {
    name: String,
    dir: PathBuf,
    pinned: bool,
}

/// The false-positive rate over real code and text (see the module's comment).
fn corpus(_: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = Vec::new();
    let mut read_list = String::new();
    // The crates both Cargo.lock files pin, each as `cargo fetch` unpacks it.
    let crates = locked_crates(root);
    let registry = cargo_home().join("registry/src");
    let find = |c: &str| fs::read_dir(&registry).ok()?.flatten().map(|index| index.path().join(c)).find(|d| d.is_dir());
    if crates.iter().any(|c| find(c).is_none()) {
        for manifest in ["Cargo.toml", "fuzz/Cargo.toml"] {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let _ =
                Command::new(cargo).args(["fetch", "--locked", "--manifest-path"]).arg(root.join(manifest)).status();
        }
    }
    let mut crate_dirs = Vec::new();
    for c in &crates {
        match find(c) {
            Some(dir) => crate_dirs.push(dir),
            None => read_list.push_str(&format!("# missing crate {c} (cargo fetch could not get it)\n")),
        }
    }
    read_list.push_str(&format!(
        "# cargo: {} crates of Cargo.lock and fuzz/Cargo.lock: {}\n",
        crate_dirs.len(),
        crates.join(" ")
    ));
    for dir in crate_dirs {
        inputs.push(Input { name: "cargo".into(), dir, pinned: true });
    }
    // The venvs' site-packages, with every distribution installed there named.
    for (name, packages) in CORPUS_VENVS {
        let Some(python) = deps::or_skip(deps::venv(name, packages)) else { continue };
        let venv = python.parent().unwrap().parent().unwrap();
        let Some(site) = fs::read_dir(venv.join("lib"))
            .ok()
            .and_then(|d| d.flatten().map(|e| e.path().join("site-packages")).find(|s| s.is_dir()))
        else {
            continue;
        };
        let mut dists: Vec<String> = fs::read_dir(&site)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".dist-info").map(|d| d.replacen('-', "==", 1)))
            .collect();
        dists.sort();
        read_list.push_str(&format!("# venv-{name} ({}): {}\n", packages.join(" "), dists.join(" ")));
        inputs.push(Input { name: format!("venv-{name}"), dir: site, pinned: true });
    }
    // Anything else (machine-specific, e.g. /usr/share/doc): counted, listed, never compared.
    for extra in std::env::var("SECRETS_CORPUS_EXTRA").unwrap_or_default().split(':').filter(|r| !r.is_empty()) {
        read_list.push_str(&format!("# extra (not compared with the known list): {extra}\n"));
        inputs.push(Input { name: format!("extra:{extra}"), dir: PathBuf::from(extra), pinned: false });
    }

    let (mut bytes, mut lines, mut read) = (0usize, 0usize, 0usize);
    let (mut marked_files, mut marked_lines) = (0usize, 0usize);
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    let mut log = String::new();
    // Each pinned mark as the known list writes it: `input/path: + the line as marked`.
    let mut marks: Vec<String> = Vec::new();
    let start = Instant::now();
    for input in &inputs {
        let mut files = Vec::new();
        walk(&input.dir, &mut files);
        files.sort();
        let base = if input.name == "cargo" { input.dir.parent().unwrap() } else { &input.dir };
        for path in &files {
            let Ok(data) = fs::read(path) else { continue };
            if data.len() > 1 << 20 || data.contains(&0) {
                continue;
            }
            let text = String::from_utf8_lossy(&data);
            read += 1;
            bytes += text.len();
            lines += text.lines().count();
            let Some(clean) = secrets::redact_text(&text) else { continue };
            marked_files += 1;
            let shown_path = format!("{}/{}", input.name, path.strip_prefix(base).unwrap().display());
            let originals: Vec<&str> = text.lines().collect();
            let cleaned: Vec<&str> = clean.lines().collect();
            for (n, line) in cleaned.iter().enumerate().filter(|(_, l)| l.contains("[redacted: ")) {
                marked_lines += 1;
                // The line as it was, when a match did not span lines.
                if originals.len() == cleaned.len() {
                    log.push_str(&format!("{shown_path}: - {}\n", around(originals[n], line.find("[redacted: "))));
                }
                for kind in line.split("[redacted: ").skip(1).filter_map(|k| k.split(']').next()) {
                    *kinds.entry(kind.to_owned()).or_default() += 1;
                }
                let mark = format!("{shown_path}: + {}", around(line, line.find("[redacted: ")));
                log.push_str(&mark);
                log.push('\n');
                if input.pinned {
                    marks.push(mark);
                }
            }
        }
    }
    let mb = bytes as f64 / 1e6;
    print!("\n== false positives, inputs read:\n{read_list}");
    println!("{read} files, {mb:.1} MB, {lines} lines, in {:.1} s", start.elapsed().as_secs_f64());
    println!(
        "files with a marker {marked_files} ({:.3}%), lines {marked_lines} ({:.4}% of lines, {:.2} per MB)",
        100.0 * marked_files as f64 / read.max(1) as f64,
        100.0 * marked_lines as f64 / lines.max(1) as f64,
        marked_lines as f64 / mb.max(1e-9)
    );
    for (kind, n) in &kinds {
        println!("  {kind:<20} {n}");
    }
    // Against the known list: a mark it does not hold is new; one it holds that is gone is fixed
    // (or its input changed: the list's head names the inputs it was made from).
    let known_text = fs::read_to_string(root.join(KNOWN)).unwrap_or_default();
    let named_inputs = |text: &str| -> Vec<String> {
        text.lines().filter(|l| l.starts_with("# cargo:") || l.starts_with("# venv-")).map(str::to_owned).collect()
    };
    let (theirs, ours) = (named_inputs(&known_text), named_inputs(&read_list));
    if theirs == ours {
        println!("inputs: the same crates and distributions as {KNOWN} was made from");
    } else {
        println!("inputs differ from those {KNOWN} was made from (marks may differ for that reason):");
        for line in ours.iter().filter(|l| !theirs.contains(l)) {
            println!("  here: {}", line.chars().take(300).collect::<String>());
        }
        for line in theirs.iter().filter(|l| !ours.contains(l)) {
            println!("  list: {}", line.chars().take(300).collect::<String>());
        }
    }
    let mut known: Vec<&str> = known_text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let mut new = Vec::new();
    for mark in &marks {
        match known.iter().position(|k| k == mark) {
            Some(i) => {
                known.swap_remove(i);
            }
            None => new.push(mark.as_str()),
        }
    }
    println!(
        "against {KNOWN}: {} marks listed and found, {} new (not listed), {} listed and not found",
        marks.len() - new.len(),
        new.len(),
        known.len()
    );
    for mark in &new {
        println!("  new:       {mark}");
    }
    for mark in &known {
        println!("  not found: {mark}");
    }
    let out = root.join("target/secrets-corpus.txt");
    fs::write(&out, read_list + &log).unwrap();
    println!("each marked line, before (-) and after (+): {}", out.display());
}

/// At most 200 characters of `line` around byte `at` (where its first marker starts).
fn around(line: &str, at: Option<usize>) -> String {
    let line = line.trim_end();
    let at = at.unwrap_or(0).min(line.len());
    let from = (0..=at.saturating_sub(100)).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
    line[from..].trim_start().chars().take(200).collect()
}

/// `name-version` of every crates.io package in the project's and the fuzzers' Cargo.lock.
fn locked_crates(root: &Path) -> Vec<String> {
    let mut crates = Vec::new();
    for lock in ["Cargo.lock", "fuzz/Cargo.lock"] {
        let text = fs::read_to_string(root.join(lock)).unwrap_or_default();
        for package in text.split("[[package]]").skip(1) {
            let field =
                |key: &str| package.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = \"")?.strip_suffix('"'));
            if let (Some(name), Some(version), Some(_)) = (field("name"), field("version"), field("source")) {
                crates.push(format!("{name}-{version}"));
            }
        }
    }
    crates.sort();
    crates.dedup();
    crates
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"))
}

/// Every regular file below `dir` (links not followed).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            walk(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn report(what: &str, text: &str, found: usize) {
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            black_box(secrets::redact_text(black_box(text)));
            start.elapsed()
        })
        .min()
        .unwrap();
    let mbs = text.len() as f64 / 1e6 / best.as_secs_f64();
    println!(
        "{what:<24} {:.1} MiB in {:>6.1} ms: {mbs:>6.0} MB/s ({found} markers)",
        text.len() as f64 / (1 << 20) as f64,
        best.as_secs_f64() * 1e3
    );
}

/// `post-tool` as Claude Code runs it, filter on and off, alternating run by run.
fn whole_process(fixtures: &Path) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_claude-session"));
    let root = std::env::temp_dir().join(format!("claude-session-bench-secrets-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    for dir in ["run", "state", "home", "work"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    let post = fs::read(fixtures.join("PostToolUse-Bash.json")).unwrap();
    let mut big = serde_json::from_slice::<serde_json::Value>(&post).unwrap();
    big["tool_response"]["stdout"] = "0123456789abcdef ".repeat(10 << 20 >> 4).into();
    let big = serde_json::to_vec(&big).unwrap();
    println!("\n== whole process: post-tool, filter on vs CLAUDE_SESSION_SECRETS_FILTER=0, interleaved");
    for (what, input, runs) in [("PostToolUse-Bash.json", &post, 1500), ("10 MiB tool_response", &big, 40)] {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            on.push(run(&bin, &root, input, true));
            off.push(run(&bin, &root, input, false));
        }
        let (on_med, off_med) = (median(&mut on), median(&mut off));
        println!(
            "{what:<24} on {:>8.1} µs  off {:>8.1} µs  on/off {:.3}  (medians of {runs})",
            on_med.as_secs_f64() * 1e6,
            off_med.as_secs_f64() * 1e6,
            on_med.as_secs_f64() / off_med.as_secs_f64()
        );
    }
    let _ = fs::remove_dir_all(&root);
}

/// Events install wires today, and the ones issue 14 adds.
const WIRED: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
    "SubagentStop",
    "SessionEnd",
    "PreCompact",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
];
const ADDED: &[&str] =
    &["Notification", "PermissionRequest", "PermissionDenied", "SubagentStart", "PostCompact", "StopFailure"];

/// Each added event's whole-process cost next to a PreToolUse's, and the recorded sessions
/// replayed with today's wiring and with the added events.
fn wiring(fixtures: &Path) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_claude-session"));
    let root = std::env::temp_dir().join(format!("claude-session-bench-wiring-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    for dir in ["run", "state", "home", "work"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    // One session id for all: a changed id rewrites the store (fsync), which is not the event's cost.
    let fixture = |name: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(&fs::read(fixtures.join(name)).unwrap()).unwrap();
        v["session_id"] = "a3008a2b-25c3-4791-b916-3ad5effae209".into();
        serde_json::to_vec(&v).unwrap()
    };
    let made = |json: &str| json.as_bytes().to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("PreToolUse (reference)", fixture("PreToolUse-Bash.json")),
        (
            "Notification",
            made(
                r#"{"session_id":"a3008a2b-25c3-4791-b916-3ad5effae209","cwd":"/home/dev/src/proj","hook_event_name":"Notification","message":"Claude needs your permission to use Bash","notification_type":"permission_prompt"}"#,
            ),
        ),
        (
            "PermissionRequest",
            made(
                r#"{"session_id":"a3008a2b-25c3-4791-b916-3ad5effae209","cwd":"/home/dev/src/proj","hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"rm -rf build"},"permission_suggestions":[]}"#,
            ),
        ),
        (
            "PermissionDenied",
            made(
                r#"{"session_id":"a3008a2b-25c3-4791-b916-3ad5effae209","cwd":"/home/dev/src/proj","hook_event_name":"PermissionDenied","tool_name":"Bash","tool_input":{"command":"rm -rf build"},"tool_use_id":"toolu_1","reason":"destructive"}"#,
            ),
        ),
        ("SubagentStart", fixture("SubagentStart-subagent.json")),
        ("PostCompact", fixture("PostCompact.json")),
        (
            "StopFailure",
            made(
                r#"{"session_id":"a3008a2b-25c3-4791-b916-3ad5effae209","cwd":"/home/dev/src/proj","hook_event_name":"StopFailure","error":"rate_limit","error_details":"429"}"#,
            ),
        ),
    ];
    println!("\n== wiring: whole process per event (medians of 400, round-robin over the events)");
    let applet = |name: &str| match name {
        "PreToolUse" | "PermissionRequest" | "PermissionDenied" => "pre-tool",
        "PostToolUse" | "PostToolUseFailure" => "post-tool",
        _ => "session-start",
    };
    let mut runs: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..400 {
        for ((name, input), runs) in cases.iter().zip(&mut runs) {
            runs.push(run_applet(&bin, &root, applet(name.split(' ').next().unwrap()), input, true));
        }
    }
    let mut cost = std::collections::HashMap::new();
    for ((name, _), runs) in cases.iter().zip(&mut runs) {
        let m = median(runs);
        cost.insert(name.split(' ').next().unwrap(), m);
        println!("{name:<24} {:>8.1} µs", m.as_secs_f64() * 1e6);
    }
    let per_hook = cost["PreToolUse"];

    // Hooks per recorded session with today's wiring and with the added events (the recording
    // was made with every event wired), at the cost of a PreToolUse each.
    let text = fs::read_to_string(fixtures.join("recorded-sessions.jsonl")).unwrap();
    let events: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["hook_event_name"].as_str().unwrap().to_owned())
        .collect();
    // Four sessions, one of them resumed under the same id: count their ends.
    let sessions = events.iter().filter(|e| *e == "SessionEnd").count() as f64;
    for (what, set) in [("today's wiring", WIRED.to_vec()), ("with the added events", [WIRED, ADDED].concat())] {
        let hooks = events.iter().filter(|e| set.contains(&e.as_str())).count() as f64 / sessions;
        println!(
            "recorded sessions, {what:<22} {hooks:>4.2} hooks per session, {:>5.1} ms per session",
            hooks * per_hook.as_secs_f64() * 1e3
        );
    }
    let _ = fs::remove_dir_all(&root);
}

fn run(bin: &Path, root: &Path, input: &[u8], filter: bool) -> Duration {
    run_applet(bin, root, "post-tool", input, filter)
}

fn run_applet(bin: &Path, root: &Path, applet: &str, input: &[u8], filter: bool) -> Duration {
    let mut cmd = Command::new(bin);
    cmd.arg(applet)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", root.join("home"))
        .env("USER", "bench")
        .env("XDG_RUNTIME_DIR", root.join("run"))
        .env("XDG_STATE_HOME", root.join("state"))
        .current_dir(root.join("work"));
    if !filter {
        cmd.env("CLAUDE_SESSION_SECRETS_FILTER", "0");
    }
    let start = Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    drop(stdin);
    let mut sink = Vec::new();
    let _ = child.stdout.take().unwrap().read_to_end(&mut sink);
    let _ = child.stderr.take().unwrap().read_to_end(&mut sink);
    let status = child.wait().unwrap();
    let took = start.elapsed();
    assert!(status.success() && sink.is_empty(), "post-tool failed or printed");
    took
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
