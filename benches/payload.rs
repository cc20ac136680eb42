//! What reading a payload costs in process: parsed at once (the hooks' shortcut,
//! `payload::whole_object`) against member by member, best of five rounds, in one run. The real
//! payloads take the shortcut; warm and repeated here it saves about a tenth (in a hook, run once
//! and cold, callgrind counts a quarter fewer instructions for the parse), so their ratios are
//! shown, not held to a target. Payloads far over the field cap are refused the shortcut, which must
//! cost nothing while it finds that out: it once scanned a 10 MiB payload twice first (1.3x).
//! Standard library only.
//!
//!     cargo bench --bench payload

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use claude_session::payload::Payload;

const FIELD_MAX: usize = 16 * 1024;

/// A payload over the cap: the ratio (at once / member by member) must stay under this.
const OVER_CAP_TARGET: f64 = 1.1;

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330");
    let mut cases: Vec<(String, Vec<u8>, Option<f64>)> = Vec::new();
    for name in ["SessionStart-startup.json", "PreToolUse-Bash.json", "PostToolUse-Bash.json", "PostToolUse-Agent.json"]
    {
        cases.push((name.into(), std::fs::read(fixtures.join(name)).unwrap(), None));
    }
    let big = format!(r#"{{"hook_event_name":"PostToolUse","tool_response":"{}"}}"#, "x".repeat(10 << 20));
    cases.push(("a 10 MiB tool_response".into(), big.into_bytes(), Some(OVER_CAP_TARGET)));
    let member = r#""k":[1,"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",{"a":[1,2,3]}]"#;
    let many = format!("{{{}}}", vec![member; 100_000].join(","));
    cases.push(("100,000 members (9 MB)".into(), many.into_bytes(), Some(OVER_CAP_TARGET)));

    println!("{:<28} {:>14} {:>18} {:>8} {:>8}", "payload", "at once", "member by member", "ratio", "target");
    let mut missed = Vec::new();
    for (name, bytes, target) in &cases {
        let rounds = if bytes.len() > 1 << 20 { 3 } else { 20_000 };
        let at_once = best(rounds, || Payload::parse(black_box(bytes), FIELD_MAX));
        let by_members = best(rounds, || Payload::parse_member_by_member(black_box(bytes), FIELD_MAX));
        let ratio = at_once / by_members;
        let shown = target.map_or("-".into(), |t| format!("{t:.2}x"));
        println!("{name:<28} {:>14} {:>18} {ratio:>7.2}x {shown:>8}", time(at_once), time(by_members));
        if let Some(target) = target
            && ratio >= *target
        {
            missed.push(format!("{name}: {ratio:.2}x (target < {target}x)"));
        }
    }
    if missed.is_empty() {
        println!("every case is within its target");
    }
    for miss in missed {
        println!("MISSED {miss}");
    }
}

/// Seconds per call of `f`, best of 5 rounds of `n` calls.
fn best<T>(n: u32, mut f: impl FnMut() -> T) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                black_box(f());
            }
            start.elapsed().as_secs_f64() / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn time(seconds: f64) -> String {
    if seconds < 1e-3 { format!("{:.1} µs", seconds * 1e6) } else { format!("{:.2} ms", seconds * 1e3) }
}
