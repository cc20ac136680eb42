//! The outbox's own files on any bytes: `state.json` of any content never panics the counters
//! or the status, and only names of the exact event form are taken for events.
#![no_main]

use claude_session::delivery::{Outbox, is_event_name};
use libfuzzer_sys::fuzz_target;

/// `<20 digits>-<10 digits>-<4 digits>.json`, checked without the code under test.
fn event_form(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 41
        && name.ends_with(".json")
        && b[20] == b'-'
        && b[31] == b'-'
        && b[..36].iter().enumerate().all(|(i, c)| i == 20 || i == 31 || c.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        let name = String::from_utf8_lossy(rest);
        assert_eq!(is_event_name(&name), event_form(&name), "{name:?}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("claude-session-fuzz-outbox-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    std::fs::write(dir.join("state.json"), rest).unwrap();
    let outbox = Outbox { dir };
    let stats = outbox.stats();
    let status = outbox.status();
    assert_eq!(status["delivered"].as_u64(), Some(stats.delivered));
    assert_eq!(status["pending"].as_u64(), Some(0));
});
