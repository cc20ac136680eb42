//! The secrets filter on any text: never panics (a panic aborts the hook), what it returns holds a
//! marker, and what it returns is final: filtered again, nothing changes (a marker is never
//! redacted again, and no secret is left beside one). The same for `masked` (our own output) and
//! for a JSON value filtered member by member.
#![no_main]

use claude_session::secrets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(clean) = secrets::redact_text(&text) {
        assert!(clean.contains("[redacted: "), "{text:?} -> {clean:?}");
        assert_eq!(secrets::redact_text(&clean), None, "filtered twice: {text:?} -> {clean:?}");
    }
    let once = secrets::masked(&text);
    assert_eq!(secrets::masked(&once), once, "masked twice: {text:?}");
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(data) {
        secrets::redact_value(&mut value);
        let clean = value.clone();
        assert_eq!(secrets::redact_value(&mut value), 0, "filtered twice: {clean}");
    }
});
