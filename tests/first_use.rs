//! A newcomer's first commands, each with the real binary: a server given as its base URL in every
//! form, `hooks status` naming a wrong path, uninstall saying what it removed and kept, `--purge`,
//! a second uninstall, typos, and session ids by their first digits.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::server::TestServer;
use common::*;
use serde_json::json;

fn claude_session(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.run("claude-session", args, b"")
}

fn both(out: &std::process::Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// One event recorded by a hook and flushed to the server the configuration names.
fn delivered(env: &TestEnv, server: &TestServer) -> usize {
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let out = claude_session(env, &["flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    server.wait_for(1, Duration::from_secs(10)).len()
}

#[test]
fn a_base_server_url_gets_the_events_path_in_every_variable() {
    let server = TestServer::start();
    let base = format!("http://127.0.0.1:{}", server.port);
    for var in ["CLAUDE_SESSION_SERVER_URL", "OBSERVABILITY_SERVER_URL"] {
        for url in [base.clone(), format!("{base}/"), server.url.clone()] {
            let mut env = TestEnv::new();
            env.set(var, &url);
            let before = server.accepted().len();
            env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
            let out = claude_session(&env, &["flush"]);
            assert_eq!(out.status.code(), Some(0), "{var}={url}: {}", both(&out));
            assert_eq!(server.accepted().len(), before + 1, "{var}={url}");
        }
    }
}

#[test]
fn install_with_a_base_server_url_stores_and_echoes_the_events_url() {
    let server = TestServer::start();
    let env = TestEnv::new();
    let base = format!("http://127.0.0.1:{}", server.port);
    let out = claude_session(&env, &["hooks", "install", "--server", &base, "--otlp", "http://127.0.0.1:4318"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(stdout(&out).contains(&format!("{base}/events")), "the events URL is echoed: {}", stdout(&out));
    assert!(stdout(&out).contains("http://127.0.0.1:4318"), "the collector is echoed: {}", stdout(&out));
    let settings = json(&fs::read(env.home.join(".claude/settings.json")).unwrap());
    assert_eq!(settings["env"]["CLAUDE_SESSION_SERVER_URL"], format!("{base}/events"));

    // The hooks and a shell see it from the settings; `hooks status` asks the server.
    let mut env = env;
    env.set("CLAUDE_SESSION_SERVER_URL", format!("{base}/events"));
    assert_eq!(delivered(&env, &server), 1);
    env.env.remove("CLAUDE_SESSION_SERVER_URL");
    let out = claude_session(&env, &["hooks", "status", "--json"]);
    let status = json(&out.stdout);
    assert_eq!(status["server"], format!("{base}/events"));
    assert_eq!(status["server_answers"], true, "{status}");
}

#[test]
fn a_server_url_that_cannot_work_is_refused_with_the_fix() {
    let env = TestEnv::new();
    let out = claude_session(&env, &["hooks", "install", "--server", "http://127.0.0.1:4000/events/recent"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("give http://127.0.0.1:4000/events"), "{}", stderr(&out));
    assert!(!env.home.join(".claude").exists(), "nothing installed");
}

#[test]
fn status_names_a_404_as_a_wrong_path() {
    let server = TestServer::start();
    let mut env = TestEnv::new();
    claude_session(&env, &["hooks", "install"]);
    env.set("CLAUDE_SESSION_SERVER_URL", format!("http://127.0.0.1:{}/api/events", server.port));
    let out = claude_session(&env, &["hooks", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("404") && stdout(&out).contains("wrong path"), "{}", stdout(&out));

    env.set("CLAUDE_SESSION_SERVER_URL", &server.url);
    let out = claude_session(&env, &["hooks", "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("server   {}: answers", server.url)), "{}", stdout(&out));
}

/// The real dashboard answers a path it does not know with 200 and a line of text, so a wrong
/// path there looks like success unless the answer is read.
#[test]
fn status_names_a_server_answering_text_as_a_wrong_path() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "Multi-Agent Observability Server";
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    let mut env = TestEnv::new();
    claude_session(&env, &["hooks", "install"]);
    env.set("CLAUDE_SESSION_SERVER_URL", format!("http://127.0.0.1:{port}/other/events"));
    let out = claude_session(&env, &["hooks", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("not with the dashboard's events") && stdout(&out).contains("wrong path"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn uninstall_says_what_it_removed_and_kept_and_a_second_has_nothing_to_do() {
    let env = TestEnv::new();
    assert_eq!(claude_session(&env, &["hooks", "install"]).status.code(), Some(0));
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));

    let out = claude_session(&env, &["hooks", "uninstall"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let settings = env.home.join(".claude/settings.json");
    assert!(!settings.exists());
    assert!(!text.contains("restored"), "the file was removed, not restored: {text}");
    assert!(text.contains(&format!("{}: our hooks removed, and the file", settings.display())), "{text}");
    // The directories install made are gone; the data is kept, and said to be, with its paths.
    assert!(!env.home.join(".claude").exists(), "{:?}", list(&env.home.join(".claude")));
    assert!(
        text.contains(&format!(
            "removed empty directories: {}",
            env.home.join(".claude/hooks/claude-session").display()
        )),
        "{text}"
    );
    assert!(text.contains(&format!("journal  {} (1 day)", env.journal_dir().display())), "{text}");
    assert!(text.contains(&format!("store    {} (1 session file)", env.store().display())), "{text}");
    assert!(env.journal_dir().exists() && env.store().exists());

    let out = claude_session(&env, &["hooks", "uninstall"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(stdout(&out).starts_with("nothing to do"), "{}", stdout(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn uninstall_keeps_a_settings_dir_it_did_not_make() {
    let env = TestEnv::new();
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    claude_session(&env, &["hooks", "install"]);
    claude_session(&env, &["hooks", "uninstall"]);
    assert!(env.home.join(".claude").is_dir(), "it was there before install");
    assert!(list(&env.home.join(".claude")).is_empty(), "{:?}", list(&env.home.join(".claude")));
}

#[test]
fn purge_says_what_will_go_then_removes_journal_outbox_and_store() {
    let mut env = TestEnv::new();
    claude_session(&env, &["hooks", "install"]);
    env.set("CLAUDE_SESSION_SERVER_URL", format!("http://127.0.0.1:{}/events", TestServer::closed_port()));
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    claude_session(&env, &["flush"]);
    assert!(env.journal_dir().join("outbox").exists());
    // Something of the user's in the journal directory stays.
    fs::write(env.journal_dir().join("notes.txt"), "mine").unwrap();

    let out = claude_session(&env, &["hooks", "uninstall", "--purge"]);
    let text = stdout(&out);
    let outbox = env.journal_dir().join("outbox");
    for line in [
        format!("journal  {} (1 day)", env.journal_dir().display()),
        format!("outbox   {} (1 events not delivered)", outbox.display()),
        format!("store    {} (1 session file)", env.store().display()),
    ] {
        assert!(text.contains(&line), "{line} in {text}");
    }
    assert!(!outbox.exists() && !env.store().exists());
    assert_eq!(list(&env.journal_dir()), ["notes.txt"], "only our files went");
    assert_eq!(out.status.code(), Some(1), "the kept directory is named: {}", both(&out));
    assert!(stderr(&out).contains("not ours, so it is kept"), "{}", stderr(&out));
}

#[test]
fn purge_never_removes_files_through_a_journal_dir_that_is_a_link() {
    let mut env = TestEnv::new();
    // CLAUDE_SESSION_LOG_DIR in a shared place, where another user planted a link to another
    // program's dated logs (with its own outbox): the hooks refuse it, and so must --purge.
    let theirs = env.root.join("other-app-logs");
    fs::create_dir_all(theirs.join("outbox/dashboard")).unwrap();
    for name in ["2026-01-01.jsonl", "lost", "outbox/dashboard/spool"] {
        fs::write(theirs.join(name), "theirs").unwrap();
    }
    fs::set_permissions(theirs.join("outbox"), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let shared = env.root.join("shared-logs");
    std::os::unix::fs::symlink(&theirs, &shared).unwrap();
    env.set("CLAUDE_SESSION_LOG_DIR", &shared);
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let out = claude_session(&env, &["hooks", "uninstall", "--purge"]);
    for name in ["2026-01-01.jsonl", "lost", "outbox/dashboard/spool"] {
        assert!(theirs.join(name).exists(), "{name} removed through the link: {}", both(&out));
    }
    assert!(stderr(&out).contains("is a symlink; not ours"), "{}", both(&out));
    assert!(!stdout(&out).contains("journal "), "the link is not listed as our journal: {}", stdout(&out));
}

#[test]
fn typos_get_did_you_mean() {
    let env = TestEnv::new();
    for (args, hint, help) in [
        (&["shwo"][..], "did you mean `show`?", "claude-session --help"),
        (&["show", "--timline"][..], "did you mean `--timeline`?", "claude-session show --help"),
        (&["hooks", "stauts"][..], "did you mean `status`?", "claude-session hooks --help"),
        (
            &["hooks", "install", "--otpl", "http://h"][..],
            "did you mean `--otlp`?",
            "claude-session hooks install --help",
        ),
        (&["export", "--sinse", "7d"][..], "did you mean `--since`?", "claude-session export --help"),
    ] {
        let out = claude_session(&env, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(hint), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("(see {help})")), "{args:?}: {}", stderr(&out));
    }
    // Nothing close: no guess.
    let out = claude_session(&env, &["show", "--zzzzzz"]);
    assert!(stderr(&out).contains("unknown option \"--zzzzzz\"") && !stderr(&out).contains("did you mean"));
}

#[test]
fn flush_with_no_sink_says_how_to_add_one() {
    let env = TestEnv::new();
    let out = claude_session(&env, &["flush"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("hooks install --server URL"), "{}", stderr(&out));
}

const FIRST: &str = "b58b8352-cb65-4938-89b1-ca08fc4358de";
const SECOND: &str = "b58b1111-0000-4000-8000-000000000000";

fn two_sessions(env: &TestEnv) {
    for (id, prompt) in [(FIRST, "first"), (SECOND, "second")] {
        let cwd = env.cwd.to_str().unwrap();
        env.hook("session-start", &payload("SessionStart", Some(id), cwd, json!({"source": "startup"})));
        env.hook("session-start", &payload("UserPromptSubmit", Some(id), cwd, json!({"prompt": prompt})));
    }
}

#[test]
fn timeline_takes_a_unique_id_prefix() {
    let env = TestEnv::new();
    two_sessions(&env);
    let out = claude_session(&env, &["show", "--timeline", "b58b83"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(stdout(&out).starts_with(&format!("session {FIRST}")), "{}", stdout(&out));

    let out = claude_session(&env, &["show", "--timeline", "b58b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("2 sessions begin with b58b") && stderr(&out).contains(SECOND), "{}", stderr(&out));

    let out = claude_session(&env, &["show", "--timeline", "ffff"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no events of session ffff"), "{}", stderr(&out));
}

#[test]
fn timeline_with_no_id_shows_the_projects_latest_session_even_when_the_store_forgot_it() {
    let env = TestEnv::new();
    two_sessions(&env);
    let out = claude_session(&env, &["show", "--timeline"]);
    assert!(stdout(&out).starts_with(&format!("session {SECOND}")), "{}", both(&out));

    fs::remove_dir_all(env.store()).unwrap();
    let out = claude_session(&env, &["show", "--timeline"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(stdout(&out).starts_with(&format!("session {SECOND}")), "{}", stdout(&out));
}
