//! `show`: the current project's session id (for `$(claude-session show)`), every stored session
//! (`--all`), one session's timeline (`--timeline`), the journal's sessions (`--sessions`), or
//! what they cost by day, project and model (`--cost`).

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Error, Run, Show};
use crate::journal::field;
use crate::out::Report;
use crate::project::{self, Project};
use crate::session::{Entry, Store};
use crate::sink::outbox::{self, Outbox};
use crate::text::{human_age, safe};
use crate::usage::{self, Ledgers, Prices, SessionUsage, Tally};
use crate::{clock, config, journal, out, outln, session, timeline};

impl Run for Show {
    fn run(&self) -> Result<u8, Error> {
        if self.since.is_some() && !self.cost {
            return Err(Error::Usage("show: --since goes with --cost".into()));
        }
        match (self.all, self.timeline, self.sessions, self.cost) {
            (false, false, false, false) if self.session_id.is_none() => self.current(),
            (true, false, false, false) if self.session_id.is_none() => self.all(),
            (false, true, false, false) => self.timeline(),
            (false, false, true, false) if self.session_id.is_none() => self.sessions(),
            (false, false, false, true) if self.session_id.is_none() => self.cost(),
            _ => Err(Error::Usage("show: use one of --all, --timeline [SESSION_ID], --sessions, --cost".into())),
        }
    }
}

impl Show {
    fn current(&self) -> Result<u8, Error> {
        let project = Project::resolve(config::project_dir(), None);
        let session = session::current(&project, clock::now())?;
        let known = session.source != session::Source::Unknown;
        if self.json {
            out::json(&json!({
                field::SESSION_ID: session.id,
                "source": session.source.as_str(),
                field::PROJECT: project.name,
                field::PROJECT_DIR: project.dir.to_string_lossy(),
            }));
        } else {
            // Exact, not escaped: this is what `$(claude-session show)` captures. Ids hold no
            // control characters (session::check_id).
            outln!("{}", session.id);
        }
        Ok(if known { 0 } else { 1 })
    }

    fn all(&self) -> Result<u8, Error> {
        out::report(&StoredSessions::read()?, self.json);
        Ok(0)
    }

    fn timeline(&self) -> Result<u8, Error> {
        let dir = journal::require_dir()?;
        let since = self.since(None);
        let load = |id: &str| timeline::load(&dir, id, since).map_err(|e| format!("journal {}: {e}", dir.display()));
        let timeline = match &self.session_id {
            Some(given) => match load(given)? {
                found if found.events > 0 => found,
                _ => load(&self.session_by_prefix(&dir, given)?)?,
            },
            None => {
                let project = Project::resolve(config::project_dir(), None);
                let current = session::current(&project, clock::now())?;
                let id = match current.source {
                    session::Source::Unknown => self.latest_in_journal(&dir, &project)?,
                    _ => current.id,
                };
                load(&id)?
            }
        };
        let mut timeline = timeline;
        if timeline.events == 0 {
            return Err(format!("no events of session {} in {}", safe(&timeline.session_id), dir.display()).into());
        }
        let prices = Prices::configured()?;
        let transcripts = timeline.transcripts.with_neighbours();
        let usage = SessionUsage::read(&mut Ledgers::new(), &transcripts.main, &transcripts.agents);
        if !usage.total().is_empty() {
            timeline.usage = Some((usage, prices));
        }
        out::report(&timeline, self.json);
        Ok(0)
    }

    /// The one journaled session whose id begins with `prefix` (`b58b8352` for
    /// `b58b8352-cb65-…`).
    fn session_by_prefix(&self, dir: &std::path::Path, prefix: &str) -> Result<String, Error> {
        let list = timeline::sessions(dir, self.since(None)).map_err(|e| format!("journal {}: {e}", dir.display()))?;
        let matching: Vec<&str> = list
            .sessions
            .iter()
            .map(|s| s.id.as_str())
            .filter(|id| !prefix.is_empty() && id.starts_with(prefix))
            .collect();
        match matching[..] {
            [id] => Ok(id.to_owned()),
            [] => Err(format!(
                "no events of session {} in {}, nor of one whose id begins so (claude-session show --sessions \
                 lists them)",
                safe(prefix),
                dir.display()
            )
            .into()),
            _ => Err(format!(
                "{} sessions begin with {}: {}; give more of the id",
                matching.len(),
                safe(prefix),
                matching.iter().take(5).map(|id| safe(id)).collect::<Vec<_>>().join(", ")
            )
            .into()),
        }
    }

    /// The project's session with the latest event in the journal, when the store names none
    /// (its id expired, or the store was cleared).
    fn latest_in_journal(&self, dir: &std::path::Path, project: &Project) -> Result<String, Error> {
        let list = timeline::sessions(dir, self.since(None)).map_err(|e| format!("journal {}: {e}", dir.display()))?;
        let here = project.dir.to_string_lossy();
        let latest = list.sessions.into_iter().filter(|s| s.project_dir == here).max_by_key(|s| s.last);
        match latest {
            Some(s) => Ok(s.id),
            None => Err(format!(
                "no session of {} in the journal; name one (claude-session show --sessions lists them)",
                safe(&here)
            )
            .into()),
        }
    }

    fn sessions(&self) -> Result<u8, Error> {
        let dir = journal::require_dir()?;
        let mut list =
            timeline::sessions(&dir, self.since(Some(7))).map_err(|e| format!("journal {}: {e}", dir.display()))?;
        let mut ledgers = Ledgers::new();
        for s in &mut list.sessions {
            let transcripts = s.transcripts.with_neighbours();
            s.usage = Some(SessionUsage::read(&mut ledgers, &transcripts.main, &transcripts.agents));
        }
        list.prices = Some(Prices::configured()?);
        out::report(&list, self.json);
        Ok(0)
    }

    fn cost(&self) -> Result<u8, Error> {
        let now = clock::now();
        let since = match &self.since {
            Some(text) => super::export::parse_since(text, now).map_err(Error::Usage)?.date(),
            None => self.since(Some(7)).unwrap_or(now.date()),
        };
        let dir = journal::require_dir()?;
        let prices = Prices::configured()?;
        let report = CostReport::read(&dir, since, prices).map_err(|e| format!("journal {}: {e}", dir.display()))?;
        out::report(&report, self.json);
        Ok(0)
    }

    /// The first day to read: `--days N` back from today, else `default` days, else everything.
    fn since(&self, default: Option<u64>) -> Option<time::Date> {
        let days = self.days.or(default)?;
        let back = time::Duration::days(days.saturating_sub(1).min(100_000) as i64);
        Some((clock::now() - back).date())
    }
}

/// One session file of the store, as `show --all` reports it.
struct StoredSession {
    project: String,
    project_dir: Option<String>,
    session_id: Option<String>,
    updated: Option<OffsetDateTime>,
    age_secs: Option<i64>,
    state: String,
    file: String,
}

/// `show --all`: every session file in the store, and the outbox.
struct StoredSessions {
    store: String,
    sessions: Vec<StoredSession>,
    outbox: Option<outbox::Status>,
}

impl StoredSessions {
    fn read() -> Result<StoredSessions, String> {
        let store = Store::open()?;
        let (now, ttl) = (clock::now(), config::ttl());
        let names = store.names().map_err(|e| format!("store {}: {e}", store.dir.display()))?;
        let sessions = names
            .iter()
            .filter(|name| project::is_key(name))
            .map(|name| StoredSession::new(&store, name, store.read(name, ttl, now), now))
            .collect();
        let outbox = Outbox::existing().map(|o| o.status(&crate::sink::outbox::configured()));
        Ok(StoredSessions { store: store.dir.to_string_lossy().into_owned(), sessions, outbox })
    }
}

impl Report for StoredSessions {
    fn render(&self) -> String {
        let mut text = if self.sessions.is_empty() {
            format!("no sessions stored in {}\n", safe(&self.store))
        } else {
            let header = ["PROJECT", "SESSION", "AGE", "STATE", "DIRECTORY", "FILE"].map(String::from).to_vec();
            let cell = |v: &Option<String>| v.as_deref().map_or("-".to_owned(), |s| safe(s).into_owned());
            let rows = self.sessions.iter().map(|s| {
                vec![
                    safe(&s.project).into_owned(),
                    cell(&s.session_id),
                    s.age_secs.map_or("-".into(), human_age),
                    safe(&s.state).into_owned(),
                    cell(&s.project_dir),
                    safe(&s.file).into_owned(),
                ]
            });
            crate::text::columns(std::iter::once(header).chain(rows).collect())
        };
        for q in self.outbox.iter().flat_map(|o| &o.sinks) {
            // Moved by `flush --adopt`: delivered (and counted) from the queue it went to.
            let moved = match q.moved {
                0 => String::new(),
                n => format!(", {n} moved to another queue"),
            };
            text.push_str(&format!(
                "\noutbox {} ({}): {} pending, {} delivered{moved}, {} set aside, {} dropped\n",
                safe(&q.dir.to_string_lossy()),
                safe(&q.described()),
                q.pending,
                q.delivered,
                q.set_aside,
                q.dropped
            ));
            if let Some(note) = q.elsewhere() {
                text.push_str(&format!("{}\n", safe(&note)));
            }
            if let (Some(error), Some(at)) = (&q.last_error, &q.last_error_at) {
                let at = clock::parse(at).map_or_else(|| at.to_owned(), clock::short);
                text.push_str(&format!("last error at {}: {}\n", safe(&at), safe(error)));
            }
            if let (Some(answer), Some(at)) = (&q.last_set_aside, &q.last_set_aside_at) {
                let at = clock::parse(at).map_or_else(|| at.to_owned(), clock::short);
                text.push_str(&format!("last set aside at {}: {}\n", safe(&at), safe(answer)));
            }
            if let Some(until) = &q.backoff_until {
                let until = clock::parse(until).map_or_else(|| until.to_owned(), clock::short);
                text.push_str(&format!("backing off until {}\n", safe(&until)));
            }
        }
        text
    }

    fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .sessions
            .iter()
            .map(|s| {
                json!({
                    field::PROJECT: s.project, field::PROJECT_DIR: s.project_dir, field::SESSION_ID: s.session_id,
                    "updated": s.updated.map(clock::rfc3339), "age_secs": s.age_secs, "state": s.state, "file": s.file,
                })
            })
            .collect();
        json!({ "store": self.store, "sessions": rows, "outbox": self.outbox.as_ref().map(outbox::Status::to_json) })
    }
}

impl StoredSession {
    fn new(store: &Store, name: &str, entry: Entry, now: OffsetDateTime) -> StoredSession {
        let (record, state) = match &entry {
            Entry::Fresh(r) => (Some(r), "fresh".to_owned()),
            Entry::Stale(r) => (Some(r), "stale".to_owned()),
            other => (None, session::describe(other)),
        };
        let dir = record.and_then(|r| r.project_dir.as_ref());
        let project = match dir {
            Some(d) => Project::at(d).name,
            None => name.rsplit_once('-').map_or(name, |(n, _)| n).to_owned(),
        };
        StoredSession {
            project,
            project_dir: dir.map(|d| d.to_string_lossy().into_owned()),
            session_id: record.map(|r| r.id.clone()),
            updated: record.map(|r| r.time),
            age_secs: record.map(|r| clock::age_secs(r.time, now)),
            state,
            file: store.path(name).to_string_lossy().into_owned(),
        }
    }
}

/// One row of `show --cost`: a day, a project and a model.
struct CostRow {
    day: time::Date,
    project: String,
    model: String,
    usage: usage::ModelUsage,
}

/// `show --cost`: tokens and cost by UTC day, project and model, from the transcripts of the
/// journal's sessions, subagents included.
struct CostReport {
    since: time::Date,
    rows: Vec<CostRow>,
    prices: Prices,
}

impl CostReport {
    fn read(dir: &std::path::Path, since: time::Date, prices: Prices) -> std::io::Result<CostReport> {
        let list = timeline::sessions(dir, Some(since))?;
        let mut ledgers = Ledgers::new();
        let mut sums: std::collections::BTreeMap<(time::Date, String, String), usage::ModelUsage> = Default::default();
        // A transcript named by two sessions (a resumed one) counts once.
        let mut read = std::collections::HashSet::new();
        for s in &list.sessions {
            let transcripts = s.transcripts.with_neighbours();
            let paths = transcripts.main.iter().chain(transcripts.agents.iter().map(|(_, p)| p));
            for path in paths {
                if !read.insert(path.clone()) {
                    continue;
                }
                for b in ledgers.get(path).buckets.iter().filter(|b| b.day >= since) {
                    let key = (b.day, s.project.clone(), b.model.clone());
                    sums.entry(key).or_default().add(&b.usage);
                }
            }
        }
        let rows =
            sums.into_iter().map(|((day, project, model), usage)| CostRow { day, project, model, usage }).collect();
        Ok(CostReport { since, rows, prices })
    }

    fn total(&self) -> Tally {
        let mut t = Tally::default();
        for r in &self.rows {
            t.add_model(&r.model, &r.usage);
        }
        t
    }

    fn cost(&self, r: &CostRow) -> usage::Cost {
        usage::Cost::of(&r.usage.tokens, r.usage.max_prompt, self.prices.get(&r.model))
    }
}

impl Report for CostReport {
    fn render(&self) -> String {
        let since = clock::day(self.since.midnight().assume_utc());
        if self.rows.is_empty() {
            return format!("no usage since {since}\n");
        }
        let header = ["DAY", "PROJECT", "MODEL", "IN", "CACHED", "WRITTEN", "OUT", "COST"].map(String::from).to_vec();
        let line = |day: String, project: &str, model: &str, t: &usage::Tokens, cost: &usage::Cost| {
            vec![
                day,
                safe(project).into_owned(),
                safe(model).into_owned(),
                usage::count(t.prompt()),
                usage::count(t.cache_read),
                usage::count(t.cache_write),
                usage::count(t.output),
                cost.show(),
            ]
        };
        let mut lines = vec![header];
        for r in &self.rows {
            let day = clock::day(r.day.midnight().assume_utc());
            lines.push(line(day, &r.project, &r.model, &r.usage.tokens, &self.cost(r)));
        }
        let total = self.total();
        lines.push(line("total".into(), "", "", &total.tokens(), &total.cost(&self.prices)));
        let mut text = crate::text::columns(lines);
        text.push_str(&format!(
            "\nsince {since} (UTC); IN counts every prompt token, CACHED and WRITTEN among them; prices: {}\n",
            usage::PRICES_SOURCE
        ));
        text
    }

    fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = r.usage.tokens.to_json();
                usage::merge(&mut row, self.cost(r).to_json());
                usage::merge(
                    &mut row,
                    json!({"day": clock::day(r.day.midnight().assume_utc()), "project": r.project, "model": r.model,
                           "responses": r.usage.responses}),
                );
                row
            })
            .collect();
        json!({
            "since": clock::day(self.since.midnight().assume_utc()),
            "rows": rows,
            "total": self.total().to_json(&self.prices),
            "prices": usage::PRICES_SOURCE,
        })
    }
}
