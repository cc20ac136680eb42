//! The payload reader and what is built from it, on any bytes: never panics; the fields, the
//! journal line and the server body stay within the stated bound of the field cap whatever the
//! keys, members or nesting; a payload that fits is kept exactly, in its order; and parsing it at
//! once gives what parsing it member by member gives.
#![no_main]

use claude_session::event::Event;
use claude_session::payload::{CUT_EXTRA, FIELDS_BUDGET, MAX_KEY, MAX_MEMBERS, MAX_NESTING, Payload};
use claude_session::project::Project;
use claude_session::session::{Session, Source, check_id};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// What the journal line and the server body add to the payload's fields: our own fields, the
/// summary (160 characters, each at most 6 bytes escaped), a session id (256 bytes, escaped).
const FIXED: usize = 4096;

/// Commas between the top-level members of a JSON object's text (duplicate keys count too),
/// and how deep its brackets nest.
fn shape(text: &[u8]) -> (usize, usize) {
    let (mut n, mut depth, mut deepest, mut in_string, mut escaped) = (0, 0usize, 0, false, false);
    for &b in text {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, ..) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'{' | b'[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
            (false, _, b',') if depth == 1 => n += 1,
            _ => {}
        }
    }
    (n, deepest)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    // Field caps from the smallest allowed (64) to 16 KiB.
    let max = 64 + usize::from(first) * 64;
    let payload = Payload::parse(bytes, max);

    let fields = serde_json::to_vec(&payload.fields).unwrap();
    assert!(fields.len() <= FIELDS_BUDGET * max, "fields {} > {FIELDS_BUDGET} x {max}", fields.len());
    // Every string and number, at any depth, within the field cap and its marker.
    fn leaves(value: &Value, max: usize) {
        match value {
            Value::Object(m) => m.values().for_each(|v| leaves(v, max)),
            Value::Array(a) => a.iter().for_each(|v| leaves(v, max)),
            v => {
                let n = serde_json::to_vec(v).unwrap().len();
                assert!(n <= max + CUT_EXTRA, "{n} > {max} + {CUT_EXTRA}");
            }
        }
    }
    payload.fields.values().for_each(|v| leaves(v, max));

    // Parsed at once when nothing would be cut, or member by member: the same fields.
    let by_members = Payload::parse_member_by_member(bytes, max);
    assert_eq!(payload.fields, by_members.fields);
    assert!(payload.fields.keys().eq(by_members.fields.keys()), "key order");
    assert_eq!(payload.problem, by_members.problem);

    // A payload whose text fits the cap, of few members, short keys and little nesting, is kept
    // exactly.
    if let Ok(Value::Object(original)) = serde_json::from_slice::<Value>(bytes)
        && bytes.len() * 2 <= max
        && shape(bytes).0 < MAX_MEMBERS
        && shape(bytes).1 <= MAX_NESTING
        // A key's bound is on its JSON text, quotes and escapes included (`\u0001` is 6 bytes).
        && original.keys().all(|k| serde_json::to_string(k).unwrap().len() <= MAX_KEY)
    {
        assert_eq!(payload.fields, original);
        assert!(payload.fields.keys().eq(original.keys()), "key order");
    }

    let session = Session { id: payload.str("session_id").unwrap_or("unknown").to_owned(), source: Source::Payload };
    let session = match check_id(&session.id) {
        Ok(()) => session,
        Err(_) => Session { id: "unknown".into(), source: Source::Unknown },
    };
    let project = Project::at(std::path::Path::new("/fuzz/project"));
    let time = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let name = payload.str("hook_event_name").unwrap_or("PreToolUse");
    let event = Event::new(time, name, &session, &project, &payload);

    // With a sink: the line notes where it wrote each value, and the body copies them.
    let journal_line = event.journal_line(&[], true);
    let line = &journal_line.bytes;
    assert_eq!(line.last(), Some(&b'\n'));
    let parsed: Value = serde_json::from_slice(line).expect("the journal line is JSON");
    assert!(parsed.is_object());
    // The fields once (the event name and cwd are among them), and our own.
    assert!(line.len() <= fields.len() + FIXED, "journal line {} > {} + {FIXED}", line.len(), fields.len());

    let body = event.server_body("app", &journal_line);
    serde_json::from_slice::<Value>(&body).expect("the server body is JSON");
    // The fields, and the event name and model again.
    assert!(
        body.len() <= fields.len() + 2 * (max + CUT_EXTRA) + FIXED,
        "server body {} > {} + 2 x ({max} + {CUT_EXTRA})",
        body.len(),
        fields.len()
    );
});
