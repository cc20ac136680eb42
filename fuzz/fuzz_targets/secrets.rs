//! The secrets filter on any text: never panics (a panic aborts the hook), a marker it writes is
//! never redacted again, and `masked` (our own output) never panics either.
#![no_main]

use claude_session::secrets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(clean) = secrets::redact_text(&text) {
        assert!(clean.contains("[redacted: "), "{text:?} -> {clean:?}");
    }
    let _ = secrets::masked(&text);
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(data) {
        secrets::redact_value(&mut value);
    }
});
