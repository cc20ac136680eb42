//! Where recorded events go: the `Sink` trait every destination implements, and which sinks the
//! configuration turns on. The queue and the deliverer they share are in `outbox`.

pub mod otlp;
pub mod outbox;

/// One destination for recorded events.
pub trait Sink {
    /// Its queue directory under the outbox, and its name in reports: "dashboard", "otlp".
    fn name(&self) -> &'static str;
    /// How many records one call to `send` may carry (1 for the dashboard).
    fn batch_max(&self) -> usize;
    /// Sends records, oldest first. `records` are parsed outbox records.
    fn send(&mut self, records: &[serde_json::Value]) -> Outcome;
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
