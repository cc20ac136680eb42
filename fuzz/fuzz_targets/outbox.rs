//! The outbox's own files on any bytes: a queue's `state.json` of any content never panics the
//! status, and only names of the exact old-layout record form are taken for records.
#![no_main]

use std::os::unix::fs::PermissionsExt;

use claude_session::sink::outbox::{Destination, Outbox, is_record_name};
use libfuzzer_sys::fuzz_target;

/// `<20 digits>-<10 digits>-<4 digits>.json`, checked without the code under test.
fn record_form(name: &str) -> bool {
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
        assert_eq!(is_record_name(&name), record_form(&name), "{name:?}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("claude-session-fuzz-outbox-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    let outbox = Outbox { dir };
    let destination = Destination::new("dashboard", "http://127.0.0.1:9/events".into(), Vec::new());
    let queue = outbox.queue(&destination).expect("a private queue dir");
    std::fs::write(queue.dir.join("state.json"), rest).unwrap();
    let status = queue.status();
    assert!(status.to_json().is_object());
    assert_eq!(outbox.status(&[destination]).sinks.len(), 1);
});
