//! Real backends: the recorded sessions replayed through the hooks with Arize Phoenix or MLflow
//! (from PyPI, on loopback, in a virtualenv the tests make once) as the collector, `flush`ed, and
//! read back through each backend's own API. Logs are off for both: neither takes them.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use claude_session::sink::otlp::{self, History, Privacy, Resource};
use common::backends::{Backend, Kind, Stored};
use common::*;
use serde_json::Value;

/// The recorded sessions through the hooks, then `flush`. A dashboard that refuses is configured
/// too, so that its queue keeps a copy of every record for the test to derive the spans from.
fn replay_into(backend: &Backend) -> TestEnv {
    let mut env = TestEnv::new();
    backend.configure(&mut env);
    env.set("CLAUDE_SESSION_SERVER_URL", "http://127.0.0.1:9/events");
    replay(&env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert!(
        stdout(&out).contains("otlp-traces: delivered"),
        "flush: {}{}\n{}",
        stdout(&out),
        stderr(&out),
        backend.log()
    );
    env
}

/// The records the hooks queued, oldest first: the refusing dashboard's queue.
fn queued_records(env: &TestEnv) -> Vec<Value> {
    let dir = env.queue("dashboard");
    let mut numbered: Vec<(u64, PathBuf)> = fs::read_dir(dir.join("queue"))
        .map(|rd| rd.flatten().filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path()))).collect())
        .unwrap_or_default();
    numbered.sort();
    let mut records: Vec<Value> = numbered.iter().map(|(_, p)| json(&fs::read(p).unwrap())).collect();
    for spool in [dir.join("spool.taken"), dir.join("spool")] {
        let text = fs::read_to_string(&spool).unwrap_or_default();
        records.extend(text.lines().filter(|l| !l.is_empty()).map(|l| json(l.as_bytes())));
    }
    assert_eq!(records.len(), recorded().len(), "every record queued for the dashboard");
    records
}

/// (trace, span, parent, name) of every span, as our own encoder makes them from `records`.
fn expected_spans(records: &[Value], journal: &Path) -> BTreeSet<(String, String, Option<String>, String)> {
    let request = otlp::traces_request(
        records,
        &Resource::new(None, &[]),
        Privacy::default(),
        &mut History::journal(journal.to_owned()),
    );
    let spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().clone();
    spans
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
            (text("traceId"), text("spanId"), s["parentSpanId"].as_str().map(str::to_owned), text("name"))
        })
        .collect()
}

/// Every span we make of the recorded sessions is stored, once, in its trace under its parent;
/// every recorded session is there by `session.id`; nothing is pending or set aside, and there
/// is no logs queue at all.
fn assert_every_session_arrived(backend: &Backend, env: &TestEnv) -> Vec<Stored> {
    let want = expected_spans(&queued_records(env), &env.journal_dir());
    let key = |s: &Stored| (s.trace_id.clone(), s.span_id.clone(), s.parent_id.clone(), s.name.clone());
    // Phoenix answers 200 and stores later: read until all is there, or it stops growing.
    let mut spans = backend.spans();
    for _ in 0..120 {
        if spans.len() >= want.len() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        spans = backend.spans();
    }
    let have: BTreeSet<(String, String, Option<String>, String)> = spans.iter().map(key).collect();
    assert_eq!(have.len(), spans.len(), "{:?}: no span twice", backend.kind);
    assert_eq!(have, want, "{:?}: every span, in its trace, under its parent", backend.kind);

    let sessions: BTreeSet<String> = recorded().iter().map(|e| e["session_id"].as_str().unwrap().to_owned()).collect();
    let named: BTreeSet<String> =
        spans.iter().filter_map(|s| s.attributes.get("session.id")?.as_str().map(str::to_owned)).collect();
    assert_eq!(named, sessions, "every recorded session, by session.id");

    let all = json(&env.run("claude-session", &["show", "--all", "--json"], b"").stdout);
    let sinks = all["outbox"]["sinks"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = sinks.iter().map(|s| s["sink"].as_str().unwrap()).collect();
    assert_eq!(names, ["dashboard", "otlp-traces"], "logs are off: no queue for them");
    let traces = &sinks[1];
    assert_eq!((traces["pending"].as_u64(), traces["set_aside"].as_u64()), (Some(0), Some(0)), "{traces:#}");
    spans
}

#[test]
fn phoenix_stores_every_recorded_session_as_its_traces() {
    let Some(phoenix) = deps::or_skip(Backend::phoenix()) else { return };
    let env = replay_into(&phoenix);
    assert_every_session_arrived(&phoenix, &env);
}

#[test]
fn mlflow_stores_every_recorded_session_as_its_traces() {
    let Some(mlflow) = deps::or_skip(Backend::mlflow()) else { return };
    assert_eq!(mlflow.kind, Kind::Mlflow);
    let env = replay_into(&mlflow);
    assert_every_session_arrived(&mlflow, &env);
    // Where MLflow files a trace under a session (from session.id), it is a recorded one.
    let sessions: BTreeSet<String> = recorded().iter().map(|e| e["session_id"].as_str().unwrap().to_owned()).collect();
    for trace in mlflow.mlflow_traces() {
        if let Some(session) = trace["trace_metadata"]["mlflow.trace.session"].as_str() {
            assert!(sessions.contains(session), "{trace:#}");
        }
    }
}
