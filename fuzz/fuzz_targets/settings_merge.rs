//! The settings merge on any text: never panics; for every document install accepts, wiring is
//! idempotent, wires every event once, and unwiring gives back the user's document exactly
//! (`hooks` and `env` included, key order and every number's text too). A document that already
//! runs our commands is left with none of them.
#![no_main]

use std::path::Path;

use claude_session::settings::{Json, Record, hooks_in, parse, unwire, wire, wired};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(original) = parse(text) else { return };
    let hooks = hooks_in(Path::new("/fuzz/hooks")).unwrap();
    let env = [
        (claude_session::config::SERVER_URL, "http://127.0.0.1:4000/events"),
        ("CLAUDE_SESSION_OTLP_ENDPOINT", "http://o:4318"),
    ];
    let had_ours = runs_ours(&original, &hooks);

    let mut doc = original.clone();
    let mut record = Record::default();
    if wire(&mut doc, &hooks, &env, &mut record).is_err() {
        assert_eq!(doc, original, "a refused wiring changes nothing");
        return;
    }
    let wired_once = doc.clone();
    assert!(!wire(&mut doc, &hooks, &env, &mut record).unwrap(), "a second wire changes nothing");
    assert_eq!(doc, wired_once);
    assert!(wired(&doc).iter().all(|(_, found)| !found.is_empty()), "every event wired");
    assert_eq!(parse(&doc.render()).as_ref(), Ok(&doc), "what we write reads back the same");

    unwire(&mut doc, &hooks, Some(&record));
    assert!(!runs_ours(&doc, &hooks), "no event still runs one of ours");
    if !had_ours {
        assert_eq!(doc, original, "install then uninstall gives back the user's document");
        assert_eq!(doc.render(), Json::parse(text).unwrap().render());
    }
});

/// Whether any event runs one of our commands.
fn runs_ours(doc: &Json, hooks: &[(&str, String)]) -> bool {
    let Some(Json::Object(events)) = doc.get("hooks") else { return false };
    let groups = events.iter().filter_map(|(_, groups)| groups.as_array()).flatten();
    let lists = groups.filter_map(|g| g.get("hooks")?.as_array()).flatten();
    lists.filter_map(|h| h.get("command")?.as_str()).any(|c| hooks.iter().any(|(_, ours)| *ours == *c))
}
