//! When memory runs out while a hook holds its payload: the event is journaled anyway, degraded,
//! never dropped (issue 30).
//!
//! The memory bound: a hook needs the bytes it read (at most `CLAUDE_SESSION_STDIN_MAX`) plus
//! what the payload's kept fields take once parsed, which is bounded by the field cap
//! (`CLAUDE_SESSION_LOG_FIELD_MAX`, times `payload::FIELDS_BUDGET`) but may be ten times that in
//! memory for a payload of many small values. Reading stops when memory for more bytes is refused
//! (the payload is then cut, as at the cap). When the parse or anything after it is refused
//! memory, the allocator (src/main.rs) calls [`on_failure`], which has the hook journal a line
//! with the session, the event's name, the few top-level fields that can be read without parsing,
//! and what was cut (`payload::Payload::degraded`), using memory the allocator keeps in reserve
//! for this (`RESERVE` there), then ends the hook with exit 0. Nothing here costs a hook that has
//! memory: it is a few stores. This module knows only where things are, not what they mean.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use serde_json::{Map, Value};

/// Set while a hook runs, cleared by the first failure: a failure within the degraded path
/// itself then aborts as before, rather than recursing.
static ARMED: AtomicBool = AtomicBool::new(false);
/// The applet's event, for a payload that does not name one.
static DEFAULT_EVENT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static DEFAULT_EVENT_LEN: AtomicUsize = AtomicUsize::new(0);
/// The payload's bytes, while the hook holds them.
static RAW: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static RAW_LEN: AtomicUsize = AtomicUsize::new(0);

/// The payload's fields once parsed, while the hook holds them.
static FIELDS: AtomicPtr<Map<String, Value>> = AtomicPtr::new(std::ptr::null_mut());

/// What journals the event degraded: the hook's own path, given the payload's bytes (when still
/// held), its parsed fields (when published), the size refused and the applet's event.
type Journal = fn(&[u8], Option<&Map<String, Value>>, usize, &'static str);
static JOURNAL: std::sync::OnceLock<Journal> = std::sync::OnceLock::new();

/// A hook starts: from now on an allocation failure journals a degraded line through `journal`.
pub fn arm(default_event: &'static str, journal: Journal) {
    let _ = JOURNAL.set(journal);
    DEFAULT_EVENT.store(default_event.as_ptr().cast_mut(), Ordering::Relaxed);
    DEFAULT_EVENT_LEN.store(default_event.len(), Ordering::Relaxed);
    ARMED.store(true, Ordering::Relaxed);
}

/// Runs `f` while `raw` (the payload's bytes) can be read by the degraded path.
pub fn holding<T>(raw: &[u8], f: impl FnOnce() -> T) -> T {
    RAW_LEN.store(raw.len(), Ordering::Relaxed);
    RAW.store(raw.as_ptr().cast_mut(), Ordering::Relaxed);
    let result = f();
    RAW.store(std::ptr::null_mut(), Ordering::Relaxed);
    result
}

/// Lets the degraded path read `fields` (the parsed payload), until [`retract_fields`]: the caller
/// must call it before the map is moved or dropped, and change the map only in place meanwhile
/// (replacing values, as the secrets filter does).
pub fn publish_fields(fields: &Map<String, Value>) {
    FIELDS.store(std::ptr::from_ref(fields).cast_mut(), Ordering::Relaxed);
}

pub fn retract_fields() {
    FIELDS.store(std::ptr::null_mut(), Ordering::Relaxed);
}

/// Called by the allocator when the system refuses `size` bytes. Armed, it journals the event
/// degraded and exits 0; otherwise it returns, and the allocation fails as before.
pub fn on_failure(size: usize) {
    if !ARMED.swap(false, Ordering::Relaxed) {
        return;
    }
    let raw = RAW.load(Ordering::Relaxed);
    // SAFETY: `holding` publishes a slice it borrows for as long as the pointer is set, and this
    // runs on the thread that set it (a hook has one), inside that borrow.
    let raw: &[u8] = match raw.is_null() {
        true => &[],
        false => unsafe { std::slice::from_raw_parts(raw, RAW_LEN.load(Ordering::Relaxed)) },
    };
    // SAFETY: `arm` stored a `&'static str`'s pointer and length.
    let default_event = unsafe {
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(
            DEFAULT_EVENT.load(Ordering::Relaxed),
            DEFAULT_EVENT_LEN.load(Ordering::Relaxed),
        ))
    };
    let fields = FIELDS.load(Ordering::Relaxed);
    // SAFETY: `publish_fields`' caller keeps the map where it is, whole, until it retracts it.
    let fields = (!fields.is_null()).then(|| unsafe { &*fields });
    if let Some(journal) = JOURNAL.get() {
        journal(raw, fields, size, default_event);
    }
    std::process::exit(0);
}
