//! Real backends: the recorded sessions replayed through the hooks with Arize Phoenix or MLflow
//! (from PyPI, on loopback, in a virtualenv the tests make once) as the collector, `flush`ed, and
//! read back through each backend's own API. Logs are off for both: neither takes them.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use claude_session::sink::otlp::trace_id;
use common::backends::{Backend, Kind, Stored};
use common::*;
use serde_json::Value;

/// The recorded sessions through the hooks, then `flush`: nothing may be left.
fn replay_into(backend: &Backend) -> TestEnv {
    let mut env = TestEnv::new();
    backend.configure(&mut env);
    replay(&env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "flush: {}{}\n{}", stdout(&out), stderr(&out), backend.log());
    env
}

/// Every recorded session is its trace, whole (no span without its parent), with nothing
/// pending and nothing set aside, and no logs queue at all.
fn assert_every_session_arrived(backend: &Backend, env: &TestEnv) -> Vec<Stored> {
    let sessions: BTreeSet<String> = recorded().iter().map(|e| e["session_id"].as_str().unwrap().to_owned()).collect();
    let spans = backend.spans();
    let want: BTreeSet<String> = sessions.iter().map(|s| trace_id(s)).collect();
    let have: BTreeSet<String> = spans.iter().map(|s| s.trace_id.clone()).collect();
    assert_eq!(have, want, "one trace per recorded session");

    let ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(ids.len(), spans.len(), "no span twice");
    for span in &spans {
        if let Some(parent) = &span.parent_id {
            assert!(ids.contains(parent.as_str()), "{:?}: span {} has no parent {parent}", backend.kind, span.name);
        }
    }
    let mut roots: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.parent_id.is_none()) {
        roots.entry(span.trace_id.as_str()).or_default().push(span.name.as_str());
    }
    for trace in &want {
        assert_eq!(roots.get(trace.as_str()).map(Vec::as_slice), Some(&["session"][..]), "{trace}: one root");
    }
    let tool_calls = spans.iter().filter(|s| s.attributes.contains_key("tool_use_id")).count();
    let named: Vec<(&str, Vec<&String>)> =
        spans.iter().map(|s| (s.name.as_str(), s.attributes.keys().collect())).collect();
    assert_eq!(tool_calls, 4, "every tool call one span: {named:?}");
    for span in &spans {
        let session = span.attributes.get("session.id").and_then(Value::as_str).unwrap_or_default();
        assert_eq!(trace_id(session), span.trace_id, "{}: session.id names its trace", span.name);
    }

    let all = json(&env.run("claude-session", &["show", "--all", "--json"], b"").stdout);
    let sinks = all["outbox"]["sinks"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = sinks.iter().map(|s| s["sink"].as_str().unwrap()).collect();
    assert_eq!(names, ["otlp-traces"], "logs are off: no queue for them");
    let traces = &sinks[0];
    assert_eq!((traces["pending"].as_u64(), traces["set_aside"].as_u64()), (Some(0), Some(0)), "{traces:#}");
    spans
}

#[test]
fn phoenix_stores_every_recorded_session_as_its_trace() {
    let Some(phoenix) = deps::or_skip(Backend::phoenix()) else { return };
    let env = replay_into(&phoenix);
    assert_every_session_arrived(&phoenix, &env);
}

#[test]
fn mlflow_stores_every_recorded_session_as_its_trace() {
    let Some(mlflow) = deps::or_skip(Backend::mlflow()) else { return };
    assert_eq!(mlflow.kind, Kind::Mlflow);
    let env = replay_into(&mlflow);
    assert_every_session_arrived(&mlflow, &env);
    // MLflow files each trace under its session, from session.id on the root span.
    for trace in mlflow.mlflow_traces() {
        let id = trace["trace_id"].as_str().unwrap().trim_start_matches("tr-").to_owned();
        let session = trace["trace_metadata"]["mlflow.trace.session"].as_str().unwrap_or_default();
        assert_eq!(trace_id(session), id, "{trace:#}");
    }
}
