//! The secrets filter end to end: payloads holding a real-format example of every pattern, in
//! every place a secret turns up, go through the real hooks; neither the journal nor the body the
//! server receives keeps one, each shows its marker instead, and the rest of each value is kept.

mod common;

use std::fs;
use std::time::Duration;

use claude_session::secrets::RULES;
use common::server::TestServer;
use common::*;
use serde_json::{Value, json};

/// Ordinary text every place also holds: ids, hashes, base64 and prose the filter must not touch.
const ORDINARY: &str = concat!(
    "ordinary: session a3008a2b-25c3-4791-b916-3ad5effae209, commit 85f589b2c1d4e8f9a0b1c2d3e4f5a6b7c8d9e0f1, ",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, ",
    "SGVsbG8sIHRoaXMgaXMgb3JkaW5hcnkgdGV4dCBpbiBiYXNlNjQu, and the password is never logged"
);

/// (a line holding the secret, the secret, the marker, the line as it must be recorded): every
/// row of the filter's table, between ordinary words, and the name-based forms a command or a
/// `.env` file has.
type Case = (String, String, String, String);

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = RULES
        .iter()
        .map(|r| {
            let marker = format!("[redacted: {}]", r.kind);
            // A token is replaced whole; the other rows keep their context (checked below).
            let recorded = if r.secret == r.example { format!("before {marker} after") } else { String::new() };
            (format!("before {} after", r.example), r.secret.to_owned(), marker, recorded)
        })
        .collect();
    let named = [
        (
            "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "export AWS_SECRET_ACCESS_KEY=[redacted: secret]",
        ),
        (
            "curl -H \"Authorization: Bearer 0a1b2c3d4e5f6a7b8c9d\" https://api.example.com",
            "0a1b2c3d4e5f6a7b8c9d",
            "curl -H \"Authorization: Bearer [redacted: authorization]\" https://api.example.com",
        ),
        ("API_KEY=k-9f8e7d6c5b4a ./deploy.sh", "k-9f8e7d6c5b4a", "API_KEY=[redacted: api-key] ./deploy.sh"),
        ("secret=Zq8vT2mN4pL6 # from .env", "Zq8vT2mN4pL6", "secret=[redacted: secret] # from .env"),
        (
            "curl 'https://x.example/v1?token=tk5u7w9y1a3c5e&page=2'",
            "tk5u7w9y1a3c5e",
            "curl 'https://x.example/v1?token=[redacted: token]&page=2'",
        ),
        (
            "DOCKER_CREDENTIALS=builder:Pa55w0rdQ ./push",
            "builder:Pa55w0rdQ",
            "DOCKER_CREDENTIALS=[redacted: credential] ./push",
        ),
        ("password: hunter2hunter2", "hunter2hunter2", "password: [redacted: password]"),
        (
            "export OPENAI_API_KEY=sk-proj-NBTxaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkdfrUnW5gcF",
            "NBTxaQWk8JzFalHlsZfYcMMDktXP",
            "export OPENAI_API_KEY=[redacted: openai-api-key]",
        ),
    ];
    for (line, secret, recorded) in named {
        let marker = recorded[recorded.find("[redacted").unwrap()..].split_inclusive(']').next().unwrap();
        cases.push((line.into(), secret.into(), marker.into(), recorded.into()));
    }
    cases
}

/// Every case on its own line, after an ordinary line.
fn text(cases: &[Case]) -> String {
    let mut text = String::from(ORDINARY);
    for (line, _, _, _) in cases {
        text.push('\n');
        text.push_str(line);
    }
    text
}

/// One payload per place a secret can be: a Bash command, a Write's content, a Read's
/// response, an error, a prompt, a nested tool_input, and the values of env-like members.
fn payloads(text: &str) -> Vec<(&'static str, Vec<u8>)> {
    let session = Some("5e55e5e5-0000-4000-8000-000000000001");
    vec![
        (
            "pre-tool",
            payload(
                "PreToolUse",
                session,
                "/p",
                json!({"tool_name": "Bash", "tool_use_id": "t1",
            "tool_input": {"command": text, "description": "run it"}}),
            ),
        ),
        (
            "pre-tool",
            payload(
                "PreToolUse",
                session,
                "/p",
                json!({"tool_name": "Write", "tool_use_id": "t2",
            "tool_input": {"file_path": "/p/.env", "content": text}}),
            ),
        ),
        (
            "post-tool",
            payload(
                "PostToolUse",
                session,
                "/p",
                json!({"tool_name": "Read", "tool_use_id": "t3",
            "tool_input": {"file_path": "/p/.env"},
            "tool_response": {"type": "text", "file": {"filePath": "/p/.env", "content": text, "numLines": 70}}}),
            ),
        ),
        (
            "post-tool",
            payload(
                "PostToolUseFailure",
                session,
                "/p",
                json!({"tool_name": "Bash", "tool_use_id": "t4",
            "tool_input": {"command": "./deploy.sh"}, "error": text, "is_interrupt": false}),
            ),
        ),
        ("session-start", payload("UserPromptSubmit", session, "/p", json!({"prompt": text}))),
        (
            "pre-tool",
            payload(
                "PreToolUse",
                session,
                "/p",
                json!({"tool_name": "mcp__db__query", "tool_use_id": "t5",
            "tool_input": {"connection": {"options": [{"note": text}]}}}),
            ),
        ),
        (
            "pre-tool",
            payload(
                "PreToolUse",
                session,
                "/p",
                json!({"tool_name": "mcp__deploy__run", "tool_use_id": "t6",
            "tool_input": {"env": {"GITHUB_TOKEN": "gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR", "DB_PASSWORD": "plain-pw-77",
                "STRIPE_SECRET": "whatever-it-is", "HOME": "/home/dev"}}}),
            ),
        ),
    ]
}

const ENV_SECRETS: &[&str] = &["gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR", "plain-pw-77", "whatever-it-is"];

/// Every string in `value`, at every depth.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Checks one recorded event (a journal line or a server body): no secret in any of its text;
/// every value that held the cases still has its ordinary line and each case's line, with the
/// marker where the secret was and everything around it kept.
fn assert_clean(record: &Value, cases: &[Case]) {
    let whole = record.to_string();
    for (_, secret, _, _) in cases {
        assert!(!whole.contains(secret.as_str()), "{secret} leaked: {whole}");
    }
    for secret in ENV_SECRETS {
        assert!(!whole.contains(secret), "{secret} leaked: {whole}");
    }
    let mut values = Vec::new();
    strings(record, &mut values);
    // The summary is one line, cut: only the values themselves.
    let holders: Vec<&String> = values.iter().filter(|v| v.starts_with("ordinary: ") && v.contains('\n')).collect();
    assert!(!holders.is_empty() || record.to_string().contains("GITHUB_TOKEN"), "{record}");
    for value in holders {
        let lines: Vec<&str> = value.lines().collect();
        assert_eq!(lines[0], ORDINARY, "ordinary text untouched");
        assert_eq!(lines.len(), cases.len() + 1, "{value}");
        for (line, (original, _, marker, recorded)) in lines[1..].iter().zip(cases) {
            if recorded.is_empty() {
                assert!(line.contains(marker.as_str()), "{original} -> {line}: no {marker}");
                assert!(line.starts_with("before ") && line.ends_with(" after"), "{original} -> {line}");
            } else {
                assert_eq!(line, recorded, "{original}");
            }
        }
    }
}

fn journal_lines(env: &TestEnv) -> (String, Vec<Value>) {
    let mut text = String::new();
    for name in list(&env.journal_dir()) {
        if name.ends_with(".jsonl") {
            text.push_str(&fs::read_to_string(env.journal_dir().join(name)).unwrap());
        }
    }
    let lines = text.lines().map(|l| json(l.as_bytes())).collect();
    (text, lines)
}

#[test]
fn no_secret_reaches_the_journal_or_the_server_in_any_place() {
    let cases = cases();
    assert!(cases.len() >= 50, "every pattern has a case: {}", cases.len());
    let server = TestServer::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url);
    let text = text(&cases);
    let payloads = payloads(&text);
    for (applet, body) in &payloads {
        env.hook(applet, body);
    }

    let (raw, lines) = journal_lines(&env);
    assert_eq!(lines.len(), payloads.len(), "{raw}");
    for line in &lines {
        assert_clean(line, &cases);
    }
    // Each place really held the text, and its marker-bearing copy is where it was.
    assert!(lines[0]["parameters"]["command"].as_str().unwrap().contains("[redacted: aws-access-key]"));
    assert!(lines[1]["parameters"]["content"].as_str().unwrap().contains("[redacted: private-key]"));
    assert!(lines[2]["tool_response"]["file"]["content"].as_str().unwrap().contains("[redacted: github-token]"));
    assert!(lines[3]["error"].as_str().unwrap().contains("[redacted: slack-webhook]"));
    assert!(lines[4]["extra"]["prompt"].as_str().unwrap().contains("[redacted: anthropic-api-key]"));
    let nested = &lines[5]["parameters"]["connection"]["options"][0]["note"];
    assert!(nested.as_str().unwrap().contains("[redacted: jwt]"), "{nested}");
    let env_vars = &lines[6]["parameters"]["env"];
    assert_eq!(
        env_vars,
        &json!({"GITHUB_TOKEN": "[redacted: github-token]", "DB_PASSWORD": "[redacted: password]",
            "STRIPE_SECRET": "[redacted: secret]", "HOME": "/home/dev"})
    );
    assert_eq!(lines[0]["session_id"], "5e55e5e5-0000-4000-8000-000000000001", "ids are not secrets");

    let received = server.wait_for(payloads.len(), Duration::from_secs(20));
    assert_eq!(received.len(), payloads.len());
    for body in &received {
        assert_clean(body, &cases);
        assert!(body.to_string().contains("[redacted: "), "{body}");
    }
}

#[test]
fn secrets_filter_0_records_payloads_as_they_came() {
    let cases = cases();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SECRETS_FILTER", "0");
    let text = text(&cases);
    for (applet, body) in payloads(&text) {
        env.hook(applet, &body);
    }
    let (raw, lines) = journal_lines(&env);
    for (_, secret, _, _) in &cases {
        assert!(raw.contains(secret.as_str()), "{secret} was redacted with the filter off");
    }
    assert!(!raw.contains("[redacted: "));
    assert_eq!(lines[0]["parameters"]["command"], text.as_str(), "the value exactly as sent");
}

#[test]
fn real_payloads_pass_the_filter_unchanged() {
    let env = TestEnv::new();
    let mut off = TestEnv::new();
    off.set("CLAUDE_SESSION_SECRETS_FILTER", "0");
    for (name, body) in fixture_files() {
        let applet = match name.split(['-', '.']).next().unwrap() {
            "PreToolUse" => "pre-tool",
            "PostToolUse" | "PostToolUseFailure" => "post-tool",
            _ => "session-start",
        };
        env.hook(applet, &body);
        off.hook(applet, &body);
    }
    let strip_time = |lines: Vec<Value>| -> Vec<Value> {
        lines
            .into_iter()
            .map(|mut l| {
                l.as_object_mut().unwrap().remove("timestamp");
                l
            })
            .collect()
    };
    let (raw, on_lines) = journal_lines(&env);
    assert!(!raw.contains("[redacted"), "a false positive in a real payload: {raw}");
    assert_eq!(strip_time(on_lines), strip_time(journal_lines(&off).1));
}

/// Issue 15: `cleanup --redact` rewrites journals from before the filter, in place and once.
#[test]
fn cleanup_redact_rewrites_old_journals_once() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SECRETS_FILTER", "0");
    let key = "AKIAIOSFODNN7EXAMPLE";
    let extra =
        json!({"tool_name": "Bash", "tool_input": {"command": format!("aws configure set aws_access_key_id {key}")}});
    env.hook("pre-tool", &payload("PreToolUse", Some("s-old"), "/p", extra));
    let (before, _) = journal_lines(&env);
    assert!(before.contains(key), "recorded verbatim with the filter off");

    let out = env.run("cleanup", &["--redact"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 line redacted"), "{}", stdout(&out));
    let (after, lines) = journal_lines(&env);
    assert!(!after.contains(key) && after.contains("[redacted: "), "{after}");
    assert_eq!(lines[0]["session_id"], "s-old", "the rest of the line is intact");

    let out = env.run("cleanup", &["--redact"], b"");
    assert!(stdout(&out).contains("0 lines redacted"), "a second run changes nothing: {}", stdout(&out));
    env.hook("pre-tool", &payload("PreToolUse", Some("s-old"), "/p", json!({})));
    assert_eq!(journal_lines(&env).1.len(), 2, "appends go on in the rewritten file");
}

/// Issue 15: no secret in an OTLP body either, even with every text opt-in on: the records the
/// hooks queue for the collector are the filtered ones, and so is every request built from them.
#[test]
fn no_secret_reaches_an_otlp_body_even_with_every_opt_in() {
    let cases = cases();
    let mut env = TestEnv::new();
    let closed = format!("http://127.0.0.1:{}", TestServer::closed_port());
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &closed);
    let text = text(&cases);
    let payloads = payloads(&text);
    for (applet, body) in &payloads {
        env.hook(applet, body);
    }
    let (logs, traces) = otlp_bodies(&env, payloads.len());
    for body in [&logs, &traces] {
        let whole = body.to_string();
        for (_, secret, _, _) in &cases {
            assert!(!whole.contains(secret.as_str()), "{secret} leaked into OTLP: {whole}");
        }
    }
    assert!(logs.to_string().contains("[redacted: "), "the opted-in text is there, with its markers");
}

/// The leak corpus (tests/secrets/corpus.py): realistic payloads with a secret in each form an
/// agent writes, the forms and every row of the filter's tables, in every field an agent
/// fills, two over the field cap. `None` (after one `skipped:` line) without python3.
fn leak_corpus() -> Option<Vec<(Value, Vec<String>)>> {
    use claude_session::secrets::{FORMS, TOOL_OPTIONS};
    let mut forms: Vec<(&str, &str)> = RULES.iter().map(|r| (r.example, r.secret)).collect();
    forms.extend(TOOL_OPTIONS.iter().map(|t| (t.example, t.secret)));
    forms.extend(FORMS.iter().map(|(_, example, secret)| (*example, *secret)));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/secrets/corpus.py");
    if common::deps::which("python3").is_none() {
        println!("skipped: no python3 to run tests/secrets/corpus.py");
        return None;
    }
    // Its output is larger than a pipe holds: read while it writes (wait_with_output).
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = json!({ "forms": forms }).to_string();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut pipe, input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let out = match out {
        out if out.status.success() => out,
        out => {
            println!("skipped: tests/secrets/corpus.py failed: {}", stderr(&out));
            println!("skipped: python3 cannot run tests/secrets/corpus.py");
            return None;
        }
    };
    let corpus = stdout(&out)
        .lines()
        .map(|l| {
            let v = json(l.as_bytes());
            let secrets = v["secrets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
            (v["event"].clone(), secrets)
        })
        .collect();
    Some(corpus)
}

/// What the corpus became, everywhere we write it, with every privacy opt-in on: (where, text).
fn everything_recorded(corpus: &[(Value, Vec<String>)]) -> Vec<(String, String)> {
    let server = TestServer::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url);
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", format!("http://127.0.0.1:{}", TestServer::closed_port()));
    env.set("CLAUDE_SESSION_OTEL_LOG_USER_PROMPTS", "1");
    env.set("CLAUDE_SESSION_OTEL_LOG_TOOL_DETAILS", "1");
    let events: Vec<Value> = corpus.iter().map(|(e, _)| e.clone()).collect();
    replay(&env, &events);
    let mut out = Vec::new();
    let (journal, _) = journal_lines(&env);
    out.push(("journal".to_owned(), journal));
    let session = events[0]["session_id"].as_str().unwrap();
    for args in [&["--timeline", session][..], &["--timeline", session, "--json"], &["--all"], &["--all", "--json"]] {
        let shown = env.run("show", args, b"");
        assert_eq!(shown.status.code(), Some(0), "show {args:?}: {}", stderr(&shown));
        out.push((format!("show {}", args.join(" ")), stdout(&shown)));
    }
    for (n, body) in server.wait_for(events.len(), Duration::from_secs(30)).iter().enumerate() {
        out.push((format!("dashboard body {n}"), body.to_string()));
    }
    let (logs, traces) = otlp_bodies(&env, events.len());
    out.push(("otlp logs".to_owned(), logs.to_string()));
    out.push(("otlp traces".to_owned(), traces.to_string()));
    out
}

/// The OTLP logs and traces bodies for what the hooks queued for a collector that is down, with
/// every privacy opt-in on, after checking that all `events` were queued.
fn otlp_bodies(env: &TestEnv, events: usize) -> (Value, Value) {
    use claude_session::sink::otlp::{self, History, Privacy, Resource};
    // Wait for the deliverers the hooks started, and number what they spooled.
    env.run("claude-session", &["flush"], b"");
    // What waits for the collector: the numbered queue, and the spool should anything be left.
    let queue = env.queue("otlp-logs");
    let mut lines = fs::read_to_string(queue.join("spool")).unwrap_or_default();
    for name in list(&queue.join("queue")) {
        lines.push_str(&fs::read_to_string(queue.join("queue").join(name)).unwrap());
        lines.push('\n');
    }
    let records: Vec<Value> = lines.lines().filter(|l| !l.trim().is_empty()).map(|l| json(l.as_bytes())).collect();
    assert_eq!(records.len(), events, "every event queued for the collector");
    let everything = Privacy { prompts: true, tool_details: true };
    let resource = Resource::new(None, &[]);
    let logs = otlp::logs_request(&records, &resource, everything);
    (logs, otlp::traces_request(&records, &resource, everything, &mut History::from_lines(&[])))
}

/// A secret as it may stand in JSON text: as it is, and escaped once more.
fn spellings(secret: &str) -> [String; 2] {
    let escaped = serde_json::to_string(secret).unwrap();
    [secret.to_owned(), escaped[1..escaped.len() - 1].to_owned()]
}

/// Issue 29: no secret of the leak corpus reaches the journal, `show --timeline` (text and JSON),
/// `show --all`, the dashboard's bodies or an OTLP body, with every privacy opt-in on; and the
/// places really held the text (markers where the secrets were).
#[test]
fn no_secret_of_the_leak_corpus_reaches_any_record_or_sink() {
    let Some(corpus) = leak_corpus() else { return };
    assert!(corpus.len() >= 14, "every field has its payload");
    let secrets: std::collections::BTreeSet<&String> = corpus.iter().flat_map(|(_, s)| s).collect();
    assert!(secrets.len() >= 100, "every form has its secret: {}", secrets.len());
    let recorded = everything_recorded(&corpus);
    let mut leaks = Vec::new();
    for (place, text) in &recorded {
        for secret in &secrets {
            for spelling in spellings(secret) {
                if let Some(at) = text.find(spelling.as_str()) {
                    let from = (0..=at.saturating_sub(80)).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                    leaks.push(format!("{secret} in {place}: …{}", &text[from..at + spelling.len()]));
                    break;
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
    for (place, text) in &recorded {
        if place.starts_with("show") {
            assert!(text.contains("Bash") || text.contains("5e55e5e5"), "{place} shows the session: {text}");
        }
    }
    // The places really held the text, with markers where the secrets were.
    let marked = |place: &str| recorded.iter().any(|(p, t)| p.starts_with(place) && t.contains("[redacted: "));
    for place in ["journal", "dashboard body", "otlp logs"] {
        assert!(marked(place), "{place} holds the corpus, with its markers");
    }
}

/// Every text of ours a setting can reach: `hooks status` (text and JSON), `show --all` (text and
/// JSON), `flush`, a hook's debug lines, and each queue's `state.json`.
fn our_own_output(env: &TestEnv) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let hook_payload = payload("PreToolUse", Some("s-own"), "/p", json!({"tool_name": "Bash"}));
    let mut debug = env.command("pre-tool");
    debug.env("CLAUDE_SESSION_DEBUG", "1");
    let hook = feed(debug, &hook_payload);
    out.push(("hook debug lines".to_owned(), stderr(&hook)));
    for args in [
        &["hooks", "status"][..],
        &["hooks", "status", "--json"],
        &["show", "--all"],
        &["show", "--all", "--json"],
        &["flush"],
    ] {
        let o = env.run("claude-session", args, b"");
        out.push((args.join(" "), format!("{}{}", stdout(&o), stderr(&o))));
    }
    let outbox = env.journal_dir().join("outbox");
    for sink in list(&outbox) {
        if let Ok(state) = fs::read_to_string(outbox.join(&sink).join("state.json")) {
            out.push((format!("{sink}/state.json"), state));
        }
    }
    out
}

fn assert_masked(output: &[(String, String)], secrets: &[&str]) {
    for (place, text) in output {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} shown by {place}:\n{text}");
        }
    }
}

/// Issue 29: a URL's user and password, a header's value and a token in a bad setting are
/// masked in every error, status line, state file and debug line.
#[test]
fn bad_settings_holding_secrets_are_masked_in_every_error_status_state_and_debug_line() {
    let closed = TestServer::closed_port();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", format!("http://srvUser:srvPassw0rd@127.0.0.1:{closed}/events"));
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", format!("http://otlpUser:otlpPassw0rd@127.0.0.1:{closed}"));
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization Bearer hdrTok3nNoEquals");
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-api-key=%zzhdrBadEscapeVal");
    env.set("CLAUDE_SESSION_SERVER_TIMEOUT", "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d");
    let output = our_own_output(&env);
    let status = &output.iter().find(|(p, _)| p == "hooks status").unwrap().1;
    assert!(status.contains("CLAUDE_SESSION_SERVER_URL"), "the bad settings are still named: {status}");
    assert!(status.contains("CLAUDE_SESSION_SERVER_TIMEOUT"), "{status}");
    assert_masked(
        &output,
        &[
            "srvUser",
            "srvPassw0rd",
            "otlpUser",
            "otlpPassw0rd",
            "hdrTok3nNoEquals",
            "hdrBadEscapeVal",
            "ghp_u8jzPde0Ig",
        ],
    );
}

/// Issue 29: with good settings that hold secrets (a token in the server URL's query, header
/// values), `hooks status` says which headers are set and shows no value; a failed delivery's
/// error in `state.json`, `show --all` and `flush` holds none either.
#[test]
fn hooks_status_shows_a_header_is_set_never_its_value() {
    let closed = TestServer::closed_port();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", format!("http://127.0.0.1:{closed}/events?token=qryTok3nValue"));
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", format!("http://127.0.0.1:{closed}"));
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20validHdrTok3n,x-team=teamS3cretVal");
    let output = our_own_output(&env);
    let status = &output.iter().find(|(p, _)| p == "hooks status").unwrap().1;
    assert!(status.contains("headers set: Authorization, x-team (values not shown)"), "{status}");
    let json_status = &output.iter().find(|(p, _)| p == "hooks status --json").unwrap().1;
    assert!(json_status.contains("\"otlp_headers\""), "{json_status}");
    assert!(output.iter().any(|(p, _)| p.ends_with("state.json")), "a delivery failed and was recorded: {output:?}");
    assert_masked(&output, &["qryTok3nValue", "validHdrTok3n", "teamS3cretVal"]);
}

/// Issue 29, the independent check: detect-secrets (PyPI; its keyword, entropy and token-format
/// plugins) over the journal, `show`'s output and every sink's bodies after the leak corpus, each
/// JSON body also pretty-printed so that each string stands on a line of its own. A finding that
/// is (part of) a corpus secret is a leak; one inside a marker is ours; anything else is a value
/// it takes for a secret that the corpus does not hold as one, listed in docs/secrets.md.
#[test]
fn detect_secrets_finds_no_secret_we_missed() {
    let Some(corpus) = leak_corpus() else { return };
    let Some(python) = common::deps::or_skip(common::deps::venv("detect-secrets", &["detect-secrets==1.5.0"])) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("claude-session-detect-secrets-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (n, (place, text)) in everything_recorded(&corpus).iter().enumerate() {
        let name = place.replace([' ', '/'], "-");
        fs::write(dir.join(format!("{n:02}-{name}.txt")), text).unwrap();
        let pretty: Vec<String> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| serde_json::to_string_pretty(&v).unwrap())
            .collect();
        if !pretty.is_empty() {
            fs::write(dir.join(format!("{n:02}-{name}.pretty.json")), pretty.join("\n")).unwrap();
        }
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/secrets/scan.py");
    let out = std::process::Command::new(&python).arg(script).arg(&dir).output().unwrap();
    assert!(out.status.success(), "detect-secrets: {}", stderr(&out));
    let _ = fs::remove_dir_all(&dir);
    let secrets: Vec<&String> = corpus.iter().flat_map(|(_, s)| s).collect();
    let (mut leaks, mut others) = (Vec::new(), std::collections::BTreeSet::new());
    for finding in stdout(&out).lines().map(|l| json(l.as_bytes())) {
        let found = finding["secret"].as_str().unwrap_or_default();
        let ours = |s: &&String| found.len() >= 6 && (s.contains(found) || found.contains(s.as_str()));
        if secrets.iter().any(ours) {
            leaks.push(finding.to_string());
        } else if !found.contains("redacted") {
            others.insert(format!("{}: {found}", finding["type"].as_str().unwrap_or_default()));
        }
    }
    assert!(leaks.is_empty(), "detect-secrets found secrets we let through:\n{}", leaks.join("\n"));
    // The documented choice (docs/secrets.md): OTLP trace and span ids are 32 and 16 hex digits,
    // which its entropy plugin flags; they are ids, not secrets, and stay.
    let id = |f: &&String| {
        f.strip_prefix("Hex High Entropy String: ")
            .is_some_and(|h| matches!(h.len(), 16 | 32) && h.bytes().all(|c| c.is_ascii_hexdigit()))
    };
    // Also documented: `show --all` prints the session file's path, named for the project with a
    // hash (`…/run/claude-session/shop-d0a2878e85b2b579`), which its base64 plugin may flag.
    let store_path =
        |f: &&String| f.split_once(": ").is_some_and(|(_, v)| v.starts_with('/') && v.contains("/claude-session/"));
    let unexplained: Vec<&String> = others.iter().filter(|f| !id(f) && !store_path(f)).collect();
    assert!(unexplained.is_empty(), "detect-secrets flags what docs/secrets.md does not explain: {unexplained:?}");
}
