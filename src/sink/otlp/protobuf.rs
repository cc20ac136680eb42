//! OTLP/HTTP protobuf (`http/protobuf`, the SDKs' default): the same requests as `json`, written
//! by hand in the protobuf wire format with opentelemetry-proto's field numbers, and the few
//! answers we read (`google.rpc.Status` for an error's message, a partial success's count).
//!
//! The bytes are proto3's canonical serialization, as the official libraries write it: fields in
//! field-number order; a scalar outside a `oneof` left out when it is its default (0, ""), a
//! message or a `oneof` member written whenever it is set.

use super::Resource;
use super::conventions as conv;
use super::model::{AnyValue, Attribute, KIND_INTERNAL, LogRecord, STATUS_ERROR, Span};

/// The content type of these bodies.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;

/// An `ExportLogsServiceRequest`.
pub fn logs_request(resource: &Resource, logs: &[LogRecord]) -> Vec<u8> {
    request(resource, logs, log_record)
}

/// An `ExportTraceServiceRequest`.
pub fn traces_request(resource: &Resource, spans: &[Span]) -> Vec<u8> {
    request(resource, spans, span)
}

/// `{resource_logs|resource_spans: [{resource, scope_logs|scope_spans: [{scope, items}]}]}`: the
/// two requests have the same shape and field numbers.
fn request<T>(resource: &Resource, items: &[T], encode: fn(&T) -> Vec<u8>) -> Vec<u8> {
    let mut scoped = Vec::new();
    message(&mut scoped, 1, &scope());
    for item in items {
        message(&mut scoped, 2, &encode(item));
    }
    let scoped = scoped.as_slice();
    let mut resource_msg = Vec::new();
    for (k, v) in &resource.attributes {
        message(&mut resource_msg, 1, &key_value(k, &AnyValue::String(v.clone())));
    }
    let mut resource_scoped = Vec::new();
    message(&mut resource_scoped, 1, &resource_msg);
    message(&mut resource_scoped, 2, scoped);
    let mut out = Vec::with_capacity(resource_scoped.len() + 8);
    message(&mut out, 1, &resource_scoped);
    out
}

/// `InstrumentationScope {name = 1, version = 2}`.
fn scope() -> Vec<u8> {
    let mut out = Vec::new();
    string(&mut out, 1, conv::SCOPE);
    string(&mut out, 2, env!("CARGO_PKG_VERSION"));
    out
}

fn log_record(log: &LogRecord) -> Vec<u8> {
    let time = nanos(log.time);
    let mut out = Vec::new();
    fixed64(&mut out, 1, time);
    enumeration(&mut out, 2, u64::from(log.severity_number));
    string(&mut out, 3, log.severity_text);
    message(&mut out, 5, &any_value(&AnyValue::String(log.body.clone())));
    for a in &log.attributes {
        message(&mut out, 6, &attribute(a));
    }
    bytes(&mut out, 9, &hex(&log.trace_id));
    bytes(&mut out, 10, &hex(&log.span_id));
    fixed64(&mut out, 11, time);
    string(&mut out, 12, &log.event_name);
    out
}

fn span(span: &Span) -> Vec<u8> {
    let mut out = Vec::new();
    bytes(&mut out, 1, &hex(&span.trace));
    bytes(&mut out, 2, &hex(&span.id));
    if let Some(parent) = &span.parent {
        bytes(&mut out, 4, &hex(parent));
    }
    string(&mut out, 5, &span.name);
    enumeration(&mut out, 6, u64::from(KIND_INTERNAL));
    fixed64(&mut out, 7, nanos(span.start));
    fixed64(&mut out, 8, nanos(span.end));
    for a in &span.attrs {
        message(&mut out, 9, &attribute(a));
    }
    if let Some(text) = &span.error {
        // Status {message = 2, code = 3}.
        let mut status = Vec::new();
        string(&mut status, 2, text);
        enumeration(&mut status, 3, u64::from(STATUS_ERROR));
        message(&mut out, 15, &status);
    }
    out
}

fn attribute(a: &Attribute) -> Vec<u8> {
    key_value(&a.key, &a.value)
}

/// `KeyValue {key = 1, value = 2}`.
fn key_value(key: &str, value: &AnyValue) -> Vec<u8> {
    let mut out = Vec::new();
    string(&mut out, 1, key);
    message(&mut out, 2, &any_value(value));
    out
}

/// `AnyValue`: a `oneof`, so its member is written even when it is its default.
fn any_value(value: &AnyValue) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        AnyValue::String(s) => message(&mut out, 1, s.as_bytes()),
        AnyValue::Bool(b) => {
            tag(&mut out, 2, VARINT);
            varint(&mut out, u64::from(*b));
        }
        AnyValue::Int(n) => {
            tag(&mut out, 3, VARINT);
            varint(&mut out, *n as u64);
        }
        AnyValue::Double(n) => {
            tag(&mut out, 4, FIXED64);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
    out
}

/// Nanoseconds as `fixed64`: before 1970 is 0.
fn nanos(ns: i128) -> u64 {
    u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
}

/// An id's bytes from its hex (ids are made as hex, so a bad digit cannot happen; it would give
/// an empty id, which a collector rejects rather than misfiles).
fn hex(id: &str) -> Vec<u8> {
    let digits = id.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Vec::new();
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    digits
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The wire format

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, u64::from(field) << 3 | u64::from(wire));
}

/// A length-delimited field: an embedded message, or a `oneof` string, written even when empty.
fn message(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    tag(out, field, LEN);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn string(out: &mut Vec<u8>, field: u32, s: &str) {
    bytes(out, field, s.as_bytes());
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        message(out, field, b);
    }
}

fn fixed64(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        tag(out, field, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn enumeration(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        tag(out, field, VARINT);
        varint(out, v);
    }
}

// ---------------------------------------------------------------------------------------------
// Answers

/// One field of a message as read: its number and, for the kinds we read, its value.
enum Field<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Other,
}

/// The fields of `msg`, in order; `None` where the bytes are not a message.
fn fields(mut msg: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    fn read_varint(buf: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first()?;
            *buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !msg.is_empty() {
        let key = read_varint(&mut msg)?;
        let field = match key & 7 {
            0 => Field::Varint(read_varint(&mut msg)?),
            1 => {
                msg = msg.get(8..)?;
                Field::Other
            }
            2 => {
                let len = usize::try_from(read_varint(&mut msg)?).ok()?;
                let (body, rest) = (msg.get(..len)?, msg.get(len..)?);
                msg = rest;
                Field::Len(body)
            }
            5 => {
                msg = msg.get(4..)?;
                Field::Other
            }
            _ => return None,
        };
        out.push((key >> 3, field));
    }
    Some(out)
}

/// A `google.rpc.Status`'s message (field 2), the body of a protobuf error answer.
pub fn status_message(answer: &[u8]) -> Option<String> {
    fields(answer)?.into_iter().find_map(|(n, f)| match f {
        Field::Len(text) if n == 2 => std::str::from_utf8(text).ok().map(str::to_owned),
        _ => None,
    })
}

/// The rejected count of an `Export*ServiceResponse`'s `partial_success` (field 1, whose field 1
/// is `rejected_log_records` or `rejected_spans`), when not zero.
pub fn partial_rejected(answer: &[u8]) -> Option<u64> {
    let partial = fields(answer)?.into_iter().find_map(|(n, f)| match f {
        Field::Len(body) if n == 1 => Some(body),
        _ => None,
    })?;
    let rejected = fields(partial)?.into_iter().find_map(|(n, f)| match f {
        Field::Varint(v) if n == 1 => Some(v),
        _ => None,
    })?;
    (rejected > 0).then_some(rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_oneof_member_is_written_even_when_it_is_its_default() {
        assert_eq!(any_value(&AnyValue::Bool(false)), [0x10, 0x00]);
        assert_eq!(any_value(&AnyValue::Int(0)), [0x18, 0x00]);
        assert_eq!(any_value(&AnyValue::String(String::new())), [0x0a, 0x00]);
        // A negative int64 is ten bytes of two's complement.
        assert_eq!(any_value(&AnyValue::Int(-1)), [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        let mut double = vec![0x21];
        double.extend_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(any_value(&AnyValue::Double(1.5)), double);
        // Outside a oneof, defaults are left out.
        let mut out = Vec::new();
        string(&mut out, 1, "");
        fixed64(&mut out, 7, 0);
        enumeration(&mut out, 6, 0);
        assert!(out.is_empty());
    }

    #[test]
    fn ids_are_their_bytes() {
        assert_eq!(hex("0a1B"), [0x0a, 0x1b]);
        assert!(hex("0g").is_empty() && hex("abc").is_empty());
    }

    #[test]
    fn answers_are_read() {
        let mut status = vec![0x08, 0x03, 0x12, 0x05];
        status.extend_from_slice(b"nope!");
        // A details entry after the message (google.protobuf.Any), skipped.
        status.extend_from_slice(&[0x1a, 0x02, 0x0a, 0x00]);
        assert_eq!(status_message(&status).as_deref(), Some("nope!"));
        assert_eq!(status_message(&[0x12, 0x09, b'x']), None, "cut short");
        // ExportTraceServiceResponse {partial_success {rejected_spans: 300, error_message: "x"}}.
        let partial = [0x0a, 0x06, 0x08, 0xac, 0x02, 0x12, 0x01, b'x'];
        assert_eq!(partial_rejected(&partial), Some(300));
        assert_eq!(partial_rejected(&[0x0a, 0x00]), None);
        assert_eq!(partial_rejected(&[]), None);
    }
}
