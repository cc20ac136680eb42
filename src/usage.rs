//! What a session cost: tokens per API response, read from Claude Code's transcripts, and dollars
//! from a price table per model.
//!
//! No hook payload carries usage; every transcript does. Each assistant line has `message.model`
//! and `message.usage`, and one API response is written as several lines (one per content block)
//! that repeat its usage: a response counts once per message id and request id pair, as ccusage
//! counts it. A line without both ids counts every time, as there too.
//!
//! A transcript is read incrementally: a [`Ledger`] per transcript keeps how far it was read, the
//! keys of the responses seen and the sums so far, in `<journal>/usage/`, so the deliverer and
//! the commands read only what was appended since. Sums are kept per turn (the prompt id of the
//! user line a response follows), UTC day and model. A transcript that is missing, not a regular
//! file of ours, or not JSON costs nothing: it has no usage. Lines are read in bounded pieces:
//! a line over [`LINE_MAX`] is skipped without being held, and one update reads at most
//! [`UPDATE_MAX`] bytes (the next one goes on from there).
//!
//! This is deliverer and command work, never a hook's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use time::Date;

use crate::{clock, config, journal, private};

/// The longest transcript line read; a longer one is skipped. Assistant lines hold one response's
/// content (at most 128K output tokens, well under this); only tool results grow past it.
pub const LINE_MAX: usize = 16 << 20;
/// The most one update reads of a transcript; the next update goes on from there.
pub const UPDATE_MAX: u64 = 512 << 20;
/// The read buffer.
const CHUNK: usize = 1 << 20;
/// A ledger file bigger than this is not one of ours.
const LEDGER_MAX: u64 = 64 << 20;

/// Token counts. `cache_write` includes `cache_write_1h`, the part written with the 1-hour
/// lifetime (priced higher).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_write: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
}

/// `add`, summing field by field. The pattern names every field: a field added to the struct
/// but not here is a compile error, not a count silently dropped from every total. Saturating,
/// as every sum here: a transcript is a file anyone may have edited, and counts near `u64::MAX`
/// overflowed (a panic, or a wrapped total).
macro_rules! summed_by_field {
    ($t:ident { $($field:ident),+ }) => {
        impl $t {
            pub fn add(&mut self, other: &$t) {
                let $t { $($field),+ } = other;
                $(self.$field = self.$field.saturating_add(*$field);)+
            }
        }
    };
}

summed_by_field!(Tokens { input, output, cache_write, cache_write_1h, cache_read });

impl Tokens {
    /// Every token of the prompt: uncached, written to the cache, read from it.
    pub fn prompt(&self) -> u64 {
        self.input.saturating_add(self.cache_write).saturating_add(self.cache_read)
    }

    pub fn is_zero(&self) -> bool {
        *self == Tokens::default()
    }

    fn to_array(self) -> [u64; 5] {
        [self.input, self.output, self.cache_write, self.cache_write_1h, self.cache_read]
    }

    fn from_array(a: &[u64]) -> Option<Tokens> {
        let &[input, output, cache_write, cache_write_1h, cache_read] = a else { return None };
        Some(Tokens { input, output, cache_write, cache_write_1h, cache_read })
    }

    pub fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input, "output_tokens": self.output,
            "cache_creation_input_tokens": self.cache_write, "cache_creation_1h_input_tokens": self.cache_write_1h,
            "cache_read_input_tokens": self.cache_read,
        })
    }

    /// `12.3k in / 1.1k out`: "in" is the whole prompt, cached or not.
    pub fn short(&self) -> String {
        format!("{} in / {} out", count(self.prompt()), count(self.output))
    }

    /// `12.3k in (10.1k cached, 2.0k written) / 1.1k out`.
    pub fn detailed(&self) -> String {
        let mut parts = Vec::new();
        if self.cache_read > 0 {
            parts.push(format!("{} cached", count(self.cache_read)));
        }
        if self.cache_write > 0 {
            parts.push(format!("{} written", count(self.cache_write)));
        }
        let cache = if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) };
        format!("{} in{cache} / {} out", count(self.prompt()), count(self.output))
    }
}

/// `999`, `12.3k`, `4.5M`.
pub fn count(n: u64) -> String {
    match n {
        0..1000 => n.to_string(),
        1000..999_950 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// A model's prices in micro-dollars per million tokens ($4/MTok is 4_000_000), so that sums
/// are exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub input: u64,
    pub output: u64,
    /// A write with the 5-minute lifetime.
    pub cache_write: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
    /// Prompts longer than this are billed at another rate we do not keep: usage with a longer
    /// prompt is shown without a price rather than with a wrong one.
    pub prompt_max: Option<u64>,
}

/// Where the built-in prices come from, and when they were taken.
pub const PRICES_SOURCE: &str = "platform.claude.com model pages and pricing table, taken 2026-12-06";

const fn usd(input: f64, output: f64, cache_write: f64, cache_write_1h: f64, cache_read: f64) -> Price {
    Price {
        input: micro(input),
        output: micro(output),
        cache_write: micro(cache_write),
        cache_write_1h: micro(cache_write_1h),
        cache_read: micro(cache_read),
        prompt_max: None,
    }
}

/// Dollars to micro-dollars, rounded: exact for every price here (at most six decimals).
const fn micro(dollars: f64) -> u64 {
    (dollars * 1e6 + 0.5) as u64
}

const fn long(price: Price, prompt_max: u64) -> Price {
    Price { prompt_max: Some(prompt_max), ..price }
}

/// Anthropic's prices, in dollars per million tokens: input, output, 5-minute cache write,
/// 1-hour cache write, cache read. Keys are model ids without a date or platform decoration
/// (see [`base_model`]). A model not here has no price. See [`PRICES_SOURCE`].
pub const BUILTIN: &[(&str, Price)] = &[
    ("claude-fable-5-1", usd(10.0, 50.0, 12.5, 20.0, 0.25)),
    ("claude-mythos-5-1", usd(10.0, 50.0, 12.5, 20.0, 0.25)),
    ("claude-fable-5", usd(10.0, 50.0, 12.5, 20.0, 1.0)),
    ("claude-mythos-5", usd(10.0, 50.0, 12.5, 20.0, 1.0)),
    ("claude-opus-5-5", usd(4.0, 20.0, 5.0, 8.0, 0.2)),
    ("claude-opus-5", usd(5.0, 25.0, 6.25, 10.0, 0.5)),
    ("claude-opus-4-8", usd(5.0, 25.0, 6.25, 10.0, 0.5)),
    ("claude-opus-4-7", usd(5.0, 25.0, 6.25, 10.0, 0.5)),
    ("claude-opus-4-6", long(usd(5.0, 25.0, 6.25, 10.0, 0.5), 200_000)),
    ("claude-opus-4-5", usd(5.0, 25.0, 6.25, 10.0, 0.5)),
    ("claude-opus-4-1", usd(15.0, 75.0, 18.75, 30.0, 1.5)),
    ("claude-opus-4", usd(15.0, 75.0, 18.75, 30.0, 1.5)),
    ("claude-opus-4-0", usd(15.0, 75.0, 18.75, 30.0, 1.5)),
    // Sonnet 5.5's cache reads went from $0.20 to $0.10 on 2026-10-07.
    ("claude-sonnet-5-5", usd(2.0, 10.0, 2.5, 4.0, 0.1)),
    ("claude-sonnet-5", usd(2.0, 10.0, 2.5, 4.0, 0.2)),
    ("claude-sonnet-4-6", long(usd(3.0, 15.0, 3.75, 6.0, 0.3), 200_000)),
    ("claude-sonnet-4-5", long(usd(3.0, 15.0, 3.75, 6.0, 0.3), 200_000)),
    ("claude-sonnet-4", long(usd(3.0, 15.0, 3.75, 6.0, 0.3), 200_000)),
    ("claude-sonnet-4-0", long(usd(3.0, 15.0, 3.75, 6.0, 0.3), 200_000)),
    ("claude-3-7-sonnet", usd(3.0, 15.0, 3.75, 6.0, 0.3)),
    // Haiku 5.5 costs five times as much for a prompt over 100K tokens.
    ("claude-haiku-5-5", long(usd(0.1, 0.5, 0.125, 0.2, 0.01), 100_000)),
    ("claude-haiku-4-5", usd(1.0, 5.0, 1.25, 2.0, 0.1)),
    ("claude-3-5-haiku", usd(0.8, 4.0, 1.0, 1.6, 0.08)),
    ("claude-3-haiku", usd(0.25, 1.25, 0.3, 0.5, 0.03)),
];

/// The model id a price is kept under: without Bedrock's `anthropic.` prefix (and region) and
/// `-v1:0` suffix, Vertex's `@20251101`, a `-20251101` date, `-latest`, or a `[1m]` context
/// mark. Nothing else is stripped, so an unknown model never borrows a neighbour's price.
pub fn base_model(model: &str) -> &str {
    let mut m = model.trim();
    if let Some(i) = m.find("anthropic.") {
        m = &m[i + "anthropic.".len()..];
    }
    if let Some(rest) = m.strip_suffix("[1m]") {
        m = rest;
    }
    if let Some((head, tail)) = m.rsplit_once("-v")
        && tail.split(':').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        m = head;
    }
    if let Some((head, tail)) = m.rsplit_once('@')
        && is_date(tail)
    {
        m = head;
    }
    if let Some(head) = m.strip_suffix("-latest") {
        m = head;
    }
    if let Some((head, tail)) = m.rsplit_once('-')
        && is_date(tail)
    {
        m = head;
    }
    m
}

fn is_date(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The price table: the built-in one, with the user's entries over it.
#[derive(Clone, Debug)]
pub struct Prices {
    table: HashMap<String, Option<Price>>,
}

impl Prices {
    pub fn builtin() -> Prices {
        Prices { table: BUILTIN.iter().map(|(m, p)| ((*m).to_owned(), Some(*p))).collect() }
    }

    /// The built-in table with `CLAUDE_SESSION_PRICES` over it; a bad table is the error
    /// commands report.
    pub fn configured() -> Result<Prices, String> {
        let mut prices = Prices::builtin();
        if let Some(entries) = config::prices()? {
            prices.extend(&entries).map_err(|e| format!("{}: {e}", config::PRICES))?;
        }
        Ok(prices)
    }

    /// [`configured`](Prices::configured), else the built-in table with a debug line (the
    /// deliverer has nobody to tell).
    pub fn configured_or_builtin() -> Prices {
        Prices::configured().unwrap_or_else(|e| {
            crate::debug!("{e}; using the built-in prices");
            Prices::builtin()
        })
    }

    /// Adds or replaces entries: `{"model": {"input": 3, "output": 15, "cache_write": 3.75,
    /// "cache_write_1h": 6, "cache_read": 0.3, "prompt_max": 200000}}` in dollars per million
    /// tokens; `null` removes a model. Cache prices left out follow Anthropic's rule: 1.25×,
    /// 2× and 0.1× the input price.
    pub fn extend(&mut self, entries: &Map<String, Value>) -> Result<(), String> {
        for (model, entry) in entries {
            let price = match entry {
                Value::Null => None,
                Value::Object(fields) => Some(parse_price(fields).map_err(|e| format!("{model}: {e}"))?),
                _ => return Err(format!("{model}: give an object of prices, or null")),
            };
            self.table.insert(base_model(model).to_owned(), price);
        }
        Ok(())
    }

    pub fn get(&self, model: &str) -> Option<&Price> {
        self.table.get(model).or_else(|| self.table.get(base_model(model)))?.as_ref()
    }
}

fn parse_price(fields: &Map<String, Value>) -> Result<Price, String> {
    for key in fields.keys() {
        if !["input", "output", "cache_write", "cache_write_1h", "cache_read", "prompt_max"].contains(&key.as_str()) {
            return Err(format!("unknown field {key:?}"));
        }
    }
    let get = |key: &str| fields.get(key).map(|v| micros(v).ok_or(format!("{key}: {v} is not a price like 3.75")));
    let input = get("input").ok_or("input is missing")??;
    let output = get("output").ok_or("output is missing")??;
    let prompt_max = match fields.get("prompt_max") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or(format!("prompt_max: {v} is not a whole number"))?),
    };
    Ok(Price {
        input,
        output,
        cache_write: get("cache_write").transpose()?.unwrap_or(input * 5 / 4),
        cache_write_1h: get("cache_write_1h").transpose()?.unwrap_or(input * 2),
        cache_read: get("cache_read").transpose()?.unwrap_or(input / 10),
        prompt_max,
    })
}

/// Dollars (a number or a string, `3.75`) as micro-dollars, exactly: from the number's text.
fn micros(v: &Value) -> Option<u64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().trim_start_matches('$').to_owned(),
        _ => return None,
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 6
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().ok()? };
    whole.checked_mul(1_000_000)?.checked_add(frac).filter(|m| *m <= 1_000_000_000_000)
}

/// A cost in pico-dollars (exact sums), and the tokens that had no price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub pico: u128,
    /// Tokens of models with no price (unknown, or a prompt past the price's bound).
    pub unpriced: u64,
    /// Tokens that were priced.
    pub priced: u64,
}

summed_by_field!(Cost { pico, unpriced, priced });

impl Cost {
    /// What `tokens` of one model cost; `max_prompt` is the longest prompt among them.
    pub fn of(tokens: &Tokens, max_prompt: u64, price: Option<&Price>) -> Cost {
        let all = tokens.prompt().saturating_add(tokens.output);
        match price {
            Some(p) if p.prompt_max.is_none_or(|max| max_prompt <= max) => {
                let t = |n: u64, per_mtok: u64| u128::from(n) * u128::from(per_mtok);
                let pico = t(tokens.input, p.input)
                    + t(tokens.output, p.output)
                    + t(tokens.cache_write - tokens.cache_write_1h.min(tokens.cache_write), p.cache_write)
                    + t(tokens.cache_write_1h.min(tokens.cache_write), p.cache_write_1h)
                    + t(tokens.cache_read, p.cache_read);
                Cost { pico, unpriced: 0, priced: all }
            }
            _ => Cost { pico: 0, unpriced: all, priced: 0 },
        }
    }

    pub fn usd(&self) -> f64 {
        self.pico as f64 / 1e12
    }

    /// Whether there is a number to show: some tokens had a price, or there were no tokens.
    pub fn known(&self) -> bool {
        self.priced > 0 || self.unpriced == 0
    }

    /// `$0.04`, `$0.0008`, `no price`, `$0.04 + no price`.
    pub fn show(&self) -> String {
        if !self.known() {
            return "no price".into();
        }
        let usd = self.usd();
        let amount = if usd == 0.0 || usd >= 0.01 { format!("${usd:.2}") } else { format!("${usd:.4}") };
        if self.unpriced > 0 { format!("{amount} + no price") } else { amount }
    }

    /// `cost_usd` is null when nothing had a price.
    pub fn to_json(&self) -> Value {
        json!({
            "cost_usd": self.known().then(|| self.usd()),
            "unpriced_tokens": self.unpriced,
        })
    }
}

/// Usage of one model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelUsage {
    pub tokens: Tokens,
    pub responses: u64,
    /// The longest prompt of one response.
    pub max_prompt: u64,
}

impl ModelUsage {
    pub fn add(&mut self, other: &ModelUsage) {
        self.tokens.add(&other.tokens);
        self.responses = self.responses.saturating_add(other.responses);
        self.max_prompt = self.max_prompt.max(other.max_prompt);
    }
}

/// Usage per model: what a turn, a subagent, a session or a report row sums.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub models: BTreeMap<String, ModelUsage>,
}

impl Tally {
    pub fn add_model(&mut self, model: &str, usage: &ModelUsage) {
        self.models.entry(model.to_owned()).or_default().add(usage);
    }

    pub fn add(&mut self, other: &Tally) {
        for (model, usage) in &other.models {
            self.add_model(model, usage);
        }
    }

    pub fn tokens(&self) -> Tokens {
        let mut t = Tokens::default();
        for m in self.models.values() {
            t.add(&m.tokens);
        }
        t
    }

    pub fn responses(&self) -> u64 {
        self.models.values().fold(0, |n, m| n.saturating_add(m.responses))
    }

    pub fn is_empty(&self) -> bool {
        self.responses() == 0
    }

    /// Each model's tokens at its price, summed.
    pub fn cost(&self, prices: &Prices) -> Cost {
        let mut cost = Cost::default();
        for (model, m) in &self.models {
            cost.add(&Cost::of(&m.tokens, m.max_prompt, prices.get(model)));
        }
        cost
    }

    /// `12.3k in / 1.1k out · $0.04`.
    pub fn short(&self, prices: &Prices) -> String {
        format!("{} · {}", self.tokens().short(), self.cost(prices).show())
    }

    /// `12.3k in (10.1k cached) / 1.1k out · $0.04 · claude-opus-5-5`.
    pub fn detailed(&self, prices: &Prices) -> String {
        let models: Vec<&str> = self.models.keys().map(String::as_str).collect();
        format!("{} · {} · {}", self.tokens().detailed(), self.cost(prices).show(), models.join(", "))
    }

    /// Totals, cost and the same per model.
    pub fn to_json(&self, prices: &Prices) -> Value {
        let mut total = self.tokens().to_json();
        merge(&mut total, self.cost(prices).to_json());
        total["responses"] = self.responses().into();
        let models: Map<String, Value> = self
            .models
            .iter()
            .map(|(model, m)| {
                let mut v = m.tokens.to_json();
                merge(&mut v, Cost::of(&m.tokens, m.max_prompt, prices.get(model)).to_json());
                v["responses"] = m.responses.into();
                (model.clone(), v)
            })
            .collect();
        total["models"] = Value::Object(models);
        total
    }
}

/// Adds `from`'s members to the object `into`.
pub fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// The sums of one turn (prompt id, None before any prompt), UTC day and model.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub prompt: Option<String>,
    pub day: Date,
    pub model: String,
    pub usage: ModelUsage,
}

/// One transcript's usage so far, and where reading stopped.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    pub path: String,
    dev: u64,
    ino: u64,
    /// Bytes read: the start of the first line not yet counted.
    offset: u64,
    /// A line longer than [`LINE_MAX`] is being skipped up to its newline.
    skipping: bool,
    /// The prompt id of the last user line: the turn later responses belong to.
    prompt: Option<String>,
    /// Hashes of the (message id, request id) pairs counted.
    seen: HashSet<u64>,
    pub buckets: Vec<Bucket>,
    index: HashMap<(Option<String>, Date, String), usize>,
}

impl Ledger {
    /// Everything so far.
    pub fn total(&self) -> Tally {
        self.tally(|_| true)
    }

    /// The responses of the turn with prompt id `prompt`.
    pub fn turn(&self, prompt: &str) -> Tally {
        self.tally(|b| b.prompt.as_deref() == Some(prompt))
    }

    pub fn tally(&self, keep: impl Fn(&Bucket) -> bool) -> Tally {
        let mut tally = Tally::default();
        for b in self.buckets.iter().filter(|b| keep(b)) {
            tally.add_model(&b.model, &b.usage);
        }
        tally
    }

    fn add(&mut self, day: Date, model: &str, usage: ModelUsage) {
        let key = (self.prompt.clone(), day, model.to_owned());
        let i = *self.index.entry(key).or_insert_with(|| {
            self.buckets.push(Bucket {
                prompt: self.prompt.clone(),
                day,
                model: model.to_owned(),
                usage: ModelUsage::default(),
            });
            self.buckets.len() - 1
        });
        self.buckets[i].usage.add(&usage);
    }

    /// Reads what was appended to the transcript since the last update. A transcript replaced
    /// or cut shorter is read again from its start; one that cannot be read is left as it was.
    pub fn update(&mut self) {
        let Some(file) = open_transcript(Path::new(&self.path)) else { return };
        let Ok(meta) = file.metadata() else { return };
        if (meta.dev(), meta.ino()) != (self.dev, self.ino) || meta.len() < self.offset {
            *self =
                Ledger { path: std::mem::take(&mut self.path), dev: meta.dev(), ino: meta.ino(), ..Ledger::default() };
        }
        self.read(&file, meta.len());
    }

    fn read(&mut self, file: &File, len: u64) {
        let end = len.min(self.offset.saturating_add(UPDATE_MAX));
        let mut pos = self.offset;
        let mut buf = vec![0u8; CHUNK.min((end - pos) as usize)];
        let mut carry: Vec<u8> = Vec::new();
        while pos < end {
            let want = buf.len().min((end - pos) as usize);
            let n = match file.read_at(&mut buf[..want], pos) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let data = &buf[..n];
            let mut start = 0;
            while let Some(i) = data[start..].iter().position(|&b| b == b'\n') {
                let piece = &data[start..start + i];
                if !self.skipping {
                    if carry.is_empty() {
                        self.line(piece);
                    } else {
                        carry.extend_from_slice(piece);
                        let line = std::mem::take(&mut carry);
                        self.line(&line);
                    }
                }
                self.skipping = false;
                carry.clear();
                start += i + 1;
                self.offset = pos + start as u64;
            }
            let rest = &data[start..];
            if !self.skipping {
                if carry.len() + rest.len() > LINE_MAX {
                    self.skipping = true;
                    carry = Vec::new();
                } else {
                    carry.extend_from_slice(rest);
                }
            }
            pos += n as u64;
            if self.skipping {
                // Nothing of a line being skipped is kept: read on from here next time.
                self.offset = pos;
            }
        }
    }

    /// One whole line: a user line moves the turn on, an assistant line adds its response.
    fn line(&mut self, line: &[u8]) {
        // Not text, not a line of a transcript.
        let Ok(line) = std::str::from_utf8(line) else { return };
        if let Some(prompt) = user_prompt(line) {
            self.prompt = Some(prompt);
            return;
        }
        if !line.contains("\"type\":\"assistant\"") || !line.contains("\"usage\"") {
            return;
        }
        let Some(response) = Response::parse(line.as_bytes()) else { return };
        if let Some(key) = response.key
            && !self.seen.insert(key)
        {
            return;
        }
        if response.model.starts_with('<') && response.usage.tokens.is_zero() {
            return;
        }
        self.add(response.day, &response.model, response.usage);
    }

    /// The ledger as saved: where to go on, the keys seen and the sums. Written and read as typed
    /// values, not a `Value` tree: a ledger of a thousand turns is loaded and saved at each read.
    fn to_bytes(&self) -> Vec<u8> {
        let buckets: Vec<Saved> = self
            .buckets
            .iter()
            .map(|b| {
                let u = &b.usage;
                (b.prompt.clone(), clock_day(b.day), b.model.clone(), u.tokens.to_array(), u.responses, u.max_prompt)
            })
            .collect();
        let mut seen: Vec<u64> = self.seen.iter().copied().collect();
        seen.sort_unstable();
        let mut out = Vec::with_capacity(64 + seen.len() * 21 + buckets.len() * 120);
        let mut member = |key: &str, value: &dyn Fn(&mut Vec<u8>) -> serde_json::Result<()>| {
            out.push(if out.is_empty() { b'{' } else { b',' });
            let _ = serde_json::to_writer(&mut out, key);
            out.push(b':');
            let _ = value(&mut out);
        };
        member("version", &|o| serde_json::to_writer(o, &LEDGER_VERSION));
        member("path", &|o| serde_json::to_writer(o, &self.path));
        member("dev", &|o| serde_json::to_writer(o, &self.dev));
        member("ino", &|o| serde_json::to_writer(o, &self.ino));
        member("offset", &|o| serde_json::to_writer(o, &self.offset));
        member("skipping", &|o| serde_json::to_writer(o, &self.skipping));
        member("prompt", &|o| serde_json::to_writer(o, &self.prompt));
        member("seen", &|o| serde_json::to_writer(o, &seen));
        member("buckets", &|o| serde_json::to_writer(o, &buckets));
        out.push(b'}');
        out
    }

    fn from_bytes(bytes: &[u8], path: &str) -> Option<Ledger> {
        let v: HashMap<&str, &RawValue> = serde_json::from_slice(bytes).ok()?;
        // (serde's trait is not ours to name: a macro stands for a generic getter.)
        macro_rules! get {
            ($key:literal, $t:ty) => {
                serde_json::from_str::<$t>(v.get($key)?.get()).ok()?
            };
        }
        if get!("version", u64) != LEDGER_VERSION || get!("path", String) != path {
            return None;
        }
        let mut ledger = Ledger {
            path: path.to_owned(),
            dev: get!("dev", u64),
            ino: get!("ino", u64),
            offset: get!("offset", u64),
            skipping: get!("skipping", bool),
            seen: get!("seen", Vec<u64>).into_iter().collect(),
            ..Ledger::default()
        };
        for (prompt, day, model, tokens, responses, max_prompt) in get!("buckets", Vec<Saved>) {
            let usage = ModelUsage { tokens: Tokens::from_array(&tokens)?, responses, max_prompt };
            ledger.prompt = prompt;
            ledger.add(parse_day(&day)?, &model, usage);
        }
        ledger.prompt = get!("prompt", Option<String>);
        Some(ledger)
    }
}

/// A saved bucket: prompt id, day, model, tokens, responses, longest prompt.
type Saved = (Option<String>, String, String, [u64; 5], u64, u64);
const LEDGER_VERSION: u64 = 1;

fn clock_day(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn parse_day(s: &str) -> Option<Date> {
    journal::file_date(&format!("{s}.jsonl"))
}

/// One API response as a transcript line records it.
struct Response {
    key: Option<u64>,
    model: String,
    day: Date,
    usage: ModelUsage,
}

impl Response {
    fn parse(line: &[u8]) -> Option<Response> {
        let top: HashMap<&str, &RawValue> = serde_json::from_slice(line).ok()?;
        if raw_str(top.get("type")).as_deref() != Some("assistant") {
            return None;
        }
        let message: HashMap<&str, &RawValue> = serde_json::from_str(top.get("message")?.get()).ok()?;
        let usage: Map<String, Value> = serde_json::from_str(message.get("usage")?.get()).ok()?;
        let n = |key: &str| usage.get(key).and_then(Value::as_u64);
        // As ccusage: input and output are required, the cache counts are not.
        let mut tokens = Tokens {
            input: n("input_tokens")?,
            output: n("output_tokens")?,
            cache_write: n("cache_creation_input_tokens").unwrap_or(0),
            cache_read: n("cache_read_input_tokens").unwrap_or(0),
            cache_write_1h: 0,
        };
        tokens.cache_write_1h = usage
            .get("cache_creation")
            .and_then(|c| c.get("ephemeral_1h_input_tokens"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(tokens.cache_write);
        let mut model = raw_str(message.get("model")).filter(|m| !m.is_empty()).unwrap_or_else(|| "unknown".into());
        // Fast mode and a pinned inference region are billed at other rates: kept apart under
        // their own name, which has no price unless the user gives one.
        if usage.get("speed").and_then(Value::as_str) == Some("fast") {
            model.push_str(" (fast)");
        }
        if let Some(geo) =
            usage.get("inference_geo").and_then(Value::as_str).filter(|g| !g.is_empty() && *g != "global")
        {
            model.push_str(&format!(" ({geo})"));
        }
        let key = match (raw_str(message.get("id")), raw_str(top.get("requestId"))) {
            (Some(id), Some(request)) => Some(fnv1a(format!("{id}:{request}").as_bytes())),
            _ => None,
        };
        let day = raw_str(top.get("timestamp")).and_then(|t| clock::parse(&t)).map_or(Date::MIN, |t| t.date());
        Some(Response { key, model, day, usage: ModelUsage { tokens, responses: 1, max_prompt: tokens.prompt() } })
    }
}

fn raw_str(raw: Option<&&RawValue>) -> Option<String> {
    serde_json::from_str::<String>(raw?.get()).ok()
}

/// How far into a line its top-level `promptId` and `type` are looked for without parsing it.
const HEAD: usize = 4096;

/// The prompt id of a user line (`"type":"user"` with a `promptId`), whatever it holds. Claude
/// Code writes both among the first members, before the message: found there, at the top level
/// (no object or array opened before them), a tool result of megabytes is not parsed. Anywhere
/// else, the line is parsed.
fn user_prompt(line: &str) -> Option<String> {
    const PROMPT: &str = "\"promptId\":\"";
    const USER: &str = "\"type\":\"user\"";
    let mut end = line.len().min(HEAD);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let head = &line[..end];
    let top = |at: usize| !head[1..at].contains(['{', '[']);
    if let (Some(p), Some(u)) = (head.find(PROMPT), head.find(USER))
        && top(p)
        && top(u)
    {
        let value = &head[p + PROMPT.len()..];
        if let Some(end) = value.find('"')
            && !value[..end].contains('\\')
        {
            return Some(value[..end].to_owned());
        }
    }
    if !line.contains("\"promptId\"") || !line.contains(USER) {
        return None;
    }
    let top: HashMap<&str, &RawValue> = serde_json::from_str(line).ok()?;
    if raw_str(top.get("type")).as_deref() != Some("user") {
        return None;
    }
    raw_str(top.get("promptId"))
}

/// FNV-1a, 64 bits: a response's key as the ledger keeps it.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A transcript opened for reading: a regular file of ours, not through a link, never blocking
/// on a FIFO. Another user's file is not our usage.
fn open_transcript(path: &Path) -> Option<File> {
    if !path.is_absolute() {
        return None;
    }
    let file = OpenOptions::new().read(true).custom_flags(private::NOFOLLOW_NONBLOCK).open(path).ok()?;
    let meta = file.metadata().ok()?;
    (meta.is_file() && meta.uid() == private::uid_self()).then_some(file)
}

/// `<journal>/usage`: the saved ledgers.
pub fn dir() -> Option<PathBuf> {
    journal::dir().map(|d| d.join("usage"))
}

/// Ledgers (and temp files) not written for `age`: their transcript has not grown since, and
/// the journal that named it is gone (`cleanup` keeps the same days). A ledger removed too early
/// costs one more read of its transcript, nothing else.
pub fn old_ledgers(age: Duration) -> Vec<(PathBuf, String)> {
    let Some(dir) = dir() else { return Vec::new() };
    // Only in our own directory: not through a link to another's files.
    if std::fs::symlink_metadata(&dir).is_err() || private::dir(&dir).is_err() {
        return Vec::new();
    }
    let names = private::file_names(&dir).unwrap_or_default();
    let now = std::time::SystemTime::now();
    names
        .into_iter()
        .filter(|n| n.ends_with(".json") && n.len() == 21 || private::is_temp_name(n))
        .map(|n| dir.join(n))
        .filter(|p| {
            let meta = std::fs::symlink_metadata(p);
            meta.is_ok_and(|m| {
                private::check_file(&m).is_ok()
                    && m.modified().is_ok_and(|t| now.duration_since(t).is_ok_and(|d| d > age))
            })
        })
        .map(|p| (p, "usage ledger not written for as long as the journal is kept".to_owned()))
        .collect()
}

/// The ledgers of one process: loaded from `<journal>/usage/` when there, updated, saved back.
pub struct Ledgers {
    dir: Option<PathBuf>,
    open: HashMap<String, Ledger>,
}

impl Ledgers {
    /// Ledgers saved in [`dir`] (created when needed; without one they live in memory only).
    pub fn new() -> Ledgers {
        Ledgers::in_dir(dir())
    }

    pub fn in_dir(dir: Option<PathBuf>) -> Ledgers {
        Ledgers { dir, open: HashMap::new() }
    }

    /// The transcript at `path`, read up to its end. Saved after reading, under a lock shared by
    /// every process that reads transcripts, so two deliverers do not both read a long one.
    pub fn get(&mut self, path: &str) -> &Ledger {
        let file = self.dir.as_ref().map(|d| d.join(format!("{:016x}.json", fnv1a(path.as_bytes()))));
        let lock = self.dir.as_ref().and_then(|d| lock(d));
        let ledger = self.open.entry(path.to_owned()).or_insert_with(|| {
            file.as_ref()
                .and_then(|f| private::read(f, LEDGER_MAX).ok())
                .and_then(|bytes| Ledger::from_bytes(&bytes, path))
                .unwrap_or_else(|| Ledger { path: path.to_owned(), ..Ledger::default() })
        });
        let before = (ledger.dev, ledger.ino, ledger.offset, ledger.skipping);
        ledger.update();
        if let (Some(file), Some(_)) = (&file, &lock)
            && before != (ledger.dev, ledger.ino, ledger.offset, ledger.skipping)
        {
            let bytes = ledger.to_bytes();
            if let Err(e) = private::write_atomic(file, &bytes, 0o600, private::Durability::Atomic) {
                crate::debug!("usage ledger {}: {e}", file.display());
            }
        }
        drop(lock);
        ledger
    }
}

impl Default for Ledgers {
    fn default() -> Ledgers {
        Ledgers::new()
    }
}

/// The usage directory's lock, waited on for a bounded time; None when it cannot be had (then
/// nothing is saved, and the ledger is only in memory).
fn lock(dir: &Path) -> Option<File> {
    private::dir(dir).map_err(|e| crate::debug!("usage {}: {e}", dir.display())).ok()?;
    let file = private::open_append(&dir.join(".lock")).ok()?;
    private::lock_within(&file, Duration::from_secs(10)).ok()?;
    Some(file)
}

/// A session's usage: its main transcript (per turn), and each subagent's apart.
#[derive(Clone, Debug, Default)]
pub struct SessionUsage {
    /// The main transcript, all turns.
    pub main: Tally,
    /// Per prompt id.
    pub turns: HashMap<String, Tally>,
    /// Per agent id, in order.
    pub agents: Vec<(String, Tally)>,
}

impl SessionUsage {
    /// From the main transcripts (a session's id may have had several) and its subagents'.
    pub fn read(ledgers: &mut Ledgers, transcripts: &[String], agents: &[(String, String)]) -> SessionUsage {
        let mut usage = SessionUsage::default();
        for path in transcripts {
            let ledger = ledgers.get(path);
            usage.main.add(&ledger.total());
            for b in &ledger.buckets {
                if let Some(p) = &b.prompt {
                    usage.turns.entry(p.clone()).or_default().add_model(&b.model, &b.usage);
                }
            }
        }
        for (agent, path) in agents {
            let tally = ledgers.get(path).total();
            match usage.agents.iter_mut().find(|(a, _)| a == agent) {
                Some((_, t)) => t.add(&tally),
                None => usage.agents.push((agent.clone(), tally)),
            }
        }
        usage
    }

    /// The subagents together.
    pub fn agents_total(&self) -> Tally {
        let mut t = Tally::default();
        for (_, a) in &self.agents {
            t.add(a);
        }
        t
    }

    /// Main transcript and subagents.
    pub fn total(&self) -> Tally {
        let mut t = self.main.clone();
        t.add(&self.agents_total());
        t
    }

    pub fn to_json(&self, prices: &Prices) -> Value {
        let agents: Map<String, Value> = self.agents.iter().map(|(a, t)| (a.clone(), t.to_json(prices))).collect();
        json!({
            "total": self.total().to_json(prices),
            "main": self.main.to_json(prices),
            "subagents": agents,
        })
    }
}

/// The subagent transcripts Claude Code keeps beside a session's transcript
/// (`<dir>/<session id>/subagents/agent-<id>.jsonl`), by agent id: subagents whose SubagentStop
/// was not recorded are found too.
pub fn subagent_transcripts(transcript: &str) -> Vec<(String, String)> {
    let path = Path::new(transcript);
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) else { return Vec::new() };
    let sub = dir.join(stem).join("subagents");
    let Ok(names) = private::file_names(&sub) else { return Vec::new() };
    names
        .into_iter()
        .filter_map(|name| {
            let id = name.strip_prefix("agent-")?.strip_suffix(".jsonl")?.to_owned();
            Some((id, sub.join(&name).to_string_lossy().into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_lines_prompt_is_found_at_its_head_or_by_parsing() {
        let fast = r#"{"parentUuid":"x","promptId":"p1","type":"user","message":{"content":"a"}}"#;
        assert_eq!(user_prompt(fast).as_deref(), Some("p1"));
        let late = format!(r#"{{"pad":"{}","type":"user","promptId":"p2"}}"#, "y".repeat(HEAD));
        assert_eq!(user_prompt(&late).as_deref(), Some("p2"));
        let nested = r#"{"type":"assistant","message":{"promptId":"p3","type":"user"}}"#;
        assert_eq!(user_prompt(nested), None, "not the line's own");
        let after_object = r#"{"x":{"a":1},"promptId":"p4","type":"user"}"#;
        assert_eq!(user_prompt(after_object).as_deref(), Some("p4"));
        assert_eq!(user_prompt(r#"{"type":"user","promptId":"p\"5"}"#).as_deref(), Some("p\"5"));
        let cut = format!(r#"{{"promptId":"p6","type":"user","c":"{}é"}}"#, "z".repeat(HEAD - 37));
        assert_eq!(user_prompt(&cut).as_deref(), Some("p6"));
    }

    /// A saved ledger loads as it was: otherwise every read would start over, right but slow.
    #[test]
    fn a_saved_ledger_loads_as_it_was() {
        let dir = std::env::temp_dir().join(format!("cs-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let line = |id: &str, model: &str| {
            format!(
                r#"{{"type":"assistant","requestId":"r{id}","timestamp":"2026-12-05T10:00:00Z","message":{{"id":"{id}","model":"{model}","usage":{{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"cache_creation":{{"ephemeral_1h_input_tokens":1}}}}}}}}"#
            )
        };
        let text =
            [r#"{"type":"user","promptId":"p\"1"}"#.to_owned(), line("a", "m1"), line("b", "m2"), line("b", "m2")];
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
        let mut ledger = Ledger { path: path.to_string_lossy().into_owned(), ..Ledger::default() };
        ledger.update();
        assert_eq!(ledger.total().responses(), 2);
        let loaded = Ledger::from_bytes(&ledger.to_bytes(), &ledger.path).expect("loads");
        assert_eq!(
            (loaded.offset, loaded.dev, loaded.ino, loaded.skipping),
            (ledger.offset, ledger.dev, ledger.ino, false)
        );
        assert_eq!(loaded.seen, ledger.seen);
        assert_eq!(loaded.buckets, ledger.buckets);
        assert_eq!(loaded.prompt.as_deref(), Some("p\"1"));
        assert_eq!(loaded.total().tokens().cache_write_1h, 2);
        assert!(Ledger::from_bytes(&ledger.to_bytes(), "/another/path").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn model_ids_lose_only_their_decorations() {
        assert_eq!(base_model("claude-opus-4-5-20251101"), "claude-opus-4-5");
        assert_eq!(base_model("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), "claude-sonnet-4-5");
        assert_eq!(base_model("claude-opus-4-1@20250805"), "claude-opus-4-1");
        assert_eq!(base_model("claude-sonnet-4-6[1m]"), "claude-sonnet-4-6");
        assert_eq!(base_model("claude-3-7-sonnet-latest"), "claude-3-7-sonnet");
        assert_eq!(base_model("claude-sonnet-5-5"), "claude-sonnet-5-5");
        let prices = Prices::builtin();
        assert!(prices.get("claude-opus-5-5").is_some());
        assert!(prices.get("claude-opus-6").is_none(), "a new model borrows no price");
        assert!(prices.get("claude-opus-5-5-preview").is_none());
    }

    #[test]
    fn prices_are_exact_and_overridable() {
        assert_eq!(micros(&json!(0.125)), Some(125_000));
        assert_eq!(micros(&json!("3.75")), Some(3_750_000));
        assert_eq!(micros(&json!(-1)), None);
        assert_eq!(micros(&json!(0.0000001)), None);
        let mut prices = Prices::builtin();
        let over = json!({"my-model": {"input": 1, "output": 2}, "claude-opus-5-5": null});
        prices.extend(over.as_object().unwrap()).unwrap();
        let mine = prices.get("my-model").unwrap();
        assert_eq!((mine.cache_write, mine.cache_write_1h, mine.cache_read), (1_250_000, 2_000_000, 100_000));
        assert!(prices.get("claude-opus-5-5").is_none());
        assert!(prices.extend(json!({"x": {"input": 1}}).as_object().unwrap()).is_err());
        assert!(prices.extend(json!({"x": {"input": 1, "output": 1, "typo": 1}}).as_object().unwrap()).is_err());
    }

    #[test]
    fn costs_sum_exactly_and_unknown_models_have_none() {
        let t = Tokens { input: 100, output: 20, cache_write: 0, cache_write_1h: 0, cache_read: 0 };
        let prices = Prices::builtin();
        // Claude Code's own figure for this fixture's session: $0.0008.
        let cost = Cost::of(&t, 50, prices.get("claude-opus-5-5"));
        assert_eq!(cost.pico, 800_000_000);
        assert_eq!(cost.show(), "$0.0008");
        let unknown = Cost::of(&t, 50, prices.get("claude-nova-1"));
        assert_eq!(unknown.show(), "no price");
        let long = Cost::of(&t, 150_000, prices.get("claude-haiku-5-5"));
        assert_eq!(long.show(), "no price", "past the prompt bound, no wrong number");
        let mut both = cost;
        both.add(&unknown);
        assert_eq!(both.show(), "$0.0008 + no price");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(999), "999");
        assert_eq!(count(4_500_000), "4.5M");
    }
}
