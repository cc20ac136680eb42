//! OTLP/HTTP: every outbox record as one OpenTelemetry log record, and each session as one trace.
//!
//! - `events`: an event reduced to what spans are made of, its ids, the journal read back;
//! - `model`: what a span and a log record are, and which ones the events make;
//! - `conventions`: the attribute, span and event names backends read;
//! - `json`: the `http/json` encoding;
//! - `protobuf`: the `http/protobuf` encoding, and the protobuf answers we read;
//! - `send`: the sink that posts a signal's batch and reads the answer;
//! - `usage`: the token usage spans under turns and subagents;
//! - `abandoned`: the SessionEnd `cleanup` writes for a session that never ended.

mod abandoned;
pub mod conventions;
mod events;
pub mod json;
pub mod model;
pub mod protobuf;
mod send;
mod usage;

pub use abandoned::{Abandoned, abandoned};
pub use events::{History, span_id, trace_id};
pub use send::{Otlp, outcome, partial_rejected};

use serde_json::Value;

/// Records per request. Collectors take 4 MiB bodies by default: see `DETAILS_PER_REQUEST`.
pub const BATCH_MAX: usize = 512;
/// Bytes an opt-in attribute (prompt text, tool input) may have before it is cut.
pub const DETAIL_MAX: usize = 4096;
/// What a request's opt-in text may add up to: with the rest of a record under 1 KiB, 512
/// records stay under a collector's default 4 MiB.
const DETAILS_PER_REQUEST: usize = 3 << 20;
/// Days of journal read back for a span's start (a turn's prompt, a session's first event).
pub const LOOKBACK_DAYS: i64 = 7;

/// Which signal a sink sends (one of config's: each signal has its own settings and queue).
pub use crate::config::Signal;

/// The queue names of the two OTLP sinks.
pub const NAMES: [&str; 2] = ["otlp-logs", "otlp-traces"];

/// What leaves the machine beyond names, ids and times; Claude Code's own opt-ins.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Privacy {
    /// `OTEL_LOG_USER_PROMPTS=1`: prompt text, and the conversation's text (the assistant's last
    /// message at Stop, displayed messages).
    pub prompts: bool,
    /// `OTEL_LOG_TOOL_DETAILS=1`: tool input (the Bash command, file paths, patterns, URLs).
    pub tool_details: bool,
}

/// The resource every request describes: `service.name` and `OTEL_RESOURCE_ATTRIBUTES`.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub attributes: Vec<(String, String)>,
}

impl Resource {
    /// `service.name` first; `OTEL_SERVICE_NAME` wins over a `service.name` in the attributes,
    /// as the SDK specification says.
    pub fn new(service_name: Option<&str>, attributes: &[(String, String)]) -> Resource {
        let key = conventions::SERVICE_NAME;
        let from_attrs = attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let name = service_name.or(from_attrs).unwrap_or(conventions::SCOPE);
        let mut all = vec![(key.to_owned(), name.to_owned())];
        all.extend(attributes.iter().filter(|(k, _)| k != key).cloned());
        Resource { attributes: all }
    }
}

/// An `ExportLogsServiceRequest` as JSON: one log record per outbox record, in order.
pub fn logs_request(records: &[Value], resource: &Resource, privacy: Privacy) -> Value {
    json::logs_request(resource, &model::log_records(records, privacy))
}

/// An `ExportTraceServiceRequest` as JSON: the spans the records close (see [`model::spans`]).
/// `history` gives the journal lines before each record.
pub fn traces_request(records: &[Value], resource: &Resource, privacy: Privacy, history: &mut History) -> Value {
    json::traces_request(resource, &model::spans(records, privacy, history))
}

/// The same `ExportLogsServiceRequest` as [`logs_request`], in protobuf.
pub fn logs_request_protobuf(records: &[Value], resource: &Resource, privacy: Privacy) -> Vec<u8> {
    protobuf::logs_request(resource, &model::log_records(records, privacy))
}

/// The same `ExportTraceServiceRequest` as [`traces_request`], in protobuf.
pub fn traces_request_protobuf(
    records: &[Value],
    resource: &Resource,
    privacy: Privacy,
    history: &mut History,
) -> Vec<u8> {
    protobuf::traces_request(resource, &model::spans(records, privacy, history))
}

#[cfg(test)]
mod tests;
