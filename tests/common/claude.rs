//! The real Claude Code CLI (from npm, cached by `deps`), run offline against a fake Messages API
//! that the test scripts: which tools the "model" calls, what it answers, and the usage it reports.
//! The CLI then runs the tools and fires its hooks exactly as it does for a user.
//!
//! A conversation is told apart by a marker in its first user message (the prompt, or an Agent
//! call's prompt for a subagent), and its next reply is the one after as many replies as the
//! conversation already has from the assistant. So a subagent running in the background, beside
//! the main conversation, gets its own script. Requests that match no script (titles, summaries,
//! anything without tools) get a short text.
#![allow(dead_code)]

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::server::{accept_loop, read_request};
use super::{TestEnv, deps};

/// The CLI release these tests drive; `shared/claude-code-hooks.md` describes what it does.
pub const VERSION: &str = "2.1.332";

/// The `claude` executable, installed into the test cache on first use.
pub fn cli() -> Result<PathBuf, String> {
    which_node()?;
    let modules = deps::npm("claude", &[&format!("@anthropic-ai/claude-code@{VERSION}")])?;
    let bin = modules.join(".bin/claude");
    if !bin.exists() {
        return Err(format!("{} is missing after npm install", bin.display()));
    }
    Ok(bin)
}

fn which_node() -> Result<(), String> {
    deps::which("node").map(|_| ()).ok_or_else(|| "no node on PATH (the real Claude Code CLI comes from npm)".into())
}

/// Token counts the fake reports for one response; the CLI writes them into the transcript.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
}

#[derive(Clone, Debug)]
pub enum Reply {
    /// A final answer: the turn ends (`stop_reason: end_turn`).
    Text(String),
    /// Tool calls, each `(tool name, input)`: the CLI runs them and asks again with their results.
    Tools(Vec<(String, Value)>),
}

#[derive(Clone, Debug)]
pub struct Step {
    pub reply: Reply,
    pub usage: Usage,
    /// The model the response names (default: the one the request asked for).
    pub model: Option<String>,
    /// How long the fake waits before answering.
    pub delay: Duration,
}

impl Step {
    pub fn text(text: &str) -> Step {
        Step { reply: Reply::Text(text.into()), usage: Usage::default(), model: None, delay: Duration::ZERO }
    }
    pub fn tool(name: &str, input: Value) -> Step {
        Step::tools(vec![(name.into(), input)])
    }
    pub fn tools(calls: Vec<(String, Value)>) -> Step {
        Step { reply: Reply::Tools(calls), usage: Usage::default(), model: None, delay: Duration::ZERO }
    }
    pub fn usage(mut self, input: u64, output: u64, cache_creation: u64, cache_read: u64) -> Step {
        self.usage = Usage { input, output, cache_creation, cache_read };
        self
    }
    pub fn model(mut self, model: &str) -> Step {
        self.model = Some(model.into());
        self
    }
    pub fn delay(mut self, delay: Duration) -> Step {
        self.delay = delay;
        self
    }
}

struct Script {
    marker: String,
    steps: Vec<Step>,
}

struct Shared {
    scripts: Mutex<Vec<Script>>,
    /// Every request body the fake received, in order, with its path.
    requests: Mutex<Vec<(String, Value)>>,
    ids: AtomicU64,
    stop: AtomicBool,
}

/// The fake Messages API on 127.0.0.1.
pub struct FakeApi {
    pub port: u16,
    shared: Arc<Shared>,
}

impl FakeApi {
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            scripts: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            ids: AtomicU64::new(1),
            stop: AtomicBool::new(false),
        });
        accept_loop(listener, shared.clone(), |s| s.stop.load(Ordering::SeqCst), serve);
        FakeApi { port, shared }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The conversation whose first user message contains `marker` gets `steps`, one per request;
    /// past the last step it gets a final "done.".
    pub fn script(&self, marker: &str, steps: Vec<Step>) -> &Self {
        self.shared.scripts.lock().unwrap().push(Script { marker: marker.into(), steps });
        self
    }

    /// The bodies of every `POST /v1/messages`, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.shared
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.starts_with("/v1/messages"))
            .map(|(_, b)| b.clone())
            .collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The text of a conversation's first user message.
fn first_user_text(body: &Value) -> String {
    let Some(first) = body["messages"].as_array().and_then(|m| m.iter().find(|m| m["role"] == "user")) else {
        return String::new();
    };
    match &first["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

fn choose(body: &Value, s: &Shared) -> Step {
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let first = first_user_text(body);
    let answered = body["messages"].as_array().map_or(0, |m| m.iter().filter(|m| m["role"] == "assistant").count());
    let scripts = s.scripts.lock().unwrap();
    // The longest marker that matches wins, so a subagent's prompt may contain the main one.
    let script = scripts.iter().filter(|sc| has_tools && first.contains(&sc.marker)).max_by_key(|sc| sc.marker.len());
    match script {
        Some(sc) => sc.steps.get(answered).cloned().unwrap_or_else(|| Step::text("done.")),
        None => Step::text("ok"),
    }
}

fn serve(stream: TcpStream, s: &Shared) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let Some(request) = read_request(&mut reader) else { return };
        let value = request.json();
        let path = request.path;
        s.requests.lock().unwrap().push((path.clone(), value.clone()));
        let (status, content_type, answer) = if path.starts_with("/v1/messages/count_tokens") {
            (200, "application/json", json!({"input_tokens": 100}).to_string())
        } else if path.starts_with("/v1/messages") {
            let step = choose(&value, s);
            std::thread::sleep(step.delay);
            let id = s.ids.fetch_add(1, Ordering::SeqCst);
            let model = step.model.clone().or_else(|| value["model"].as_str().map(str::to_owned)).unwrap_or_default();
            if value["stream"] == true {
                (200, "text/event-stream", sse(&step, id, &model))
            } else {
                (200, "application/json", message(&step, id, &model).to_string())
            }
        } else {
            (
                404,
                "application/json",
                json!({"type": "error", "error": {"type": "not_found_error", "message": "not here"}}).to_string(),
            )
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nrequest-id: req_fake{:06}\r\nContent-Length: {}\r\n\r\n",
            if status == 200 { "OK" } else { "Not Found" },
            s.ids.load(Ordering::SeqCst),
            answer.len()
        );
        if out.write_all((head + &answer).as_bytes()).is_err() {
            return;
        }
    }
}

fn content(step: &Step, id: u64) -> Vec<Value> {
    match &step.reply {
        Reply::Text(t) => vec![json!({"type": "text", "text": t})],
        Reply::Tools(calls) => calls
            .iter()
            .enumerate()
            .map(|(i, (name, input))| json!({"type": "tool_use", "id": format!("toolu_fake{id:04}{i:02}"), "name": name, "input": input}))
            .collect(),
    }
}

fn stop_reason(step: &Step) -> &'static str {
    match step.reply {
        Reply::Text(_) => "end_turn",
        Reply::Tools(_) => "tool_use",
    }
}

fn usage_json(u: &Usage) -> Value {
    json!({"input_tokens": u.input, "output_tokens": u.output,
           "cache_creation_input_tokens": u.cache_creation, "cache_read_input_tokens": u.cache_read})
}

fn message(step: &Step, id: u64, model: &str) -> Value {
    json!({"id": format!("msg_fake{id:06}"), "type": "message", "role": "assistant", "model": model,
           "content": content(step, id), "stop_reason": stop_reason(step), "stop_sequence": null,
           "usage": usage_json(&step.usage)})
}

/// The streamed form: message_start, one start/delta/stop per block, message_delta, message_stop.
fn sse(step: &Step, id: u64, model: &str) -> String {
    let mut events = Vec::new();
    let mut start = message(step, id, model);
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    let mut first_usage = usage_json(&step.usage);
    first_usage["output_tokens"] = json!(1.min(step.usage.output));
    start["usage"] = first_usage;
    events.push(("message_start", json!({"type": "message_start", "message": start})));
    for (index, block) in content(step, id).into_iter().enumerate() {
        let (empty, delta) = if block["type"] == "text" {
            (json!({"type": "text", "text": ""}), json!({"type": "text_delta", "text": block["text"]}))
        } else {
            let mut empty = block.clone();
            empty["input"] = json!({});
            (empty, json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}))
        };
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": empty}),
        ));
        events.push(("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": delta})));
        events.push(("content_block_stop", json!({"type": "content_block_stop", "index": index})));
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(step), "stop_sequence": null},
               "usage": usage_json(&step.usage)}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events.iter().map(|(name, data)| format!("event: {name}\ndata: {data}\n\n")).collect()
}

impl TestEnv {
    /// `claude` as a user runs it, offline against `api`, in this test's HOME and project: every
    /// hook it fires sees this environment (the store, journal and PATH of the test).
    pub fn claude(&self, cli: &PathBuf, api: &FakeApi) -> Command {
        let mut cmd = self.command(cli);
        cmd.env("ANTHROPIC_BASE_URL", api.base_url())
            .env("ANTHROPIC_API_KEY", "sk-ant-fake-key-for-tests")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("IS_SANDBOX", "1");
        cmd
    }

    /// Runs `claude -p prompt` to the end (a hang detector of ten minutes, not a speed claim).
    pub fn claude_p(&self, cli: &PathBuf, api: &FakeApi, prompt: &str, args: &[&str]) -> Output {
        let mut cmd = self.claude(cli, api);
        cmd.args(["-p", prompt, "--dangerously-skip-permissions"]).args(args);
        let out = super::feed(cmd, b"");
        assert!(
            out.status.success(),
            "claude -p failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            super::stdout(&out),
            super::stderr(&out)
        );
        out
    }
}
