//! The Multi-Agent Observability server ("dashboard"): one `POST /events` per record, the body
//! being the outbox record itself, with `model_name` filled in from the session's transcript when
//! the payload did not name the model, and a Stop's or SubagentStop's summary led by the turn's or
//! the subagent's tokens and cost (`done · 12.3k in / 1.1k out · $0.04`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Outcome, Sink, http};
use crate::event::record;
use crate::payload::field as wire;
use crate::private;
use crate::usage::{Ledgers, Prices};

/// How much of a transcript's end is read to find the model: the last assistant message is
/// near the end, and a hook's event must not cost a read of the whole file.
pub const TRANSCRIPT_TAIL: u64 = 64 * 1024;

pub struct Dashboard {
    agent: ureq::Agent,
    url: String,
    /// Why the proxy setting cannot be used, which every send reports (as the OTLP sink does)
    /// rather than going around the proxy.
    proxy: Result<(), String>,
    models: ModelNames,
    usage: Usage,
}

impl Dashboard {
    pub fn new(url: &str, timeout: Duration) -> Dashboard {
        Dashboard {
            agent: http::agent(timeout, url),
            proxy: http::proxy_for(&http::loopback_literal(url)).map(drop),
            url: http::loopback_literal(url),
            models: ModelNames::default(),
            usage: Usage::default(),
        }
    }
}

impl Sink for Dashboard {
    fn name(&self) -> &'static str {
        "dashboard"
    }

    fn batch_max(&self) -> usize {
        1
    }

    fn send(&mut self, records: &[Value]) -> Outcome {
        if let Err(e) = &self.proxy {
            return Outcome::Retry { error: e.clone(), after: None };
        }
        for record in records {
            let mut record = record.clone();
            self.models.fill(&mut record);
            self.usage.fill(&mut record);
            let body = serde_json::to_vec(&record).unwrap_or_default();
            match http::outcome(http::post(&self.agent, &self.url, "application/json", &body)) {
                Outcome::Delivered => {}
                other => return other,
            }
        }
        Outcome::Delivered
    }
}

/// Whether the server at `events_url` answers the dashboard's API, by a request it understands
/// and that changes nothing (`GET <events>/recent?limit=1`, for `hooks status`). The dashboard
/// answers any path it does not know with 200 and a line of text, so only a JSON list counts; a
/// 404 or that text means the URL's path is wrong.
pub fn probe(events_url: &str, timeout: Duration) -> Result<(), String> {
    let url = format!("{}/recent?limit=1", http::loopback_literal(events_url));
    let wrong_path =
        |what: &str| format!("{events_url}: {what}: a wrong path; give the server's base URL, http://HOST:PORT");
    let mut response =
        http::agent(timeout, &url).get(&url).call().map_err(|e| format!("{events_url}: not reachable: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(1 << 20).read_to_string().unwrap_or_default();
    match status {
        200..=299 if serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_array()) => Ok(()),
        200..=299 => Err(wrong_path(&format!("GET {url} answered, but not with the dashboard's events"))),
        404 => Err(wrong_path(&format!("GET {url} answered 404 Not Found"))),
        _ => Err(format!("{events_url}: GET {url} answered HTTP {status}: {}", crate::text::one_line(&text, 200))),
    }
}

/// The transcripts' usage as this deliverer has read it, and the prices: loaded on the first Stop.
#[derive(Default)]
pub struct Usage {
    read: Option<(Ledgers, Prices)>,
}

impl Usage {
    /// Leads a Stop's summary with its turn's usage (`done · 12.3k in / 1.1k out · $0.04`), and a
    /// SubagentStop's with the subagent's. A turn whose transcript has no usage is left as it was.
    pub fn fill(&mut self, record: &mut Value) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let field = |k: &str| text(record.get(record::PAYLOAD).and_then(|p| p.get(k)));
        let (lead, tally) = match record.get(record::HOOK_EVENT_TYPE).and_then(Value::as_str) {
            Some("Stop") => {
                let (Some(path), Some(prompt)) = (field(wire::TRANSCRIPT_PATH), field(wire::PROMPT_ID)) else {
                    return;
                };
                let (ledgers, _) = self.read.get_or_insert_with(|| (Ledgers::new(), Prices::configured_or_builtin()));
                ("done · ", ledgers.get(&path).turn(&prompt))
            }
            Some("SubagentStop") => {
                let Some(path) = field(wire::AGENT_TRANSCRIPT_PATH) else { return };
                let (ledgers, _) = self.read.get_or_insert_with(|| (Ledgers::new(), Prices::configured_or_builtin()));
                ("", ledgers.get(&path).total())
            }
            _ => return,
        };
        let Some((_, prices)) = &self.read else { return };
        if tally.is_empty() {
            return;
        }
        let before = text(record.get(record::SUMMARY));
        let summary = match before {
            Some(before) => format!("{lead}{} · {before}", tally.short(prices)),
            None => format!("{lead}{}", tally.short(prices)),
        };
        if let Some(object) = record.as_object_mut() {
            object.insert(record::SUMMARY.into(), crate::text::one_line(&summary, 200).into());
        }
    }
}

/// How long a transcript's model is trusted before its tail is read again (the session may
/// have switched models).
const MODEL_FRESH: Duration = Duration::from_secs(2);

/// The model of each transcript read lately by this deliverer, and the last model each session
/// named. Only found names are kept: a session's first events come before its first assistant
/// message.
#[derive(Default)]
pub struct ModelNames {
    known: HashMap<String, (String, Instant)>,
    /// A model a payload named (SessionStart after compaction) carries on to the session's later
    /// events that neither the payload nor a readable transcript names.
    by_session: HashMap<String, String>,
}

impl ModelNames {
    /// Sets `record.model_name` from the transcript named by `record.payload.transcript_path`,
    /// unless the record already has one.
    pub fn fill(&mut self, record: &mut Value) {
        let session = record.get(record::SESSION_ID).and_then(Value::as_str).unwrap_or_default().to_owned();
        if let Some(model) = record.get(record::MODEL_NAME).and_then(Value::as_str).filter(|m| !m.is_empty()) {
            self.by_session.insert(session, model.to_owned());
            return;
        }
        let path = record.get(record::PAYLOAD).and_then(|p| p.get(wire::TRANSCRIPT_PATH)).and_then(Value::as_str);
        let model = match path.map(|p| (p, self.known.get(p))) {
            Some((_, Some((model, at)))) if at.elapsed() < MODEL_FRESH => Some(model.clone()),
            Some((path, _)) => transcript_model(path).inspect(|model| {
                self.known.insert(path.to_owned(), (model.clone(), Instant::now()));
            }),
            None => None,
        };
        let Some(model) = model.or_else(|| self.by_session.get(&session).cloned()) else { return };
        self.by_session.insert(session, model.clone());
        if let Some(object) = record.as_object_mut() {
            object.insert(record::MODEL_NAME.into(), model.into());
        }
    }
}

/// The model of the last assistant message in the last [`TRANSCRIPT_TAIL`] bytes of a
/// transcript. Opened without following a link or blocking on a FIFO; only a regular file of
/// ours is read.
pub fn transcript_model(path: &str) -> Option<String> {
    let file = OpenOptions::new().read(true).custom_flags(private::NOFOLLOW_NONBLOCK).open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.uid() != crate::private::uid_self() {
        return None;
    }
    let start = meta.len().saturating_sub(TRANSCRIPT_TAIL);
    let tail = read_at(&file, start, (meta.len() - start) as usize)?;
    // A window that starts mid-line drops the partial first line.
    let whole = if start > 0 { tail.splitn(2, |b| *b == b'\n').nth(1)? } else { &tail[..] };
    whole.rsplit(|b| *b == b'\n').find_map(assistant_model)
}

fn read_at(file: &File, offset: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return None,
        }
    }
    buf.truncate(filled);
    Some(buf)
}

/// `message.model` of a transcript line of `"type":"assistant"`; `<synthetic>` (Claude Code's
/// own messages) is not a model.
fn assistant_model(line: &[u8]) -> Option<String> {
    // Most lines are not assistant messages: skip them before parsing.
    if !line.windows(18).any(|w| w == b"\"type\":\"assistant\"") {
        return None;
    }
    let v: Value = serde_json::from_slice(line).ok()?;
    if v["type"] != "assistant" {
        return None;
    }
    let model = v.pointer("/message/model")?.as_str()?;
    (!model.is_empty() && !model.starts_with('<')).then(|| model.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_assistant_model_wins() {
        let dir = std::env::temp_dir().join(format!("cs-transcript-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let line = |model: &str| format!("{{\"type\":\"assistant\",\"message\":{{\"model\":\"{model}\"}}}}\n");
        let mut text = line("old-model");
        text.push_str(&"x".repeat(TRANSCRIPT_TAIL as usize));
        text.push('\n');
        text.push_str(&line("new-model"));
        text.push_str(&line("<synthetic>"));
        text.push_str("{\"type\":\"user\",\"message\":{\"model\":\"not-this\"}}\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(transcript_model(path.to_str().unwrap()).as_deref(), Some("new-model"));
        std::fs::write(&path, line("only-far-back") + &"y".repeat(TRANSCRIPT_TAIL as usize)).unwrap();
        assert_eq!(transcript_model(path.to_str().unwrap()), None, "bounded: never the whole file");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Found in the real dashboard: after a SessionStart that named its model, the session's
    /// next events (with no readable transcript) arrived without one.
    #[test]
    fn a_model_a_payload_named_carries_on_to_the_sessions_later_events() {
        let mut names = ModelNames::default();
        let mut start = serde_json::json!({"session_id": "s", "model_name": "claude-opus-5-5", "payload": {}});
        names.fill(&mut start);
        let mut later = serde_json::json!({"session_id": "s", "payload": {"transcript_path": "/nonexistent/t.jsonl"}});
        names.fill(&mut later);
        assert_eq!(later["model_name"], "claude-opus-5-5");
        let mut other = serde_json::json!({"session_id": "t", "payload": {}});
        names.fill(&mut other);
        assert!(other.get("model_name").is_none(), "another session's model is not borrowed");
    }
}
