//! Real HTTP/1.1 servers on 127.0.0.1 (port chosen by the OS), standard library only, and the one
//! request reader every test server uses. `TestServer` checks `POST /events` bodies by the
//! observability server's rules and records what it accepted; it can be switched to hang, fail
//! with 500s or reset connections, to test delivery under faults. `Recorder` answers everything
//! 200 and records each request: an OTLP collector that shows what the deliverer sent.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    /// Validate, record, answer 200 with the event echoed.
    Up,
    /// Read the request and never answer while the mode lasts.
    Hang,
    /// Answer every request with 500.
    Fail,
    /// Read the request and close the connection without answering.
    Reset,
    /// Answer 429 with `Retry-After: <seconds>`.
    Busy(u64),
}

struct Shared {
    mode: Mutex<Mode>,
    accepted: Mutex<Vec<Value>>,
    /// Events whose payload contains this text are refused with 400.
    refuse: Mutex<Option<String>>,
    requests: AtomicUsize,
    stop: AtomicBool,
}

pub struct TestServer {
    pub port: u16,
    /// The full events URL.
    pub url: String,
    shared: Arc<Shared>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::bind(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Starts on a given port (a port that was closed a moment ago, for "down then up").
    pub fn start_on(port: u16) -> TestServer {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(listener) => return TestServer::bind(listener),
                Err(e) if Instant::now() > deadline => panic!("bind {port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// A loopback port with nothing listening: connections are refused.
    pub fn closed_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    fn bind(listener: TcpListener) -> TestServer {
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Up),
            accepted: Mutex::new(Vec::new()),
            refuse: Mutex::new(None),
            requests: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        accept_loop(listener, shared.clone(), |s| s.stop.load(Ordering::SeqCst), serve);
        TestServer { port, url: format!("http://127.0.0.1:{port}/events"), shared }
    }

    pub fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    pub fn refuse(&self, marker: &str) {
        *self.shared.refuse.lock().unwrap() = Some(marker.to_owned());
    }

    pub fn accepted(&self) -> Vec<Value> {
        self.shared.accepted.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Waits until `n` events were accepted (or the deadline passes) and returns them.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        while self.shared.accepted.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.accepted()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        *self.shared.mode.lock().unwrap() = Mode::Reset;
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One connection: requests one after another (keep-alive), each answered by the mode of the
/// moment it arrived.
fn serve(stream: TcpStream, s: &Shared) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let Some(request) = read_request(&mut reader) else { return };
        // The dashboard's routes: `POST /events`, and `GET /events/recent` (what `hooks status`
        // asks); anything else is a wrong path, 404 (as a proxy in front of it would answer).
        let (status, answer) = match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/events") => (0, String::new()),
            ("GET", p) if p.starts_with("/events/recent") => {
                (200, Value::from(s.accepted.lock().unwrap().clone()).to_string())
            }
            _ => (404, "Not Found".to_owned()),
        };
        if status != 0 {
            let response = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
            if out.write_all(response.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        s.requests.fetch_add(1, Ordering::SeqCst);
        let mode = *s.mode.lock().unwrap();
        let mut extra = String::new();
        let (status, answer) = match mode {
            Mode::Hang => {
                while *s.mode.lock().unwrap() == Mode::Hang && !s.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Mode::Reset => {
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Mode::Fail => (500, r#"{"error":"boom"}"#.to_owned()),
            Mode::Busy(seconds) => {
                extra = format!("Retry-After: {seconds}\r\n");
                (429, r#"{"error":"slow down"}"#.to_owned())
            }
            Mode::Up => check(&request.body, s),
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            429 => "Too Many Requests",
            _ => "Internal Server Error",
        };
        // One write per response: head and body in two would meet the client's delayed ACK.
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// The server's rules: 400 for a body that is not JSON or lacks a field; otherwise stored.
fn check(body: &[u8], s: &Shared) -> (u16, String) {
    let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(body) else {
        return (400, r#"{"error":"Invalid request"}"#.into());
    };
    let present = |k: &str| match event.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    };
    if !["source_app", "session_id", "hook_event_type", "payload"].iter().all(|k| present(k)) {
        return (400, r#"{"error":"Missing required fields"}"#.into());
    }
    if let Some(marker) = s.refuse.lock().unwrap().as_deref()
        && event["payload"].to_string().contains(marker)
    {
        return (400, r#"{"error":"refused by the test"}"#.into());
    }
    let mut accepted = s.accepted.lock().unwrap();
    let mut echo = event.clone();
    echo.insert("id".into(), (accepted.len() + 1).into());
    accepted.push(Value::Object(event));
    (200, Value::Object(echo).to_string())
}

/// One HTTP request as a test server read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// With its query, as sent: `/v1/traces`.
    pub path: String,
    /// Each header by its name in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body as JSON; Null when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Reads one request, its body by Content-Length or chunked; None at EOF or on garbage.
pub fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let (method, path) = (words.next()?.to_owned(), words.next()?.to_owned());
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let mut body = Vec::new();
    if headers.get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            line.clear();
            r.read_line(&mut line).ok()?;
            let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let length = match headers.get("content-length") {
            Some(length) => length.parse().ok()?,
            None => 0,
        };
        body.resize(length, 0);
        r.read_exact(&mut body).ok()?;
    }
    Some(Request { method, path, headers, body })
}

/// Records every request and answers it: 200 with `{}`, or as the test says.
pub struct Recorder {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Arc<Recorded>,
}

struct Recorded {
    requests: Mutex<Vec<Request>>,
    answer: fn(&Request) -> (u16, String),
    stop: AtomicBool,
}

impl Recorder {
    pub fn start() -> Recorder {
        Recorder::answering(|_| (200, "{}".into()))
    }

    /// One that answers each request with `answer(request)`: a status and a JSON body.
    pub fn answering(answer: fn(&Request) -> (u16, String)) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Arc::new(Recorded { requests: Mutex::new(Vec::new()), answer, stop: AtomicBool::new(false) });
        accept_loop(listener, shared.clone(), |s| s.stop.load(Ordering::SeqCst), record);
        Recorder { url, shared }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests once `n` have arrived.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        self.wait_until(|got| got.len() >= n)
    }

    /// The requests once `done` says they are all there (a bound of two minutes against a hang,
    /// not a speed claim).
    pub fn wait_until(&self, done: impl Fn(&[Request]) -> bool) -> Vec<Request> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let got = self.requests();
            if done(&got) || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn record(stream: TcpStream, s: &Recorded) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    while let Some(request) = read_request(&mut reader) {
        let (status, body) = (s.answer)(&request);
        s.requests.lock().unwrap().push(request);
        let reason = if status == 200 { "OK" } else { "Refused" };
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// Accepts connections on `listener` until `stop` says so, each served on a thread of its own.
pub fn accept_loop<S: Send + Sync + 'static>(
    listener: std::net::TcpListener,
    shared: std::sync::Arc<S>,
    stop: fn(&S) -> bool,
    serve: fn(std::net::TcpStream, &S),
) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop(&shared) {
                break;
            }
            if let Ok(stream) = stream {
                let s = shared.clone();
                std::thread::spawn(move || serve(stream, &s));
            }
        }
    });
}
