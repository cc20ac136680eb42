//! The store's file checks on any file: a session file of any content, mode or kind is read
//! without panicking or blocking, trusted only when it is a regular file of ours that nobody
//! else can write, and then exactly as the parser reads its bytes.
#![no_main]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;
use std::time::Duration;

use claude_session::session::{Entry, Store, parse};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    let dir = std::env::temp_dir().join(format!("claude-session-fuzz-store-{}", std::process::id()));
    let _ = fs::create_dir_all(&dir);
    let path = dir.join("proj-0123456789abcdef");
    let _ = fs::remove_file(&path);
    let _ = fs::remove_dir(&path);
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let ttl = Duration::from_secs(86_400);
    let store = Store { dir: dir.clone() };

    let expected_foreign = match kind % 6 {
        // A regular file of ours, 0600 or 0644: read.
        0 | 1 => {
            fs::write(&path, bytes).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(if kind % 6 == 0 { 0o600 } else { 0o644 })).unwrap();
            false
        }
        // Writable by group or others: refused.
        2 => {
            fs::write(&path, bytes).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o620)).unwrap();
            true
        }
        // A symlink to a good file: refused, never followed.
        3 => {
            let target: PathBuf = dir.join("target");
            fs::write(&target, bytes).unwrap();
            symlink(&target, &path).unwrap();
            true
        }
        // A FIFO: refused without blocking.
        4 => {
            nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
            true
        }
        // A directory: refused.
        _ => {
            fs::create_dir(&path).unwrap();
            true
        }
    };
    let entry = store.read("proj-0123456789abcdef", ttl, now);
    if expected_foreign {
        assert!(matches!(entry, Entry::Foreign(_)), "{entry:?}");
        return;
    }
    match (parse(bytes, now, ttl), entry) {
        (Ok(a), Entry::Fresh(b) | Entry::Stale(b)) => assert_eq!(a, b),
        (Err(a), Entry::Corrupt(b)) => assert_eq!(a, b),
        (parsed, entry) => panic!("parse says {parsed:?}, read says {entry:?}"),
    }
});
