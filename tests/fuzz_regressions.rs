//! One test per bug the fuzz targets found (issue 16), each named for it, through the real
//! binary.

mod common;

use std::fs;
use std::os::unix::ffi::OsStrExt;

use common::{TestEnv, feed, json};
use serde_json::{Value, json};

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// Fuzz bug 2: a 1 MB key under a 16 KiB field cap gave a 2 MB journal line and server body.
/// Both now stay within the stated bound: the fields take at most 4 x the cap, the line adds
/// at most 4 KiB and the body the event name and model again.
#[test]
fn keys_are_cut_and_the_output_is_bounded() {
    let mut env = TestEnv::new();
    // A server nobody listens on: the body waits in the outbox.
    env.set("CLAUDE_SESSION_SERVER_URL", "http://127.0.0.1:9/events");
    let key = "k".repeat(1 << 20);
    let payload =
        format!(r#"{{"session_id":"s1","hook_event_name":"PreToolUse","{key}":1,"tool_input":{{"{key}":2}}}}"#);
    env.hook("pre-tool", payload.as_bytes());
    // Wait for the deliverer the hook started, and number what it spooled: the body is then a
    // file of its own in the queue, not in the middle of being moved.
    env.run("claude-session", &["flush"], b"");
    let cap = 16 * 1024;
    let files = files_under(&env.journal_dir());
    let line = files.iter().find(|(p, _)| p.extension().is_some_and(|e| e == "jsonl")).expect("a journal file");
    assert!(line.1.len() <= 4 * cap + 4096, "journal line {} bytes", line.1.len());
    let line = json(&line.1);
    assert!(line["extra"].as_object().unwrap().keys().any(|k| k.ends_with("…[cut: 1048578 bytes]")), "{line}");
    let bodies: Vec<_> =
        files.iter().filter(|(_, b)| b.starts_with(b"{") && b.windows(15).any(|w| w == b"hook_event_type")).collect();
    assert!(!bodies.is_empty(), "no server body in the outbox");
    for (path, body) in bodies {
        assert!(body.len() <= 4 * cap + 2 * (cap + 38) + 4096, "{}: {} bytes", path.display(), body.len());
    }
}

/// Fuzz bug 3: a project directory whose %-encoded form passed 8 KiB was silently dropped from
/// the session file. Now the line keeps the path's text (only `%`, control characters and
/// non-UTF-8 bytes are encoded), and a directory whose line passes 7 KiB is stored without it.
#[test]
fn a_long_project_dir_keeps_its_line_or_is_stored_without_it() {
    let env = TestEnv::new();
    let long = format!("/x/{}", "é ".repeat(2300));
    let run = |dir: &std::ffi::OsStr, id: &str| {
        let mut cmd = env.command(env.bin.join("session-start"));
        cmd.env("CLAUDE_PROJECT_DIR", dir);
        let payload = format!(r#"{{"session_id":"{id}","hook_event_name":"SessionStart"}}"#);
        assert_eq!(feed(cmd, payload.as_bytes()).status.code(), Some(0));
    };
    run(long.as_ref(), "long-text");
    let too_long = std::ffi::OsStr::from_bytes(&[b"/y/".as_slice(), &[0xff; 2400]].concat()).to_owned();
    run(&too_long, "long-bytes");

    let mut cmd = env.command(env.bin.join("show"));
    cmd.args(["--all", "--json"]);
    let all = json(&feed(cmd, b"").stdout);
    let sessions = all["sessions"].as_array().unwrap_or_else(|| panic!("{all}"));
    let by_id = |id: &str| sessions.iter().find(|s| s["session_id"] == id).unwrap_or_else(|| panic!("{id}: {all}"));
    assert_eq!(by_id("long-text")["project_dir"], long.as_str());
    assert_eq!(by_id("long-bytes")["project_dir"], Value::Null);
    for name in env.store_names() {
        assert!(fs::metadata(env.store().join(name)).unwrap().len() <= 8 * 1024);
    }
}

/// Fuzz bug 1: a user's own `CLAUDE_SESSION_SERVER_URL` and empty hook lists were lost by
/// install then uninstall.
#[test]
fn uninstall_gives_back_the_users_own_settings() {
    let env = TestEnv::new();
    let path = env.home.join(".claude/settings.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let users = json!({
        "hooks": {"Notification": [], "PreToolUse": [{"matcher": "x", "hooks": []}]},
        "env": {"CLAUDE_SESSION_SERVER_URL": "http://10.0.0.5:4000/events"},
    });
    fs::write(&path, serde_json::to_string_pretty(&users).unwrap()).unwrap();
    let hooks = |args: &[&str]| {
        let mut full = vec!["hooks"];
        full.extend_from_slice(args);
        env.run("claude-session", &full, b"")
    };
    // Another server over the user's own is refused, and nothing is written.
    let before = fs::read(&path).unwrap();
    assert_eq!(hooks(&["install", "--server", "http://127.0.0.1:4000/events"]).status.code(), Some(1));
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(hooks(&["install"]).status.code(), Some(0));
    // An edit of the user's after install: uninstall cannot just put the original back.
    let mut v = json(&fs::read(&path).unwrap());
    v["theme"] = "dark".into();
    fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(hooks(&["uninstall"]).status.code(), Some(0));
    let mut expected = users;
    expected["theme"] = "dark".into();
    assert_eq!(json(&fs::read(&path).unwrap()), expected);
}

/// Found by the payload target: a value nested 127 levels deep was kept whole, and the journal
/// line around it passed serde_json's nesting limit of 128, so `show` could not read it back.
#[test]
fn a_deeply_nested_payload_still_gives_a_readable_line() {
    let env = TestEnv::new();
    let nested = format!("{}1{}", "[".repeat(127), "]".repeat(127));
    let payload =
        format!(r#"{{"session_id":"deep","hook_event_name":"PreToolUse","tool_name":"X","tool_input":{nested}}}"#);
    env.hook("pre-tool", payload.as_bytes());
    let out = env.run("show", &["--timeline", "deep", "--json"], b"");
    let timeline = json(&out.stdout);
    assert_eq!(timeline["summary"]["events"], 1, "{timeline}");
}

/// Found by the journal_read target: a line whose top-level key is written with an escape is
/// left out of `show --sessions`, and an id written with needless escapes is counted there but
/// missed by `show --timeline`. Our writer produces neither; foreign or edited lines do.
#[test]
fn journal_lines_written_with_escapes_are_read_like_any_other() {
    let env = TestEnv::new();
    fs::create_dir_all(env.journal_dir()).unwrap();
    fs::set_permissions(env.journal_dir(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let lines = concat!(
        r#"{"timestamp":"2026-11-21T10:00:00Z","event":"Stop","session_id":"esc","k\n":1}"#,
        "\n",
        r#"{"timestamp":"2026-11-21T10:00:01Z","event":"Stop","session_id":"\u0065sc"}"#,
        "\n",
    );
    fs::write(env.journal_dir().join("2026-11-21.jsonl"), lines).unwrap();
    let sessions = json(&env.run("show", &["--sessions", "--days", "100000", "--json"], b"").stdout);
    let esc = sessions["sessions"].as_array().unwrap().iter().find(|s| s["session_id"] == "esc").cloned();
    assert_eq!(esc.map(|s| s["events"].clone()), Some(json!(2)), "{sessions}");
    let timeline = json(&env.run("show", &["--timeline", "esc", "--json"], b"").stdout);
    assert_eq!(timeline["summary"]["events"], 2, "{timeline}");
}
