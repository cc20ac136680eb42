//! What the secrets filter costs: in process on the real hook payloads (ns per hook, next to
//! parsing them), on a 10 MiB value (MB/s), and the whole `post-tool` process with the filter on
//! against off, interleaved so both see the same machine. Also what wiring the watched events
//! (issue 14) costs a session: each event's whole-process cost, and the recorded sessions replayed
//! with today's wiring and with the proposed one. Standard library only.
//!
//!     cargo bench --bench secrets               # everything
//!     cargo bench --bench secrets -- hook big   # sections: hook big process wiring corpus
//!
//! `corpus` is the false-positive measure: every text file under `$SECRETS_CORPUS` (paths joined
//! by `:`; default: the cargo registry's sources, Python's site-packages and /usr/share/doc) goes
//! through the filter whole, as a Read's content would; every marker there is a false positive
//! (or a real secret someone shipped). The rate per MB and per line, counts by kind, and each
//! match with its line go to `target/secrets-corpus.txt` for review. Not part of a default run.

use std::fs;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use claude_session::payload::Payload;
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

/// The false-positive rate over real code and text (see the module's comment).
fn corpus(_: &Path) {
    let home = std::env::var("HOME").unwrap_or_default();
    let default = format!("{home}/.cargo/registry/src:/usr/lib/python3/dist-packages:/usr/local/lib:/usr/share/doc");
    let roots = std::env::var("SECRETS_CORPUS").unwrap_or(default);
    let mut files = Vec::new();
    for root in roots.split(':').filter(|r| !r.is_empty()) {
        walk(Path::new(root), &mut files);
    }
    files.sort();
    let (mut bytes, mut lines, mut read) = (0usize, 0usize, 0usize);
    let (mut marked_files, mut marked_lines) = (0usize, 0usize);
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    let mut log = String::new();
    let start = Instant::now();
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
        let originals: Vec<&str> = text.lines().collect();
        let cleaned: Vec<&str> = clean.lines().collect();
        for (n, line) in cleaned.iter().enumerate().filter(|(_, l)| l.contains("[redacted: ")) {
            marked_lines += 1;
            // The line as it was, when a match did not span lines.
            if originals.len() == cleaned.len() {
                let was: String = originals[n].trim().chars().take(200).collect();
                log.push_str(&format!("{}: - {was}\n", path.display()));
            }
            for kind in line.split("[redacted: ").skip(1).filter_map(|k| k.split(']').next()) {
                *kinds.entry(kind.to_owned()).or_default() += 1;
            }
            let shown: String = line.trim().chars().take(200).collect();
            log.push_str(&format!("{}: + {shown}\n", path.display()));
        }
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "\n== false positives: {read} files, {mb:.1} MB, {lines} lines, in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    println!(
        "files with a marker {marked_files} ({:.3}%), lines {marked_lines} ({:.4}% of lines, {:.2} per MB)",
        100.0 * marked_files as f64 / read.max(1) as f64,
        100.0 * marked_lines as f64 / lines.max(1) as f64,
        marked_lines as f64 / mb.max(1e-9)
    );
    for (kind, n) in &kinds {
        println!("  {kind:<20} {n}");
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/secrets-corpus.txt");
    fs::write(&out, log).unwrap();
    println!("each marked line: {}", out.display());
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
