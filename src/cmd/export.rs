//! `export --since DATE`: the journal replayed into the configured sinks, so a collector set up
//! today receives last week's sessions. Each journal line is sent once per run, oldest first, in
//! each sink's batches, straight from this process (not through the outbox, which holds only
//! what hooks recorded). Only the current project's sessions, unless `--all-projects`: a
//! project's hooks send only its own events, and a project's settings may name its own server.

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use super::{Error, Export, Run};
use crate::event::record;
use crate::journal;
use crate::project::Project;
use crate::sink::{self, Outcome, Sink, outbox};
use crate::{clock, config};

/// Tries per batch before the export stops, and the longest wait between two.
const TRIES: u32 = 5;
const WAIT_MAX: Duration = Duration::from_secs(30);

impl Run for Export {
    fn run(&self) -> Result<u8, Error> {
        let since = parse_since(&self.since, clock::now())?;
        let mut names = outbox::configured();
        if let Some(only) = &self.sink {
            names.retain(|d| d.sink == only);
            if names.is_empty() {
                let configured: Vec<&str> = outbox::configured().iter().map(|d| d.sink).collect();
                return Err(format!("no configured sink named {only} (configured: {})", configured.join(", ")).into());
            }
        }
        if names.is_empty() {
            return Err("no sink configured: set CLAUDE_SESSION_OTLP_ENDPOINT or CLAUDE_SESSION_SERVER_URL".into());
        }
        let dir = journal::require_dir()?;
        let here = (!self.all_projects).then(|| Project::resolve(config::project_dir(), None).dir);
        let here = here.as_deref().map(|d| d.to_string_lossy().into_owned());
        let mut records = Vec::new();
        let mut elsewhere = 0;
        journal::for_each_line(&dir, Some(since.date()), |line| {
            if let Ok(Value::Object(line)) = serde_json::from_str::<Value>(line)
                && let Some((time, record)) = crate::event::record_from_journal(&line)
                && time >= since
            {
                match &here {
                    Some(here) if line.get(journal::field::PROJECT_DIR).and_then(Value::as_str) != Some(here) => {
                        elsewhere += 1
                    }
                    _ => records.push(record),
                }
            }
        })
        .map_err(|e| format!("journal {}: {e}", dir.display()))?;
        // Journal files hold a day each, in append order; a session's events are in time order.
        records.sort_by_key(|r| r[record::TIMESTAMP].as_i64().unwrap_or(0));
        if let Some(here) = &here
            && elsewhere > 0
        {
            println!(
                "{here}: {} events; {elsewhere} of other projects left out (--all-projects sends them too)",
                records.len()
            );
        }

        let mut failed = false;
        for destination in names {
            let name = destination.sink;
            let mut sink = sink::build(&destination)?;
            let report = export(sink.as_mut(), &records);
            println!("{name}: sent {}, set aside {}, of {}", report.sent, report.set_aside, records.len());
            if let Some(error) = report.error {
                failed = true;
                crate::out::error(&format!("{name}: {error}"));
            }
        }
        Ok(u8::from(failed))
    }
}

#[derive(Default)]
struct Report {
    sent: usize,
    set_aside: usize,
    error: Option<String>,
}

/// Sends `records` in the sink's batches, each once: a batch the receiver refuses is counted and
/// skipped; one it cannot take now is tried again (after its Retry-After), and after [`TRIES`]
/// the export stops, saying where.
fn export(sink: &mut dyn Sink, records: &[Value]) -> Report {
    let mut report = Report::default();
    for batch in records.chunks(sink.batch_max().max(1)) {
        let mut tries = 0;
        loop {
            tries += 1;
            match sink.send(batch) {
                Outcome::Delivered => report.sent += batch.len(),
                Outcome::Rejected { status: 413, .. } if batch.len() > 1 => {
                    let (first, second) = batch.split_at(batch.len().div_ceil(2));
                    for half in [first, second] {
                        let more = export(sink, half);
                        report.sent += more.sent;
                        report.set_aside += more.set_aside;
                        if more.error.is_some() {
                            report.error = more.error;
                            return report;
                        }
                    }
                }
                Outcome::Rejected { status, answer } => {
                    report.set_aside += batch.len();
                    crate::debug!("{}: HTTP {status}: {}", sink.name(), sink::scrub(&answer));
                }
                Outcome::Retry { error, after } if tries < TRIES => {
                    let wait = after.unwrap_or(Duration::from_millis(500) * 2u32.pow(tries)).min(WAIT_MAX);
                    crate::debug!("{}: {}; again in {wait:?}", sink.name(), sink::scrub(&error));
                    std::thread::sleep(wait);
                    continue;
                }
                Outcome::Retry { error, .. } => {
                    let from = batch[0][record::TIMESTAMP]
                        .as_i64()
                        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
                    let (shown, since) =
                        from.map(|t| (crate::clock::short(t), crate::clock::rfc3339(t))).unwrap_or_default();
                    let error = sink::scrub(&error);
                    report.error =
                        Some(format!("{error}; stopped at the event of {shown}: export again with --since {since}"));
                    return report;
                }
            }
            break;
        }
    }
    report
}

/// `YYYY-MM-DD` (the start of that UTC day), an RFC 3339 time, or an age (`7d`, `12h`).
pub fn parse_since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    if let Some(date) = journal::file_date(&format!("{text}.jsonl")) {
        return Ok(date.midnight().assume_utc());
    }
    if let Some(age) = config::parse_duration(text) {
        // An age past year -9999 is no day: an error, not an overflow (which aborted).
        return time::Duration::try_from(age)
            .ok()
            .and_then(|age| now.checked_sub(age))
            .ok_or_else(|| format!("--since {text}: further back than any day; give a day (2026-11-15)"));
    }
    Err(format!("--since {text}: give a day (2026-11-15), a time (2026-11-15T08:00:00Z) or an age (7d, 12h)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since() {
        let now = OffsetDateTime::from_unix_timestamp(1_763_700_000).unwrap();
        assert_eq!(parse_since("2025-11-20", now).unwrap().unix_timestamp(), 1_763_596_800);
        assert_eq!(parse_since("7d", now).unwrap(), now - Duration::from_secs(7 * 86400));
        assert_eq!(parse_since("2025-11-21T04:40:00Z", now).unwrap(), now);
        assert!(parse_since("last week", now).is_err());
        assert!(parse_since("99999999d", now).is_err(), "not an overflow");
    }
}
