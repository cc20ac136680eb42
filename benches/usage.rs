//! What a session's usage costs to read when its transcript is 100 MB: `show --timeline` (the
//! same ledger code the deliverer runs for a Stop) the first time, which reads the whole
//! transcript once, against `cat` of the same file; then again after a turn was appended, which
//! reads only the new bytes, against the same command over a two-line transcript. Memory is the
//! process's peak, which must not grow with the transcript. Times are CPU times (user and system,
//! the cheapest of a few runs; rusage counts in ticks of the kernel, so tiny runs read coarse).
//! Ratios and peaks measured in one run; standard library and nix only.
//!
//!     cargo bench --bench usage

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::resource::{UsageWho, getrusage};

const BIN: &str = env!("CARGO_BIN_EXE_claude-session");
/// The transcript's size.
const SIZE: u64 = 100 << 20;
/// The first read may cost this many times a `cat` of the file.
const FIRST_TARGET: f64 = 10.0;
/// A read after one appended turn may cost this share of the first: what was read before is not
/// read again. What it costs is loading and saving the ledger, about 2 µs a turn (a thousand
/// here), not the transcript's bytes. (The same command over a two-line transcript is shown
/// beside it.)
const AGAIN_TARGET: f64 = 0.1;
/// The peak resident memory of a run, in MiB: bounded, whatever the transcript's size.
const PEAK_TARGET_MIB: f64 = 64.0;

fn main() {
    let root = std::env::temp_dir().join(format!("claude-session-bench-usage-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let home = root.join("home");
    let state = root.join("state");
    let work = root.join("work");
    for d in [&home, &state, &work] {
        fs::create_dir_all(d).unwrap();
    }
    let transcript = home.join(".claude/projects/-work/bench.jsonl");
    fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    let turns = write_transcript(&transcript);
    let small = transcript.with_file_name("small.jsonl");
    fs::write(&small, format!("{}\n{}\n", line_user(0), line_assistant(0, 0))).unwrap();
    let env = Env { home, state, work };
    for (session, path) in [("bench", &transcript), ("small", &small)] {
        for event in ["UserPromptSubmit", "Stop"] {
            let payload = format!(
                r#"{{"hook_event_name":"{event}","session_id":"{session}","cwd":"{}","prompt_id":"p{}","transcript_path":"{}"}}"#,
                env.work.display(),
                turns - 1,
                path.display()
            );
            env.run(&["session-start"], payload.as_bytes());
        }
    }
    env.run(&["show", "--timeline", "small", "--json"], b"");
    let floor = best(5, || env.run(&["show", "--timeline", "small", "--json"], b""));

    // Best of three, each from no ledger (the first read), and of five, each after one more
    // turn (the reads that follow).
    let ledgers = env.state.join("claude-session/logs/usage");
    let cat = best(3, || env.cat(&transcript));
    let cat_peak = peak_mib();
    let first = best(3, || {
        let _ = fs::remove_dir_all(&ledgers);
        env.run(&["show", "--timeline", "bench", "--json"], b"")
    });
    let first_peak = peak_mib();
    let mut appended = turns;
    let again = best(5, || {
        let mut file = fs::OpenOptions::new().append(true).open(&transcript).unwrap();
        let turn = format!("{}\n{}\n", line_user(appended), line_assistant(appended, appended));
        file.write_all(turn.as_bytes()).unwrap();
        appended += 1;
        env.run(&["show", "--timeline", "bench", "--json"], b"")
    });
    let out = env.run(&["show", "--timeline", "bench", "--json"], b"");
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let responses = v["usage"]["total"]["responses"].as_u64().unwrap_or(0);
    assert_eq!(responses, appended, "every response counted once");

    let size = fs::metadata(&transcript).unwrap().len() as f64 / (1 << 20) as f64;
    println!("transcript: {size:.0} MiB, {appended} responses");
    println!("{:<34} {:>10} {:>8} {:>8}", "run", "CPU time", "ratio", "target");
    println!("{:<34} {:>10} {:>8} {:>8}", "cat (the floor)", ms(cat), "1.00x", "-");
    let first_ratio = first / cat;
    println!("{:<34} {:>10} {:>7.2}x {:>7.1}x", "show, first read (all of it)", ms(first), first_ratio, FIRST_TARGET);
    let again_ratio = again / first;
    println!("{:<34} {:>10} {:>8} {:>8}", "show, a 2-line transcript", ms(floor), "-", "-");
    println!(
        "{:<34} {:>10} {:>7.3}x {:>7.2}x  (of the first read)",
        "show, after one more turn",
        ms(again),
        again_ratio,
        AGAIN_TARGET
    );
    println!("peak memory: cat {cat_peak:.1} MiB, show {first_peak:.1} MiB (target < {PEAK_TARGET_MIB} MiB)");
    let mut missed = Vec::new();
    if first_ratio >= FIRST_TARGET {
        missed.push(format!("first read {first_ratio:.2}x cat"));
    }
    if again_ratio >= AGAIN_TARGET {
        missed.push(format!("read after a turn {again_ratio:.3}x the first"));
    }
    if first_peak >= PEAK_TARGET_MIB {
        missed.push(format!("peak {first_peak:.1} MiB"));
    }
    if missed.is_empty() {
        println!("every case is within its target");
    }
    for m in missed {
        println!("MISSED {m}");
    }
    let _ = fs::remove_dir_all(&root);
}

struct Env {
    home: PathBuf,
    state: PathBuf,
    work: PathBuf,
}

impl Env {
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("XDG_STATE_HOME", &self.state)
            .env("XDG_RUNTIME_DIR", &self.state)
            .current_dir(&self.work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let mut child = self.command(BIN).args(args).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}");
        out.stdout
    }

    fn cat(&self, path: &Path) -> Vec<u8> {
        let mut cmd = self.command("cat");
        cmd.arg(path).stdout(Stdio::null());
        assert!(cmd.status().unwrap().success());
        Vec::new()
    }
}

/// CPU seconds (user and system) of the cheapest of `n` runs of `f`, counted for the children it
/// waited for: on a shared machine wall time measures the neighbours.
fn best<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..n)
        .map(|_| {
            let before = cpu();
            std::hint::black_box(f());
            cpu() - before
        })
        .fold(f64::INFINITY, f64::min)
}

/// CPU seconds of every child waited for so far.
fn cpu() -> f64 {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// The largest peak resident size of any child waited for so far.
fn peak_mib() -> f64 {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    usage.max_rss() as f64 / 1024.0
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1e3)
}

fn line_user(turn: u64) -> String {
    format!(
        r#"{{"type":"user","promptId":"p{turn}","message":{{"role":"user","content":"go on"}},"timestamp":"2026-12-05T10:00:00.000Z"}}"#
    )
}

fn line_assistant(turn: u64, n: u64) -> String {
    format!(
        r#"{{"type":"assistant","requestId":"req_{n}","timestamp":"2026-12-05T10:00:01.000Z","message":{{"id":"msg_{n}","model":"claude-opus-5-5","content":[{{"type":"text","text":"turn {turn}"}}],"usage":{{"input_tokens":3,"output_tokens":200,"cache_creation_input_tokens":500,"cache_read_input_tokens":40000}}}}}}"#
    )
}

/// A transcript of SIZE bytes: turns of a prompt, a response written as two lines, and a 100 KB
/// tool result (what makes real transcripts big). Returns the number of turns.
fn write_transcript(path: &Path) -> u64 {
    let mut out = BufWriter::new(File::create(path).unwrap());
    let result = format!(
        r#"{{"type":"user","promptId":"PROMPT","message":{{"role":"user","content":[{{"type":"tool_result","content":"{}"}}]}}}}"#,
        "r".repeat(100_000)
    );
    let mut written = 0u64;
    let mut turn = 0;
    while written < SIZE {
        let a = line_assistant(turn, turn);
        let lines = [line_user(turn), a.clone(), a, result.replace("PROMPT", &format!("p{turn}"))];
        for l in lines {
            out.write_all(l.as_bytes()).unwrap();
            out.write_all(b"\n").unwrap();
            written += l.len() as u64 + 1;
        }
        turn += 1;
    }
    out.flush().unwrap();
    turn
}
