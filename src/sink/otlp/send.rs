//! Sending one signal: the sink that encodes a batch in the signal's protocol, posts it with the
//! configured headers, TLS roots and timeout, and reads the collector's answer.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::events::History;
use super::{BATCH_MAX, NAMES, Privacy, Resource, Signal, json, model, protobuf};
use crate::config::{Header, Protocol};
use crate::journal;
use crate::sink::{Outcome, Sink, http};

/// How much of an error answer is read: enough for its message.
const ANSWER_MAX: u64 = 64 * 1024;

/// One signal's sink: where it posts, what it sends.
pub struct Otlp {
    signal: Signal,
    protocol: Protocol,
    url: String,
    headers: Vec<Header>,
    resource: Resource,
    privacy: Privacy,
    agent: ureq::Agent,
    /// The proxy requests go through (`http://host:port`), for errors to name; or why the proxy
    /// setting cannot be used, which every send reports.
    proxy: Result<Option<String>, String>,
    journal: Option<PathBuf>,
    /// The transcripts' usage as read so far, and the prices: made on the first trace batch.
    usage: std::cell::RefCell<Option<(crate::usage::Ledgers, crate::usage::Prices)>>,
}

impl Otlp {
    /// The sink whose queue is `name` (one of [`NAMES`]), as the deliverer builds it.
    pub fn named(name: &str) -> Result<Otlp, String> {
        let signal = match name {
            "otlp-logs" => Signal::Logs,
            "otlp-traces" => Signal::Traces,
            other => return Err(format!("no OTLP sink named {other}")),
        };
        let c = crate::config::otlp()?.ok_or("OTLP is off: set CLAUDE_SESSION_OTLP_ENDPOINT")?;
        Otlp::new(signal, &c).ok_or_else(|| format!("{name} is off: OTEL_{}_EXPORTER=none", signal.upper()))
    }

    /// The sinks of the signals that are on, when `CLAUDE_SESSION_OTLP_ENDPOINT` is set; none
    /// when it is not; an error naming the variable when one does not parse.
    pub fn configured() -> Result<Vec<Otlp>, String> {
        Ok(match crate::config::otlp()? {
            Some(c) => [Signal::Logs, Signal::Traces].into_iter().filter_map(|s| Otlp::new(s, &c)).collect(),
            None => Vec::new(),
        })
    }

    /// The signal's sink; `None` when the signal is turned off.
    pub fn new(signal: Signal, c: &crate::config::Otlp) -> Option<Otlp> {
        let e = c.exporter(signal)?;
        let url = http::loopback_literal(&e.url);
        let proxy = http::proxy_for(&url).map(|via| via.map(|v| v.name));
        Some(Otlp {
            signal,
            protocol: e.protocol,
            agent: http::config(e.timeout, &url, e.certificate.as_deref()).build().new_agent(),
            proxy,
            url,
            headers: e.headers.clone(),
            resource: Resource::new(c.service_name.as_deref(), &c.resource_attributes),
            privacy: Privacy { prompts: c.log_user_prompts, tool_details: c.log_tool_details },
            journal: journal::dir(),
            usage: Default::default(),
        })
    }

    /// Reads spans' start times from the journal in `dir` rather than the configured one.
    pub fn with_journal(mut self, dir: Option<PathBuf>) -> Otlp {
        self.journal = dir;
        self
    }

    /// The request body for `records` in the sink's protocol, with its content type; `None` for
    /// traces when the records close no span (most events), as such a request carries nothing.
    pub fn encode(&self, records: &[Value]) -> Option<(&'static str, Vec<u8>)> {
        let json = self.protocol == Protocol::Json;
        Some(match self.signal {
            Signal::Logs => {
                let logs = model::log_records(records, self.privacy);
                match json {
                    true => (json::CONTENT_TYPE, json::logs_request(&self.resource, &logs).to_string().into_bytes()),
                    false => (protobuf::CONTENT_TYPE, protobuf::logs_request(&self.resource, &logs)),
                }
            }
            Signal::Traces => {
                let spans = self.spans(records);
                if spans.is_empty() {
                    return None;
                }
                match json {
                    true => (json::CONTENT_TYPE, json::traces_request(&self.resource, &spans).to_string().into_bytes()),
                    false => (protobuf::CONTENT_TYPE, protobuf::traces_request(&self.resource, &spans)),
                }
            }
        })
    }

    fn spans(&self, records: &[Value]) -> Vec<model::Span> {
        let mut history = match &self.journal {
            Some(dir) => History::journal(dir.clone()),
            None => History::from_lines(&[]),
        };
        let mut spans = model::spans(records, self.privacy, &mut history);
        if !spans.is_empty() {
            let mut usage = self.usage.borrow_mut();
            let (ledgers, prices) = usage
                .get_or_insert_with(|| (crate::usage::Ledgers::new(), crate::usage::Prices::configured_or_builtin()));
            super::usage::add(&mut spans, records, ledgers, prices);
        }
        spans
    }
}

impl Sink for Otlp {
    fn name(&self) -> &'static str {
        match self.signal {
            Signal::Logs => NAMES[0],
            Signal::Traces => NAMES[1],
        }
    }

    fn batch_max(&self) -> usize {
        BATCH_MAX
    }

    fn send(&mut self, records: &[Value]) -> Outcome {
        let Some((content_type, body)) = self.encode(records) else { return Outcome::Delivered };
        let proxy = match &self.proxy {
            Ok(proxy) => proxy,
            Err(e) => return Outcome::Retry { error: e.clone(), after: None },
        };
        let mut request = self.agent.post(&self.url).header("Content-Type", content_type);
        for h in &self.headers {
            request = request.header(h.name.as_str(), h.value.expose());
        }
        let mut response = match request.send(&body[..]) {
            Ok(r) => r,
            Err(e) => {
                let error = match proxy {
                    Some(proxy) => format!("{e} (through the proxy {proxy})"),
                    None => e.to_string(),
                };
                return Outcome::Retry { error, after: None };
            }
        };
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let protobuf = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with(protobuf::CONTENT_TYPE));
        let mut answer = Vec::new();
        let _ = response.body_mut().with_config().limit(u64::MAX).reader().take(ANSWER_MAX).read_to_end(&mut answer);
        outcome(status, &Answer { protobuf, body: &answer }, retry_after)
    }
}

/// A collector's answer body, and whether it says it is protobuf.
pub struct Answer<'a> {
    pub protobuf: bool,
    pub body: &'a [u8],
}

impl Answer<'_> {
    /// What the answer says, on one line: a protobuf `google.rpc.Status`'s message, a JSON
    /// answer's `message`, else its text.
    pub fn message(&self) -> String {
        let text = match self.protobuf {
            true => protobuf::status_message(self.body),
            false => serde_json::from_slice::<Value>(self.body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned)),
        };
        let text = text.unwrap_or_else(|| String::from_utf8_lossy(self.body).into_owned());
        crate::text::one_line(&text, 300)
    }

    fn rejected(&self) -> Option<u64> {
        match self.protobuf {
            true => protobuf::partial_rejected(self.body),
            false => partial_rejected(&String::from_utf8_lossy(self.body)),
        }
    }
}

/// What an OTLP/HTTP answer means, as the OTLP specification says: 2xx delivered (a partial
/// success's rejected count is said under debug: the records are the collector's to drop); 429,
/// 502, 503 and 504 later, at least `Retry-After`; any other answer never (set aside with its
/// status and message; a 413 is split by the deliverer first).
pub fn outcome(status: u16, answer: &Answer, retry_after: Option<Duration>) -> Outcome {
    match status {
        200..=299 => {
            if let Some(rejected) = answer.rejected() {
                crate::debug!("otlp: the collector rejected {rejected} of the batch: {}", answer.message());
            }
            Outcome::Delivered
        }
        429 | 502 | 503 | 504 => {
            Outcome::Retry { error: format!("HTTP {status}: {}", answer.message()), after: retry_after }
        }
        _ => Outcome::Rejected { status, answer: answer.message() },
    }
}

/// `partialSuccess.rejectedLogRecords` or `.rejectedSpans`, when not zero.
pub fn partial_rejected(answer: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(answer).ok()?;
    let partial = v.get("partialSuccess")?;
    let n = ["rejectedLogRecords", "rejectedSpans"].iter().find_map(|k| {
        let n = partial.get(*k)?;
        n.as_u64().or_else(|| n.as_str()?.parse().ok())
    })?;
    (n > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str) -> Answer<'_> {
        Answer { protobuf: false, body: body.as_bytes() }
    }

    #[test]
    fn answers() {
        assert_eq!(outcome(200, &json("{}"), None), Outcome::Delivered);
        assert_eq!(outcome(200, &json(r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#), None), Outcome::Delivered);
        assert_eq!(partial_rejected(r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#), Some(2));
        assert_eq!(partial_rejected(r#"{"partialSuccess":{"rejectedSpans":3}}"#), Some(3));
        assert_eq!(partial_rejected(r#"{"partialSuccess":{}}"#), None);
        assert_eq!(outcome(400, &json("bad"), None), Outcome::Rejected { status: 400, answer: "bad".into() });
        let after = Some(Duration::from_secs(7));
        for status in [429, 502, 503, 504] {
            assert!(matches!(outcome(status, &json(""), after), Outcome::Retry { after: a, .. } if a == after));
        }
        // Not retryable: set aside with the answer's message, whatever the status.
        for status in [401, 403, 404, 405, 413, 415, 422, 500, 501, 301] {
            let answer = json(r#"{"message":"no such route"}"#);
            assert_eq!(outcome(status, &answer, None), Outcome::Rejected { status, answer: "no such route".into() });
        }
        // A protobuf google.rpc.Status {code: 3, message: "Unsupported content type"}.
        let mut status = vec![0x08, 0x03, 0x12, 24];
        status.extend_from_slice(b"Unsupported content type");
        let answer = Answer { protobuf: true, body: &status };
        let want = Outcome::Rejected { status: 415, answer: "Unsupported content type".into() };
        assert_eq!(outcome(415, &answer, None), want);
    }
}
