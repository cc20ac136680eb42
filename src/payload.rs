//! The wire format: the JSON object Claude Code writes on a hook's stdin.
//!
//! The payload is parsed into borrowed raw values first, so a 50 MiB `tool_response` is scanned
//! once and cut to its head without ever being decoded or copied whole. Unknown events and fields
//! are kept as they came.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Read};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub struct Payload {
    /// The payload's fields, big values cut (see [`cut`]). Empty when stdin held no JSON object.
    pub fields: Map<String, Value>,
    /// Bytes read from stdin.
    pub len: usize,
    /// Why stdin was not a JSON object, for the debug line.
    pub problem: Option<&'static str>,
}

impl Payload {
    /// Reads all of stdin. A terminal is not waited on (someone ran a hook by hand), and an
    /// unreadable stdin is an empty payload: a hook never fails on its input.
    pub fn from_stdin(max: usize) -> Payload {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            return Payload::parse(b"", max);
        }
        let mut bytes = Vec::new();
        if let Err(e) = stdin.lock().read_to_end(&mut bytes) {
            crate::debug!("stdin: {e} after {} bytes", bytes.len());
        }
        Payload::parse(&bytes, max)
    }

    /// A JSON object becomes its fields; anything else non-empty is kept, cut, as `raw`.
    pub fn parse(bytes: &[u8], max: usize) -> Payload {
        let len = bytes.len();
        match serde_json::from_slice::<BTreeMap<String, &RawValue>>(bytes) {
            Ok(map) => {
                let fields = map.into_iter().map(|(k, v)| (k, cut(v.get(), max))).collect();
                Payload { fields, len, problem: None }
            }
            Err(_) => {
                let mut fields = Map::new();
                let problem = if bytes.iter().all(u8::is_ascii_whitespace) {
                    "empty"
                } else {
                    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max + 4)]);
                    fields.insert("raw".into(), Value::String(text_head(&text, max, len)));
                    "not a JSON object"
                };
                Payload { fields, len, problem: Some(problem) }
            }
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }
}

/// Parses one raw JSON value, replacing any string or nested value over `max` bytes by its head
/// and a marker with its original size. Objects are cut member by member (so `tool_input.command`
/// survives while `tool_input.content` is cut) down to a small depth; anything else too big
/// becomes the head of its JSON text.
pub fn cut(raw: &str, max: usize) -> Value {
    cut_at(raw, max, 0)
}

fn cut_at(raw: &str, max: usize, depth: u8) -> Value {
    if raw.len() <= max {
        return serde_json::from_str(raw).unwrap_or(Value::Null);
    }
    match raw.as_bytes()[0] {
        b'"' => Value::String(string_head(raw, max)),
        b'{' if depth < 3 => match serde_json::from_str::<BTreeMap<String, &RawValue>>(raw) {
            Ok(members) if members.len() <= 64 => {
                Value::Object(members.into_iter().map(|(k, v)| (k, cut_at(v.get(), max, depth + 1))).collect())
            }
            _ => Value::String(text_head(raw, max, raw.len())),
        },
        _ => Value::String(text_head(raw, max, raw.len())),
    }
}

/// The decoded head of a JSON string literal, without decoding the rest: the escaped text is cut
/// near `max` and closed with a quote, backing off a few bytes when the cut split an escape.
fn string_head(raw: &str, max: usize) -> String {
    let mut end = (max + 1).min(raw.len() - 1);
    for _ in 0..16 {
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        let mut literal = String::with_capacity(end + 1);
        literal.push_str(&raw[..end]);
        literal.push('"');
        if let Ok(mut head) = serde_json::from_str::<String>(&literal) {
            head.push_str(&marker(raw.len()));
            return head;
        }
        end -= 1;
    }
    text_head(raw, max, raw.len())
}

fn text_head(text: &str, max: usize, size: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut head = text[..end].to_owned();
    if size > end {
        head.push_str(&marker(size));
    }
    head
}

fn marker(size: usize) -> String {
    format!("…[cut: {size} bytes]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_pass_untouched() {
        let p = Payload::parse(br#"{"session_id":"abc","tool_input":{"command":"ls"},"n":3}"#, 100);
        assert_eq!(p.str("session_id"), Some("abc"));
        assert_eq!(p.get("tool_input").unwrap()["command"], "ls");
        assert_eq!(p.get("n").unwrap(), 3);
        assert!(p.problem.is_none());
    }

    #[test]
    fn big_string_keeps_head_and_size() {
        let body = "x".repeat(10_000);
        let json = format!(r#"{{"tool_response":"{body}"}}"#);
        let p = Payload::parse(json.as_bytes(), 100);
        let s = p.str("tool_response").unwrap();
        assert!(s.starts_with(&"x".repeat(100)));
        assert!(s.ends_with("…[cut: 10002 bytes]"), "{s}");
    }

    #[test]
    fn cut_never_splits_an_escape() {
        for pad in 0..8 {
            let body = format!("{}{}", "a".repeat(pad), "\\n\\u00e9\\ud83d\\ude00\\\\".repeat(500));
            let value = cut(&format!("\"{body}\""), 50);
            let s = value.as_str().unwrap();
            assert!(s.contains("…[cut: "), "{s}");
        }
    }

    #[test]
    fn nested_object_cut_member_by_member() {
        let json = format!(r#"{{"tool_input":{{"file_path":"/a","content":"{}"}}}}"#, "y".repeat(5000));
        let p = Payload::parse(json.as_bytes(), 200);
        let input = p.get("tool_input").unwrap();
        assert_eq!(input["file_path"], "/a");
        assert!(input["content"].as_str().unwrap().contains("…[cut: 5002 bytes]"));
    }

    #[test]
    fn garbage_is_kept_as_raw() {
        let p = Payload::parse(b"\xff\xfenot json", 100);
        assert_eq!(p.problem, Some("not a JSON object"));
        assert!(p.str("raw").unwrap().contains("not json"));
        let p = Payload::parse(b"  \n", 100);
        assert_eq!(p.problem, Some("empty"));
        assert!(p.fields.is_empty());
        let p = Payload::parse(b"[1,2]", 100);
        assert_eq!(p.problem, Some("not a JSON object"));
    }
}
