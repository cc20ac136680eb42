//! The payload reader and what is built from it: never panics, and the journal line and server
//! body are always valid JSON that stays near the field cap.
#![no_main]

use claude_session::event::Event;
use claude_session::payload::Payload;
use claude_session::project::Project;
use claude_session::session::{Session, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let max = 64 + usize::from(first) * 4;
    let payload = Payload::parse(bytes, max);
    let session = Session { id: payload.str("session_id").unwrap_or("unknown").to_owned(), source: Source::Payload };
    let project = Project::at(std::path::Path::new("/fuzz/project"));
    let time = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let name = payload.str("hook_event_name").unwrap_or("PreToolUse");
    let event = Event::new(time, name, &session, &project, &payload);
    let line = event.journal_line();
    assert_eq!(line.last(), Some(&b'\n'));
    let parsed: serde_json::Value = serde_json::from_slice(&line).expect("the journal line is JSON");
    assert!(parsed.is_object());
    serde_json::from_slice::<serde_json::Value>(&event.server_body("app")).expect("the server body is JSON");
});
