//! Hooks killed at random points (SIGKILL, hundreds of times) leave nothing unreadable behind.

mod common;

use std::fs;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;

/// xorshift64: enough randomness for kill timings, without a dependency.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        Rng(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_sigkill_storm_leaves_a_readable_store_and_whole_journal_lines() {
    let mut env = TestEnv::new();
    // Big lines widen the window in which a kill can land inside the journal write.
    env.set("CLAUDE_SESSION_LOG_FIELD_MAX", "4000000");
    let project = "/work/storm";
    let mut rng = Rng::new();
    let (mut killed, mut finished, mut torn, mut ids) = (0, 0, 0, Vec::new());
    let deadline = Instant::now() + Duration::from_secs(40);
    for round in 0..300 {
        if Instant::now() > deadline {
            break;
        }
        // A new id each round: every hook rewrites the store (temp file, fsync, rename).
        let id = format!("storm-{round}");
        let size = [100, 100_000, 2_000_000][round % 3];
        let body = payload("SessionStart", Some(&id), project, json!({"tool_response": "k".repeat(size)}));
        ids.push(id);
        let mut child = env
            .command(env.bin.join("session-start"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        std::thread::sleep(Duration::from_micros(rng.below(4000)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let _ = writer.join();
        if status.code() == Some(0) {
            finished += 1
        } else {
            killed += 1
        }
        // Did this kill land inside the journal write? Then the next append must heal it.
        let journal = env.journal_dir();
        if let Some(name) = list(&journal).into_iter().find(|n| n.ends_with(".jsonl")) {
            let text = fs::read(journal.join(name)).unwrap();
            torn += usize::from(text.last().is_some_and(|&b| b != b'\n'));
        }
    }
    eprintln!("storm: {killed} killed, {finished} finished, {torn} torn journal tails");
    assert!(killed >= 30, "the storm must kill hooks mid-way: {killed} killed, {finished} finished");
    // Kills rarely land inside the write itself (a page-cache copy); when one does, the next
    // append heals it, which a_torn_tail_is_cut_before_the_next_line tests deterministically.

    // The store is always readable: a whole id that was written, or unknown.
    let (id, code) = env.show(project);
    assert!((code == 0 && ids.contains(&id)) || (code == 1 && id == "unknown"), "{id:?} {code}");

    // The journal holds only whole lines; a killed writer may leave a fragment at the very end.
    let journal = env.journal_dir();
    for name in list(&journal).iter().filter(|n| n.ends_with(".jsonl")) {
        let text = fs::read(journal.join(name)).unwrap();
        let complete = text.rsplit_once_newline();
        for line in complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            serde_json::from_slice::<serde_json::Value>(line).expect("a torn line in the journal");
        }
    }

    // cleanup removes the temp files of writers that died.
    env.run("cleanup", &[], b"");
    let leftovers: Vec<String> = env.store_names().into_iter().filter(|n| n.ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The next append heals any fragment: then every byte of the journal is whole lines.
    env.hook("session-start", &payload("SessionStart", Some("after"), project, json!({})));
    let mut lines = 0;
    for name in list(&journal).iter().filter(|n| n.ends_with(".jsonl")) {
        let text = fs::read_to_string(journal.join(name)).unwrap();
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("a torn line after healing");
            lines += 1;
        }
    }
    assert!(lines > finished / 2, "{lines} lines for {finished} finished hooks");
    assert_eq!(env.show(project), ("after".into(), 0));
}

trait CompleteLines {
    /// The bytes up to and including the last newline.
    fn rsplit_once_newline(&self) -> &[u8];
}

impl CompleteLines for Vec<u8> {
    fn rsplit_once_newline(&self) -> &[u8] {
        match self.iter().rposition(|&b| b == b'\n') {
            Some(i) => &self[..=i],
            None => &[],
        }
    }
}
