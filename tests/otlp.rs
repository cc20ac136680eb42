//! OTLP logs and traces: the recorded sessions replayed through the real binary, their outbox
//! records encoded, and every request checked against the official OTLP schema by
//! `tests/otlp/receiver.py` (opentelemetry-proto's messages, unknown fields rejected).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use claude_session::sink::otlp::{self, History, Privacy, Resource};
use common::*;
use serde_json::Value;

fn receiver_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp/receiver.py")
}

/// The python of a virtualenv with the official OTLP schema (opentelemetry-proto from PyPI),
/// which the tests install once into their cache (tests/common/deps.rs).
fn python() -> Result<&'static Path, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| deps::venv("otlp-schema", &["opentelemetry-proto==1.45.2", "protobuf==7.36.2"]))
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// Returns from the test, saying why in one line, when the schema cannot be had (no python3,
/// PyPI out of reach).
macro_rules! needs_schema {
    () => {
        if deps::or_skip(python()).is_none() {
            return;
        }
    };
}

/// The schema check, as the test receiver does it; panics with the reason.
fn assert_valid(signal: &str, body: &Value) {
    let mut child = Command::new(python().unwrap())
        .arg(receiver_script())
        .args(["check", signal])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the OTLP schema check runs");
    child.stdin.take().unwrap().write_all(body.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{signal} request is not valid OTLP: {}{}\n{body:#}", stdout(&out), stderr(&out));
}

/// The protobuf check, as the test receiver does it: each body is byte for byte
/// opentelemetry-proto's own serialization of the message it parses to, and that message is the
/// one its JSON encoding (of the same records) is.
fn assert_valid_protobuf(signal: &str, pairs: &[(Vec<u8>, Value)]) {
    let dir = std::env::temp_dir().join(format!("otlp-pairs-{signal}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (i, (body, like)) in pairs.iter().enumerate() {
        fs::write(dir.join(format!("{i:04}.pb")), body).unwrap();
        fs::write(dir.join(format!("{i:04}.json")), like.to_string()).unwrap();
    }
    let out = Command::new(python().unwrap())
        .arg(receiver_script())
        .args(["check-pairs", signal])
        .arg(&dir)
        .output()
        .expect("the OTLP schema check runs");
    let _ = fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{signal} protobuf request is not valid OTLP: {}{}", stdout(&out), stderr(&out));
}

/// Replays the recorded sessions with a dashboard that refuses, so every outbox record stays
/// queued, then `flush`es so that all are admitted and no deliverer is left running; returns the
/// records, oldest first.
fn replay_to_outbox(env: &mut TestEnv) -> Vec<Value> {
    env.set("CLAUDE_SESSION_SERVER_URL", "http://127.0.0.1:9/events");
    replay(env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    queued_records(&env.queue("dashboard"))
}

/// A sink's records: admitted ones by number, then incoming ones by name (names sort by time).
fn queued_records(dir: &Path) -> Vec<Value> {
    let mut admitted: Vec<(u64, PathBuf)> = fs::read_dir(dir.join("queue"))
        .map(|rd| {
            rd.map(Result::unwrap).filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path()))).collect()
        })
        .unwrap_or_default();
    admitted.sort();
    let mut incoming: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json") && p.file_name().unwrap().as_encoded_bytes()[0].is_ascii_digit()
        })
        .collect();
    incoming.sort();
    admitted.into_iter().map(|(_, p)| p).chain(incoming).map(|p| json(&fs::read(p).unwrap())).collect()
}

fn attrs(item: &Value) -> BTreeMap<String, Value> {
    item["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let v = &a["value"];
            let value = v
                .get("stringValue")
                .cloned()
                .or_else(|| v.get("boolValue").cloned())
                .or_else(|| v.get("intValue").map(|i| i.as_str().unwrap().parse::<i64>().unwrap().into()))
                .unwrap();
            (a["key"].as_str().unwrap().to_owned(), value)
        })
        .collect()
}

fn log_records(request: &Value) -> Vec<Value> {
    request["resourceLogs"][0]["scopeLogs"][0]["logRecords"].as_array().unwrap().clone()
}

fn spans(request: &Value) -> Vec<Value> {
    request["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().clone()
}

fn nanos(v: &Value) -> i128 {
    v.as_str().unwrap().parse().unwrap()
}

fn resource() -> Resource {
    Resource::new(None, &[("deployment.environment".into(), "test".into())])
}

#[test]
fn every_recorded_event_is_one_valid_log_record_with_its_session_id() {
    needs_schema!();
    let mut env = TestEnv::new();
    let records = replay_to_outbox(&mut env);
    let events = recorded();
    assert_eq!(records.len(), events.len());

    let request = otlp::logs_request(&records, &resource(), Privacy::default());
    assert_valid("logs", &request);
    let logs = log_records(&request);
    assert_eq!(logs.len(), events.len());
    for (log, event) in logs.iter().zip(&events) {
        let a = attrs(log);
        assert_eq!(a["session.id"], event["session_id"], "{log}");
        assert_eq!(a["hook_event_name"], event["hook_event_name"]);
        for (ours, theirs) in [("tool_name", "tool_name"), ("tool_use_id", "tool_use_id"), ("prompt.id", "prompt_id")] {
            assert_eq!(a.get(ours), event.get(theirs), "{ours} of {log}");
        }
        assert_eq!(a.get("agent_id"), event.get("agent_id"));
        assert_eq!(log["traceId"], trace_of(event).as_str(), "a UUID prompt or session id is its trace id");
    }
    let times: Vec<i128> = logs.iter().map(|l| nanos(&l["timeUnixNano"])).collect();
    // The record's time is the event's.
    for (log, record) in logs.iter().zip(&records) {
        assert_eq!(nanos(&log["timeUnixNano"]), i128::from(record["timestamp"].as_i64().unwrap()) * 1_000_000);
    }
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let service = &request["resourceLogs"][0]["resource"]["attributes"][0];
    assert_eq!(service["key"], "service.name");
    assert_eq!(service["value"]["stringValue"], "claude-session");
}

#[test]
fn protobuf_requests_are_the_official_serialization_of_the_json_ones() {
    needs_schema!();
    let mut env = TestEnv::new();
    let records = replay_to_outbox(&mut env);
    let (mut logs, mut traces) = (Vec::new(), Vec::new());
    for privacy in [Privacy::default(), Privacy { prompts: true, tool_details: true }] {
        // One request for all, and one per record (a batch of one, and the spans each closes).
        let mut batches: Vec<&[Value]> = vec![&records[..]];
        batches.extend(records.chunks(1));
        for batch in batches {
            let json = otlp::logs_request(batch, &resource(), privacy);
            logs.push((otlp::logs_request_protobuf(batch, &resource(), privacy), json));
            let mut history = History::journal(env.journal_dir());
            let json = otlp::traces_request(batch, &resource(), privacy, &mut history);
            let mut history = History::journal(env.journal_dir());
            let bytes = otlp::traces_request_protobuf(batch, &resource(), privacy, &mut history);
            traces.push((bytes, json));
        }
    }
    assert!(traces.iter().filter(|(b, _)| b.len() > 200).count() > 10, "spans were encoded");
    assert_valid_protobuf("logs", &logs);
    assert_valid_protobuf("traces", &traces);
}

#[test]
fn no_prompt_text_or_tool_input_leaves_unless_opted_in() {
    needs_schema!();
    let mut env = TestEnv::new();
    let records = replay_to_outbox(&mut env);
    let mut history = History::journal(env.journal_dir());
    let secrets = ["say hello using bash", "echo hello", "\"done\""];

    let closed = otlp::logs_request(&records, &resource(), Privacy::default()).to_string()
        + &otlp::traces_request(&records, &resource(), Privacy::default(), &mut history).to_string();
    for secret in secrets {
        assert!(!closed.contains(secret), "{secret} left without opt-in");
    }

    let prompts = Privacy { prompts: true, tool_details: false };
    let request = otlp::logs_request(&records, &resource(), prompts);
    assert_valid("logs", &request);
    let text = request.to_string();
    assert!(text.contains("say hello using bash"));
    assert!(!text.contains("echo hello"), "tool input needs OTEL_LOG_TOOL_DETAILS");

    let details = Privacy { prompts: false, tool_details: true };
    let request = otlp::logs_request(&records, &resource(), details);
    assert_valid("logs", &request);
    let text = request.to_string();
    assert!(text.contains("echo hello"));
    assert!(!text.contains("say hello using bash"), "prompts need OTEL_LOG_USER_PROMPTS");
}

/// The trace a span of `event`'s turn is in: the prompt id's hex, else (no turn, or the
/// session's own events) the session id's.
fn trace_of(event: &Value) -> String {
    let session_event = matches!(event["hook_event_name"].as_str(), Some("SessionStart" | "SessionEnd"));
    match event["prompt_id"].as_str() {
        Some(prompt) if !session_event => prompt.replace('-', ""),
        _ => event["session_id"].as_str().unwrap().replace('-', ""),
    }
}

#[test]
fn each_turn_is_a_trace_and_the_session_one_more_with_every_tool_call_under_its_turn() {
    needs_schema!();
    let mut env = TestEnv::new();
    let records = replay_to_outbox(&mut env);
    let events = recorded();
    let mut history = History::journal(env.journal_dir());
    let request = otlp::traces_request(&records, &resource(), Privacy::default(), &mut history);
    assert_valid("traces", &request);
    let spans = spans(&request);
    let time_of = |event: &str, key: &str, id: &str| -> i128 {
        let i = events.iter().position(|e| e["hook_event_name"] == event && e[key] == id).unwrap();
        i128::from(records[i]["timestamp"].as_i64().unwrap()) * 1_000_000
    };

    // A trace per turn, its id the prompt id's; a trace per session, its id the session id's.
    let mut wanted: BTreeSet<String> =
        events.iter().map(|e| e["session_id"].as_str().unwrap().replace('-', "")).collect();
    wanted.extend(events.iter().filter(|e| e["hook_event_name"] == "UserPromptSubmit").map(trace_of));
    let traces: BTreeSet<String> = spans.iter().map(|s| s["traceId"].as_str().unwrap().to_owned()).collect();
    assert_eq!(traces, wanted);

    // No span id twice.
    let ids: Vec<&str> = spans.iter().map(|s| s["spanId"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "duplicate span ids: {spans:#?}");
    let by_id: BTreeMap<&str, &Value> = spans.iter().map(|s| (s["spanId"].as_str().unwrap(), s)).collect();

    // Every span's parent is in the same trace (no orphans), within its parent's time; each
    // trace has one root.
    for span in &spans {
        if let Some(parent) = span.get("parentSpanId") {
            let p = by_id.get(parent.as_str().unwrap()).unwrap_or_else(|| panic!("orphan {span:#}"));
            assert_eq!(p["traceId"], span["traceId"]);
            assert!(
                nanos(&p["startTimeUnixNano"]) <= nanos(&span["startTimeUnixNano"]),
                "{span:#} starts before {p:#}"
            );
            assert!(nanos(&span["endTimeUnixNano"]) <= nanos(&p["endTimeUnixNano"]), "{span:#} ends after {p:#}");
        }
    }
    // A turn's trace has one root, the turn; a session's, one per run of it (one more after a
    // resume).
    for trace in &traces {
        let roots: Vec<&str> = spans
            .iter()
            .filter(|s| &s["traceId"] == trace && s.get("parentSpanId").is_none())
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert!(matches!(roots[..], ["turn"] | ["session"] | ["session", "session (resumed)"]), "{trace}: {roots:?}");
    }

    // Every tool call: one span, named for the tool, from its PreToolUse to its end (a call that
    // started a background subagent: to the subagent's stop), under its turn (or, inside a
    // subagent, under that subagent's span).
    let posts: Vec<&Value> = events
        .iter()
        .filter(|e| matches!(e["hook_event_name"].as_str(), Some("PostToolUse" | "PostToolUseFailure")))
        .collect();
    assert_eq!(posts.len(), 4);
    for post in posts {
        let id = post["tool_use_id"].as_str().unwrap();
        let matching: Vec<&Value> = spans.iter().filter(|s| attrs(s).get("tool_use_id") == Some(&id.into())).collect();
        assert_eq!(matching.len(), 1, "{id}");
        let span = matching[0];
        assert_eq!(span["name"], post["tool_name"]);
        assert_eq!(span["traceId"], trace_of(post).as_str());
        assert_eq!(nanos(&span["startTimeUnixNano"]), time_of("PreToolUse", "tool_use_id", id), "{id}");
        let end = match post["tool_response"]["status"].as_str() {
            Some("async_launched") => {
                time_of("SubagentStop", "agent_id", post["tool_response"]["agentId"].as_str().unwrap())
            }
            _ => time_of(post["hook_event_name"].as_str().unwrap(), "tool_use_id", id),
        };
        assert_eq!(nanos(&span["endTimeUnixNano"]), end, "{id}");
        let parent = by_id[span["parentSpanId"].as_str().unwrap()];
        match post.get("agent_id") {
            None => {
                assert_eq!(parent["name"], "turn", "{id}");
                assert_eq!(attrs(parent)["prompt.id"], post["prompt_id"]);
            }
            Some(agent) => assert_eq!(attrs(parent)["agent_id"], *agent, "{id}"),
        }
        let failed = post["hook_event_name"] == "PostToolUseFailure";
        assert_eq!(span["status"]["code"] == 2, failed, "{span}");
        if failed {
            assert_eq!(span["status"]["message"], post["error"]);
        }
    }

    // The subagent started by the first Agent call runs under that call; the one it started in
    // turn runs under the nested call.
    let agent =
        |id: &str| spans.iter().find(|s| attrs(s).get("agent_id") == Some(&id.into()) && s["name"] != "Agent").unwrap();
    let call = |id: &str| spans.iter().find(|s| attrs(s).get("tool_use_id") == Some(&id.into())).unwrap();
    assert_eq!(agent("a3f7f0963b7f0d067")["parentSpanId"], call("toolu_fake0001e99366c5af6d")["spanId"]);
    assert_eq!(agent("ac108c994a0522894")["parentSpanId"], call("toolu_fake000259e981ae38bc")["spanId"]);

    // Turns are their traces' roots; the session's span is the root of its own.
    assert_eq!(spans.iter().filter(|s| s["name"] == "turn" && s.get("parentSpanId").is_none()).count(), 4);
    assert_eq!(spans.iter().filter(|s| s["name"] == "session" && s.get("parentSpanId").is_none()).count(), 3);
    assert_eq!(spans.iter().filter(|s| s["name"] == "session (resumed)").count(), 1);
    assert!(spans.iter().all(|s| s["status"]["message"] != "unfinished: its end was never recorded"));
}

#[test]
fn a_call_and_a_turn_that_never_end_are_closed_unfinished_at_session_end() {
    needs_schema!();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", "http://127.0.0.1:9/events");
    let sid = "5e1f0000-0000-4000-8000-000000000001";
    let base = serde_json::json!({"session_id": sid, "cwd": "/home/dev/src/proj", "prompt_id": "p-1"});
    let with = |extra: Value| {
        let mut v = base.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        let mut bytes = serde_json::to_vec(&v).unwrap();
        bytes.push(b'\n');
        bytes
    };
    env.hook("session-start", &with(serde_json::json!({"hook_event_name": "SessionStart", "source": "startup"})));
    env.hook("session-start", &with(serde_json::json!({"hook_event_name": "UserPromptSubmit", "prompt": "x"})));
    env.hook(
        "pre-tool",
        &with(serde_json::json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "toolu_lost"})),
    );
    env.hook("session-start", &with(serde_json::json!({"hook_event_name": "SessionEnd", "reason": "other"})));

    env.run("claude-session", &["flush"], b"");
    let records = queued_records(&env.queue("dashboard"));
    assert_eq!(records.len(), 4);
    let mut history = History::journal(env.journal_dir());
    let request = otlp::traces_request(&records, &resource(), Privacy::default(), &mut history);
    assert_valid("traces", &request);
    let spans = spans(&request);
    let unfinished: Vec<&Value> = spans.iter().filter(|s| attrs(s).get("unfinished") == Some(&true.into())).collect();
    assert_eq!(unfinished.len(), 2, "{spans:#?}");
    let end = records.last().unwrap()["timestamp"].as_i64().unwrap() as i128 * 1_000_000;
    for span in unfinished {
        assert_eq!(nanos(&span["endTimeUnixNano"]), end);
        assert_eq!(span["status"]["code"], 2);
    }
    let session = spans.iter().find(|s| s["name"] == "session").unwrap();
    assert_eq!(nanos(&session["startTimeUnixNano"]), records[0]["timestamp"].as_i64().unwrap() as i128 * 1_000_000);
}

/// The schema-checking receiver of `tests/otlp/receiver.py`, on 127.0.0.1, killed on drop.
struct Receiver {
    child: std::process::Child,
    port: u16,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::on_port(0)
    }

    fn on_port(port: u16) -> Receiver {
        Receiver::spawn(&[&port.to_string()])
    }

    /// An https receiver whose certificate (for 127.0.0.1) is signed by `tests/otlp/tls/ca.pem`.
    #[cfg(feature = "tls")]
    fn https() -> Receiver {
        let dir = receiver_script().parent().unwrap().join("tls");
        Receiver::spawn(&["0", "--tls", dir.join("cert.pem").to_str().unwrap(), dir.join("key.pem").to_str().unwrap()])
    }

    fn spawn(args: &[&str]) -> Receiver {
        let mut child = Command::new(python().unwrap())
            .arg(receiver_script())
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the OTLP receiver runs");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let Ok(port) = line.trim().parse() else {
            // Its own words first: the cause, not the symptom.
            let _ = child.kill();
            let mut why = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut why);
            let last = why.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            panic!("the OTLP receiver did not start: {last}\n{why}");
        };
        // Its stderr from here on (it logs nothing per request) is the test's.
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::stderr()));
        Receiver { child, port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One request on a fresh connection: (status, body).
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }

    fn mode(&self, mode: &str, retry_after: u64) {
        let (status, _) = self.http("POST", "/mode", &format!(r#"{{"mode":"{mode}","retry_after":{retry_after}}}"#));
        assert_eq!(status, 200);
    }

    /// Answers 413 to a request of more than `max` log records or spans.
    fn max_items(&self, max: usize) {
        let (status, _) = self.http("POST", "/mode", &format!(r#"{{"mode":"ok","max_items":{max}}}"#));
        assert_eq!(status, 200);
    }

    /// Every request it got: `{"path", "ok", "error", "body", "headers"}`.
    fn received(&self) -> Vec<Value> {
        let (status, body) = self.http("GET", "/received", "");
        assert_eq!(status, 200);
        serde_json::from_str::<Value>(&body).unwrap().as_array().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn settings(base: &str) -> claude_session::config::Otlp {
    use claude_session::config::{Exporter, Header, Otlp, Protocol, Secret};
    // Logs in protobuf (the default), traces in JSON.
    let exporter = |path: &str, protocol: Protocol| Exporter {
        url: format!("{base}{path}"),
        protocol,
        headers: vec![Header { name: "Authorization".into(), value: Secret::new("Bearer t0ken".into()) }],
        certificate: None,
        timeout: std::time::Duration::from_millis(500),
    };
    Otlp {
        logs: Some(exporter("/v1/logs", Protocol::default())),
        traces: Some(exporter("/v1/traces", Protocol::Json)),
        service_name: Some("team-claude".into()),
        resource_attributes: vec![("deployment.environment".into(), "test".into())],
        log_user_prompts: false,
        log_tool_details: false,
    }
}

#[test]
fn the_sink_sends_a_batch_per_request_and_reads_the_collectors_answers() {
    needs_schema!();
    use claude_session::sink::otlp::{Otlp, Signal};
    use claude_session::sink::{Outcome, Sink};
    use std::time::{Duration, Instant};

    let mut env = TestEnv::new();
    let records = replay_to_outbox(&mut env);
    let receiver = Receiver::start();
    let c = settings(&receiver.base());
    let mut logs = Otlp::new(Signal::Logs, &c).unwrap();
    let mut traces = Otlp::new(Signal::Traces, &c).unwrap().with_journal(Some(env.journal_dir()));
    assert_eq!((logs.name(), traces.name(), logs.batch_max()), ("otlp-logs", "otlp-traces", 512));

    assert_eq!(logs.send(&records), Outcome::Delivered);
    assert_eq!(traces.send(&records), Outcome::Delivered);
    let got = receiver.received();
    assert_eq!(got.len(), 2, "one request per signal for the whole batch");
    for request in &got {
        assert_eq!(request["ok"], true, "{request:#}");
        assert_eq!(request["headers"]["authorization"], "Bearer t0ken");
    }
    // Each signal in its own protocol: logs in protobuf (the default), traces in JSON (set).
    assert_eq!(got[0]["content_type"], "application/x-protobuf");
    assert_eq!(got[1]["content_type"], "application/json");
    assert_eq!(got[0]["path"], "/v1/logs");
    assert_eq!(log_records(&got[0]["body"]).len(), records.len());
    let resource = &got[0]["body"]["resourceLogs"][0]["resource"]["attributes"];
    assert_eq!(resource[0]["value"]["stringValue"], "team-claude");
    assert_eq!(resource[1]["key"], "deployment.environment");
    assert_eq!(got[1]["path"], "/v1/traces");
    let turns = spans(&got[1]["body"]).iter().filter(|s| s["name"] == "turn").count();
    assert_eq!(turns, 4, "turn spans start at their prompt, read from the journal");

    receiver.mode("503", 7);
    assert_eq!(
        logs.send(&records[..1]),
        Outcome::Retry { error: "HTTP 503: busy".into(), after: Some(Duration::from_secs(7)) }
    );
    receiver.mode("429", 2);
    assert!(matches!(logs.send(&records[..1]), Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(2)));
    receiver.mode("400", 0);
    assert!(matches!(logs.send(&records[..1]), Outcome::Rejected { status: 400, .. }));

    // A batch that closes no span (a SessionStart) needs no request at all.
    let before = receiver.received().len();
    assert_eq!(traces.send(&records[..1]), Outcome::Delivered);
    assert_eq!(receiver.received().len(), before);

    receiver.mode("hang", 0);
    let started = Instant::now();
    let post = records.iter().position(|r| r["hook_event_type"] == "PostToolUse").unwrap();
    assert!(matches!(traces.send(&records[post..=post]), Outcome::Retry { after: None, .. }));
    assert!(started.elapsed() < Duration::from_secs(5), "a hung collector costs the timeout");

    drop(receiver);
    assert!(matches!(logs.send(&records[..1]), Outcome::Retry { after: None, .. }));
}

/// Replays the recorded sessions through the real hooks with OTLP on (the hooks' own deliverers
/// send what they can), then `flush`es; returns flush's output.
fn replay_and_flush(env: &TestEnv) -> std::process::Output {
    replay(env, &recorded());
    flush(env)
}

fn flush(env: &TestEnv) -> std::process::Output {
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "flush: {}{}", stdout(&out), stderr(&out));
    out
}

fn otlp_env(base: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", base);
    env.set("OTEL_EXPORTER_OTLP_TIMEOUT", "300");
    env
}

/// What the receiver stored, checked: every request valid; every recorded event exactly one
/// log record with its true session id; spans never twice, one trace per session, and every tool
/// call one span.
fn assert_received_exactly_once(receiver: &Receiver) {
    let got = receiver.received();
    let stored: Vec<&Value> = got.iter().filter(|r| r["ok"] == true).collect();
    for r in &got {
        assert!(r["invalid"].is_null(), "invalid OTLP request: {r:#}");
    }
    let events = recorded();
    let logs: Vec<Value> =
        stored.iter().filter(|r| r["path"] == "/v1/logs").flat_map(|r| log_records(&r["body"])).collect();
    assert_eq!(logs.len(), events.len(), "one log record per event, none twice");
    let mut want: Vec<(Value, Value)> =
        events.iter().map(|e| (e["session_id"].clone(), e["hook_event_name"].clone())).collect();
    let mut have: Vec<(Value, Value)> = logs
        .iter()
        .map(|l| {
            let a = attrs(l);
            (a["session.id"].clone(), a["hook_event_name"].clone())
        })
        .collect();
    want.sort_by_key(|p| p.0.to_string() + &p.1.to_string());
    have.sort_by_key(|p| p.0.to_string() + &p.1.to_string());
    assert_eq!(have, want);

    let spans: Vec<Value> =
        stored.iter().filter(|r| r["path"] == "/v1/traces").flat_map(|r| spans(&r["body"])).collect();
    let ids: BTreeSet<&str> = spans.iter().map(|s| s["spanId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), spans.len(), "no span twice");
    let traces: BTreeSet<&str> = spans.iter().map(|s| s["traceId"].as_str().unwrap()).collect();
    let turns = events.iter().filter(|e| e["hook_event_name"] == "UserPromptSubmit").count();
    assert_eq!(traces.len(), 3 + turns, "one trace per session and one per turn");
    let tool_spans = spans.iter().filter(|s| attrs(s).contains_key("tool_use_id")).count();
    assert_eq!(tool_spans, 4, "every tool call one span");
    for span in &spans {
        if let Some(parent) = span.get("parentSpanId") {
            assert!(ids.contains(parent.as_str().unwrap()), "orphan {span:#}");
        }
    }
}

#[test]
fn hooks_deliver_every_recorded_event_to_the_collector() {
    needs_schema!();
    let receiver = Receiver::start();
    let env = otlp_env(&receiver.base());
    let out = replay_and_flush(&env);
    assert!(stdout(&out).contains("otlp-logs: "), "{}", stdout(&out));
    assert_received_exactly_once(&receiver);
    // Batched: far fewer requests than events (the hooks' deliverers linger and batch).
    let requests = receiver.received().len();
    assert!(requests < 2 * recorded().len(), "{requests} requests");
}

#[test]
fn a_collector_that_is_down_gets_everything_once_it_is_up() {
    needs_schema!();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = otlp_env(&format!("http://127.0.0.1:{port}"));
    replay(&env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "pending while down: {}", stdout(&out));
    let receiver = Receiver::on_port(port);
    flush(&env);
    assert_received_exactly_once(&receiver);
}

#[test]
fn a_collector_answering_503_or_hanging_loses_nothing() {
    needs_schema!();
    for mode in ["503", "hang"] {
        let receiver = Receiver::start();
        receiver.mode(mode, 1);
        let env = otlp_env(&receiver.base());
        replay(&env, &recorded());
        receiver.mode("ok", 0);
        flush(&env);
        assert_received_exactly_once(&receiver);
    }
}

#[test]
fn prompt_text_reaches_the_collector_only_when_opted_in() {
    needs_schema!();
    for opted_in in [false, true] {
        let receiver = Receiver::start();
        let mut env = otlp_env(&receiver.base());
        if opted_in {
            env.set("CLAUDE_SESSION_OTEL_LOG_USER_PROMPTS", "1");
        }
        replay_and_flush(&env);
        let all = serde_json::to_string(&receiver.received()).unwrap();
        assert_eq!(all.contains("say hello using bash"), opted_in);
        assert!(!all.contains("echo hello"), "tool input needs OTEL_LOG_TOOL_DETAILS");
    }
}

#[test]
fn cleanup_closes_a_session_that_never_ended_once_with_its_open_spans_unfinished() {
    needs_schema!();
    let mut env = TestEnv::new();
    let mut records = replay_to_outbox(&mut env);
    let dir = env.journal_dir();
    let now = time::OffsetDateTime::now_utc();
    // The recorded sessions all ended.
    assert!(otlp::abandoned(&dir, None, std::time::Duration::ZERO, now).is_empty());

    // A session killed in the middle of a tool call.
    let sid = "dead0000-0000-4000-8000-000000000002";
    let base = serde_json::json!({"session_id": sid, "cwd": "/home/dev/src/proj", "prompt_id": "p-9"});
    for (applet, extra) in [
        ("session-start", serde_json::json!({"hook_event_name": "SessionStart", "source": "startup"})),
        ("session-start", serde_json::json!({"hook_event_name": "UserPromptSubmit", "prompt": "x"})),
        (
            "pre-tool",
            serde_json::json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "toolu_k"}),
        ),
    ] {
        let mut v = base.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        env.hook(applet, &serde_json::to_vec(&v).unwrap());
    }
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    assert!(otlp::abandoned(&dir, None, std::time::Duration::from_secs(3 * 3600), later).is_empty(), "not idle yet");
    let closing = otlp::abandoned(&dir, None, std::time::Duration::from_secs(3600), later);
    assert_eq!(closing.len(), 1);
    let closing = &closing[0];
    assert_eq!(closing.session_id, sid);
    claude_session::journal::append(&dir, closing.time, &closing.journal_line).unwrap();
    assert!(otlp::abandoned(&dir, None, std::time::Duration::from_secs(3600), later).is_empty(), "closed once");

    records.push(closing.record.clone());
    let logs = otlp::logs_request(&records, &resource(), Privacy::default());
    assert_valid("logs", &logs);
    let mut history = History::journal(dir.clone());
    let request = otlp::traces_request(&records, &resource(), Privacy::default(), &mut history);
    assert_valid("traces", &request);
    let trace = sid.replace('-', "");
    // The session's own trace, and its turns' (every span of those names the session).
    let spans: Vec<Value> = spans(&request)
        .into_iter()
        .filter(|s| s["traceId"] == trace.as_str() || attrs(s).get("session.id") == Some(&sid.into()))
        .collect();
    let names: BTreeSet<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["session", "turn", "Bash"]), "{spans:#?}");
    let end = nanos(&spans[0]["endTimeUnixNano"]);
    assert_eq!(end, i128::from(closing.record["timestamp"].as_i64().unwrap()) * 1_000_000);
    for span in spans.iter().filter(|s| s["name"] != "session") {
        assert_eq!(attrs(span)["unfinished"], true);
        assert_eq!(nanos(&span["endTimeUnixNano"]), end);
    }
}

#[test]
fn export_sends_the_journal_to_a_collector_set_up_later_once_per_run() {
    needs_schema!();
    // Recorded with no sink configured: only the journal has the events.
    let mut env = TestEnv::new();
    replay(&env, &recorded());
    assert!(!env.journal_dir().join("outbox").exists());

    let receiver = Receiver::start();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", receiver.base());
    let out = env.run("claude-session", &["export", "--since", "1d", "--all-projects"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let n = recorded().len();
    assert_eq!(
        stdout(&out),
        format!("otlp-logs: sent {n}, set aside 0, of {n}\notlp-traces: sent {n}, set aside 0, of {n}\n")
    );
    assert_received_exactly_once(&receiver);

    let out = env.run("claude-session", &["export", "--since", "tomorrow"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--since tomorrow"), "{}", stderr(&out));
}

#[cfg(feature = "tls")]
#[test]
fn an_https_collector_is_reached_with_the_ca_file_given() {
    needs_schema!();
    let receiver = Receiver::https();
    let base = format!("https://127.0.0.1:{}", receiver.port);
    let ca = receiver_script().parent().unwrap().join("tls/ca.pem");

    // Without the CA the certificate is not trusted, and nothing is stored.
    let mut env = otlp_env(&base);
    env.set("SSL_CERT_FILE", "/nonexistent");
    replay(&env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(receiver.received_tls(&ca).is_empty());

    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_CERTIFICATE", &ca);
    flush(&env);
    let got = receiver.received_tls(&ca);
    assert!(!got.is_empty() && got.iter().all(|r| r["ok"] == true));
    let logs: usize = got.iter().filter(|r| r["path"] == "/v1/logs").map(|r| log_records(&r["body"]).len()).sum();
    assert_eq!(logs, recorded().len());
}

/// A collector's own certificate as `openssl req -x509` makes it (self-signed, and so `CA:TRUE`),
/// given as the one to trust, is taken as curl takes it; the name in it is still checked.
#[cfg(feature = "tls")]
#[test]
fn a_self_signed_collector_certificate_given_as_trusted_works() {
    needs_schema!();
    let env = TestEnv::new();
    let Some(good) = deps::or_skip(self_signed(&env.root, "good", "127.0.0.1", "IP:127.0.0.1")) else { return };
    let Some(other) = deps::or_skip(self_signed(&env.root, "other", "collector.example", "DNS:collector.example"))
    else {
        return;
    };
    let receiver = Receiver::https_with(&good);
    let base = format!("https://127.0.0.1:{}", receiver.port);

    // Not given, it is trusted by nothing.
    let mut env = otlp_env(&base);
    env.set("SSL_CERT_FILE", "/nonexistent");
    replay(&env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(receiver.received_tls(&good.0).is_empty());
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));

    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_CERTIFICATE", &good.0);
    flush(&env);
    let got = receiver.received_tls(&good.0);
    assert!(!got.is_empty() && got.iter().all(|r| r["ok"] == true));
    let logs: usize = got.iter().filter(|r| r["path"] == "/v1/logs").map(|r| log_records(&r["body"]).len()).sum();
    assert_eq!(logs, recorded().len());

    // A certificate for another name, trusted, does not make 127.0.0.1 that collector.
    let receiver = Receiver::https_with(&other);
    let mut env = otlp_env(&format!("https://127.0.0.1:{}", receiver.port));
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_CERTIFICATE", &other.0);
    replay(&env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(receiver.received_tls(&other.0).is_empty());
    assert!(stderr(&out).contains("IP address mismatch"), "{}", stderr(&out));
}

/// A key and a self-signed certificate for `name` (subject) and `san` (subjectAltName) in `dir`,
/// made by the openssl command as a collector's admin makes them; checked to be `CA:TRUE`.
#[cfg(feature = "tls")]
fn self_signed(dir: &Path, stem: &str, name: &str, san: &str) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (dir.join(format!("{stem}.pem")), dir.join(format!("{stem}-key.pem")));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", &format!("/CN={name}"), "-addext", &format!("subjectAltName={san}")])
        .output()
        .map_err(|e| format!("no openssl command to make a certificate ({e})"))?;
    assert!(made.status.success(), "openssl req: {}", stderr(&made));
    let text = Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&cert).output().unwrap();
    assert!(stdout(&text).contains("CA:TRUE"), "not a CA certificate: {}", stdout(&text));
    Ok((cert, key))
}

#[cfg(feature = "tls")]
impl Receiver {
    /// An https receiver with this certificate and key.
    fn https_with((cert, key): &(PathBuf, PathBuf)) -> Receiver {
        Receiver::spawn(&["0", "--tls", cert.to_str().unwrap(), key.to_str().unwrap()])
    }

    /// `received()` over https, trusting `ca` (whatever name the receiver's certificate has).
    fn received_tls(&self, ca: &Path) -> Vec<Value> {
        let out = Command::new(python().unwrap())
            .arg("-c")
            .arg(format!(
                "import ssl,urllib.request;c=ssl.create_default_context(cafile={:?});c.check_hostname=False;\
                 print(urllib.request.urlopen('https://127.0.0.1:{}/received',context=c).read().decode())",
                ca.to_str().unwrap(),
                self.port
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
    }
}

/// A setting that does not parse is an error `flush` names; the hook still journals the event.
/// One that leaves the destination as it is (resource, certificate, timeout) keeps the event
/// queued until it is fixed; a URL or header list that does not parse names no destination, so
/// nothing is queued for it (F6: a queue is only ever sent to its own destination).
#[test]
fn a_bad_otlp_setting_is_an_error_naming_it_and_the_hook_still_records() {
    needs_schema!();
    let receiver = Receiver::start();
    // (variable, value, log records the collector gets once it is fixed)
    let mut cases = vec![
        ("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization", 0),
        ("OTEL_RESOURCE_ATTRIBUTES", "team=%zz", 1),
        ("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", 1),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "0", 1),
        // Logs are fine: only traces have no destination.
        ("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318/v1/traces", 1),
    ];
    if !cfg!(feature = "tls") {
        cases.push(("CLAUDE_SESSION_OTLP_ENDPOINT", "https://127.0.0.1:4318", 0));
    }
    let mut expected = 0;
    for (name, value, sent) in cases {
        let mut env = otlp_env(&receiver.base());
        env.set(name, value);
        let payload = fixture("PreToolUse-Bash.json");
        env.hook("pre-tool", &payload);
        assert_eq!(env.journal().len(), 1, "{name}={value}: journaled");
        let out = env.run("claude-session", &["flush"], b"");
        assert_eq!(out.status.code(), Some(1), "{name}={value}");
        assert!(stderr(&out).contains(name), "{name}={value}: {}", stderr(&out));
        if name == "CLAUDE_SESSION_OTLP_ENDPOINT" {
            env.set(name, receiver.base());
        } else {
            env.env.remove(name);
        }
        flush(&env);
        expected += sent;
        let logs: usize =
            receiver.received().iter().filter(|r| r["path"] == "/v1/logs").map(|r| log_records(&r["body"]).len()).sum();
        assert_eq!(logs, expected, "{name}={value}");
    }
}

/// Issue 11: a span whose end never arrives still appears, marked unfinished, by the next
/// `cleanup`: the binary closes a session idle past the TTL once, journaled and queued.
#[test]
fn cron_cleanup_closes_an_abandoned_session_once() {
    let mut env = TestEnv::new();
    let closed = format!("http://127.0.0.1:{}", common::server::TestServer::closed_port());
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &closed).set("CLAUDE_SESSION_TTL", "1s");
    let start = serde_json::json!({"session_id": "dead0000-0000-4000-8000-000000000003", "cwd": "/p",
        "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "toolu_x"});
    env.hook("pre-tool", &serde_json::to_vec(&start).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = env.run("cleanup", &[], b"");
    assert!(stdout(&out).contains("closed 1 session that never ended"), "{}{}", stdout(&out), stderr(&out));
    let journal = fs::read_dir(env.journal_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"));
    let text: String = journal.map(|e| fs::read_to_string(e.path()).unwrap()).collect();
    assert!(text.lines().any(|l| l.contains("\"SessionEnd\"") && l.contains("abandoned")), "{text}");
    let out = env.run("cleanup", &[], b"");
    assert!(!stdout(&out).contains("closed"), "closed twice: {}", stdout(&out));
}

/// Noticed last session (F6's leak on a smaller scale): `cleanup` from cron closed project A's
/// abandoned session into cron's own configured collector, with cron's key. A session's SessionEnd
/// now goes only to the OTLP queues its own hooks used (named in its journal lines), sent with A's
/// key by A's next `flush`; a session whose lines name none (destination unknown) is not closed.
#[test]
fn cleanup_closes_an_abandoned_session_only_toward_its_own_projects_collector() {
    use common::server::Recorder;
    let (a, cron) = (Recorder::start(), Recorder::start());
    let mut env = TestEnv::new();
    let headers = "CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS";
    let as_a = |env: &mut TestEnv| {
        env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &a.url).set(headers, "authorization=key-of-a");
    };
    as_a(&mut env);
    env.set("CLAUDE_SESSION_TTL", "1s");
    let sid = "dead0000-0000-4000-8000-00000000000a";
    let start = serde_json::json!({"session_id": sid, "cwd": "/p/a",
        "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "toolu_a"});
    env.hook("pre-tool", &serde_json::to_vec(&start).unwrap());
    // A session journaled with OTLP off: where it would have gone is not known.
    env.env.remove("CLAUDE_SESSION_OTLP_ENDPOINT");
    env.hook(
        "pre-tool",
        &payload("PreToolUse", Some("dead-no-otlp"), "/p/b", serde_json::json!({"tool_name": "Bash"})),
    );
    as_a(&mut env);
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = a.requests().len();
    assert!(before > 0, "A's hook event reached A's collector");
    std::thread::sleep(std::time::Duration::from_millis(2100));

    // Cron, configured for another collector with another key.
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &cron.url).set(headers, "authorization=key-of-cron");
    let out = env.run("cleanup", &[], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("closed 1 session that never ended"), "{}{}", stdout(&out), stderr(&out));
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(cron.requests().len(), 0, "cron's collector got another project's session");
    let ends: Vec<Value> = fs::read_dir(env.journal_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .flat_map(|e| fs::read_to_string(e.path()).unwrap().lines().map(|l| json(l.as_bytes())).collect::<Vec<_>>())
        .filter(|l| l["event"] == "SessionEnd")
        .collect();
    assert_eq!(ends.len(), 1, "only the session whose queues are known is closed: {ends:?}");
    assert_eq!(ends[0]["session_id"], sid);

    // A's own flush sends it, with A's key.
    as_a(&mut env);
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = a.requests();
    let closing: Vec<_> = got[before..].iter().filter(|r| String::from_utf8_lossy(&r.body).contains(sid)).collect();
    assert!(!closing.is_empty(), "A's collector never got the SessionEnd: {:?}", &got[before..]);
    assert!(got.iter().all(|r| r.header("authorization") == Some("key-of-a")), "{got:?}");
    let out = env.run("cleanup", &[], b"");
    assert!(!stdout(&out).contains("closed"), "closed twice: {}", stdout(&out));
}

#[test]
fn each_signal_is_sent_in_its_own_protocol_protobuf_by_default() {
    needs_schema!();
    for (protocol, traces_protocol, logs_type, traces_type) in [
        (None, None, "application/x-protobuf", "application/x-protobuf"),
        (Some("http/json"), Some("http/protobuf"), "application/json", "application/x-protobuf"),
    ] {
        let receiver = Receiver::start();
        let mut env = otlp_env(&receiver.base());
        if let Some(p) = protocol {
            env.set("OTEL_EXPORTER_OTLP_PROTOCOL", p);
        }
        if let Some(p) = traces_protocol {
            env.set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", p);
        }
        replay_and_flush(&env);
        assert_received_exactly_once(&receiver);
        for r in receiver.received() {
            let want = if r["path"] == "/v1/logs" { logs_type } else { traces_type };
            assert_eq!(r["content_type"], want, "{protocol:?} {traces_protocol:?}: {}", r["path"]);
        }
    }
}

#[test]
fn a_protocol_we_do_not_speak_is_an_error_naming_it() {
    let mut env = otlp_env("http://127.0.0.1:9");
    env.set("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/xml");
    let out = env.run("claude-session", &["flush"], b"");
    assert_ne!(out.status.code(), Some(0));
    let said = stdout(&out) + &stderr(&out);
    assert!(said.contains("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL") && said.contains("http/xml"), "{said}");
}

#[test]
fn logs_turned_off_send_traces_only_and_leave_no_logs_queue() {
    needs_schema!();
    let receiver = Receiver::start();
    let mut env = otlp_env(&receiver.base());
    env.set("OTEL_LOGS_EXPORTER", "none");
    let out = replay_and_flush(&env);
    assert!(!stdout(&out).contains("otlp-logs"), "{}", stdout(&out));
    let got = receiver.received();
    assert!(got.iter().all(|r| r["path"] == "/v1/traces" && r["ok"] == true), "{got:#?}");
    let spans: Vec<Value> = got.iter().flat_map(|r| spans(&r["body"])).collect();
    let sessions: BTreeSet<String> = recorded().iter().map(|e| e["session_id"].to_string()).collect();
    let named: BTreeSet<String> = spans.iter().filter_map(|s| Some(attrs(s).get("session.id")?.to_string())).collect();
    assert_eq!(named, sessions, "every session's spans");
    assert!(env.queues("otlp-logs").is_empty(), "no logs queue to grow");

    // And the other way round.
    let receiver = Receiver::start();
    let mut env = otlp_env(&receiver.base());
    env.set("OTEL_TRACES_EXPORTER", "NONE");
    replay_and_flush(&env);
    let got = receiver.received();
    assert!(!got.is_empty() && got.iter().all(|r| r["path"] == "/v1/logs"), "{got:#?}");
    assert!(env.queues("otlp-traces").is_empty());
}

/// A sink's queue as `show --all --json` reports it.
fn sink_status(env: &TestEnv, sink: &str) -> Value {
    let all = json(&env.run("claude-session", &["show", "--all", "--json"], b"").stdout);
    all["outbox"]["sinks"].as_array().and_then(|s| s.iter().find(|s| s["sink"] == sink)).cloned().unwrap_or(Value::Null)
}

#[test]
fn answers_that_will_never_be_taken_set_the_batch_aside_without_a_retry_loop() {
    needs_schema!();
    for (status, protocol) in [(404, "http/json"), (405, "http/protobuf"), (415, "http/json"), (422, "http/protobuf")] {
        let receiver = Receiver::start();
        receiver.mode(&status.to_string(), 0);
        let mut env = otlp_env(&receiver.base());
        env.set("OTEL_EXPORTER_OTLP_PROTOCOL", protocol);
        let out = replay_and_flush(&env);
        assert!(stdout(&out).contains("pending 0"), "nothing waits: {}", stdout(&out));

        // Every record was posted once: nothing was tried again.
        let got = receiver.received();
        assert!(got.iter().all(|r| r["status"] == status && r["ok"] == false), "{got:#?}");
        let logs: u64 = got.iter().filter(|r| r["path"] == "/v1/logs").map(|r| r["items"].as_u64().unwrap()).sum();
        assert_eq!(logs, recorded().len() as u64, "{status}: each log record posted once");
        let logs_status = sink_status(&env, "otlp-logs");
        assert_eq!(logs_status["set_aside"], recorded().len(), "{logs_status:#}");
        assert_eq!(logs_status["to_resend"], recorded().len());
        assert!(logs_status["last_error"].is_null(), "not a failure to back off from: {logs_status:#}");
        let answer = format!("HTTP {status}: answering {status} as told");
        assert_eq!(logs_status["last_set_aside"], answer.as_str(), "the status and the collector's message");

        // hooks status says so, and how to send them again.
        let said = stdout(&env.run("claude-session", &["hooks", "status"], b""));
        assert!(said.contains(&answer) && said.contains("flush --resend"), "{said}");

        // The cause fixed, they are sent again, once.
        receiver.mode("ok", 0);
        let out = env.run("claude-session", &["flush", "--resend"], b"");
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).contains("set aside, sent again"), "{}", stdout(&out));
        assert_received_exactly_once(&receiver);
        assert_eq!(sink_status(&env, "otlp-logs")["to_resend"], 0);
        assert_eq!(sink_status(&env, "otlp-traces")["to_resend"], 0);
    }
}

#[test]
fn a_413_splits_a_large_batch_until_every_request_is_taken() {
    needs_schema!();
    let receiver = Receiver::start();
    receiver.max_items(8);
    let mut env = TestEnv::new();
    let records = replay_to_outbox(&mut env);
    assert!(records.len() > 20);
    // Queued while no collector was set, sent in one flush: the batches start large.
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", receiver.base());
    for sink in ["otlp-logs", "otlp-traces"] {
        let out = env.run("claude-session", &["export", "--since", "7d", "--sink", sink, "--all-projects"], b"");
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    }
    let got = receiver.received();
    assert!(got.iter().any(|r| r["status"] == 413), "a batch was too large");
    let taken: Vec<&Value> = got.iter().filter(|r| r["ok"] == true).collect();
    assert!(taken.iter().all(|r| r["items"].as_u64().unwrap() <= 8));
    let logs: u64 = taken.iter().filter(|r| r["path"] == "/v1/logs").map(|r| r["items"].as_u64().unwrap()).sum();
    assert_eq!(logs, records.len() as u64, "every record delivered once, in smaller requests");
}

#[test]
fn a_413_in_the_outbox_splits_the_batch_and_sets_nothing_aside() {
    needs_schema!();
    // The collector is down while the sessions run: the queue builds up, then goes in one flush.
    // A request of one record must fit (a SessionEnd closes several spans): 8 at most.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = otlp_env(&format!("http://127.0.0.1:{port}"));
    replay(&env, &recorded());
    let receiver = Receiver::on_port(port);
    receiver.max_items(8);
    flush(&env);
    let got = receiver.received();
    assert!(got.iter().any(|r| r["status"] == 413 && r["items"].as_u64().unwrap() > 8), "a batch was too large");
    assert_received_exactly_once(&receiver);
    for sink in ["otlp-logs", "otlp-traces"] {
        let status = sink_status(&env, sink);
        assert_eq!((status["set_aside"].as_u64(), status["pending"].as_u64()), (Some(0), Some(0)), "{status:#}");
    }
}

/// A proxy on 127.0.0.1 that speaks CONNECT: it records each request line and, unless told to
/// refuse, tunnels to `target` (whatever host the client named).
struct FakeProxy {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start(target: Option<u16>) -> FakeProxy {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(client.try_clone().unwrap());
                    let mut first = String::new();
                    let _ = reader.read_line(&mut first);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    log.lock().unwrap().push(first.trim().to_owned());
                    let mut client = client;
                    let Some(target) = target else {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
                        return;
                    };
                    let upstream = std::net::TcpStream::connect(("127.0.0.1", target)).unwrap();
                    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
                    let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
                    let mut down = client.try_clone().unwrap();
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut up_read, &mut down);
                    });
                    let _ = std::io::copy(&mut reader, &mut up_write);
                    let _ = up_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        FakeProxy { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn a_proxy_variable_never_intercepts_loopback() {
    needs_schema!();
    let proxy = FakeProxy::start(None);
    for host in ["127.0.0.1", "localhost"] {
        let receiver = Receiver::start();
        let mut env = otlp_env(&format!("http://{host}:{}", receiver.port));
        for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            env.set(name, proxy.url());
        }
        replay_and_flush(&env);
        assert_received_exactly_once(&receiver);
    }
    assert_eq!(proxy.seen(), Vec::<String>::new(), "nothing for loopback went to the proxy");
}

#[test]
fn a_collector_beyond_a_proxy_is_reached_through_it_and_its_errors_name_it() {
    needs_schema!();
    let receiver = Receiver::start();
    let proxy = FakeProxy::start(Some(receiver.port));
    // A name that is never looked up here: the proxy is given it, and tunnels to the receiver.
    let mut env = otlp_env("http://collector.invalid:4318");
    env.set("http_proxy", proxy.url());
    env.set("NO_PROXY", "example.com,10.0.0.0/8");
    replay_and_flush(&env);
    assert_received_exactly_once(&receiver);
    assert!(!proxy.seen().is_empty());
    assert!(proxy.seen().iter().all(|l| l.starts_with("CONNECT collector.invalid:4318 ")), "{:?}", proxy.seen());

    // A proxy that refuses: the error says which proxy.
    let refusing = FakeProxy::start(None);
    let mut env = otlp_env("http://collector.invalid:4318");
    env.set("HTTP_PROXY", refusing.url());
    replay(&env, &recorded());
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(said.contains(&format!("through the proxy {}", refusing.url())), "{said}");
}

/// Finding F4: a proxy URL whose port is out of range (`:99999`) was read as port 80, so records
/// went to whatever listens there. It is refused, naming its variable and not its credentials,
/// for the OTLP sinks and the dashboard alike (which went around the proxy on any bad value).
#[test]
fn a_proxy_port_out_of_range_is_refused_naming_its_variable_never_port_80() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", "http://collector.invalid:4318")
        .set("CLAUDE_SESSION_SERVER_URL", "http://dashboard.invalid:4000")
        .set("http_proxy", "http://proxyUser:proxyPassw0rd@127.0.0.1:99999");
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let said = stderr(&out);
    // (A tool call's start closes no span: the traces sink has nothing to send.)
    for sink in ["dashboard", "otlp-logs"] {
        let line = said.lines().find(|l| l.contains(&format!(" {sink}: "))).unwrap_or_else(|| panic!("{sink}: {said}"));
        assert!(line.contains("http_proxy") && line.contains("port"), "{line}");
    }
    assert!(!said.contains(":80") && !said.contains("proxyPassw0rd"), "{said}");
}
