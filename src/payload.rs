//! The wire format: the JSON object Claude Code writes on a hook's stdin, read within bounds and
//! cut to a size that is stated, whatever arrives.
//!
//! Reading: at most `CLAUDE_SESSION_STDIN_MAX` bytes (64 MiB), into a buffer of 64 KiB that grows,
//! so an ordinary payload is one `read`. Reading stops at the end of the first JSON object (a
//! writer that keeps the pipe open costs nothing), at EOF, at the cap, or [`STDIN_WAIT`] after
//! stdin first had nothing to give; a payload stopped early is still recorded, with what could be
//! kept and a `"…[cut]"` member saying why. Peak memory is about the bytes read (at most the cap)
//! and a few times the budget.
//!
//! Cutting, with `max` the field cap (`CLAUDE_SESSION_LOG_FIELD_MAX`): the fields, serialized,
//! take at most `FIELDS_BUDGET * max` bytes; a string or number at most `max + CUT_EXTRA`. A
//! value whose text fits `max` and its share of the budget is kept as it came (keys in their
//! order, numbers digit for digit; serde_json only writes an exponent `E2` as `e+2`). A longer
//! string keeps its head (at most `max` bytes of JSON text) and `…[cut: N bytes]`, N being the
//! size of its JSON text. A longer object or array is cut member by member: small members whole,
//! big ones sharing what is left; at most [`MAX_MEMBERS`] members, keys over [`MAX_KEY`] bytes
//! cut like strings, and a `"…[cut]"` member (an array: a last item) saying what was dropped.
//! Past [`MAX_DEPTH`] levels, or when its share is too small to hold members, a value becomes
//! the head of its JSON text. A payload that would be cut is never decoded whole: values are
//! located by their brackets and quotes, and only what is kept is parsed. One that fits (every
//! real one) is parsed at once, which gives the same fields (see [`whole_object`]).

use std::io::{self, IsTerminal};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// The payload's field names, as Claude Code writes them: the one definition every reader uses
/// (`event` journals them, `summary` describes them, the sinks send them). The journal keeps most
/// under these names (`journal::field`). Grouped by where Claude Code sends them.
pub mod field {
    // Every event.
    pub const SESSION_ID: &str = "session_id";
    pub const TRANSCRIPT_PATH: &str = "transcript_path";
    pub const CWD: &str = "cwd";
    pub const HOOK_EVENT_NAME: &str = "hook_event_name";
    pub const PERMISSION_MODE: &str = "permission_mode";
    pub const EFFORT: &str = "effort";
    pub const PROMPT_ID: &str = "prompt_id";
    pub const TURN_ID: &str = "turn_id";
    pub const MESSAGE_ID: &str = "message_id";
    // An event inside a subagent, and SubagentStart/SubagentStop.
    pub const AGENT_ID: &str = "agent_id";
    pub const AGENT_TYPE: &str = "agent_type";
    pub const AGENT_TRANSCRIPT_PATH: &str = "agent_transcript_path";
    // Tool events (PreToolUse, PostToolUse, PostToolUseFailure, PermissionRequest, ...).
    pub const TOOL_NAME: &str = "tool_name";
    pub const TOOL_USE_ID: &str = "tool_use_id";
    pub const TOOL_INPUT: &str = "tool_input";
    pub const TOOL_RESPONSE: &str = "tool_response";
    pub const DURATION_MS: &str = "duration_ms";
    pub const ERROR: &str = "error";
    pub const IS_INTERRUPT: &str = "is_interrupt";
    /// PostToolBatch: the calls of the batch, each with its `tool_name`.
    pub const TOOL_CALLS: &str = "tool_calls";
    /// In an Agent tool's `tool_response`: the subagent it started.
    pub const RESPONSE_AGENT_ID: &str = "agentId";
    /// In an Agent tool's `tool_response`: true when the subagent runs in the background.
    pub const RESPONSE_IS_ASYNC: &str = "isAsync";
    // The other events' own fields.
    pub const PROMPT: &str = "prompt";
    pub const SOURCE: &str = "source";
    pub const MODEL: &str = "model";
    pub const REASON: &str = "reason";
    pub const LAST_ASSISTANT_MESSAGE: &str = "last_assistant_message";
    pub const ERROR_DETAILS: &str = "error_details";
    pub const MESSAGE: &str = "message";
    pub const TITLE: &str = "title";
    pub const NOTIFICATION_TYPE: &str = "notification_type";
    pub const TRIGGER: &str = "trigger";
    pub const CUSTOM_INSTRUCTIONS: &str = "custom_instructions";
    pub const COMPACT_SUMMARY: &str = "compact_summary";
    pub const DELTA: &str = "delta";
    pub const DESCRIPTION: &str = "description";
    pub const SUBJECT: &str = "subject";
    pub const TASK_SUBJECT: &str = "task_subject";
    pub const NEW_CWD: &str = "new_cwd";
    pub const NAME: &str = "name";
    pub const STATUS: &str = "status";
    // Inside `tool_input`, by tool (`description` and `prompt` above serve the Agent tool too).
    pub const COMMAND: &str = "command";
    pub const FILE_PATH: &str = "file_path";
    pub const NOTEBOOK_PATH: &str = "notebook_path";
    pub const PATTERN: &str = "pattern";
    pub const PATH: &str = "path";
    pub const URL: &str = "url";
    pub const QUERY: &str = "query";
    pub const SKILL: &str = "skill";
    pub const TODOS: &str = "todos";
    /// Ours: what stdin held when it was not a JSON object.
    pub const RAW: &str = "raw";
}

/// The fields may take this many times the field cap, all together.
pub const FIELDS_BUDGET: usize = 4;
/// Members (or items) kept per object (or array); a real payload's biggest object has about 15.
pub const MAX_MEMBERS: usize = 256;
/// A key longer than this (its JSON text) is cut, when its object is cut.
pub const MAX_KEY: usize = 256;
/// Containers are cut member by member this deep; deeper ones become text.
pub const MAX_DEPTH: usize = 4;
/// A value nesting deeper than this is cut, not kept whole, so that a journal line (two levels
/// more) never passes serde_json's limit of 128 and every reader can parse it.
pub const MAX_NESTING: usize = 32;
/// How long a hook waits for stdin to end: Claude Code writes the payload at once, and gives our
/// hooks 10 s in all.
pub const STDIN_WAIT: Duration = Duration::from_secs(5);
/// Bytes per read: every real payload fits, so one read takes it whole.
const FIRST_READ: usize = 64 * 1024;
/// The `"…[cut]"` member's room: the key, its value and the separators.
const CUT_MEMBER: usize = 160;
/// What a cut value may add to the field cap: quotes and the longest marker.
pub const CUT_EXTRA: usize = 2 + "…[cut: 18446744073709551615 bytes]".len();
/// A value cut to less than this is dropped instead (room for quotes and the marker).
const MIN_VALUE: usize = 48;
/// A container cut to less than this becomes text.
const MIN_CONTAINER: usize = 2 + CUT_MEMBER + 2 * MIN_VALUE;
/// The key of the member that says what was cut from its object.
pub const CUT_KEY: &str = "…[cut]";

pub struct Payload {
    /// The payload's fields, cut (see the module's comment). Empty when stdin held nothing.
    pub fields: Map<String, Value>,
    /// Bytes read from stdin.
    pub len: usize,
    /// Why stdin was not (all) a JSON object, for the debug line.
    pub problem: Option<&'static str>,
}

/// Why reading stdin stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// `CLAUDE_SESSION_STDIN_MAX` bytes were read.
    Cap(usize),
    /// Stdin stayed open, without a whole object, for this long.
    Waited(Duration),
    /// The system refused memory for more than this many bytes.
    Memory(usize),
}

impl Payload {
    /// Reads stdin within the bounds above. A terminal is not waited on (someone ran a hook by
    /// hand), and an unreadable stdin is an empty payload: a hook never fails on its input.
    pub fn from_stdin(max: usize) -> Payload {
        // fd 0 itself, not `io::stdin()`: std's handle would set up a lock and a buffer of its own.
        // SAFETY: fd 0 is open for the whole process (main reopens it on /dev/null if closed).
        let stdin = unsafe { BorrowedFd::borrow_raw(0) };
        if stdin.is_terminal() {
            return Payload::parse(b"", max);
        }
        let (bytes, stop) = read_bounded(stdin, crate::config::stdin_max(), STDIN_WAIT);
        crate::oom::holding(&bytes, || Payload::parse_read(&bytes, max, stop))
    }

    /// What is recorded of a payload the system refused `refused` bytes of memory for (see
    /// `oom`): the short top-level strings that say which event it was, from its parsed fields
    /// when there are some, else read from its bytes without parsing the whole, and a `…[cut]`
    /// member saying what happened.
    pub fn degraded(raw: &[u8], parsed: Option<&Map<String, Value>>, refused: usize) -> Payload {
        const KEPT: &[&str] = &[
            field::SESSION_ID,
            field::HOOK_EVENT_NAME,
            field::CWD,
            field::TOOL_NAME,
            field::TOOL_USE_ID,
            field::AGENT_ID,
            field::PROMPT_ID,
        ];
        let short = |v: &Value| v.as_str().is_some_and(|s| s.len() <= MAX_KEY);
        let mut fields = Map::new();
        for key in KEPT {
            let value = match parsed {
                Some(parsed) => parsed.get(*key).filter(|v| short(v)).cloned(),
                None => first_string(raw, key).filter(short),
            };
            if let Some(value) = value {
                fields.insert((*key).to_owned(), value);
            }
        }
        let what = match parsed {
            Some(parsed) => format!("the payload's {} fields", parsed.len()),
            None => format!("the payload ({} bytes)", raw.len()),
        };
        let why = format!(
            "{what} could not be held: the system refused {refused} bytes of memory; only these fields were kept"
        );
        fields.insert(CUT_KEY.to_owned(), Value::String(why));
        Payload { fields, len: raw.len(), problem: Some("cut: out of memory") }
    }

    /// A JSON object becomes its fields; anything else non-empty is kept, cut, as `raw`. What
    /// follows the first object is ignored.
    pub fn parse(bytes: &[u8], max: usize) -> Payload {
        Payload::parse_read(bytes, max, None)
    }

    /// [`Payload::parse`] of what [`read_bounded`] read, marked as cut when reading stopped early.
    pub fn parse_read(bytes: &[u8], max: usize, stop: Option<Stop>) -> Payload {
        Payload::build(bytes, max, stop, true)
    }

    /// [`Payload::parse`] without the [`whole_object`] shortcut: what the shortcut must equal,
    /// for the `payload` fuzz target and the tests.
    #[doc(hidden)]
    pub fn parse_member_by_member(bytes: &[u8], max: usize) -> Payload {
        Payload::build(bytes, max, None, false)
    }

    fn build(bytes: &[u8], max: usize, stop: Option<Stop>, shortcut: bool) -> Payload {
        let len = bytes.len();
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        let stopped = stop.map(|s| match s {
            Stop::Cap(n) => format!("stdin stopped at CLAUDE_SESSION_STDIN_MAX ({n} bytes)"),
            Stop::Waited(d) => format!("stdin still open after {} s", d.as_secs()),
            Stop::Memory(n) => format!("stdin stopped at {n} bytes: no memory for more"),
        });
        let problem = match stop {
            Some(Stop::Cap(_)) => Some("cut at CLAUDE_SESSION_STDIN_MAX"),
            Some(Stop::Waited(_)) => Some("cut: stdin still open"),
            Some(Stop::Memory(_)) => Some("cut: out of memory"),
            None => None,
        };
        let budget = max.saturating_mul(FIELDS_BUDGET);
        if let Some(i) = start.filter(|&i| bytes[i] == b'{') {
            if shortcut
                && stop.is_none()
                && let Some(fields) = whole_object(bytes, i, max, budget)
            {
                return Payload { fields, len, problem };
            }
            if let Some(repaired) = lone_surrogates_replaced(bytes) {
                return Payload::build(&repaired, max, stop, shortcut);
            }
            let split = split(bytes, i, b'}');
            if !split.members.is_empty() || split.broken.is_none() {
                let problem = problem.or(split.broken.map(|_| "invalid JSON after the members kept"));
                let broken = split.broken.map(|at| format!("invalid or incomplete JSON at byte {at}"));
                let why = [stopped, broken].into_iter().flatten().collect::<Vec<_>>().join("; ");
                let fields = cut_object(bytes, split, budget, max, 0, &why);
                return Payload { fields, len, problem };
            }
        }
        let mut fields = Map::new();
        let problem = match start {
            None => problem.unwrap_or("empty"),
            Some(_) => {
                let text = String::from_utf8_lossy(&bytes[..len.min(max.saturating_mul(2))]);
                fields.insert(field::RAW.into(), Value::String(text_head(&text, max + marker(len).len(), len)));
                problem.unwrap_or("not a JSON object")
            }
        };
        if let Some(why) = stopped {
            fields.insert(CUT_KEY.into(), Value::String(why));
        }
        Payload { fields, len, problem: Some(problem) }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }
}

/// Reads `input` until EOF, the end of the first JSON object, `cap` bytes or `wait`, whichever
/// comes first; says which bound stopped it, if one did. Errors end the read quietly.
pub fn read_bounded(input: impl AsFd, cap: usize, wait: Duration) -> (Vec<u8>, Option<Stop>) {
    // The wait starts when stdin first has nothing to give: a payload Claude Code has written is
    // there at once, and is read without a look at the clock.
    let mut waiting_since: Option<Instant> = None;
    // Straight into the buffer that is returned, never zeroed first: an ordinary payload is one
    // read and no copy.
    let mut buf: Vec<u8> = Vec::with_capacity(FIRST_READ.min(cap));
    let mut scan = Scan::default();
    loop {
        if buf.len() >= cap {
            return (buf, Some(Stop::Cap(cap)));
        }
        let left = waiting_since.map_or(Duration::ZERO, |since| wait.saturating_sub(since.elapsed()));
        if !readable(&input, left) {
            if waiting_since.is_none() {
                waiting_since = Some(Instant::now());
                continue;
            }
            return (buf, Some(Stop::Waited(wait)));
        }
        if buf.len() == buf.capacity() && buf.try_reserve(FIRST_READ.min(cap - buf.len())).is_err() {
            // Memory is refused: what was read is recorded, cut there.
            let read = buf.len();
            return (buf, Some(Stop::Memory(read)));
        }
        let room = (buf.capacity() - buf.len()).min(cap - buf.len());
        // SAFETY: read(2) writes at most `room` bytes, all inside the buffer's spare capacity.
        let n =
            unsafe { nix::libc::read(input.as_fd().as_raw_fd(), buf.spare_capacity_mut().as_mut_ptr().cast(), room) };
        match usize::try_from(n) {
            Ok(0) => break,
            Ok(n) => {
                let old = buf.len();
                // SAFETY: the kernel wrote these `n` bytes.
                unsafe { buf.set_len(old + n) };
                if scan.feed(&buf[old..]) {
                    break;
                }
            }
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                crate::debug!("stdin: {e} after {} bytes", buf.len());
                break;
            }
        }
    }
    // Gives back what the payload did not fill: the allocator's arena (src/main.rs) then puts
    // what the hook allocates next in the pages the payload already touched.
    buf.shrink_to_fit();
    (buf, None)
}

/// Whether `input` has bytes (or EOF) within `wait`. A descriptor poll cannot watch (or an
/// error) counts as readable, so the read decides.
fn readable(input: &impl AsFd, wait: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
    loop {
        let mut fds = [PollFd::new(input.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return false,
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return true,
        }
    }
}

/// Finds the end of the first JSON object as its bytes arrive, by its brackets and quotes.
#[derive(Default)]
struct Scan {
    started: bool,
    /// Not an object: read to the end.
    other: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// Returns true once the object has ended.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut i = 0;
        if self.other {
            return false;
        }
        while i < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                // Long strings are most of a big payload: skip to the next quote or backslash.
                match quote_or_backslash(&bytes[i..]) {
                    Some(k) => {
                        i += k;
                        if bytes[i] == b'"' {
                            self.in_string = false;
                        } else {
                            self.escaped = true;
                        }
                    }
                    None => return false,
                }
                i += 1;
                continue;
            }
            let b = bytes[i];
            i += 1;
            if !self.started {
                if b.is_ascii_whitespace() {
                    continue;
                }
                self.started = true;
                self.other = b != b'{';
                if self.other {
                    return false;
                }
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }
}

/// Where the first `"` or `\\` is: eight bytes at a time past those that hold neither.
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Non-zero when some byte of `v` is `c` (the classic has-zero-byte test on `v ^ c...c`).
    let has = |v: u64, c: u8| {
        let x = v ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & HIGH
    };
    let mut i = 0;
    for chunk in bytes.chunks_exact(8) {
        let v = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        if has(v, b'"') | has(v, b'\\') != 0 {
            break;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == b'"' || b == b'\\').map(|k| i + k)
}

/// A byte range of the text: `start..end`.
type Span = (usize, usize);

/// An object's or array's members, located but not parsed.
struct Split {
    /// (key span, value span), byte ranges into the text; arrays have no keys.
    members: Vec<(Option<Span>, Span)>,
    /// Members past [`MAX_MEMBERS`], counted only.
    more: usize,
    /// Where the text stopped being JSON (or ended too soon), if it did.
    broken: Option<usize>,
}

/// Splits the object (`close` = `}`) or array (`]`) opening at `open` into its members. On text
/// that is not JSON it stops at the first byte that cannot belong, keeping what came before.
fn split(b: &[u8], open: usize, close: u8) -> Split {
    let mut out = Split { members: Vec::new(), more: 0, broken: None };
    let ws = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        j
    };
    let mut j = ws(open + 1);
    if b.get(j) == Some(&close) {
        return out;
    }
    loop {
        let key = if close == b'}' {
            if b.get(j) != Some(&b'"') {
                out.broken = Some(j);
                return out;
            }
            let Some(end) = string_end(b, j) else {
                out.broken = Some(j);
                return out;
            };
            let key = (j, end);
            j = ws(end);
            if b.get(j) != Some(&b':') {
                out.broken = Some(j);
                return out;
            }
            j = ws(j + 1);
            Some(key)
        } else {
            None
        };
        let Some(end) = value_end(b, j) else {
            out.broken = Some(j);
            return out;
        };
        if out.members.len() < MAX_MEMBERS {
            out.members.push((key, (j, end)));
        } else {
            out.more += 1;
        }
        j = ws(end);
        match b.get(j) {
            Some(b',') => j = ws(j + 1),
            Some(&c) if c == close => return out,
            _ => {
                out.broken = Some(j);
                return out;
            }
        }
    }
}

/// `bytes` with each lone UTF-16 surrogate escape (`\ud83d` not followed by its pair, or a
/// pair's second half alone) replaced by `\ufffd`, in place (the same six bytes); None when there
/// is none. Claude Code writes payloads with `JSON.stringify`, which writes a lone surrogate that
/// way (a tool output cut by `.slice()` in the middle of an emoji has one); serde_json refuses the
/// text, and the member holding it was dropped. Escapes are found pairwise from the start, so an
/// escaped backslash followed by `u` is not taken for one.
fn lone_surrogates_replaced(bytes: &[u8]) -> Option<Vec<u8>> {
    let unit = |at: usize| -> Option<u16> {
        let hex = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
        hex.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u16::from_str_radix(hex, 16).ok())?
    };
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while let Some(j) = bytes.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'\\')) {
        let at = i + j;
        i = at + 2;
        if bytes.get(at + 1) != Some(&b'u') {
            continue;
        }
        let Some(u) = unit(at + 2) else { continue };
        i = at + 6;
        let lone = match u {
            0xD800..=0xDBFF => {
                let low = bytes.get(at + 6..at + 8) == Some(b"\\u")
                    && unit(at + 8).is_some_and(|l| (0xDC00..=0xDFFF).contains(&l));
                if low {
                    i = at + 12;
                }
                !low
            }
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            out.get_or_insert_with(|| bytes.to_vec())[at..at + 6].copy_from_slice(b"\\ufffd");
        }
    }
    out
}

/// The end (exclusive) of the value starting at `i`, by brackets and quotes alone; None when
/// the text ends first or nothing starts there. Validity is checked when a value is kept.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        b',' | b'}' | b']' | b':' => None,
        _ => {
            let n = b[i..].iter().position(|&c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())?;
            Some(i + n)
        }
    }
}

fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        j += quote_or_backslash(&b[j..])?;
        match b[j] {
            b'"' => return Some(j + 1),
            _ => j += 2,
        }
    }
    None
}

/// One value's text cut as a payload field is, under the field cap `max`.
pub fn cut(raw: &str, max: usize) -> Value {
    cut_value(raw.as_bytes(), max + CUT_EXTRA, max, 0).unwrap_or(Value::Null)
}

/// A value in at most `limit` bytes of JSON text: whole when its text takes at most that and
/// `max`, else cut (see the module's comment). None when not even a cut value would fit.
fn cut_value(raw: &[u8], limit: usize, max: usize, depth: usize) -> Option<Value> {
    // Kept whole, a value's text only shrinks (whitespace goes, escapes stay or shorten), but
    // for one byte: serde_json writes an exponent with its sign (`1e2` as `1e+2`).
    if raw.len() <= limit.min(max) && whole_size(raw).is_some_and(|n| n <= limit.min(max)) {
        let text = std::str::from_utf8(raw).ok()?;
        return match serde_json::from_str(text) {
            Ok(value) => Some(value),
            // Valid but nested past serde_json's limit, or not JSON: its text, as a string.
            Err(_) => fit_text(text, limit, raw.len(), max),
        };
    }
    match raw.first()? {
        b'"' => string_head(raw, limit, max),
        &open @ (b'{' | b'[') if depth < MAX_DEPTH && limit >= MIN_CONTAINER => {
            let close = if open == b'{' { b'}' } else { b']' };
            let split = split(raw, 0, close);
            if open == b'{' {
                let why = if split.broken.is_some() { "invalid JSON" } else { "" };
                Some(Value::Object(cut_object(raw, split, limit, max, depth, why)))
            } else {
                Some(cut_array(raw, split, limit, max, depth))
            }
        }
        _ => fit_text(&String::from_utf8_lossy(raw), limit, raw.len(), max),
    }
}

/// A head of at most `max` bytes of text, and the marker, as a JSON string within `limit`; None
/// when the marker alone would not fit.
fn fit_text(text: &str, limit: usize, size: usize, max: usize) -> Option<Value> {
    let room = limit.saturating_sub(2).min(max + marker(size).len());
    (limit >= MIN_VALUE).then(|| Value::String(text_head(text, room, size)))
}

/// The object opening at `open` parsed at once, when nothing in it would be cut: its text fits
/// the field cap and the budget, it has at most [`MAX_MEMBERS`] members and no key over
/// [`MAX_KEY`]. Then [`cut_object`] would keep every member whole, parsed on its own; this gives
/// the same fields (the `payload` fuzz target checks it) in a third of the instructions, and
/// every real payload takes this way.
fn whole_object(bytes: &[u8], open: usize, max: usize, budget: usize) -> Option<Map<String, Value>> {
    // Its text must fit the field cap: an object that does not end within it is not scanned on.
    let within = &bytes[..bytes.len().min(open.saturating_add(max).saturating_add(1))];
    let (shape, end) = leading_shape(&within[open..])?;
    if shape.size > max || shape.size + 2 + CUT_MEMBER > budget || shape.members > MAX_MEMBERS {
        return None;
    }
    let fields: Map<String, Value> = serde_json::from_slice(&within[open..open + end]).ok()?;
    // A key's JSON text is at most six bytes a byte (`\u001f`) and its quotes: most are measured
    // by their length alone.
    let limit = MAX_KEY.min(max);
    fields.keys().all(|key| key.len().saturating_mul(6) + 2 <= limit || escaped_len(key) <= limit).then_some(fields)
}

/// The members of a split object, each cut to its share of `limit`, in their order, and a
/// `"…[cut]"` member naming what was dropped (and `why`, when not empty).
fn cut_object(raw: &[u8], split: Split, limit: usize, max: usize, depth: usize, why: &str) -> Map<String, Value> {
    let mut map = Map::new();
    let mut dropped = split.more;
    // Braces and the "…[cut]" member are reserved first; each member costs its key, a colon
    // and a comma, then shares what is left for its value.
    let mut room = limit.saturating_sub(2 + CUT_MEMBER);
    let mut keys = Vec::new();
    for (key, value) in &split.members {
        let (k0, k1) = key.expect("objects have keys");
        let key = std::str::from_utf8(&raw[k0..k1]).ok().and_then(|k| key_text(k, max));
        match key {
            Some(key) if escaped_len(&key) + 2 + MIN_VALUE.min(value.1 - value.0) <= room => {
                room -= escaped_len(&key) + 2;
                keys.push((key, *value));
            }
            _ => dropped += 1,
        }
    }
    let demands: Vec<usize> = keys.iter().map(|(_, (a, b))| weight(&raw[*a..*b], max, depth + 1)).collect();
    let shares = fill(&demands, room);
    for ((key, (a, b)), share) in keys.into_iter().zip(shares) {
        match cut_value(&raw[a..b], share, max, depth + 1) {
            Some(value) => {
                map.insert(key, value);
            }
            None => dropped += 1,
        }
    }
    let mut notes = Vec::new();
    if !why.is_empty() {
        notes.push(why.to_owned());
    }
    if dropped > 0 {
        notes.push(format!("{dropped} members dropped"));
    }
    if !notes.is_empty() {
        let note = notes.join("; ");
        let mut end = note.len().min(CUT_MEMBER - 16);
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        map.insert(CUT_KEY.into(), Value::String(note[..end].to_owned()));
    }
    map
}

fn cut_array(raw: &[u8], split: Split, limit: usize, max: usize, depth: usize) -> Value {
    let room = limit.saturating_sub(2 + CUT_MEMBER);
    let mut dropped = split.more + usize::from(split.broken.is_some());
    let n = split.members.len().min(room / (MIN_VALUE + 1));
    dropped += split.members.len() - n;
    let members = &split.members[..n];
    let demands: Vec<usize> = members.iter().map(|(_, (a, b))| weight(&raw[*a..*b], max, depth + 1)).collect();
    let shares = fill(&demands, room.saturating_sub(n));
    let mut items = Vec::with_capacity(n + 1);
    for ((_, (a, b)), share) in members.iter().zip(shares) {
        match cut_value(&raw[*a..*b], share, max, depth + 1) {
            Some(value) => items.push(value),
            None => dropped += 1,
        }
    }
    if dropped > 0 {
        items.push(Value::String(format!("…[cut: {dropped} items dropped]")));
    }
    Value::Array(items)
}

/// What a value at `depth` asks for: the size of its text kept whole (see [`cut_value`]), else
/// of its cut: `max` and a marker for a string or text, its size (up to all the fields may take)
/// for an object or array cut member by member.
fn weight(raw: &[u8], max: usize, depth: usize) -> usize {
    if let Some(n) = (raw.len() <= max).then(|| whole_size(raw)).flatten().filter(|&n| n <= max) {
        return n;
    }
    match raw.first() {
        Some(b'{' | b'[') if depth < MAX_DEPTH => (raw.len() + CUT_MEMBER).min(max.saturating_mul(FIELDS_BUDGET)),
        _ => max + CUT_EXTRA,
    }
}

/// The size of a value's text as serde_json writes it back, at most: the text only shrinks
/// (whitespace goes, escapes stay or shorten) but for an exponent, written with its sign (`1e2`
/// as `1e+2`). None when it nests deeper than [`MAX_NESTING`]: such a value is cut instead.
fn whole_size(raw: &[u8]) -> Option<usize> {
    shape(raw).map(|s| s.size)
}

/// What one pass over a value's text finds: see [`whole_size`].
struct Shape {
    /// [`whole_size`].
    size: usize,
    /// Members (or items) of the outermost object (or array), duplicate keys included.
    members: usize,
}

fn shape(raw: &[u8]) -> Option<Shape> {
    shape_and_end(raw, false).map(|(shape, _)| shape)
}

/// [`shape`] of the object (or array) `raw` starts with, and where it ends: the one pass that
/// finds both (its end by brackets and quotes, as [`value_end`] finds it). None when it does not
/// end within `raw`.
fn leading_shape(raw: &[u8]) -> Option<(Shape, usize)> {
    shape_and_end(raw, true)
}

/// [`shape`] of all of `raw`, or with `leading` of the object (or array) it starts with, and the
/// end of what was measured.
fn shape_and_end(raw: &[u8], leading: bool) -> Option<(Shape, usize)> {
    let (mut exponents, mut depth, mut commas, mut empty) = (0, 0usize, 0, true);
    let mut i = 0;
    let end = loop {
        if i >= raw.len() {
            if leading {
                return None;
            }
            break raw.len();
        }
        if depth == 1 && !matches!(raw[i], b'}' | b']') && !raw[i].is_ascii_whitespace() {
            empty = false;
        }
        match raw[i] {
            b'"' => {
                // A string: nothing in it counts; its end, past escapes, eight bytes at a time.
                i = match string_end(raw, i) {
                    Some(end) => end,
                    None if leading => return None,
                    None => raw.len(),
                };
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return None;
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if leading && depth == 0 {
                    break i + 1;
                }
            }
            b',' if depth == 1 => commas += 1,
            b'e' | b'E' => exponents += 1,
            _ => {}
        }
        i += 1;
    };
    Some((Shape { size: end + exponents, members: if empty { 0 } else { commas + 1 } }, end))
}

/// Max-min fair shares of `budget`: the smallest demands are met whole, the rest split what is
/// left equally. The shares sum to at most `budget`.
fn fill(demands: &[usize], budget: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&i| demands[i]);
    let mut shares = vec![0; demands.len()];
    let mut left = budget;
    for (k, &i) in order.iter().enumerate() {
        let share = demands[i].min(left / (demands.len() - k));
        shares[i] = share;
        left -= share;
    }
    shares
}

/// A key as decoded, cut to [`MAX_KEY`] bytes of JSON text (and to the field cap).
fn key_text(literal: &str, max: usize) -> Option<String> {
    let limit = MAX_KEY.min(max);
    // A plain key (every real one) is its text between the quotes, as it will be written.
    let plain = &literal[1..literal.len() - 1];
    if literal.len() <= limit && !plain.bytes().any(|b| b == b'\\' || b == b'"' || b < 0x20) {
        return Some(plain.to_owned());
    }
    if literal.len() <= max
        && let Ok(key) = serde_json::from_str::<String>(literal)
        && escaped_len(&key) <= limit
    {
        return Some(key);
    }
    match string_head(literal.as_bytes(), limit, limit)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The decoded head of a JSON string literal within `limit` bytes of JSON text, marker included,
/// without decoding the rest: the escaped text is cut and closed with a quote, backing off a few
/// bytes when the cut split an escape.
fn string_head(raw: &[u8], limit: usize, max: usize) -> Option<Value> {
    let mark = marker(raw.len());
    // Quotes and marker; what the head's JSON text may take is the rest, up to `max`.
    let room = limit.checked_sub(2 + mark.len()).filter(|_| limit >= MIN_VALUE)?.min(max);
    let mut end = (room + 1).min(raw.len().saturating_sub(1));
    for _ in 0..16 {
        while end > 1 && (raw[end] & 0xC0) == 0x80 {
            end -= 1;
        }
        let mut literal = Vec::with_capacity(end + 1);
        literal.extend_from_slice(&raw[..end]);
        literal.push(b'"');
        if let Ok(head) = serde_json::from_slice::<String>(&literal) {
            let mut head = head_within(&head, room).to_owned();
            head.push_str(&mark);
            return Some(Value::String(head));
        }
        end = end.checked_sub(1).filter(|&e| e >= 1)?;
    }
    fit_text(&String::from_utf8_lossy(raw), limit, raw.len(), max)
}

/// `text` whole when its JSON escaping takes at most `room` bytes and it is not itself a head of
/// something bigger (`size`); else its longest head that leaves room for the marker, and the marker.
fn text_head(text: &str, room: usize, size: usize) -> String {
    if size <= text.len() && escaped_len(text) - 2 <= room {
        return text.to_owned();
    }
    let mark = marker(size.max(text.len()));
    let mut head = head_within(text, room.saturating_sub(mark.len())).to_owned();
    head.push_str(&mark);
    head
}

/// The longest head of `text` whose JSON escaping takes at most `room` bytes.
fn head_within(text: &str, room: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += escaped_char_len(c);
        if used > room {
            return &text[..i];
        }
    }
    text
}

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum::<usize>() + 2
}

fn marker(size: usize) -> String {
    format!("…[cut: {size} bytes]")
}

/// The string value of the first `"key":` in `raw`: Claude Code writes the common fields first,
/// before any tool input, so this finds them without parsing what follows.
fn first_string(raw: &[u8], key: &str) -> Option<Value> {
    let pattern = format!("\"{key}\":");
    let at = raw.windows(pattern.len()).position(|w| w == pattern.as_bytes())? + pattern.len();
    let rest = &raw[at..raw.len().min(at + 4096)];
    serde_json::Deserializer::from_slice(rest).into_iter::<String>().next()?.ok().map(Value::String)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 30: a payload the system refused memory for is recorded degraded, never dropped.
    #[test]
    fn a_degraded_payload_keeps_the_top_level_strings_it_finds() {
        let raw = br#"{"session_id": "s-1","transcript_path":"/t","cwd":"/w/p","hook_event_name":"PreToolUse","tool_input":{"k0":0,"#;
        let degraded = Payload::degraded(raw, None, 4096);
        let fields = &degraded.fields;
        assert_eq!(
            (fields["session_id"].as_str(), fields["hook_event_name"].as_str()),
            (Some("s-1"), Some("PreToolUse"))
        );
        assert_eq!(fields["cwd"], "/w/p");
        assert!(fields[CUT_KEY].as_str().unwrap().contains("refused 4096 bytes"));
        assert!(!fields.contains_key("tool_name"));
        let again = Payload::degraded(b"", Some(fields), 1);
        assert_eq!((again.fields["session_id"].as_str(), again.fields["cwd"].as_str()), (Some("s-1"), Some("/w/p")));
    }

    fn size(p: &Payload) -> usize {
        serde_json::to_vec(&p.fields).unwrap().len()
    }

    /// The shortcut ([`whole_object`]) against the member-by-member way, at its edges: where it
    /// applies, the fields must be the same, in the same order.
    #[test]
    fn parsing_at_once_gives_what_parsing_member_by_member_gives() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330");
        let mut cases: Vec<Vec<u8>> = std::fs::read_dir(fixtures)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        let members =
            |n: usize| format!("{{{}}}", (0..n).map(|i| format!("\"k{i}\":{i}")).collect::<Vec<_>>().join(","));
        let nested = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        for text in [
            r#"{"a":1,"a":2,"b":"\u00e9\n","c":[[],[[]]],"d":{}}"#.to_owned(),
            r#"{"n":1e2,"m":-0,"big":123456789012345678901234567890,"t":true,"f":false,"z":null}"#.to_owned(),
            format!(r#"{{"{}":1}}"#, "k".repeat(MAX_KEY - 2)),
            format!(r#"{{"{}":1}}"#, "k".repeat(MAX_KEY - 1)),
            format!(r#"{{"{}":1}}"#, "\\n".repeat(MAX_KEY / 2)),
            members(MAX_MEMBERS),
            members(MAX_MEMBERS + 1),
            format!("{{{},\"k0\":0}}", &members(MAX_MEMBERS)[1..members(MAX_MEMBERS).len() - 1]),
            nested(MAX_NESTING - 1),
            nested(MAX_NESTING),
            r#"{"lone":"\ud800"}"#.to_owned(),
            r#" {"a":1} trailing {"b":2}"#.to_owned(),
            r#"{"a":tru}"#.to_owned(),
            "{}".to_owned(),
        ] {
            cases.push(text.into_bytes());
        }
        for bytes in &cases {
            for max in [64, 100, 300, 1000, 16 * 1024] {
                let (at_once, by_members) = (Payload::parse(bytes, max), Payload::parse_member_by_member(bytes, max));
                let text = String::from_utf8_lossy(bytes);
                assert_eq!(at_once.fields, by_members.fields, "max {max}: {text}");
                assert!(at_once.fields.keys().eq(by_members.fields.keys()), "order, max {max}: {text}");
                assert_eq!(at_once.problem, by_members.problem, "max {max}: {text}");
            }
        }
    }

    /// Found by the test above: a `true` or a number left less than two bytes of share went to
    /// `fit_text`, which took 2 from the share (a panic in a debug build, a wrap in release).
    #[test]
    fn a_literal_with_no_room_left_is_dropped() {
        let json = include_bytes!("../tests/fixtures/claude-code-2.1.330/PostToolUse-Agent.json");
        for max in 64..=128 {
            let p = Payload::parse_member_by_member(json, max);
            assert!(size(&p) <= FIELDS_BUDGET * max, "max {max}: {}", size(&p));
        }
    }

    /// Found by the `payload` fuzz target, in its own property: a key's bound is on its JSON text,
    /// where a control character takes six bytes (`\u0001`), not on its decoded bytes.
    #[test]
    fn a_key_is_bounded_by_its_json_text() {
        let key = "\\u0001".repeat(60);
        let json = format!(r#"{{"{key}":1}}"#);
        let p = Payload::parse(json.as_bytes(), 16 * 1024);
        let (kept, _) = p.fields.iter().next().unwrap();
        assert!(kept.len() < MAX_KEY, "60 bytes decoded");
        assert!(kept.contains("…[cut: "), "360 bytes of JSON text: {kept:?}");
        assert!(escaped_len(kept) <= MAX_KEY);
    }

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
        assert_eq!(s, format!("{}…[cut: 10002 bytes]", "x".repeat(100)));
    }

    /// Only lone halves become U+FFFD; pairs, other escapes and an escaped backslash stay.
    #[test]
    fn lone_surrogates_are_replaced_in_place() {
        let fixed = |t: &str| lone_surrogates_replaced(t.as_bytes()).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(fixed(r#"{"a":"x\ud83d"}"#).as_deref(), Some(r#"{"a":"x\ufffd"}"#));
        assert_eq!(fixed(r#"{"a":"\uDC00\ud83d\u0041"}"#).as_deref(), Some(r#"{"a":"\ufffd\ufffd\u0041"}"#));
        assert_eq!(fixed(r#"{"a":"\ud83d\ud83d\ude00"}"#).as_deref(), Some(r#"{"a":"\ufffd\ud83d\ude00"}"#));
        for kept in [r#"{"a":"\ud83d\ude00 \\ud800 \n \u00e9"}"#, r#"{"a":"\ud8"}"#, r#"{"a":"\"#, ""] {
            assert_eq!(fixed(kept), None, "{kept}");
        }
        let p = Payload::parse(br#"{"tool_input":{"command":"a\ud800"},"tool_response":"x\udfff"}"#, 1024);
        assert_eq!(p.fields["tool_input"], serde_json::json!({"command": "a\u{fffd}"}));
        assert_eq!(p.fields["tool_response"], "x\u{fffd}");
        assert_eq!(p.problem, None);
    }

    #[test]
    fn cut_never_splits_an_escape() {
        for pad in 0..8 {
            let body = format!("{}{}", "a".repeat(pad), "\\n\\u00e9\\ud83d\\ude00\\\\".repeat(500));
            let value = cut(&format!("\"{body}\""), 80);
            let s = value.as_str().unwrap();
            assert!(s.contains("…[cut: "), "{s}");
            assert!(serde_json::to_string(s).unwrap().len() <= 80 + CUT_EXTRA, "{s}");
        }
    }

    #[test]
    fn nested_object_cut_member_by_member() {
        let json = format!(r#"{{"tool_input":{{"file_path":"/a","content":"{}"}}}}"#, "y".repeat(5000));
        let p = Payload::parse(json.as_bytes(), 400);
        let input = p.get("tool_input").unwrap();
        assert_eq!(input["file_path"], "/a");
        assert!(input["content"].as_str().unwrap().contains("…[cut: 5002 bytes]"), "{input}");
    }

    #[test]
    fn deep_nesting_is_cut_so_every_line_parses() {
        for depth in [31, 33, 127, 200, 5000] {
            let json = format!(r#"{{"a":{}1{}}}"#, "[".repeat(depth), "]".repeat(depth));
            let p = Payload::parse(json.as_bytes(), 16 * 1024);
            let line = serde_json::to_string(&serde_json::json!({"x": {"y": p.fields}})).unwrap();
            serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{depth}: {e}"));
        }
    }

    #[test]
    fn quotes_and_backslashes_are_found_anywhere() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'"', b'\\'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = c;
                    assert_eq!(quote_or_backslash(&bytes), Some(at));
                }
            }
            assert_eq!(quote_or_backslash(&vec![0xffu8; len]), None);
        }
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

    #[test]
    fn keys_keep_their_order_and_numbers_their_text() {
        let json = br#"{"zeta":1,"alpha":2,"mid":{"z":1.50,"a":-0,"big":12345678901234567890123,"e":1E+400}}"#;
        let p = Payload::parse(json, 1000);
        let keys: Vec<&str> = p.fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
        let mid = serde_json::to_string(&p.fields["mid"]).unwrap();
        // An exponent is written lower case, with its sign; everything else is kept as it came.
        assert_eq!(mid, r#"{"z":1.50,"a":-0,"big":12345678901234567890123,"e":1e+400}"#);
    }

    #[test]
    fn a_huge_key_is_cut() {
        let json = format!(r#"{{"session_id":"s","{}":1}}"#, "k".repeat(1 << 20));
        let p = Payload::parse(json.as_bytes(), 16 * 1024);
        assert_eq!(p.str("session_id"), Some("s"));
        assert!(size(&p) <= 4 * 16 * 1024, "{}", size(&p));
        assert!(p.fields.keys().any(|k| k.starts_with("kkk") && k.ends_with("bytes]")), "{:?}", p.fields.keys());
    }

    #[test]
    fn many_members_are_capped_and_counted() {
        let mut json = String::from("{");
        for i in 0..10_000 {
            json.push_str(&format!("\"k{i}\":{i},"));
        }
        json.push_str("\"last\":0}");
        let p = Payload::parse(json.as_bytes(), 16 * 1024);
        assert!(p.fields.len() <= MAX_MEMBERS + 1);
        assert!(p.str(CUT_KEY).unwrap().contains("members dropped"), "{:?}", p.str(CUT_KEY));
        assert!(size(&p) <= 4 * 16 * 1024);
    }

    #[test]
    fn a_cut_payload_keeps_its_whole_members() {
        let json = br#"{"session_id":"s","hook_event_name":"PostToolUse","tool_response":"aaaaaaa"#;
        let p = Payload::parse_read(json, 1000, Some(Stop::Cap(json.len())));
        assert_eq!(p.str("session_id"), Some("s"));
        assert_eq!(p.str("hook_event_name"), Some("PostToolUse"));
        assert!(p.str(CUT_KEY).unwrap().contains("CLAUDE_SESSION_STDIN_MAX"), "{:?}", p.fields);
    }

    #[test]
    fn every_cut_stays_within_the_budget() {
        let cases = [
            format!(r#"{{"a":{}}}"#, "[".repeat(200) + &"]".repeat(200)),
            format!(r#"{{"a":"{}"}}"#, "\\u0001".repeat(10_000)),
            format!(r#"{{"a":[{}0]}}"#, "\"\\\\\\\\\",".repeat(10_000)),
            format!(r#"{{"a":{{"b":{{"c":{{"d":{{"e":"{}"}}}}}}}}}}"#, "\\\"".repeat(10_000)),
            format!(r#"{{"a":{}}}"#, "9".repeat(100_000)),
        ];
        for max in [64, 100, 1000, 4096] {
            for json in &cases {
                let p = Payload::parse(json.as_bytes(), max);
                assert!(size(&p) <= FIELDS_BUDGET * max, "{max}: {} {:?}", size(&p), p.fields);
                for v in p.fields.values().filter(|v| !v.is_object() && !v.is_array()) {
                    assert!(serde_json::to_vec(v).unwrap().len() <= max + CUT_EXTRA, "{max}: {v}");
                }
            }
        }
    }
}
