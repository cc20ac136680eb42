//! The session store: atomicity, TTL, corrupt and hostile files, directory checks, project keys,
//! `show` and `cleanup`.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const PROJ: &str = "/home/dev/src/proj";

fn ago(secs: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::seconds(secs)).format(&Rfc3339).unwrap()
}

/// Stores `id` for `dir` through the real hook and returns the file's path.
fn store_id(env: &TestEnv, dir: &str, id: &str) -> std::path::PathBuf {
    let before = env.store_names();
    env.hook("session-start", &payload("SessionStart", Some(id), dir, serde_json::json!({})));
    let after = env.store_names();
    let name = after.iter().find(|n| !before.contains(n)).or(after.first()).unwrap();
    env.store().join(name)
}

fn plant(path: &Path, content: &[u8]) {
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn file_format_and_permissions() {
    let env = TestEnv::new();
    let path = store_id(&env, PROJ, "abc-123");
    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "abc-123");
    let t = OffsetDateTime::parse(lines[1], &Rfc3339).unwrap();
    assert!((OffsetDateTime::now_utc() - t).whole_seconds().abs() < 60);
    assert!(lines[1].ends_with('Z'), "UTC: {}", lines[1]);
    assert_eq!(lines[2], PROJ);
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(env.store()).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn replaying_recorded_sessions_names_each_session_in_turn() {
    let env = TestEnv::new();
    let recorded = fs::read_to_string(fixtures().join("recorded-sessions.jsonl")).unwrap();
    let mut seen = Vec::new();
    for line in recorded.lines() {
        let event = json(line.as_bytes());
        let applet = match event["hook_event_name"].as_str().unwrap() {
            "PreToolUse" => "pre-tool",
            "PostToolUse" | "PostToolUseFailure" => "post-tool",
            _ => "session-start",
        };
        env.hook(applet, format!("{line}\n").as_bytes());
        let id = event["session_id"].as_str().unwrap();
        assert_eq!(env.show(event["cwd"].as_str().unwrap()), (id.to_owned(), 0));
        if seen.last() != Some(&id.to_owned()) {
            seen.push(id.to_owned());
        }
    }
    assert!(seen.len() >= 3, "the recording holds several sessions: {seen:?}");
}

#[test]
fn the_newest_id_wins_and_an_unchanged_id_is_not_rewritten() {
    let env = TestEnv::new();
    let path = store_id(&env, PROJ, "first");
    let inode = fs::metadata(&path).unwrap().ino();
    env.hook("pre-tool", &payload("PreToolUse", Some("first"), PROJ, serde_json::json!({})));
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode, "same id within the refresh interval: no write");
    env.hook("session-start", &payload("SessionStart", Some("second"), PROJ, serde_json::json!({})));
    assert_eq!(env.show(PROJ).0, "second");
    assert_ne!(fs::metadata(&path).unwrap().ino(), inode);
}

/// Issue 30: two sessions alternating in one project cost 1.43x an empty binary per hook, against
/// 1.1x for one: each hook rewrote the project's file with its own id. Another live session's
/// fresh record is left alone until it is due for a refresh; then one hook takes it over.
#[test]
fn alternating_sessions_do_not_rewrite_the_store_at_every_hook() {
    let env = TestEnv::new();
    let (a, b) = ("aaaa-alternating", "bbbb-alternating");
    store_id(&env, PROJ, a);
    let path = store_id(&env, PROJ, b);
    let inode = fs::metadata(&path).unwrap().ino();
    for n in 0..10 {
        let id = if n % 2 == 0 { a } else { b };
        env.hook("pre-tool", &payload("PreToolUse", Some(id), PROJ, serde_json::json!({})));
    }
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode, "no hook rewrote it");
    assert_eq!(env.show(PROJ).0, b, "the one started last");
    // Past the refresh interval (TTL / 8, 3 h by default), the next hook of either session takes
    // it over, once.
    plant(&path, format!("{b}\n{}\n{PROJ}\n", ago(3 * 3600 + 60)).as_bytes());
    env.hook("pre-tool", &payload("PreToolUse", Some(a), PROJ, serde_json::json!({})));
    assert_eq!(env.show(PROJ).0, a);
    let inode = fs::metadata(&path).unwrap().ino();
    env.hook("pre-tool", &payload("PreToolUse", Some(b), PROJ, serde_json::json!({})));
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode, "a fresh record of a live session stays");
    assert_eq!(env.show(PROJ).0, a);
}

#[test]
fn ids_come_from_payload_then_env_then_store() {
    let mut env = TestEnv::new();
    store_id(&env, PROJ, "stored");
    env.set("CLAUDE_SESSION_DEBUG", "1");
    // No id in the payload: the store's.
    let out = env.hook("pre-tool", &payload("PreToolUse", None, PROJ, serde_json::json!({})));
    assert!(stderr(&out).contains("session stored (store)"), "{}", stderr(&out));
    // The environment's.
    env.set("CLAUDE_CODE_SESSION_ID", "from-env");
    let out = env.hook("pre-tool", &payload("PreToolUse", None, PROJ, serde_json::json!({})));
    assert!(stderr(&out).contains("session from-env (env)"), "{}", stderr(&out));
    // The payload's beats the environment's, and its start makes it the stored one.
    let out = env.hook("session-start", &payload("SessionStart", Some("from-payload"), PROJ, serde_json::json!({})));
    assert!(stderr(&out).contains("session from-payload (payload)"), "{}", stderr(&out));
    env.env.remove("CLAUDE_CODE_SESSION_ID");
    assert_eq!(env.show(PROJ).0, "from-payload");
}

#[test]
fn concurrent_writers_and_readers_never_see_a_torn_file() {
    let env = TestEnv::new();
    // Ids of different lengths, so a mix of two files could not pass for one.
    let ids: Vec<String> = (0..10).map(|i| format!("session-{i}-{}", "x".repeat(i * 7))).collect();
    // With a session stored before the storm, an atomic store never lets a reader see anything
    // but a whole id: a torn file would read as corrupt, i.e. `unknown`.
    store_id(&env, PROJ, &ids[0]);
    let deadline = Instant::now() + Duration::from_secs(3);
    let seen = std::thread::scope(|s| {
        for id in &ids {
            let env = &env;
            s.spawn(move || {
                let body = payload("SessionStart", Some(id), PROJ, serde_json::json!({}));
                while Instant::now() < deadline {
                    env.hook("session-start", &body);
                }
            });
        }
        let readers: Vec<_> = (0..10)
            .map(|_| {
                let env = &env;
                s.spawn(move || {
                    let mut seen = Vec::new();
                    while Instant::now() < deadline {
                        seen.push(env.show(PROJ));
                    }
                    seen
                })
            })
            .collect();
        readers.into_iter().flat_map(|r| r.join().unwrap()).collect::<Vec<_>>()
    });
    assert!(seen.len() > 50, "too few reads: {}", seen.len());
    for (out, code) in &seen {
        assert!(ids.contains(out) && *code == 0, "torn or foreign read: {out:?} (exit {code})");
    }
    let names = env.store_names();
    assert_eq!(names.len(), 1, "temp files left behind: {names:?}");
}

#[test]
fn a_stale_file_is_unknown_and_removed() {
    let mut env = TestEnv::new();
    let path = store_id(&env, PROJ, "old");
    plant(&path, format!("old\n{}\n", ago(25 * 3600)).as_bytes());
    assert_eq!(env.show(PROJ), ("unknown".into(), 1));
    assert!(!path.exists());

    // CLAUDE_SESSION_TTL: 100 s old is fresh under 200s and stale under 90s.
    plant(&path, format!("mid\n{}\n", ago(100)).as_bytes());
    env.set("CLAUDE_SESSION_TTL", "200s");
    assert_eq!(env.show(PROJ), ("mid".into(), 0));
    env.set("CLAUDE_SESSION_TTL", "90");
    assert_eq!(env.show(PROJ), ("unknown".into(), 1));
    assert!(!path.exists());

    plant(&path, format!("hours\n{}\n", ago(2 * 3600)).as_bytes());
    env.set("CLAUDE_SESSION_TTL", "90m");
    assert_eq!(env.show(PROJ), ("unknown".into(), 1));
}

#[test]
fn the_original_python_time_format_is_read() {
    let env = TestEnv::new();
    let path = store_id(&env, PROJ, "x");
    let naive = (OffsetDateTime::now_utc() - time::Duration::seconds(5)).format(&Rfc3339).unwrap();
    let naive = naive.trim_end_matches('Z');
    plant(&path, format!("py-session\n{}\n", &naive[..26]).as_bytes());
    assert_eq!(env.show(PROJ), ("py-session".into(), 0));
    plant(&path, b"py-session\n2025-09-24T12:52:51.430382\n");
    assert_eq!(env.show(PROJ), ("unknown".into(), 1), "a 2025 time is stale");
}

#[test]
fn corrupt_files_are_unknown_and_removed() {
    let env = TestEnv::new();
    let path = store_id(&env, PROJ, "x");
    let now = ago(0);
    let corrupt: Vec<(&str, Vec<u8>)> = vec![
        ("empty file", b"".to_vec()),
        ("missing time line", b"abc".to_vec()),
        ("missing time", b"abc\n".to_vec()),
        ("empty id", format!("\n{now}\n").into_bytes()),
        ("control character", format!("ab\x07c\n{now}\n").into_bytes()),
        ("id over 256 bytes", format!("{}\n{now}\n", "a".repeat(257)).into_bytes()),
        ("bad time", b"abc\nyesterday\n".to_vec()),
        ("far future", format!("abc\n{}\n", ago(-3 * 86400)).into_bytes()),
        ("not utf-8", format!("a\u{0}\n{now}\n").into_bytes().into_iter().chain([0xff]).collect()),
        ("over a few KiB", format!("abc\n{now}\n{}\n", "p".repeat(9000)).into_bytes()),
    ];
    for (what, content) in corrupt {
        plant(&path, &content);
        assert_eq!(env.show(PROJ), ("unknown".into(), 1), "{what}");
        assert!(!path.exists(), "{what}: not removed");
    }
    // A 256-byte id is fine.
    let id = "b".repeat(256);
    plant(&path, format!("{id}\n{now}\n").as_bytes());
    assert_eq!(env.show(PROJ), (id, 0));
}

#[test]
fn a_hook_without_an_id_removes_a_corrupt_file() {
    let env = TestEnv::new();
    let path = store_id(&env, PROJ, "x");
    plant(&path, b"garbage");
    env.hook("pre-tool", &payload("PreToolUse", None, PROJ, serde_json::json!({})));
    assert!(!path.exists());
}

#[test]
fn a_planted_symlink_is_never_followed() {
    let env = TestEnv::new();
    let path = store_id(&env, PROJ, "mine");
    let target = env.root.join("victim");
    let victim = format!("victim\n{}\n", ago(0));
    fs::write(&target, &victim).unwrap();
    fs::remove_file(&path).unwrap();
    symlink(&target, &path).unwrap();

    // Read: not trusted, and the link (not its target) is removed.
    assert_eq!(env.show(PROJ), ("unknown".into(), 1));
    assert!(fs::symlink_metadata(&path).is_err());
    assert_eq!(fs::read_to_string(&target).unwrap(), victim);

    // Write: replaces the link, never writes through it.
    symlink(&target, &path).unwrap();
    env.hook("session-start", &payload("SessionStart", Some("new"), PROJ, serde_json::json!({})));
    assert!(fs::symlink_metadata(&path).unwrap().is_file());
    assert_eq!(env.show(PROJ).0, "new");
    assert_eq!(fs::read_to_string(&target).unwrap(), victim);
}

#[test]
fn foreign_files_are_unknown_and_removed() {
    let env = TestEnv::new();
    let path = store_id(&env, PROJ, "x");
    // Writable by others.
    plant(&path, format!("abc\n{}\n", ago(0)).as_bytes());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(env.show(PROJ), ("unknown".into(), 1));
    assert!(!path.exists());
    // A FIFO must not hang the reader.
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert_eq!(env.show(PROJ), ("unknown".into(), 1));
    assert!(!path.exists());
    if nix::unistd::geteuid().is_root() {
        plant(&path, format!("abc\n{}\n", ago(0)).as_bytes());
        nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(4242)), None).unwrap();
        assert_eq!(env.show(PROJ), ("unknown".into(), 1));
        assert!(!path.exists());
    }
}

#[test]
fn an_unsafe_store_directory_is_refused() {
    let mut env = TestEnv::new();
    let store = env.root.join("shared-store");
    env.set("CLAUDE_SESSION_DIR", &store).set("CLAUDE_SESSION_DEBUG", "1");

    fs::create_dir(&store).unwrap();
    fs::set_permissions(&store, fs::Permissions::from_mode(0o777)).unwrap();
    let out = env.hook("session-start", &fixture("SessionStart-startup.json"));
    assert!(stderr(&out).contains("lets other users in"), "{}", stderr(&out));
    assert!(list(&store).is_empty(), "wrote into a 0777 directory");
    let out = env.run("show", &[], b"");
    assert_eq!(out.status.code(), Some(1));

    fs::remove_dir(&store).unwrap();
    fs::create_dir(env.root.join("elsewhere")).unwrap();
    symlink(env.root.join("elsewhere"), &store).unwrap();
    let out = env.hook("session-start", &fixture("SessionStart-startup.json"));
    assert!(stderr(&out).contains("is a symlink"), "{}", stderr(&out));
    assert!(list(&env.root.join("elsewhere")).is_empty());

    if nix::unistd::geteuid().is_root() {
        fs::remove_file(&store).unwrap();
        fs::create_dir(&store).unwrap();
        fs::set_permissions(&store, fs::Permissions::from_mode(0o700)).unwrap();
        nix::unistd::chown(&store, Some(nix::unistd::Uid::from_raw(4242)), None).unwrap();
        let out = env.hook("session-start", &fixture("SessionStart-startup.json"));
        assert!(stderr(&out).contains("owned by uid 4242"), "{}", stderr(&out));
        assert!(list(&store).is_empty());
    }
}

#[test]
fn the_store_directory_is_chosen_and_created_private() {
    // $CLAUDE_SESSION_DIR, created with its parents.
    let mut env = TestEnv::new();
    let dir = env.root.join("a/b/store");
    env.set("CLAUDE_SESSION_DIR", &dir);
    store_id(&env, PROJ, "x");
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    assert_eq!(list(&dir).len(), 1);
}

/// Issue 10, finding 8: with no XDG_RUNTIME_DIR (always so on macOS) the store was
/// /tmp/claude-session-<uid>, which any local user could create first and so disable the store.
#[test]
fn another_user_cannot_disable_the_default_store() {
    let env = TestEnv::new();
    let mut cmd = env.command(env.bin.join("session-start"));
    cmd.env_remove("XDG_RUNTIME_DIR");
    let out = feed(cmd, &payload("SessionStart", Some("s-1"), PROJ, serde_json::json!({})));
    assert_eq!(out.status.code(), Some(0));
    let mut cmd = env.command(env.bin.join("show"));
    cmd.env_remove("XDG_RUNTIME_DIR").env("CLAUDE_PROJECT_DIR", PROJ).args(["--all", "--json"]);
    let out = feed(cmd, b"");
    let store = env.state.join("claude-session/sessions");
    assert_eq!(json(&out.stdout)["store"], store.to_str().unwrap(), "under the user's own state directory");
    assert_eq!(json(&out.stdout)["sessions"][0]["session_id"], "s-1");
    assert_eq!(fs::metadata(&store).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn hostile_project_names_stay_inside_the_store() {
    let env = TestEnv::new();
    let long = format!("/x/{}", "n".repeat(300));
    let names = ["/x/..", "/", "/x/new\nline", "/x/sp ace/../..", "/x/.hidden", "/x/%2F", long.as_str()];
    for (i, dir) in names.iter().enumerate() {
        let id = format!("id-{i}");
        env.hook("session-start", &payload("SessionStart", Some(&id), dir, serde_json::json!({})));
        assert_eq!(env.show(dir), (id, 0), "{dir:?}");
    }
    // Non-UTF-8 bytes arrive through CLAUDE_PROJECT_DIR.
    use std::os::unix::ffi::OsStrExt;
    let raw = std::ffi::OsStr::from_bytes(b"/x/\xff\xfe");
    let mut cmd = env.command(env.bin.join("session-start"));
    cmd.env("CLAUDE_PROJECT_DIR", raw);
    feed(cmd, &payload("SessionStart", Some("bytes"), "/", serde_json::json!({})));
    let mut cmd = env.command(env.bin.join("show"));
    cmd.env("CLAUDE_PROJECT_DIR", raw);
    assert_eq!(stdout(&feed(cmd, b"")).trim(), "bytes");

    let files = env.store_names();
    assert_eq!(files.len(), names.len() + 1, "{files:?}");
    for f in &files {
        assert!(!f.starts_with('.') && f.len() <= 65 && !f.contains('\n'), "{f:?}");
    }
    assert!(!env.root.join("x").exists() && !env.run.join("x").exists());
}

#[test]
fn same_name_different_directories_do_not_share() {
    let env = TestEnv::new();
    store_id(&env, "/a/proj", "session-a");
    store_id(&env, "/b/proj", "session-b");
    assert_eq!(env.show("/a/proj").0, "session-a");
    assert_eq!(env.show("/b/proj").0, "session-b");
}

#[test]
fn the_project_is_the_enclosing_git_root() {
    let env = TestEnv::new();
    let repo = env.root.join("repo");
    fs::create_dir_all(repo.join(".git")).unwrap();
    fs::create_dir_all(repo.join("src/deep")).unwrap();
    let deep = repo.join("src/deep");
    env.hook("session-start", &payload("SessionStart", Some("git-id"), deep.to_str().unwrap(), serde_json::json!({})));
    assert_eq!(env.show(repo.to_str().unwrap()).0, "git-id");
    // The working directory is the last resort.
    let mut cmd = env.command(env.bin.join("show"));
    cmd.current_dir(&deep);
    assert_eq!(stdout(&feed(cmd, b"")).trim(), "git-id");
}

#[test]
fn show_json_and_all() {
    let env = TestEnv::new();
    let out = env.run("show", &["--json"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out.stdout)["session_id"], "unknown");
    let out = env.run("show", &["--all"], b"");
    assert_eq!((out.status.code(), stdout(&out).starts_with("no sessions stored")), (Some(0), true));

    store_id(&env, "/a/one", "id-one");
    let stale = store_id(&env, "/b/two", "id-two");
    plant(&stale, format!("id-two\n{}\n/b/two\n", ago(2 * 86400)).as_bytes());
    let mut cmd = env.command(env.bin.join("show"));
    cmd.env("CLAUDE_PROJECT_DIR", "/a/one").arg("--json");
    let v = json(&feed(cmd, b"").stdout);
    assert_eq!(
        (v["session_id"].as_str(), v["source"].as_str(), v["project"].as_str()),
        (Some("id-one"), Some("store"), Some("one"))
    );

    let out = env.run("show", &["--all"], b"");
    let text = stdout(&out);
    assert!(text.starts_with("PROJECT"), "{text}");
    let one = text.lines().find(|l| l.contains("id-one")).unwrap();
    assert!(one.contains(" fresh ") && one.contains("/a/one") && one.contains(env.store().to_str().unwrap()), "{one}");
    let two = text.lines().find(|l| l.contains("id-two")).unwrap();
    assert!(two.contains(" stale ") && two.contains(" 2d "), "{two}");

    let v = json(&env.run("show", &["--all", "--json"], b"").stdout);
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let two = sessions.iter().find(|s| s["session_id"] == "id-two").unwrap();
    assert_eq!(
        (two["state"].as_str(), two["project"].as_str(), two["project_dir"].as_str()),
        (Some("stale"), Some("two"), Some("/b/two"))
    );
    assert!(two["age_secs"].as_i64().unwrap() >= 2 * 86400);
    assert!(stale.exists(), "--all only looks");
}

#[test]
fn cleanup_removes_only_our_garbage_and_is_quiet_otherwise() {
    let env = TestEnv::new();
    let fresh = store_id(&env, "/a/fresh", "keep");
    let stale = store_id(&env, "/a/stale", "old");
    plant(&stale, format!("old\n{}\n", ago(3 * 86400)).as_bytes());
    let corrupt = store_id(&env, "/a/corrupt", "x");
    plant(&corrupt, b"\n\n");
    let dead_temp = env.store().join(".proj-0123456789abcdef.999999999.0.tmp");
    plant(&dead_temp, b"half");
    let live_temp = env.store().join(format!(".proj-0123456789abcdef.{}.0.tmp", std::process::id()));
    plant(&live_temp, b"being written");
    let theirs = env.store().join("notes.txt");
    plant(&theirs, b"not ours");

    let out = env.run("cleanup", &["--dry-run"], b"");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
    for p in [&stale, &corrupt, &dead_temp] {
        assert!(text.contains(p.to_str().unwrap()) && p.exists(), "{text}");
    }

    let out = env.run("cleanup", &[], b"");
    assert_eq!((out.status.code(), stdout(&out).as_str(), stderr(&out).as_str()), (Some(0), "removed 3 files\n", ""));
    assert!(fresh.exists() && live_temp.exists() && theirs.exists());
    assert!(!stale.exists() && !corrupt.exists() && !dead_temp.exists());

    let out = env.run("cleanup", &[], b"");
    assert_eq!((out.status.code(), out.stdout.len(), out.stderr.len()), (Some(0), 0, 0), "quiet when nothing to do");
}

#[test]
fn cleanup_warns_above_ten_and_fails_on_an_unusable_store() {
    let mut env = TestEnv::new();
    for i in 0..12 {
        let path = store_id(&env, &format!("/p/{i}"), "x");
        plant(&path, b"bad");
    }
    let out = env.run("claude-session", &["cleanup"], b"");
    assert_eq!(stdout(&out), "removed 12 files\n");
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));

    let store = env.root.join("open-store");
    fs::create_dir(&store).unwrap();
    fs::set_permissions(&store, fs::Permissions::from_mode(0o755)).unwrap();
    env.set("CLAUDE_SESSION_DIR", &store);
    let out = env.run("cleanup", &[], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1);
}
