//! Delivery to a real HTTP server on loopback: every event arrives once, in order, with its
//! session id unchanged, whatever the server does in between; the hook never waits; and nothing
//! in the outbox that is not a record of ours is read, sent or waited on.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::server::{self, Mode, TestServer};
use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn env_for(url: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", url).set("CLAUDE_SESSION_SERVER_TIMEOUT", "300ms");
    env
}

fn queue_dir(env: &TestEnv) -> std::path::PathBuf {
    env.queue("dashboard")
}

/// Waits until no deliverer holds the dashboard's lock, so the next step starts from a quiet
/// outbox.
fn settle(env: &TestEnv) {
    let lock =
        fs::File::options().read(true).write(true).create(true).truncate(false).open(queue_dir(env).join(".lock"));
    let lock = lock.unwrap();
    lock.lock().unwrap();
    lock.unlock().unwrap();
}

/// The dashboard queue's line of `show --all --json`.
fn status(env: &TestEnv) -> Value {
    let all = json(&env.run("show", &["--all", "--json"], b"").stdout);
    all["outbox"]["sinks"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["sink"] == "dashboard"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn outbox_pending(env: &TestEnv) -> u64 {
    status(env)["pending"].as_u64().unwrap_or(0)
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
    assert_eq!(outbox_pending(&env), events.len() as u64, "all wait in the outbox");
    let status = status(&env);
    assert!(status["backoff_until"].is_string(), "{status}");
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
    // The session goes on: once the backoff ends, the next hook delivers the backlog before its
    // own events.
    let last = json(&fixture("Stop.json"));
    let mut all = events.clone();
    let deadline = Instant::now() + WAIT;
    while server.accepted().len() < all.len() && Instant::now() < deadline {
        replay(&env, std::slice::from_ref(&last));
        all.push(last.clone());
        std::thread::sleep(Duration::from_millis(250));
    }
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
    let status = status(&env);
    assert_eq!((status["set_aside"].as_u64(), status["pending"].as_u64()), (Some(1), Some(0)), "{status}");
    let rejected = queue_dir(&env).join("rejected");
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
    let status = status(&env);
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
    assert!(stderr(&out).contains("no sink configured"), "{}", stderr(&out));
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

/// Runs `flush` with a bound on waiting: a flush that hangs fails the test instead of hanging it.
/// `flush`, bounded: before the fixes it never returned.
fn bounded_flush(env: &TestEnv) -> std::process::Output {
    bounded(env, &["flush"])
}

/// `claude-session ARGS`, bounded as [`bounded_flush`].
fn bounded(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut cmd = env.command(env.bin.join("claude-session"));
    cmd.args(args);
    within(cmd, b"", Duration::from_secs(30))
}

fn record_name(n: u32) -> String {
    format!("{:020}-{:010}-{:04}.json", 1u64, 1, n)
}

#[test]
fn an_unreadable_outbox_entry_cannot_make_delivery_spin() {
    let port = TestServer::closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}/events"));
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "good"})));
    settle(&env);
    fs::create_dir(queue_dir(&env).join("spool")).unwrap();
    let server = TestServer::start_on(port);
    let out = bounded_flush(&env);
    assert_eq!(stdout(&out), "delivered 1, set aside 1, dropped 0, pending 0\n", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(server.accepted().len(), 1, "the good event went once");
}

/// Versions before destinations had one queue per sink (and, before sinks, records directly in
/// the outbox) and did not record where a record was meant to go: nothing sends them to the
/// destination configured now unless told to, by `flush --adopt`, which the reports name.
#[test]
fn old_layout_outbox_records_wait_for_flush_adopt_after_an_upgrade() {
    let server = TestServer::start();
    let env = env_for(&server.url);
    let outbox = env.journal_dir().join("outbox");
    fs::create_dir_all(outbox.join("dashboard/queue")).unwrap();
    for dir in [&env.journal_dir(), &outbox, &outbox.join("dashboard"), &outbox.join("dashboard/queue")] {
        fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let body = |n: u32| json!({"source_app": "old", "session_id": "s", "hook_event_type": "Stop", "payload": {"n": n}, "timestamp": 1, "summary": ""});
    for n in 0..3 {
        fs::write(outbox.join(record_name(n)), body(n).to_string()).unwrap();
    }
    // Which every version before sinks made.
    fs::write(outbox.join(".lock"), "").unwrap();
    // And the per-sink queue of the version after, with one record in its spool.
    fs::write(outbox.join("dashboard/spool"), format!("{}\n", body(3))).unwrap();
    assert_eq!(outbox_pending(&env), 4, "counted before the move");
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "new"})));
    server.wait_for(1, WAIT);
    let out = bounded_flush(&env);
    assert_eq!(stdout(&out), "delivered 0, set aside 0, dropped 0, pending 0\n", "{}", stderr(&out));
    assert!(stderr(&out).contains("4 pending in dashboard, queued by an older version"), "{}", stderr(&out));
    assert!(stderr(&out).contains("flush --adopt dashboard"), "{}", stderr(&out));
    let status = env.run("claude-session", &["hooks", "status"], b"");
    assert!(stdout(&status).contains("flush --adopt dashboard"), "{}", stdout(&status));
    assert_eq!(server.accepted().len(), 1, "only the new event: {:?}", server.accepted());

    let out = bounded(&env, &["flush", "--adopt", "dashboard"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("dashboard: moved 4 queued for dashboard (queued by an older version"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).ends_with("delivered 4, set aside 0, dropped 0, pending 0\n"), "{}", stdout(&out));
    let ns: Vec<Value> = server.accepted().iter().skip(1).map(|e| e["payload"]["n"].clone()).collect();
    assert_eq!(ns, [0, 1, 2, 3], "oldest first");
    assert!(!outbox.join(".lock").exists(), "moved once: the old layout is not listed again");
    assert_eq!(outbox_pending(&env), 0);
    let out = bounded_flush(&env);
    assert!(stderr(&out).is_empty(), "nothing left elsewhere: {}", stderr(&out));
}

#[test]
fn symlink_in_outbox_is_never_sent() {
    let port = TestServer::closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}/events"));
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "good"})));
    settle(&env);
    // A secret of someone else's that a planted link points at, in the incoming queue and in
    // the old layout.
    let secret = env.root.join("secret.json");
    let body =
        json!({"source_app": "x", "session_id": "s", "hook_event_type": "Stop", "payload": {"secret": "s3cr3t"}});
    fs::write(&secret, body.to_string()).unwrap();
    std::os::unix::fs::symlink(&secret, queue_dir(&env).join("spool")).unwrap();
    std::os::unix::fs::symlink(&secret, env.journal_dir().join("outbox").join(record_name(2))).unwrap();
    fs::write(env.journal_dir().join("outbox/.lock"), "").unwrap();
    let server = TestServer::start_on(port);
    let out = bounded(&env, &["flush", "--adopt", "dashboard"]);
    assert!(
        stdout(&out).ends_with("delivered 1, set aside 1, dropped 0, pending 0\n"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let old = list(&env.journal_dir().join("outbox/dashboard/rejected"));
    assert!(old.contains(&record_name(2)), "the old layout's link, set aside where it was adopted from: {old:?}");
    let sent = server.accepted();
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].to_string().contains("s3cr3t"), "a link's target was sent");
    assert!(secret.exists(), "the target was deleted as delivered");
    let rejected = list(&queue_dir(&env).join("rejected"));
    assert!(rejected.iter().any(|n| n == "spool"), "{rejected:?}");
}

#[test]
fn fifo_in_outbox_does_not_hang_flush() {
    let port = TestServer::closed_port();
    let mut env = env_for(&format!("http://127.0.0.1:{port}/events"));
    env.set("CLAUDE_SESSION_OUTBOX_MAX", "3");
    for n in 0..5 {
        env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": format!("t{n}")})));
    }
    settle(&env);
    // Where an older version kept records, which `--adopt dashboard` moves into the queue.
    let fifo = env.journal_dir().join("outbox").join(record_name(1));
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    fs::write(env.journal_dir().join("outbox/.lock"), "").unwrap();
    let out = bounded(&env, &["flush", "--adopt", "dashboard"]);
    assert_eq!(out.status.code(), Some(1), "the server is down: {}", stderr(&out));
    assert!(stdout(&out).ends_with("pending 3\n"), "the cap applies: {}", stdout(&out));
    let old = list(&env.journal_dir().join("outbox/dashboard/rejected"));
    assert!(old.contains(&record_name(1)), "the FIFO, set aside unread: {old:?}");
    // The state file too: read without blocking, refused, and the queue counted again.
    let state = queue_dir(&env).join("state.json");
    fs::remove_file(&state).unwrap();
    nix::unistd::mkfifo(&state, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let server = TestServer::start_on(port);
    let out = bounded_flush(&env);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let report = stdout(&out);
    assert_eq!(report, "delivered 3, set aside 0, dropped 0, pending 0\n", "counted again from the records");
    let ids: Vec<Value> = server.accepted().iter().map(|e| e["payload"]["tool_use_id"].clone()).collect();
    assert_eq!(ids, ["t2", "t3", "t4"]);
    // A FIFO where hooks append: the hook cannot open it without a reader and goes on; the
    // deliverer sets it aside unread.
    settle(&env);
    nix::unistd::mkfifo(&queue_dir(&env).join("spool"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "t5"})));
    settle(&env);
    let out = bounded_flush(&env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(list(&queue_dir(&env).join("rejected")).contains(&"spool".to_owned()));
}

#[test]
fn hook_during_backoff_starts_no_deliverer() {
    let server = TestServer::start();
    server.set(Mode::Busy(30));
    let env = env_for(&server.url);
    let call = |n: u32| payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": format!("t{n}")}));
    env.hook("pre-tool", &call(0));
    settle(&env);
    let tried = server.requests();
    assert_eq!(tried, 1, "the first hook's deliverer tried once and backed off");
    let until = status(&env)["backoff_until"].as_str().map(str::to_owned);
    assert!(until.is_some(), "{}", status(&env));
    for n in 1..20 {
        env.hook("pre-tool", &call(n));
    }
    settle(&env);
    assert_eq!(server.requests(), tried, "no hook started a deliverer during the backoff");
    let text = stdout(&env.run("show", &["--all"], b""));
    assert!(text.contains("backing off until"), "{text}");
    // flush ignores the backoff.
    server.set(Mode::Up);
    let out = bounded_flush(&env);
    assert_eq!(stdout(&out), "delivered 20, set aside 0, dropped 0, pending 0\n", "{}", stderr(&out));
    assert_eq!(status(&env)["backoff_until"], Value::Null, "a delivery ends the backoff");
}

#[test]
fn retry_after_is_honoured() {
    let server = TestServer::start();
    server.set(Mode::Busy(120));
    let env = env_for(&server.url);
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({})));
    settle(&env);
    let until = status(&env)["backoff_until"].as_str().map(str::to_owned).expect("backing off");
    let until = time::OffsetDateTime::parse(&until, &time::format_description::well_known::Rfc3339).unwrap();
    let left = until - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::seconds(100), "Retry-After: 120 gave a backoff of {left}");
}

/// Issue 10, finding 10: `CLAUDE_SESSION_SERVER_TIMEOUT=18446744073709551615` panicked `flush`
/// and made a hook's deliverer deliver nothing; `0` failed every request. A refused value is named
/// (a warning from `flush`, a problem in `hooks status`) and the default is used: nothing panics,
/// nothing is lost.
#[test]
fn huge_server_timeout_is_refused_not_a_panic() {
    let server = TestServer::start();
    for bad in ["18446744073709551615", "0", "0ms", "61s"] {
        let mut env = env_for(&server.url);
        env.set("CLAUDE_SESSION_SERVER_TIMEOUT", bad);
        env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({})));
        let out = bounded_flush(&env);
        assert_eq!(out.status.code(), Some(0), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("CLAUDE_SESSION_SERVER_TIMEOUT") && stderr(&out).contains("outside"),
            "{bad}: {}",
            stderr(&out)
        );
        let out = env.run("claude-session", &["hooks", "status"], b"");
        assert!(stdout(&out).contains("CLAUDE_SESSION_SERVER_TIMEOUT"), "{bad}: {}", stdout(&out));
    }
    assert_eq!(server.wait_for(4, WAIT).len(), 4, "every event delivered with the default timeout");
}

/// Runs every later command of `env` as an unprivileged user when the tests run as root, for
/// whom no directory is read-only.
fn as_unprivileged(env: &TestEnv) -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let (uid, gid) = (65534, 65534);
    fn chown_all(path: &std::path::Path, uid: u32, gid: u32) {
        let _ = std::os::unix::fs::lchown(path, Some(uid), Some(gid));
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            for e in fs::read_dir(path).unwrap() {
                chown_all(&e.unwrap().path(), uid, gid);
            }
        }
    }
    chown_all(&env.root, uid, gid);
    Some((uid, gid))
}

#[test]
fn read_only_outbox_sends_each_event_once() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let port = TestServer::closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}/events"));
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "once"})));
    settle(&env);
    let ids = as_unprivileged(&env);
    let run = |args: &[&str]| {
        let mut cmd = env.command(env.bin.join("claude-session"));
        if let Some((uid, gid)) = ids {
            cmd.uid(uid).gid(gid);
        }
        cmd.args(args).output().unwrap()
    };
    // A first try queues the record by number, then the queue turns read-only.
    run(&["flush"]);
    let queue = queue_dir(&env).join("queue");
    let ro = |mode| {
        for dir in [&queue, &queue_dir(&env)] {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
        }
    };
    ro(0o500);
    let server = TestServer::start_on(port);
    for args in [&["flush"][..], &["cleanup"], &["flush"], &["cleanup"]] {
        run(args);
    }
    assert_eq!(server.requests(), 0, "nothing is sent while its delivery cannot be recorded");
    ro(0o700);
    run(&["flush"]);
    run(&["flush"]);
    assert_eq!(server.requests(), 1, "one POST of one event");
    assert_eq!(server.accepted()[0]["payload"]["tool_use_id"], "once");
}

#[test]
fn model_name_from_transcript_on_every_event() {
    let server = TestServer::start();
    let env = env_for(&server.url);
    let source = fixtures().join("transcript");
    let transcript = fs::read_dir(&source).unwrap().next().unwrap().unwrap().path();
    let copy = env.root.join("transcript.jsonl");
    fs::copy(&transcript, &copy).unwrap();
    let mut events = recorded();
    for e in &mut events {
        e["transcript_path"] = copy.to_string_lossy().into();
    }
    // The payload's own model wins where it names one.
    let named = events.iter().filter(|e| e["model"].is_string()).count();
    assert!(named < events.len(), "most payloads name no model");
    replay(&env, &events);
    let received = server.wait_for(events.len(), WAIT);
    assert_eq!(received.len(), events.len());
    for (got, sent) in received.iter().zip(&events) {
        let want = sent["model"].as_str().unwrap_or("claude-opus-5-5");
        assert_eq!(got["model_name"], want, "{}", got["hook_event_type"]);
    }
}

#[test]
fn a_deliverer_that_died_before_saving_loses_no_record() {
    let port = TestServer::closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}/events"));
    let hook = |n: u32| {
        env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": format!("t{n}")})))
    };
    for n in 0..3 {
        hook(n);
    }
    settle(&env);
    flush(&env);
    let state = queue_dir(&env).join("state.json");
    let stale = fs::read(&state).unwrap();
    for n in 3..5 {
        hook(n);
    }
    settle(&env);
    flush(&env);
    // As if a run had sent t3 and died before saving: its state names t3's number as the next.
    fs::write(&state, &stale).unwrap();
    let queue = queue_dir(&env).join("queue");
    fs::remove_file(queue.join(format!("{:020}", 3))).unwrap();
    for n in 5..7 {
        hook(n);
    }
    settle(&env);
    let server = TestServer::start_on(port);
    let out = bounded_flush(&env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ids: Vec<String> =
        server.accepted().iter().map(|e| e["payload"]["tool_use_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(ids, ["t0", "t1", "t2", "t4", "t5", "t6"], "each record once, none overwritten");
}

#[test]
fn resend_never_follows_a_rejected_dir_that_is_a_link() {
    let server = TestServer::start();
    let env = env_for(&server.url);
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "good"})));
    settle(&env);
    // `rejected/` planted as a link to a directory of the user's holding files named like set
    // aside records: `--resend` would send each and delete it.
    let elsewhere = env.root.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let victim = elsewhere.join(format!("{:020}.json", 7));
    fs::write(&victim, json!({"payload": {"notes": "private"}}).to_string()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, queue_dir(&env).join("rejected")).unwrap();
    assert_eq!(status(&env)["to_resend"], 0, "nothing counted through the link");
    let out = env.run("claude-session", &["flush", "--resend"], b"");
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stderr(&out).contains("rejected"), "the refusal names the directory: {}", stderr(&out));
    assert!(victim.exists(), "a file outside the outbox was deleted");
    assert!(!server.accepted().iter().any(|e| e.to_string().contains("private")), "a file outside the outbox was sent");
}

#[test]
fn a_refused_event_that_cannot_be_set_aside_stays_pending() {
    let server = TestServer::start();
    server.refuse("poison");
    let env = env_for(&server.url);
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "good"})));
    settle(&env);
    // `rejected` cannot be made (on a full disk, mkdir fails alike): here a file holds its name.
    fs::write(queue_dir(&env).join("rejected"), "").unwrap();
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_input": {"command": "poison"}})));
    settle(&env);
    let (code, report) = flush(&env);
    assert_eq!(code, 1, "{report}");
    assert!(report.ends_with("pending 1\n"), "the refused record vanished: {report}");
    fs::remove_file(queue_dir(&env).join("rejected")).unwrap();
    let (_, report) = flush(&env);
    assert_eq!(report, "delivered 0, set aside 1, dropped 0, pending 0\n");
    assert_eq!(status(&env)["to_resend"], 1);
}

#[test]
fn two_resends_at_once_with_live_hooks_send_each_event_once() {
    let server = TestServer::start();
    server.refuse("poison");
    let env = env_for(&server.url);
    let call = |id: String, cmd: &str| {
        payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": id, "tool_input": {"command": cmd}}))
    };
    for n in 0..12 {
        env.hook("pre-tool", &call(format!("t{n}"), if n % 2 == 0 { "poison" } else { "ok" }));
    }
    settle(&env);
    flush(&env);
    assert_eq!(status(&env)["to_resend"], 6);
    server.refuse("\u{1}nothing has this");
    let resends: Vec<_> = (0..2)
        .map(|_| {
            let mut cmd = env.command(env.bin.join("claude-session"));
            cmd.args(["flush", "--resend"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    for n in 12..18 {
        env.hook("pre-tool", &call(format!("t{n}"), "ok"));
    }
    for mut child in resends {
        child.wait().unwrap();
    }
    settle(&env);
    let (code, report) = flush(&env);
    assert_eq!(code, 0, "{report}");
    let mut ids: Vec<String> =
        server.accepted().iter().map(|e| e["payload"]["tool_use_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    let mut want: Vec<String> = (0..18).map(|n| format!("t{n}")).collect();
    want.sort();
    assert_eq!(ids, want, "each event once");
    assert_eq!(status(&env)["to_resend"], 0);
}

#[test]
fn a_state_file_claiming_endless_waiting_records_does_not_spin_the_deliverer() {
    let port = TestServer::closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}/events"));
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "t1"})));
    settle(&env);
    // A damaged state.json: 10^18 records "waiting". Cutting them to the cap one lookup at a
    // time held the lock forever.
    let state_file = queue_dir(&env).join("state.json");
    let mut state = json(&fs::read(&state_file).unwrap());
    state["tail"] = json!(state["head"].as_u64().unwrap() + 1_000_000_000_000_000_000);
    fs::write(&state_file, state.to_string()).unwrap();
    let server = TestServer::start_on(port);
    let out = bounded_flush(&env);
    assert_eq!(stdout(&out), "delivered 1, set aside 0, dropped 0, pending 0\n", "{}", stderr(&out));
    assert_eq!(server.accepted().len(), 1);
}

#[test]
fn a_full_disk_while_numbering_the_spool_sends_nothing_twice() {
    let server = TestServer::start();
    let mut env = env_for(&server.url);
    env.set("CLAUDE_SESSION_LOG_FIELD_MAX", "1000000");
    let call = |id: &str, cmd: &str| {
        payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": id, "tool_input": {"command": cmd}}))
    };
    env.hook("pre-tool", &call("t0", "ok"));
    settle(&env);
    // With the deliverer's lock held, the hooks only append to the spool; one record is large.
    let lock = fs::File::options().write(true).open(queue_dir(&env).join(".lock")).unwrap();
    lock.lock().unwrap();
    for (id, cmd) in [("t1", "ok".to_owned()), ("t2", "ok".into()), ("t3", "y".repeat(200_000)), ("t4", "ok".into())] {
        env.hook("pre-tool", &call(id, &cmd));
    }
    lock.unlock().unwrap();
    // A file size limit the large record crosses, as a full disk would stop it: t1 and t2 are
    // numbered, then the run fails.
    let mut cmd = env.command("/bin/sh");
    cmd.args(["-c", "ulimit -f 100; exec claude-session flush"]);
    let out = feed(cmd, b"");
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let (code, report) = flush(&env);
    assert_eq!((code, report.as_str()), (0, "delivered 4, set aside 0, dropped 0, pending 0\n"));
    let ids: Vec<Value> = server.accepted().iter().map(|e| e["payload"]["tool_use_id"].clone()).collect();
    assert_eq!(ids, ["t0", "t1", "t2", "t3", "t4"], "each once, in order");
}

/// An OTLP/HTTP collector on loopback that takes every request (`{}` in JSON) and records its
/// path, its `Authorization` header and its body.
struct Collector {
    port: u16,
    shared: std::sync::Arc<CollectorShared>,
}

#[derive(Default)]
struct CollectorShared {
    seen: std::sync::Mutex<Vec<(String, String, String)>>,
    stop: std::sync::atomic::AtomicBool,
}

impl Collector {
    fn start_on(port: u16) -> Collector {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let shared = std::sync::Arc::new(CollectorShared::default());
        server::accept_loop(
            listener,
            shared.clone(),
            |s| s.stop.load(std::sync::atomic::Ordering::SeqCst),
            |stream, s| {
                use std::io::{BufRead, Read, Write};
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or_default().to_owned();
                    let (mut length, mut authorization) = (0, String::new());
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let Some((name, value)) = line.trim_end().split_once(':') else { break };
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap(),
                            "authorization" => authorization = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    s.seen.lock().unwrap().push((path, authorization, String::from_utf8_lossy(&body).into_owned()));
                    let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
                    if out.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            },
        );
        Collector { port, shared }
    }

    fn seen(&self) -> Vec<(String, String, String)> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shared.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Waits until no deliverer holds any queue's lock.
fn settle_all(env: &TestEnv) {
    let outbox = env.journal_dir().join("outbox");
    for name in list(&outbox) {
        if let Ok(lock) = fs::File::options().read(true).write(true).open(outbox.join(name).join(".lock")) {
            lock.lock().unwrap();
            lock.unlock().unwrap();
        }
    }
}

/// F6: the outbox had one queue per sink, and a deliverer sent everything queued with the URL and
/// credentials it was started with. Project A's events, queued while its company server was
/// down, went to project B's personal server (and, for OTLP, with B's key) as soon as a hook in
/// B started a deliverer. Now each destination (URL and credentials) has its own queue, and only
/// a deliverer configured for it sends it.
#[test]
fn events_queued_for_one_projects_server_never_reach_anothers() {
    let env = TestEnv::new();
    let (company_port, collector_port) = (TestServer::closed_port(), TestServer::closed_port());
    let personal = TestServer::start();
    let collector = format!("http://127.0.0.1:{collector_port}");
    // A: the company's dashboard and the company's key on a shared collector; B: a personal
    // dashboard, and a personal key on that same collector.
    let company: [(&str, String); 4] = [
        ("CLAUDE_SESSION_SERVER_URL", format!("http://127.0.0.1:{company_port}")),
        ("CLAUDE_SESSION_OTLP_ENDPOINT", collector.clone()),
        ("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer company-key".into()),
        ("CLAUDE_SESSION_OTEL_LOG_USER_PROMPTS", "1".into()),
    ];
    let personal_env: [(&str, String); 4] = [
        ("CLAUDE_SESSION_SERVER_URL", personal.url.clone()),
        ("CLAUDE_SESSION_OTLP_ENDPOINT", collector.clone()),
        ("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer personal-key".into()),
        ("CLAUDE_SESSION_OTEL_LOG_USER_PROMPTS", "1".into()),
    ];
    let (work_a, personal_b) = (env.root.join("workA"), env.root.join("personalB"));
    for dir in [&work_a, &personal_b] {
        fs::create_dir_all(dir).unwrap();
    }
    let run = |dir: &std::path::Path, vars: &[(&str, String)], program: &str, args: &[&str], stdin: &[u8]| {
        let mut cmd = env.command(env.bin.join(program));
        cmd.args(args).current_dir(dir).env("CLAUDECODE", "1");
        for (name, value) in vars {
            cmd.env(name, value);
        }
        feed(cmd, stdin)
    };
    let turn = |dir: &std::path::Path, vars: &[(&str, String)], session: &str, prompt: &str| {
        let cwd = dir.to_str().unwrap();
        let call =
            json!({"tool_use_id": format!("call-{session}"), "tool_name": "Bash", "tool_input": {"command": "ls"}});
        for (event, extra) in
            [("UserPromptSubmit", json!({"prompt": prompt})), ("PreToolUse", call.clone()), ("PostToolUse", call)]
        {
            let out = run(dir, vars, "session-start", &[], &payload(event, Some(session), cwd, extra));
            assert_eq!(out.status.code(), Some(0));
        }
        settle_all(&env);
    };

    // A works while its company server and the collector are down: its events wait.
    turn(&work_a, &company, "session-A", "company secret plan");
    // B works once the collector is up, its personal server too: its hooks start deliverers.
    let otlp = Collector::start_on(collector_port);
    turn(&personal_b, &personal_env, "session-B", "hello");
    personal.wait_for(3, WAIT);
    // And B's flush and cron's cleanup, configured as B is, send only B's queues.
    let out = run(&personal_b, &personal_env, "claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let note = stderr(&out);
    assert!(note.contains("3 pending in dashboard-") && note.contains(&format!("127.0.0.1:{company_port}")), "{note}");
    assert!(note.contains("for otlp-logs →") && note.contains("(headers: Authorization)"), "{note}");
    assert!(!note.contains("company-key"), "a header's value is never shown: {note}");
    run(&personal_b, &personal_env, "claude-session", &["cleanup"], b"");
    settle_all(&env);
    // Each queue says for whom it is, to people: the URL and the header names, never a value.
    let outbox = env.journal_dir().join("outbox");
    for queue in list(&outbox) {
        let state = fs::read_to_string(outbox.join(&queue).join("state.json")).unwrap();
        assert!(!state.contains("-key"), "{queue}: {state}");
        let destination = &json(state.as_bytes())["destination"];
        if queue.starts_with("otlp-") {
            assert_eq!(destination["headers"], json!(["Authorization"]), "{queue}: {state}");
        }
        assert!(destination["url"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{queue}: {state}");
    }
    let all = json(&run(&personal_b, &personal_env, "claude-session", &["show", "--all", "--json"], b"").stdout);
    let queues = all["outbox"]["sinks"].as_array().unwrap();
    assert_eq!(queues.len(), 6, "three sinks, two destinations each: {queues:#?}");
    let ours = |q: &&Value| q["configured"] == true;
    assert_eq!(queues.iter().filter(ours).count(), 3, "B's three are the ones configured here");
    assert!(queues.iter().filter(ours).all(|q| q["pending"] == 0), "{queues:#?}");
    assert!(queues.iter().filter(|q| !ours(q)).all(|q| q["pending"].as_u64() > Some(0)), "A's wait: {queues:#?}");

    let sessions =
        |events: &[Value]| events.iter().map(|e| e["session_id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(sessions(&personal.accepted()), ["session-B"; 3], "only B's events reach B's server");
    let seen = otlp.seen();
    let paths: Vec<&str> = seen.iter().map(|(path, _, _)| path.as_str()).collect();
    assert!(paths.contains(&"/v1/logs") && paths.contains(&"/v1/traces"), "{paths:?}");
    for (path, authorization, body) in &seen {
        assert_eq!(authorization, "Bearer personal-key", "{path}");
        assert!(
            !body.contains("session-A") && !body.contains("company secret plan"),
            "A's record went with B's key: {body}"
        );
    }

    // Where A is configured, its own flush sends A's events to A's server, with A's key.
    let company_server = TestServer::start_on(company_port);
    let out = run(&work_a, &company, "claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(sessions(&company_server.accepted()), ["session-A"; 3]);
    assert_eq!(company_server.accepted()[0]["payload"]["prompt"], "company secret plan");
    let company_requests: Vec<_> = otlp.seen().into_iter().skip(seen.len()).collect();
    let paths: Vec<&str> = company_requests.iter().map(|(path, _, _)| path.as_str()).collect();
    assert!(paths.contains(&"/v1/logs") && paths.contains(&"/v1/traces"), "{paths:?}");
    for (path, authorization, body) in &company_requests {
        assert_eq!(authorization, "Bearer company-key", "{path}");
        assert!(body.contains("session-A") && !body.contains("session-B"), "{body}");
    }
    assert_eq!(sessions(&personal.accepted()).len(), 3, "still only B's");
    assert!(stderr(&out).is_empty(), "nothing pending elsewhere now: {}", stderr(&out));
}

/// Logs only, as JSON, to the collector on `port`, with the key `old-key`.
fn logs_with_old_key(port: u16) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .set("OTEL_TRACES_EXPORTER", "none")
        .set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer old-key");
    env
}

/// A collector key rotated while records waited: they stay in the old key's queue (never sent
/// with the new key unasked), `flush` names that queue, and `flush --adopt` sends them with the
/// new key.
#[test]
fn after_a_key_rotation_flush_adopt_sends_what_waited_with_the_new_key() {
    let port = TestServer::closed_port();
    let mut env = logs_with_old_key(port);
    env.hook("pre-tool", &payload("PreToolUse", Some("waited"), "/w/p", json!({"tool_use_id": "t1"})));
    settle_all(&env);
    let old = env.queue("otlp-logs");
    let collector = Collector::start_on(port);
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer new-key");
    let out = bounded_flush(&env);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let queue = old.file_name().unwrap().to_str().unwrap();
    assert!(stderr(&out).contains(&format!("1 pending in {queue}")), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("`flush --adopt {queue}`")), "{}", stderr(&out));
    assert!(collector.seen().is_empty(), "nothing sent with the new key unasked");

    let out = bounded(&env, &["flush", "--adopt", queue]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("otlp-logs: moved 1 queued for otlp-logs → http://127.0.0.1:"), "{}", stdout(&out));
    let seen = collector.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].1, "Bearer new-key");
    assert!(seen[0].2.contains("waited"), "{}", seen[0].2);
    let out = bounded(&env, &["flush", "--adopt", "otlp-logs-0000000000000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such queue"), "{}", stderr(&out));
}

/// Each record's `tool_use_id`, in the order the server accepted them.
fn accepted_ids(server: &TestServer) -> Vec<String> {
    server.accepted().iter().map(|e| e["payload"]["tool_use_id"].as_str().unwrap_or("?").to_owned()).collect()
}

/// The journal's convoy, in the outbox: a hook waits for its queue's spool lock for a short bound
/// only, and sixty-four hooks at once on a loaded machine queued past it. The journal kept every
/// event, but the dashboard never got the ones whose hook gave up on the spool. Every event must
/// reach the server exactly once.
#[test]
fn sixty_four_concurrent_hooks_deliver_every_event_once() {
    let port = TestServer::closed_port();
    let mut env = env_for(&format!("http://127.0.0.1:{port}/events"));
    // Large records, as the journal's test writes: each holds the spool's lock longer. The batches
    // are large too: the server may take its time on a loaded machine.
    env.set("CLAUDE_SESSION_LOG_FIELD_MAX", "200000").set("CLAUDE_SESSION_SERVER_TIMEOUT", "60s");
    let per_hook = 4;
    std::thread::scope(|s| {
        for w in 0..64 {
            let env = &env;
            s.spawn(move || {
                for n in 0..per_hook {
                    let content = char::from(b'a' + (w % 26) as u8).to_string().repeat(100_000);
                    let input = json!({"file_path": "/w/p/f", "content": content});
                    let call = json!({"tool_use_id": format!("w{w}-{n}"), "tool_name": "Write", "tool_input": input});
                    env.hook("pre-tool", &payload("PreToolUse", Some(&format!("s{w}")), "/w/p", call));
                }
            });
        }
    });
    assert_eq!(env.journal().len(), 64 * per_hook, "the journal keeps every event");
    settle(&env);
    eprintln!("records that waited in late/: {}", list(&queue_dir(&env).join("late")).len());
    let server = TestServer::start_on(port);
    let out = bounded_flush(&env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ids = accepted_ids(&server);
    let sent = ids.len();
    ids.sort();
    ids.dedup();
    let expected: Vec<String> = (0..64).flat_map(|w| (0..per_hook).map(move |n| format!("w{w}-{n}"))).collect();
    let missing: Vec<&String> = expected.iter().filter(|id| ids.binary_search(id).is_err()).collect();
    assert!(missing.is_empty(), "{} of {} never reached the server: {missing:?}", missing.len(), expected.len());
    assert_eq!(sent, expected.len(), "each exactly once");
    // Per session, in the order its hooks ran.
    for w in 0..64 {
        let prefix = format!("w{w}-");
        let seq: Vec<String> = accepted_ids(&server).into_iter().filter(|id| id.starts_with(&prefix)).collect();
        let want: Vec<String> = (0..per_hook).map(|n| format!("w{w}-{n}")).collect();
        assert_eq!(seq, want);
    }
    assert_eq!(outbox_pending(&env), 0);
}

/// A tool call `id` of session `s`, through the pre-tool hook.
fn tool_call(env: &TestEnv, id: &str) {
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": id})));
}

/// A queue whose deliverer was told to come back in two minutes, so that the hooks after it only
/// queue: t0 numbered, t1 in the spool.
fn t1_spooled_while_backing_off() -> (TestServer, TestEnv) {
    let server = TestServer::start();
    server.set(Mode::Busy(120));
    let env = env_for(&server.url);
    tool_call(&env, "t0");
    settle(&env);
    tool_call(&env, "t1");
    (server, env)
}

/// The spool's lock is waited on for a bound: a hook kept waiting past it (another hook holding
/// the lock while kept off the CPU) lost its record for every sink, though the journal kept it.
/// It now goes to a file of its own in the queue's `late/`, and the deliverer numbers it among the
/// spool's lines by its event's time.
#[test]
fn a_hook_kept_waiting_for_the_spool_lock_queues_its_event_late_not_lost() {
    let (server, env) = t1_spooled_while_backing_off();
    let hook = |id: &str| tool_call(&env, id);
    let (spool, late) = (queue_dir(&env).join("spool"), queue_dir(&env).join("late"));
    // Another hook holds the spool's lock for longer than a hook waits.
    let held = fs::File::open(&spool).unwrap();
    held.lock().unwrap();
    hook("t2");
    assert_eq!(fs::read_to_string(&spool).unwrap().lines().count(), 1, "nothing appended under another's lock");
    assert_eq!(list(&late).len(), 1, "{:?}", list(&late));
    held.unlock().unwrap();
    hook("t3");
    assert_eq!(outbox_pending(&env), 4, "a late record is pending like the others");

    server.set(Mode::Up);
    let out = bounded_flush(&env);
    assert_eq!(stdout(&out), "delivered 4, set aside 0, dropped 0, pending 0\n", "{}", stderr(&out));
    // By their events' times: t2 went late after t1 was spooled, and before t3 was.
    assert_eq!(accepted_ids(&server), ["t0", "t1", "t2", "t3"]);
    assert!(!late.exists(), "emptied, and removed until a hook needs it again");
    assert_eq!(outbox_pending(&env), 0);
}

/// A deliverer takes the spool by renaming it, then passed through its lock waiting 50 ms at most
/// for a hook writing into it, and read it. A hook that had the lock before the rename and was kept
/// off the CPU longer than that wrote its line after the deliverer had read the spool and removed
/// it: lost. The deliverer now waits for it, or leaves the taken spool unread for a later run.
#[test]
fn a_deliverer_taking_the_spool_waits_for_the_hook_still_writing_into_it() {
    let (server, env) = t1_spooled_while_backing_off();
    let (spool, taken) = (queue_dir(&env).join("spool"), queue_dir(&env).join("spool.taken"));
    let line = fs::read_to_string(&spool).unwrap().replace("\"t1\"", "\"t2\"");
    // A hook that locked the spool, found it still the spool, and is about to write.
    let mut writer = fs::File::options().append(true).open(&spool).unwrap();
    writer.lock().unwrap();

    server.set(Mode::Up);
    std::thread::scope(|s| {
        let flush = s.spawn(|| bounded_flush(&env));
        let waited = Instant::now();
        while !taken.exists() && !flush.is_finished() {
            assert!(waited.elapsed() < WAIT, "no deliverer took the spool");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Well past the 50 ms the deliverer used to wait before reading.
        let waited = Instant::now();
        while taken.exists() && !flush.is_finished() && waited.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::io::Write::write_all(&mut writer, line.as_bytes()).unwrap();
        writer.unlock().unwrap();
        flush.join().unwrap();
    });
    // Had the deliverer given up waiting (a very loaded machine), the taken spool waits for this.
    let out = bounded_flush(&env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ids = accepted_ids(&server);
    ids.sort();
    assert_eq!(ids, ["t0", "t1", "t2"], "the late writer's record too, each once");
    assert_eq!(outbox_pending(&env), 0);
}

/// Noticed last session: `flush --adopt QUEUE` counted what it moved as "delivered" in the source
/// queue's counters, so `show --all` and `hooks status` said records were delivered to a
/// destination that never got them. They are counted as moved there, and delivered (once) from
/// the queue they went to.
#[test]
fn flush_adopt_counts_what_it_moved_as_moved_not_delivered() {
    let port = TestServer::closed_port();
    let mut env = logs_with_old_key(port);
    for n in 0..2 {
        env.hook("pre-tool", &payload("PreToolUse", Some("waited"), "/w/p", json!({"tool_use_id": format!("t{n}")})));
    }
    settle_all(&env);
    let old = env.queue("otlp-logs");
    let old_name = old.file_name().unwrap().to_str().unwrap().to_owned();
    let collector = Collector::start_on(port);
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer new-key");
    let out = bounded(&env, &["flush", "--adopt", &old_name]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("moved 2 queued"), "{}", stdout(&out));
    assert_eq!(collector.seen().len(), 1, "one batch of two");

    let queues = |args: &[&str]| -> Vec<Value> {
        let out = env.run("claude-session", args, b"");
        json(&out.stdout)["outbox"]["sinks"].as_array().cloned().unwrap_or_default()
    };
    for args in [&["show", "--all", "--json"][..], &["hooks", "status", "--json"]] {
        let sinks = queues(args);
        let from = sinks.iter().find(|q| q["dir"].as_str().unwrap().ends_with(&old_name)).unwrap();
        assert_eq!(
            (&from["delivered"], &from["moved"], &from["pending"]),
            (&json!(0), &json!(2), &json!(0)),
            "{args:?}: {from}"
        );
        let into = sinks.iter().find(|q| q["configured"] == true && q["sink"] == "otlp-logs").unwrap();
        assert_eq!((&into["delivered"], &into["moved"]), (&json!(2), &json!(0)), "{args:?}: {into}");
    }
    let text = stdout(&env.run("claude-session", &["show", "--all"], b""));
    let line = text.lines().find(|l| l.contains(&old_name)).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("0 delivered, 2 moved to another queue"), "{line}");
}
