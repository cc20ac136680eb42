//! Sending one signal: the sink that encodes a batch, posts it with the configured headers, TLS
//! roots and timeout, and reads the collector's answer.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::events::History;
use super::{BATCH_MAX, NAMES, Privacy, Resource, Signal, json, model};
use crate::config::Header;
use crate::journal;
use crate::sink::{Outcome, Sink, http};

/// One signal's sink: where it posts, what it sends.
pub struct Otlp {
    signal: Signal,
    url: String,
    headers: Vec<Header>,
    resource: Resource,
    privacy: Privacy,
    agent: ureq::Agent,
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
        Some(Otlp {
            signal,
            url: http::loopback_literal(&e.url),
            headers: e.headers.clone(),
            resource: Resource::new(c.service_name.as_deref(), &c.resource_attributes),
            privacy: Privacy { prompts: c.log_user_prompts, tool_details: c.log_tool_details },
            agent: agent(e.timeout, e.certificate.as_deref()),
            journal: journal::dir(),
            usage: Default::default(),
        })
    }

    /// Reads spans' start times from the journal in `dir` rather than the configured one.
    pub fn with_journal(mut self, dir: Option<PathBuf>) -> Otlp {
        self.journal = dir;
        self
    }

    /// The request body for `records`, as JSON.
    pub fn encode(&self, records: &[Value]) -> Value {
        match self.signal {
            Signal::Logs => json::logs_request(&self.resource, &model::log_records(records, self.privacy)),
            Signal::Traces => json::traces_request(&self.resource, &self.spans(records)),
        }
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
        let body = match self.signal {
            Signal::Logs => json::logs_request(&self.resource, &model::log_records(records, self.privacy)),
            Signal::Traces => {
                let spans = self.spans(records);
                // Most events close no span: a request with none would carry nothing.
                if spans.is_empty() {
                    return Outcome::Delivered;
                }
                json::traces_request(&self.resource, &spans)
            }
        };
        let body = body.to_string();
        let mut request = self.agent.post(&self.url).header("Content-Type", json::CONTENT_TYPE);
        for h in &self.headers {
            request = request.header(h.name.as_str(), h.value.expose());
        }
        let mut response = match request.send(body.as_bytes()) {
            Ok(r) => r,
            Err(e) => return Outcome::Retry { error: e.to_string(), after: None },
        };
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let mut answer = Vec::new();
        let _ = response.body_mut().with_config().limit(u64::MAX).reader().take(64 * 1024).read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        outcome(status, &answer, retry_after)
    }
}

/// What an OTLP/HTTP answer means: 2xx delivered (a partial success's rejected count is said
/// under debug: the records are the collector's to drop), 400 and 413 never, 429, 502, 503, 504
/// and other 5xx later, at least `Retry-After`.
pub fn outcome(status: u16, answer: &str, retry_after: Option<Duration>) -> Outcome {
    match status {
        200..=299 => {
            if let Some(rejected) = partial_rejected(answer) {
                crate::debug!(
                    "otlp: the collector rejected {rejected} of the batch: {}",
                    crate::text::one_line(answer, 300)
                );
            }
            Outcome::Delivered
        }
        400 | 413 => Outcome::Rejected { status, answer: answer.to_owned() },
        _ => Outcome::Retry {
            error: format!("HTTP {status}: {}", crate::text::one_line(answer, 200)),
            after: retry_after,
        },
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

/// The agent every sink starts from, with TLS roots from `OTEL_EXPORTER_OTLP_CERTIFICATE` or the
/// system when the binary has TLS.
fn agent(timeout: Duration, certificate: Option<&std::path::Path>) -> ureq::Agent {
    let builder = http::config(timeout);
    #[cfg(feature = "tls")]
    let builder = builder.tls_config(tls_config(certificate));
    #[cfg(not(feature = "tls"))]
    let _ = certificate;
    builder.build().new_agent()
}

/// Where distributions keep their CA bundle; `SSL_CERT_FILE` first, as OpenSSL reads it.
#[cfg(feature = "tls")]
const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The CA file given, else the system's bundle, else the Mozilla roots compiled in.
#[cfg(feature = "tls")]
fn tls_config(certificate: Option<&std::path::Path>) -> ureq::tls::TlsConfig {
    use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
    let env_file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let candidates = certificate
        .map(std::path::Path::to_path_buf)
        .into_iter()
        .chain(env_file.filter(|_| certificate.is_none()))
        .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from).filter(|_| certificate.is_none()));
    let roots = candidates
        .filter_map(|path| std::fs::read(path).ok())
        .map(|pem| {
            ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect::<Vec<Certificate<'static>>>()
        })
        .find(|certs| !certs.is_empty())
        .map(|certs| RootCerts::new_with_certs(&certs))
        .unwrap_or(RootCerts::WebPki);
    TlsConfig::builder().provider(TlsProvider::Rustls).root_certs(roots).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(outcome(200, "{}", None), Outcome::Delivered);
        assert_eq!(outcome(200, r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#, None), Outcome::Delivered);
        assert_eq!(partial_rejected(r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#), Some(2));
        assert_eq!(partial_rejected(r#"{"partialSuccess":{"rejectedSpans":3}}"#), Some(3));
        assert_eq!(partial_rejected(r#"{"partialSuccess":{}}"#), None);
        assert_eq!(outcome(400, "bad", None), Outcome::Rejected { status: 400, answer: "bad".into() });
        let after = Some(Duration::from_secs(7));
        assert!(matches!(outcome(503, "", after), Outcome::Retry { after: a, .. } if a == after));
        assert!(matches!(outcome(429, "", None), Outcome::Retry { after: None, .. }));
    }
}
