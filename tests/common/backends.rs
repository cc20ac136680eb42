//! Real OpenTelemetry backends for tests: Arize Phoenix and MLflow from PyPI, each started on
//! loopback in a virtualenv that `deps` makes once, in a temp directory of its own, and read back
//! through its own API. Dropping a backend kills the process group it started.
//!
//! ```ignore
//! let Some(phoenix) = deps::or_skip(Backend::phoenix()) else { return };
//! phoenix.configure(&mut env);   // endpoint, headers, logs off
//! ... replay, flush ...
//! let spans = phoenix.spans();    // every span it stored, as `Stored`
//! ```
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{TestEnv, deps};

pub const PHOENIX: &str = "arize-phoenix==20.26.1";
pub const MLFLOW: &str = "mlflow==3.17.2";
/// How long a backend may take to answer its health check: generous, a busy 2-core machine
/// takes half a minute for Phoenix. Not a timing assertion: a backend that never comes up is
/// reported with its log.
const START_MAX: Duration = Duration::from_secs(600);

/// Which backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Phoenix,
    Mlflow,
}

/// A backend process on 127.0.0.1, killed (with its process group) on drop.
pub struct Backend {
    pub kind: Kind,
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

/// One span as a backend stored it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    /// Attributes as the backend gives them back (flat keys).
    pub attributes: BTreeMap<String, Value>,
}

impl Backend {
    /// Arize Phoenix (`phoenix serve`): OTLP/HTTP protobuf only, traces only.
    pub fn phoenix() -> Result<Backend, String> {
        let python = deps::venv("phoenix", &[PHOENIX])?;
        let (port, grpc) = (free_port(), free_port());
        let dir = temp_dir("phoenix");
        let mut cmd = Command::new(python.with_file_name("phoenix"));
        cmd.arg("serve")
            .env("PHOENIX_WORKING_DIR", &dir)
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", port.to_string())
            .env("PHOENIX_GRPC_PORT", grpc.to_string())
            .env("PHOENIX_TELEMETRY_ENABLED", "false");
        Backend::start(Kind::Phoenix, cmd, port, dir, "/healthz")
    }

    /// MLflow's tracking server on a SQLite store: OTLP/HTTP traces at `/v1/traces`, with the
    /// `x-mlflow-experiment-id` header (0, the default experiment).
    pub fn mlflow() -> Result<Backend, String> {
        let python = deps::venv("mlflow", &[MLFLOW])?;
        let port = free_port();
        let dir = temp_dir("mlflow");
        let mut cmd = Command::new(python.with_file_name("mlflow"));
        cmd.args(["server", "--host", "127.0.0.1", "--port", &port.to_string(), "--workers", "1"])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--default-artifact-root")
            .arg(dir.join("artifacts"))
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env("DO_NOT_TRACK", "true");
        Backend::start(Kind::Mlflow, cmd, port, dir, "/health")
    }

    fn start(kind: Kind, mut cmd: Command, port: u16, dir: PathBuf, health: &str) -> Result<Backend, String> {
        let log = fs::File::create(dir.join("log")).map_err(|e| e.to_string())?;
        cmd.current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| format!("{kind:?}: {e}"))?;
        let mut backend = Backend { kind, port, child, dir };
        let started = Instant::now();
        loop {
            if backend.get(health).is_ok_and(|(status, _)| status == 200) {
                return Ok(backend);
            }
            if let Ok(Some(exit)) = backend.child.try_wait() {
                panic!("{kind:?} exited ({exit}) before it answered:\n{}", backend.log());
            }
            if started.elapsed() > START_MAX {
                panic!("{kind:?} did not answer {health} within {START_MAX:?}:\n{}", backend.log());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The base URL that `CLAUDE_SESSION_OTLP_ENDPOINT` takes.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The OTLP variables for this backend: its endpoint, its header (MLflow), logs off (neither
    /// takes logs: Phoenix answers 405, MLflow 404), the longest timeout.
    pub fn configure(&self, env: &mut TestEnv) {
        env.set("CLAUDE_SESSION_OTLP_ENDPOINT", self.base());
        env.set("OTEL_LOGS_EXPORTER", "none");
        // A Python server on a busy machine can take seconds for its first request.
        env.set("OTEL_EXPORTER_OTLP_TIMEOUT", "60000");
        if self.kind == Kind::Mlflow {
            env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "x-mlflow-experiment-id=0");
        }
    }

    /// What the backend printed, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Every span the backend stored.
    pub fn spans(&self) -> Vec<Stored> {
        match self.kind {
            Kind::Phoenix => self.phoenix_spans(),
            Kind::Mlflow => self.mlflow_spans(),
        }
    }

    /// The trace ids the backend stored, each once.
    pub fn trace_ids(&self) -> std::collections::BTreeSet<String> {
        self.spans().into_iter().map(|s| s.trace_id).collect()
    }

    /// Phoenix's REST API: `/v1/projects/default/spans`, page by page.
    fn phoenix_spans(&self) -> Vec<Stored> {
        let mut spans = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/v1/projects/default/spans?limit=1000".to_owned();
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.get_json(&path);
            for s in page["data"].as_array().unwrap_or_else(|| panic!("Phoenix spans: {page}")) {
                spans.push(Stored {
                    trace_id: s["context"]["trace_id"].as_str().unwrap_or_default().to_owned(),
                    span_id: s["context"]["span_id"].as_str().unwrap_or_default().to_owned(),
                    parent_id: s["parent_id"].as_str().map(str::to_owned),
                    name: s["name"].as_str().unwrap_or_default().to_owned(),
                    attributes: flat(&s["attributes"]),
                });
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return spans,
            }
        }
    }

    /// MLflow's REST API: the default experiment's traces (`traces/search`), as MLflow gives
    /// them (`trace_id` is `tr-<hex>`, `trace_metadata` has `mlflow.trace.session`, `state`).
    pub fn mlflow_traces(&self) -> Vec<Value> {
        let mut traces = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let location = json!({"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}});
            let mut query = json!({"locations": [location], "max_results": 500});
            if let Some(t) = &token {
                query["page_token"] = t.as_str().into();
            }
            let page = self.post_json("/api/3.0/mlflow/traces/search", &query);
            traces.extend(page["traces"].as_array().cloned().unwrap_or_default());
            match page["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return traces,
            }
        }
    }

    /// Every trace's spans (`traces/batchGet`).
    fn mlflow_spans(&self) -> Vec<Stored> {
        let mut spans = Vec::new();
        for info in self.mlflow_traces() {
            let id = info["trace_id"].as_str().unwrap_or_else(|| panic!("MLflow trace: {info}"));
            let got = self.get_json(&format!("/api/3.0/mlflow/traces/batchGet?trace_ids={id}"));
            for s in got["traces"][0]["spans"].as_array().cloned().unwrap_or_default() {
                spans.push(mlflow_span(&s));
            }
        }
        spans
    }

    fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Value {
        let (status, text) =
            self.request("POST", path, &body.to_string()).unwrap_or_else(|e| panic!("POST {path}: {e}"));
        assert_eq!(status, 200, "POST {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {path}: {e}: {text}"))
    }

    fn get(&self, path: &str) -> Result<(u16, String), String> {
        self.request("GET", path, "")
    }

    /// One HTTP/1.1 request on a fresh connection (no client library: the tests have none).
    fn request(&self, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(120))).map_err(|e| e.to_string())?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no status: {text:.200}"))?;
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let chunked = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") && l.contains("chunked")
        });
        Ok((status, if chunked { dechunk(body) } else { body.to_owned() }))
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // The process group it leads: MLflow runs its workers as children.
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::SIGKILL);
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// An MLflow span, in the OpenTelemetry proto's JSON form `traces/batchGet` gives: ids in
/// base64, attributes a list of `{key, value: {string_value | int_value | ...}}`.
fn mlflow_span(s: &Value) -> Stored {
    let id = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(hex_id);
    let attributes = s["attributes"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|kv| {
                    let value = kv["value"].as_object()?.values().next()?.clone();
                    Some((kv["key"].as_str()?.to_owned(), value))
                })
                .collect()
        })
        .unwrap_or_default();
    Stored {
        trace_id: id(&s["trace_id"]).unwrap_or_default(),
        span_id: id(&s["span_id"]).unwrap_or_default(),
        parent_id: id(&s["parent_span_id"]),
        name: s["name"].as_str().unwrap_or_default().to_owned(),
        attributes,
    }
}

/// An id as lowercase hex, whether it came as hex or base64.
pub fn hex_id(id: &str) -> String {
    if id.len().is_multiple_of(2) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return id.to_ascii_lowercase();
    }
    base64(id).iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else { continue };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Phoenix gives attributes nested (`{"session": {"id": ...}}`): flattened to dotted keys.
fn flat(v: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v.as_object() {
            Some(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, v, out);
                }
            }
            None => {
                out.insert(prefix.to_owned(), v.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", v, &mut out);
    out
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "claude-session-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}
