//! The settings merge on any text: never panics; wiring is idempotent, every event ends up wired,
//! and unwiring leaves nothing of ours and every key of the user's (but our two) as it was.
#![no_main]

use std::path::Path;

use claude_session::settings::{Settings, wired};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("/fuzz/settings.json");
    let Ok(mut settings) = Settings::parse(path, Some(text.to_owned())) else { return };
    let original = settings.value.clone();
    let dir = Path::new("/fuzz/hooks");
    settings.wire(dir, Some("http://127.0.0.1:4000/events"));
    assert!(!settings.wire(dir, Some("http://127.0.0.1:4000/events")), "a second wire changes nothing");
    assert!(wired(&settings.value).iter().all(|(_, commands)| !commands.is_empty()));
    settings.unwire(dir);
    let ours = ["session-start", "pre-tool", "post-tool"].map(|a| dir.join(a).to_string_lossy().into_owned());
    for (event, commands) in wired(&settings.value) {
        assert!(commands.iter().all(|c| !ours.contains(c)), "{event} still runs one of ours");
    }
    assert!(settings.value.get("env").and_then(|e| e.get("CLAUDE_SESSION_SERVER_URL")).is_none());
    for (key, value) in original.as_object().unwrap() {
        if key != "hooks" && key != "env" {
            assert_eq!(settings.value.get(key), Some(value), "{key} changed");
        }
    }
});
