//! Time as we record and show it: UTC now, RFC 3339 in files, shorter forms for people.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Now, in UTC. On Linux from the `clock_gettime` system call itself: a hook reads the clock once,
/// and the C library's first read through the vDSO costs three page faults (the vDSO's code and
/// data, and the symbol names it looks up), several times the call.
pub fn now() -> OffsetDateTime {
    #[cfg(target_os = "linux")]
    {
        use nix::libc;
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: the kernel writes one timespec at a valid, writable address.
        let read = unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_REALTIME, &raw mut ts) };
        let nanos = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
        if read == 0
            && let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos)
        {
            return t;
        }
    }
    OffsetDateTime::now_utc()
}

/// `2026-11-21T19:13:02.123456789Z`: what the files hold.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

/// RFC 3339, or the original Python design's naive `2025-09-24T12:52:51.430382` (read as UTC).
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim_end_matches('\r');
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// Whole seconds from `then` to `now`, negative when `then` is in the future.
pub fn age_secs(then: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (now - then).whole_seconds()
}

/// `2026-11-21 19:13:02` (UTC): a table cell.
pub fn short(t: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.to_offset(UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// `2026-11-21` (UTC): a timeline's day heading.
pub fn day(t: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]");
    t.to_offset(UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// `19:13:02.123` (UTC): a timeline row.
pub fn clock_ms(t: OffsetDateTime) -> String {
    let format = format_description!("[hour]:[minute]:[second].[subsecond digits:3]");
    t.to_offset(UtcOffset::UTC).format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = parse("2026-11-21T19:13:02.123456Z").unwrap();
        assert_eq!(short(t), "2026-11-21 19:13:02");
        assert_eq!(day(t), "2026-11-21");
        assert_eq!(clock_ms(t), "19:13:02.123");
        assert_eq!(parse("2025-09-24T12:52:51.430382"), parse("2025-09-24T12:52:51.430382Z"));
        assert_eq!(clock_ms(parse("2026-11-21T21:13:02+02:00").unwrap()), "19:13:02.000");
        assert!(parse("yesterday").is_none());
    }
}
