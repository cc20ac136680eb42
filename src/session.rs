//! Which session an event belongs to: the payload's id, else the environment's, else the one
//! stored for the project, else `unknown`. The store names a live session of the project: the one
//! that started last, or that took over when the stored one had not been refreshed for the
//! refresh interval. An id seen in a payload or the environment is stored at its SessionStart,
//! when the store is empty, stale or due for a refresh; so sessions alternating in one project
//! write the store as rarely as one session does (issue 30), not at every hook.

use std::time::Duration;

use time::OffsetDateTime;

use crate::project::Project;
use crate::store::{Entry, Record, Store, check_id};
use crate::{clock, config};

use crate::private::Durability;

pub const UNKNOWN: &str = "unknown";
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    Payload,
    Env,
    Store,
    Unknown,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Payload => "payload",
            Source::Env => "env",
            Source::Store => "store",
            Source::Unknown => "unknown",
        }
    }
}

pub struct Session {
    pub id: String,
    pub source: Source,
}

/// How often an unchanged id's time is rewritten: often enough that an active session never
/// goes stale, rarely enough that the tool-call hot path almost never writes.
pub fn refresh_interval(ttl: Duration) -> Duration {
    (ttl / 8).min(Duration::from_secs(3600))
}

/// Resolves the id for a hook and updates the store when the id is new or its time is due.
///
/// Only a session's start is synced to disk: a later update lost in a power cut leaves a pointer
/// to a slightly older session, and syncing it would cost every hook of two sessions that share a
/// project (each rewrites the pointer) two disk flushes.
pub fn resolve(payload_id: Option<&str>, project: &Project, now: OffsetDateTime, starting: bool) -> Session {
    let given = given_id(payload_id);
    let store = match Store::open() {
        Ok(store) => Some(store),
        Err(why) => {
            crate::debug!("{why}; carrying on without the store");
            None
        }
    };
    let ttl = config::ttl();
    let stored = store.as_ref().map_or(Entry::Missing, |s| s.read_or_remove(&project.key, ttl, now));
    match given {
        Some((id, source)) => {
            // A fresh record is left alone until it is due: this session's, and another's too
            // (another session alternating with this one is still alive, and the store cannot
            // name both), unless this one is starting.
            let current = matches!(&stored, Entry::Fresh(r)
                if (r.id == id || !starting) && clock::age_secs(r.time, now) < refresh_interval(ttl).as_secs() as i64);
            if let (false, Some(store)) = (current, &store) {
                let record = Record { id: id.clone(), time: now, project_dir: Some(project.dir.clone()) };
                let durability = if starting { Durability::Fsync } else { Durability::Atomic };
                if let Err(e) = store.save(&project.key, &record, durability) {
                    crate::debug!("cannot store session {id} in {}: {e}", store.dir.display());
                }
            }
            Session { id, source }
        }
        None => from_store(stored),
    }
}

/// What `show` reports: the environment's id, else the store's; never writes.
pub fn current(project: &Project, now: OffsetDateTime) -> Result<Session, String> {
    if let Some((id, source)) = given_id(None) {
        return Ok(Session { id, source });
    }
    let store = Store::open()?;
    Ok(from_store(store.read_or_remove(&project.key, config::ttl(), now)))
}

/// The stored id when fresh, else `unknown`.
fn from_store(entry: Entry) -> Session {
    match entry {
        Entry::Fresh(record) => Session { id: record.id, source: Source::Store },
        _ => Session { id: UNKNOWN.into(), source: Source::Unknown },
    }
}

/// The id the event names: the payload's, else `$CLAUDE_CODE_SESSION_ID`, when valid.
fn given_id(payload_id: Option<&str>) -> Option<(String, Source)> {
    let valid = |id: &str| check_id(id).is_ok();
    payload_id
        .filter(|id| valid(id))
        .map(|id| (id.to_owned(), Source::Payload))
        .or_else(|| config::env_session_id().filter(|id| valid(id)).map(|id| (id, Source::Env)))
}
