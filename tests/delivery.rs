//! Delivery to a real HTTP server on loopback: every event arrives exactly once, in order, with
//! its session id unchanged, whatever the server does in between; and the hook never waits.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::server::{Mode, TestServer};
use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn recorded() -> Vec<Value> {
    let text = fs::read_to_string(fixtures().join("recorded-sessions.jsonl")).unwrap();
    text.lines().map(|l| json(l.as_bytes())).collect()
}

fn applet_for(event: &Value) -> &'static str {
    match event["hook_event_name"].as_str().unwrap() {
        "PreToolUse" => "pre-tool",
        "PostToolUse" | "PostToolUseFailure" => "post-tool",
        _ => "session-start",
    }
}

fn replay(env: &TestEnv, events: &[Value]) {
    for event in events {
        let mut bytes = serde_json::to_vec(event).unwrap();
        bytes.push(b'\n');
        env.hook(applet_for(event), &bytes);
    }
}

fn env_for(url: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", url).set("CLAUDE_SESSION_SERVER_TIMEOUT", "300ms");
    env
}

/// Waits until no deliverer holds the outbox lock, so the next step starts from a quiet outbox.
fn settle(env: &TestEnv) {
    let lock = fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(env.journal_dir().join("outbox/.lock"));
    let lock = lock.unwrap();
    lock.lock().unwrap();
    lock.unlock().unwrap();
}

fn outbox_pending(env: &TestEnv) -> usize {
    list(&env.journal_dir().join("outbox")).iter().filter(|n| n.ends_with(".json") && n.len() == 41).count()
}

/// Every recorded event, exactly once and in order, with its id, name and payload intact.
fn assert_delivered_exactly(received: &[Value], sent: &[Value]) {
    assert_eq!(received.len(), sent.len(), "count");
    for (got, event) in received.iter().zip(sent) {
        assert_eq!(got["session_id"], event["session_id"]);
        assert_eq!(got["hook_event_type"], event["hook_event_name"]);
        assert_eq!(got["payload"], *event, "payload differs");
        assert_eq!(got["source_app"], "proj");
        assert!(got["timestamp"].is_u64(), "timestamp must be integer ms: {}", got["timestamp"]);
    }
}

fn flush(env: &TestEnv) -> (i32, String) {
    let out = env.run("claude-session", &["flush"], b"");
    (out.status.code().unwrap_or(-1), stdout(&out))
}

#[test]
fn server_up_every_event_arrives_once_in_order() {
    let server = TestServer::start();
    let env = env_for(&server.url);
    let events = recorded();
    replay(&env, &events);
    let received = server.wait_for(events.len(), WAIT);
    assert_delivered_exactly(&received, &events);
    let t = received[0]["timestamp"].as_u64().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64 * 1000;
    assert!(t <= now + 1000 && t + 120_000 > now, "ms since epoch: {t}");
    assert_eq!(received[2]["summary"], "echo hello");
    let compact = received.iter().find(|e| e["payload"]["source"] == "compact").unwrap();
    assert_eq!(compact["model_name"], "claude-opus-5-5");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.accepted().len(), events.len(), "nothing sent twice");
    assert_eq!(outbox_pending(&env), 0);
}

#[test]
fn server_down_then_up() {
    let port = TestServer::closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}/events"));
    let events = recorded();
    replay(&env, &events);
    assert_eq!(outbox_pending(&env), events.len(), "all wait in the outbox");
    let status = json(&env.run("show", &["--all", "--json"], b"").stdout)["outbox"].clone();
    assert_eq!(status["pending"], events.len());
    assert!(status["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{status}");

    settle(&env);
    let server = TestServer::start_on(port);
    let (code, report) = flush(&env);
    assert_eq!(
        (code, report.as_str()),
        (0, format!("delivered {}, set aside 0, dropped 0, pending 0\n", events.len()).as_str())
    );
    assert_delivered_exactly(&server.accepted(), &events);
    assert_eq!(outbox_pending(&env), 0);
}

fn fault_then_recovery(mode: Mode) {
    let server = TestServer::start();
    server.set(mode);
    let env = env_for(&server.url);
    let events = recorded();
    replay(&env, &events);
    assert!(server.accepted().is_empty(), "{mode:?}: nothing can have been accepted");
    assert!(server.requests() > 0, "{mode:?}: delivery was tried");
    server.set(Mode::Up);
    // The next hook delivers the backlog before its own event.
    let last = json(&fixture("Stop.json"));
    replay(&env, std::slice::from_ref(&last));
    let mut all = events.clone();
    all.push(last);
    let received = server.wait_for(all.len(), WAIT);
    assert_delivered_exactly(&received, &all);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.accepted().len(), all.len(), "{mode:?}: nothing sent twice");
    assert_eq!(outbox_pending(&env), 0);
}

#[test]
fn server_hung_then_up() {
    fault_then_recovery(Mode::Hang);
}

#[test]
fn server_failing_then_up() {
    fault_then_recovery(Mode::Fail);
}

#[test]
fn server_resetting_then_up() {
    fault_then_recovery(Mode::Reset);
}

#[test]
fn a_refused_event_is_set_aside_and_the_rest_arrive() {
    let server = TestServer::start();
    server.refuse("poison");
    let env = env_for(&server.url);
    let call = |n: u32, cmd: &str| {
        payload(
            "PreToolUse",
            Some("s1"),
            "/w/proj",
            json!({"tool_name": "Bash",
        "tool_use_id": format!("t{n}"), "tool_input": {"command": cmd}}),
        )
    };
    for n in 0..5 {
        env.hook("pre-tool", &call(n, if n == 2 { "poison" } else { "ok" }));
    }
    let (code, report) = flush(&env);
    assert_eq!(
        (code, report.as_str()),
        (0, "delivered 0, set aside 0, dropped 0, pending 0\n"),
        "hooks delivered it all"
    );
    let ids: Vec<Value> = server.accepted().iter().map(|e| e["payload"]["tool_use_id"].clone()).collect();
    assert_eq!(ids, ["t0", "t1", "t3", "t4"]);
    let status = json(&env.run("show", &["--all", "--json"], b"").stdout)["outbox"].clone();
    assert_eq!((status["set_aside"].as_u64(), status["pending"].as_u64()), (Some(1), Some(0)), "{status}");
    let rejected = env.journal_dir().join("outbox/rejected");
    let files = list(&rejected);
    assert_eq!(files.len(), 2, "{files:?}");
    let answer = fs::read_to_string(rejected.join(files.iter().find(|f| f.ends_with(".answer")).unwrap())).unwrap();
    assert!(answer.contains("refused by the test") && answer.contains("400"), "{answer}");
    let text = stdout(&env.run("show", &["--all"], b""));
    assert!(text.contains("0 pending, 4 delivered, 1 set aside, 0 dropped"), "{text}");
}

#[test]
fn the_outbox_is_bounded_and_drops_are_counted() {
    let port = TestServer::closed_port();
    let mut env = env_for(&format!("http://127.0.0.1:{port}/events"));
    env.set("CLAUDE_SESSION_OUTBOX_MAX", "5");
    for n in 0..8 {
        env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": format!("t{n}")})));
    }
    // The hooks' own deliverers enforce the bound as they go; flush finishes the job.
    let (code, report) = flush(&env);
    assert_eq!(code, 1);
    assert!(report.ends_with("pending 5\n"), "{report}");
    let status = json(&env.run("show", &["--all", "--json"], b"").stdout)["outbox"].clone();
    assert_eq!((status["dropped"].as_u64(), status["pending"].as_u64()), (Some(3), Some(5)));
    settle(&env);
    let server = TestServer::start_on(port);
    assert_eq!(flush(&env).0, 0);
    let ids: Vec<Value> = server.accepted().iter().map(|e| e["payload"]["tool_use_id"].clone()).collect();
    assert_eq!(ids, ["t3", "t4", "t5", "t6", "t7"], "the oldest were dropped");
}

#[test]
fn no_server_no_outbox() {
    let env = TestEnv::new();
    replay(&env, &recorded()[..5]);
    assert!(!env.journal_dir().join("outbox").exists());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no server configured"));
}

#[test]
fn the_original_base_url_and_localhost_work() {
    let server = TestServer::start();
    let mut env = TestEnv::new();
    env.set("OBSERVABILITY_SERVER_URL", format!("http://localhost:{}/", server.port));
    env.set("CLAUDE_SESSION_SOURCE_APP", "my-app");
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["source_app"], "my-app");
}

#[test]
fn an_unknown_session_is_sent_as_unknown() {
    let server = TestServer::start();
    let env = env_for(&server.url);
    env.hook("pre-tool", &payload("PreToolUse", None, "/w/nobody", json!({"tool_name": "Bash"})));
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0]["session_id"], "unknown");
}

#[test]
fn cleanup_delivers_the_outbox() {
    let port = TestServer::closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}/events"));
    replay(&env, &recorded()[..3]);
    let out = env.run("cleanup", &[], b"");
    assert_eq!(
        (out.status.code(), out.stdout.len(), out.stderr.len()),
        (Some(0), 0, 0),
        "a down server is not cron mail"
    );
    settle(&env);
    let server = TestServer::start_on(port);
    let out = env.run("cleanup", &[], b"");
    assert_eq!(stdout(&out), "delivered 3 events, set aside 0, dropped 0, pending 0\n");
    assert_eq!(server.accepted().len(), 3);
}

#[test]
fn concurrent_hooks_never_send_an_event_twice() {
    let server = TestServer::start();
    let env = env_for(&server.url);
    std::thread::scope(|s| {
        for w in 0..8 {
            let env = &env;
            s.spawn(move || {
                for n in 0..10 {
                    let id = format!("w{w}-{n}");
                    env.hook(
                        "post-tool",
                        &payload("PostToolUse", Some(&format!("s{w}")), "/w/p", json!({"tool_use_id": id})),
                    );
                }
            });
        }
    });
    let received = server.wait_for(80, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    let mut ids: Vec<String> =
        server.accepted().iter().map(|e| e["payload"]["tool_use_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(received.len(), 80);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 80, "each exactly once");
    // Per session, in the order its hooks ran.
    for w in 0..8 {
        let seq: Vec<String> = server
            .accepted()
            .iter()
            .filter(|e| e["session_id"] == format!("s{w}"))
            .map(|e| e["payload"]["tool_use_id"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = (0..10).map(|n| format!("w{w}-{n}")).collect();
        assert_eq!(seq, expected);
    }
}

fn median_hook_time(env: &TestEnv, runs: usize) -> Duration {
    let input = fixture("PostToolUse-Bash.json");
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            env.hook("post-tool", &input);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

#[test]
fn a_hung_server_costs_the_hook_nothing() {
    let server = TestServer::start();
    server.set(Mode::Hang);
    // A long timeout: a hook that waited for the network, or a child that kept its pipes open,
    // would take seconds.
    let mut hung = TestEnv::new();
    hung.set("CLAUDE_SESSION_SERVER_URL", &server.url).set("CLAUDE_SESSION_SERVER_TIMEOUT", "10s");
    let none = TestEnv::new();
    let runs = 15;
    let (base, slow) = (median_hook_time(&none, runs), median_hook_time(&hung, runs));
    eprintln!("post-tool median: no server {base:?}, hung server {slow:?}");
    // A ratio within one run, not a time: a hook that waited for the network, or a child that
    // held its pipes, would be thousands of times slower.
    assert!(slow.as_secs_f64() < base.as_secs_f64() * 3.0, "hung {slow:?} vs none {base:?}");
    assert!(server.requests() >= 1, "a deliverer did try");
    server.set(Mode::Up);
}

#[test]
fn an_unreadable_outbox_entry_cannot_make_delivery_spin() {
    let server = TestServer::start();
    let port = TestServer::closed_port();
    let mut env = env_for(&format!("http://127.0.0.1:{port}/events"));
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "good"})));
    settle(&env);
    fs::create_dir(env.journal_dir().join(format!("outbox/{:020}-{:010}-{:04}.json", 1u64, 1, 1))).unwrap();
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url);
    let mut flush = env.command(env.bin.join("claude-session"));
    let mut child = flush.arg("flush").stdout(std::process::Stdio::piped()).spawn().unwrap();
    // A bound on waiting, not a speed claim: before the fix this never returned.
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("flush spins on an entry it cannot read");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "one entry is still pending");
    assert_eq!(stdout(&out), "delivered 1, set aside 0, dropped 0, pending 1\n");
    assert_eq!(server.accepted().len(), 1, "the good event went once");
}
