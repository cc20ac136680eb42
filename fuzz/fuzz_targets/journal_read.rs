//! Reading the journal back (`show --sessions`, `show --timeline`) over any day file: torn,
//! hostile or foreign lines never panic, and every whole JSON line with a session id is counted
//! once, in the list of sessions and in that session's timeline.
#![no_main]

use std::collections::HashMap;

use claude_session::out::Report;
use claude_session::timeline;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("claude-session-fuzz-journal-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    std::fs::write(dir.join("2026-11-21.jsonl"), data).unwrap();

    // What the reader must find: whole lines (ending in a newline) that are UTF-8 JSON objects.
    let mut expected: HashMap<String, usize> = HashMap::new();
    let whole = match data.iter().rposition(|&b| b == b'\n') {
        Some(i) => &data[..=i],
        None => &[][..],
    };
    for line in whole.split_inclusive(|&b| b == b'\n') {
        if let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(line)
            && let Some(Value::String(id)) = v.get("session_id")
        {
            *expected.entry(id.clone()).or_default() += 1;
        }
    }

    let sessions = timeline::sessions(&dir, None).unwrap();
    let found: HashMap<String, usize> = sessions.sessions.iter().map(|s| (s.id.clone(), s.events)).collect();
    assert_eq!(found, expected);
    for s in sessions.sessions.iter().take(3) {
        let t = timeline::load(&dir, &s.id, None).unwrap();
        assert_eq!(t.events, s.events, "{}", s.id);
        let _ = t.render();
        let _ = t.to_json().to_string();
    }
});
