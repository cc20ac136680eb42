//! Where recorded events go: the `Sink` trait every destination implements, and each sink built
//! for its destination. Which destinations the configuration names, their queues and the
//! deliverer are in `outbox`, the only part of this folder a hook runs.

pub mod dashboard;
pub mod http;
pub mod otlp;
pub mod outbox;

use crate::config;
use outbox::Destination;

/// Every sink there is, by kind: a queue's directory under the outbox is its kind and its
/// destination's id (`dashboard-0123456789abcdef`); versions before destinations had one
/// directory per kind (`dashboard`).
pub const NAMES: &[&str] = &["dashboard", otlp::NAMES[0], otlp::NAMES[1]];

/// The sink that sends to `destination`, built off the hook's path (in the deliverer) from the
/// configuration, which must still name that destination: a queue is never sent with another
/// destination's URL or credentials. An unusable setting (a timeout out of range) is the error
/// the deliverer records.
pub fn build(destination: &Destination) -> Result<Box<dyn Sink>, String> {
    let name = destination.sink;
    if !outbox::configured().contains(destination) {
        return Err(format!(
            "{name}: the configuration no longer names {}; not sending its records elsewhere",
            destination.shown()
        ));
    }
    match name {
        "dashboard" => Ok(Box::new(dashboard::Dashboard::new(destination.url(), config::server_timeout()))),
        "otlp-logs" | "otlp-traces" => Ok(Box::new(otlp::Otlp::named(name)?)),
        other => Err(format!("no sink named {other}")),
    }
}

/// A receiver's answer or error as it may be kept (a queue's state, `rejected/`) and shown: the
/// values of the OTLP headers we send replaced, since a collector may echo them ("invalid
/// credentials: Bearer …"), and anything else secret-shaped masked.
pub fn scrub(text: &str) -> String {
    let mut text = text.to_owned();
    if let Ok(Some(otlp)) = config::otlp() {
        for header in otlp.logs.iter().chain(&otlp.traces).flat_map(|e| &e.headers) {
            let value = header.value.expose();
            // The whole value, then each long word of it (the token without its `Bearer`). A
            // short value (an experiment id, `0`) is no secret, and replacing it would garble.
            let words = value.split_whitespace().filter(|w| w.len() >= 8);
            for part in std::iter::once(value).filter(|v| v.len() >= 6).chain(words) {
                text = text.replace(part, "[header value]");
            }
        }
    }
    crate::secrets::masked(&text)
}

/// One destination for recorded events.
pub trait Sink {
    /// Its kind, as queue directories and reports name it: "dashboard", "otlp-logs".
    fn name(&self) -> &'static str;
    /// How many records one call to `send` may carry (1 for the dashboard).
    fn batch_max(&self) -> usize;
    /// Sends records, oldest first. `records` are parsed outbox records.
    fn send(&mut self, records: &[serde_json::Value]) -> Outcome;
    /// Whether what it takes is moved to another queue (`flush --adopt`), not delivered: counted
    /// as moved, so that no report calls it delivered.
    fn moves(&self) -> bool {
        false
    }
}

/// What became of one `send`.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Stored by the receiver: remove them.
    Delivered,
    /// The receiver will never take these (400, 413): set aside in `rejected/` with the answer.
    Rejected { status: u16, answer: String },
    /// Try again later (connection refused, timeout, 5xx, 429): the deliverer backs off,
    /// at least `after` when the receiver said so (Retry-After).
    Retry { error: String, after: Option<std::time::Duration> },
}
