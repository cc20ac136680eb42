//! OTLP/HTTP JSON (`http/json`): the requests as opentelemetry-proto's JSON mapping writes them,
//! as OTLP/HTTP defines it: camelCase field names, trace and span ids as hex (not base64), 64-bit
//! integers as decimal strings, enums as numbers.

use serde_json::{Map, Value, json};

use super::Resource;
use super::conventions as conv;
use super::model::{AnyValue, Attribute, KIND_INTERNAL, LogRecord, STATUS_ERROR, Span};

/// The content type of these bodies.
pub const CONTENT_TYPE: &str = "application/json";

/// An `ExportLogsServiceRequest`.
pub fn logs_request(resource: &Resource, logs: &[LogRecord]) -> Value {
    json!({"resourceLogs": [{
        "resource": resource_json(resource),
        "scopeLogs": [{"scope": scope(), "logRecords": logs.iter().map(log_record).collect::<Vec<_>>()}],
    }]})
}

/// An `ExportTraceServiceRequest`.
pub fn traces_request(resource: &Resource, spans: &[Span]) -> Value {
    json!({"resourceSpans": [{
        "resource": resource_json(resource),
        "scopeSpans": [{"scope": scope(), "spans": spans.iter().map(span).collect::<Vec<_>>()}],
    }]})
}

fn resource_json(resource: &Resource) -> Value {
    let attributes: Vec<Value> =
        resource.attributes.iter().map(|(k, v)| key_value(k, &AnyValue::String(v.clone()))).collect();
    json!({"attributes": attributes})
}

fn scope() -> Value {
    json!({"name": conv::SCOPE, "version": env!("CARGO_PKG_VERSION")})
}

fn log_record(log: &LogRecord) -> Value {
    let time = log.time.max(0).to_string();
    json!({
        "timeUnixNano": time,
        "observedTimeUnixNano": time,
        "severityNumber": log.severity_number,
        "severityText": log.severity_text,
        "eventName": log.event_name,
        "body": {"stringValue": log.body},
        "attributes": attributes(&log.attributes),
        "traceId": log.trace_id,
        "spanId": log.span_id,
    })
}

fn span(span: &Span) -> Value {
    let mut out = Map::new();
    out.insert("traceId".into(), span.trace.as_str().into());
    out.insert("spanId".into(), span.id.as_str().into());
    if let Some(parent) = &span.parent {
        out.insert("parentSpanId".into(), parent.as_str().into());
    }
    out.insert("name".into(), span.name.as_str().into());
    out.insert("kind".into(), KIND_INTERNAL.into());
    out.insert("startTimeUnixNano".into(), span.start.max(0).to_string().into());
    out.insert("endTimeUnixNano".into(), span.end.max(0).to_string().into());
    out.insert("attributes".into(), attributes(&span.attrs).into());
    if let Some(message) = &span.error {
        out.insert("status".into(), json!({"code": STATUS_ERROR, "message": message}));
    }
    Value::Object(out)
}

fn attributes(attrs: &[Attribute]) -> Vec<Value> {
    attrs.iter().map(|a| key_value(&a.key, &a.value)).collect()
}

/// A `KeyValue` with its `AnyValue`: integers as decimal strings.
fn key_value(key: &str, value: &AnyValue) -> Value {
    let any = match value {
        AnyValue::Bool(b) => json!({"boolValue": b}),
        AnyValue::Int(n) => json!({"intValue": n.to_string()}),
        AnyValue::Double(n) => json!({"doubleValue": n}),
        AnyValue::String(s) => json!({"stringValue": s}),
    };
    json!({"key": key, "value": any})
}
