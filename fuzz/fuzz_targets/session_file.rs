//! The session-file format on any bytes: the parser never panics; a file is never longer than
//! the reader accepts; and a record survives being written and read back, its project directory
//! included exactly when that directory's line fits (`session::MAX_DIR_LINE`), else left out.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use claude_session::session::{self, MAX_DIR_LINE, MAX_FILE, Record, format, parse};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fn round_trip(record: &Record, now: OffsetDateTime, ttl: Duration) {
    let bytes = format(record);
    assert!(bytes.len() as u64 <= MAX_FILE, "{} bytes written", bytes.len());
    let again = parse(&bytes, now, ttl).expect("a record we write must read back");
    let kept = record.project_dir.clone().filter(|d| session::encode_path(d).len() <= MAX_DIR_LINE);
    assert_eq!(again, Record { project_dir: kept, ..record.clone() });
}

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let ttl = Duration::from_secs(86_400);
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        // Any file: what parses is written back the same.
        if let Ok(record) = parse(rest, now, ttl) {
            round_trip(&record, now, ttl);
        }
    } else {
        // Any directory (bytes up to the first NUL, the rest of a 16 KiB path) with a valid id.
        let dir = rest.split(|&b| b == 0).next().unwrap_or_default();
        let dir = Path::new("/").join(OsStr::from_bytes(dir));
        let id = format!("id-{}", rest.len());
        let record = Record { id, time: now, project_dir: Some(PathBuf::from(dir)) };
        round_trip(&record, now, ttl);
        assert_eq!(
            session::decode_path(&session::encode_path(record.project_dir.as_ref().unwrap())),
            *record.project_dir.as_ref().unwrap()
        );
    }
});
