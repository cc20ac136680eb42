//! The session-file parser: never panics on any bytes, and what it accepts survives a round trip
//! through the writer.
#![no_main]

use std::time::Duration;

use claude_session::store::{Record, format, parse};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let ttl = Duration::from_secs(86_400);
    if let Ok(record) = parse(data, now, ttl) {
        let again = parse(&format(&record), now, ttl).expect("a record we accepted must survive being written");
        assert_eq!(again.id, record.id);
        assert_eq!(again.time, record.time);
        let Record { project_dir, .. } = again;
        if format(&record).len() < 8 * 1024 - 1 {
            assert_eq!(project_dir, record.project_dir);
        }
    }
});
