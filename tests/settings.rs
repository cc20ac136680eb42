//! The settings files under hostile and unusual conditions, through the real binary: FIFOs,
//! symlinks, hard links, root with the user's HOME, concurrent writers, exact numbers, duplicate
//! keys, the user's own values, and what is left beside the file.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Runs `claude-session hooks ARGS`, failing the test instead of hanging with it.
fn hooks(env: &TestEnv, args: &[&str]) -> Output {
    let mut cmd = env.command(env.bin.join("claude-session"));
    cmd.arg("hooks").args(args);
    within(cmd, b"", Duration::from_secs(30))
}

fn user_settings(env: &TestEnv) -> PathBuf {
    let path = env.home.join(".claude/settings.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    path
}

fn hook_dir(env: &TestEnv) -> PathBuf {
    env.home.join(".claude/hooks/claude-session")
}

fn read_json(path: &Path) -> Value {
    json(&fs::read(path).unwrap())
}

/// The commands of ours each event runs, for a hook directory.
fn ours_per_event(settings: &Value, dir: &Path) -> Vec<usize> {
    let dir = dir.to_str().unwrap();
    claude_session::applets::wiring()
        .map(|(event, _)| {
            let groups = settings["hooks"][event].as_array().cloned().unwrap_or_default();
            let commands = groups.iter().flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default());
            commands.filter(|h| h["command"].as_str().is_some_and(|c| c.starts_with(dir))).count()
        })
        .collect()
}

fn ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(out), stderr(out));
}

fn refused(out: &Output, says: &str) {
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(out), stderr(out));
    assert!(stderr(out).contains(says), "{says:?} not in {}", stderr(out));
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Issue 10, finding 3: a FIFO at ~/.claude/settings.json hung `hooks install`.
#[test]
fn a_fifo_at_the_user_settings_does_not_hang_install() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    mkfifo(&path);
    for action in ["install", "uninstall"] {
        refused(&hooks(&env, &[action]), "a FIFO, not a regular file");
    }
    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_fifo_like());
    assert_eq!(list(path.parent().unwrap()), ["settings.json"], "nothing left beside it");
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
}

/// Issue 10, finding 3: a FIFO in a project's .claude/ hung `hooks status`.
#[test]
fn a_fifo_in_the_projects_claude_dir_does_not_hang_status() {
    for name in ["settings.json", "settings.local.json"] {
        let env = TestEnv::new();
        fs::create_dir_all(env.cwd.join(".claude")).unwrap();
        mkfifo(&env.cwd.join(".claude").join(name));
        let out = hooks(&env, &["status"]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stdout(&out).contains("a FIFO, not a regular file"), "{}", stdout(&out));
    }
}

/// Issue 10, finding 2: a settings file is read without following a link we did not mean to
/// follow; a symlinked settings.json (dotfile managers) is followed on purpose, written through
/// to its target, and left a symlink.
#[test]
fn a_symlinked_settings_file_is_written_through_to_its_target() {
    let env = TestEnv::new();
    let dotfiles = env.root.join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("claude-settings.json");
    let theirs = "{\"model\": \"opus\"}\n";
    fs::write(&target, theirs).unwrap();
    let path = user_settings(&env);
    symlink(&target, &path).unwrap();

    ok(&hooks(&env, &["install"]));
    assert_eq!(fs::read_link(&path).unwrap(), target, "still a symlink");
    assert_eq!(
        ours_per_event(&read_json(&target), &hook_dir(&env)),
        vec![1; claude_session::applets::wiring().count()]
    );
    ok(&hooks(&env, &["uninstall"]));
    assert_eq!(fs::read_link(&path).unwrap(), target);
    assert_eq!(fs::read_to_string(&target).unwrap(), theirs);
    assert_eq!(list(&dotfiles), ["claude-settings.json"], "nothing left beside the target");
    assert_eq!(list(path.parent().unwrap()), ["settings.json"]);
}

#[test]
fn a_dangling_settings_symlink_is_refused() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    symlink(env.root.join("nowhere/settings.json"), &path).unwrap();
    refused(&hooks(&env, &["install"]), "cannot be followed");
    assert!(!env.root.join("nowhere").exists());
    assert_eq!(list(path.parent().unwrap()), ["settings.json"]);
}

/// Issue 10, finding 4: run as root with the user's HOME (sudo), install left the user's 0600
/// settings owned by root; under `umask 077`, a 0644 file became 0600.
#[test]
fn under_sudo_and_any_umask_the_file_keeps_its_owner_group_and_mode() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let theirs = "{\"model\": \"opus\"}\n";
    fs::write(&path, theirs).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let owner =
        if is_root() { (4242, 4243) } else { (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw()) };
    if is_root() {
        std::os::unix::fs::chown(&path, Some(owner.0), Some(owner.1)).unwrap();
    } else {
        eprintln!("not root: only the mode is checked");
    }
    let run = |action: &str| {
        let mut cmd = env.command("/bin/sh");
        cmd.args(["-c", &format!("umask 077; exec claude-session hooks {action}")]);
        within(cmd, b"", Duration::from_secs(30))
    };
    let kept = |path: &Path| {
        let meta = fs::metadata(path).unwrap();
        assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (owner.0, owner.1, 0o644), "{}", path.display());
    };
    ok(&run("install"));
    kept(&path);
    kept(&path.with_file_name("settings.json.claude-session.state"));
    ok(&run("uninstall"));
    kept(&path);
    assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
}

/// Issue 10, finding 4: a settings file that sudo creates belongs to the user, not to root.
#[test]
fn a_new_settings_file_under_sudo_belongs_to_the_owner_of_home() {
    if !is_root() {
        eprintln!("skipped: needs root to play sudo");
        return;
    }
    let env = TestEnv::new();
    std::os::unix::fs::chown(&env.home, Some(4242), Some(4243)).unwrap();
    ok(&hooks(&env, &["install"]));
    for path in [env.home.join(".claude"), env.home.join(".claude/settings.json")] {
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4242, 4243), "{}", path.display());
    }
    assert_eq!(fs::metadata(env.home.join(".claude/settings.json")).unwrap().mode() & 0o777, 0o600);
}

/// Issue 10, finding 4: a hard-linked file was split from its link. An atomic rewrite cannot
/// keep it, so it is refused, with a way out, and left as it was.
#[test]
fn a_hard_linked_settings_file_is_refused_not_split() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let theirs = "{\"model\": \"opus\"}\n";
    fs::write(&path, theirs).unwrap();
    let other = env.root.join("settings-link.json");
    fs::hard_link(&path, &other).unwrap();
    refused(&hooks(&env, &["install"]), "hard links");
    assert_eq!(fs::metadata(&path).unwrap().ino(), fs::metadata(&other).unwrap().ino(), "still one file");
    assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
    assert_eq!(list(path.parent().unwrap()), ["settings.json"]);
}

/// Issue 10, finding 4: concurrent writers lost updates. Eight installs at once, each with its
/// own hook directory: every one of them is wired, once.
#[test]
fn concurrent_installs_lose_nothing() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    fs::write(&path, "{\"model\": \"opus\"}\n").unwrap();
    let dirs: Vec<PathBuf> = (0..8).map(|n| env.root.join(format!("hooks{n}"))).collect();
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            let mut cmd = env.command(env.bin.join("claude-session"));
            cmd.args(["hooks", "install", "--hook-dir", dir.to_str().unwrap()]);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    let settings = read_json(&path);
    assert_eq!(settings["model"], "opus");
    for dir in &dirs {
        assert_eq!(
            ours_per_event(&settings, dir),
            vec![1; claude_session::applets::wiring().count()],
            "{}",
            dir.display()
        );
    }
}

/// Issue 10, finding 5: numbers were rewritten (`1e2` became `100.0`, `-0` became `-0.0`,
/// `12345678901234567890123` lost its digits) or refused (`1.0E+400`).
#[test]
fn numbers_and_strings_survive_install_byte_for_byte() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let theirs = r#"{"a": 12345678901234567890123, "b": 1e2, "c": -0, "d": 1.0E+400, "e": 0.10, "s": "caf\u00e9 \/"}"#;
    fs::write(&path, theirs).unwrap();
    ok(&hooks(&env, &["install"]));
    let written = fs::read_to_string(&path).unwrap();
    for literal in ["12345678901234567890123,", "1e2,", "-0,", "1.0E+400,", "0.10,", r#""caf\u00e9 \/""#] {
        assert!(written.contains(literal), "{literal} in {written}");
    }
    ok(&hooks(&env, &["uninstall"]));
    assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
}

/// Issue 10, finding 5: a duplicate key silently dropped the first value (here, a whole list of
/// the user's hooks). It is refused, naming the key, and nothing is written or left.
#[test]
fn a_duplicate_key_is_refused_naming_it() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let theirs = r#"{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "/bin/audit"}]}], "PreToolUse": []}}"#;
    fs::write(&path, theirs).unwrap();
    for action in ["install", "uninstall"] {
        refused(&hooks(&env, &[action]), r#"the key "hooks"."PreToolUse" appears twice"#);
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
    assert_eq!(list(path.parent().unwrap()), ["settings.json"]);
}

/// Issue 16, bug 1: a user's own CLAUDE_SESSION_SERVER_URL was overwritten by install, then
/// deleted by uninstall.
#[test]
fn a_users_own_server_url_is_never_overwritten_nor_deleted() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let theirs = "{\"env\": {\"CLAUDE_SESSION_SERVER_URL\": \"http://mine:4000/events\"}}\n";
    fs::write(&path, theirs).unwrap();

    refused(&hooks(&env, &["install", "--server", "http://other:4000/events"]), "did not write");
    assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
    assert_eq!(list(path.parent().unwrap()), ["settings.json"]);

    for args in [&["install"][..], &["install", "--server", "http://mine:4000/events"]] {
        ok(&hooks(&env, args));
        assert_eq!(read_json(&path)["env"]["CLAUDE_SESSION_SERVER_URL"], "http://mine:4000/events");
        ok(&hooks(&env, &["uninstall"]));
        assert_eq!(fs::read_to_string(&path).unwrap(), theirs, "after {args:?}");
    }

    // One we wrote is ours to change, and to take out; a value the user put in its place is not.
    fs::remove_file(&path).unwrap();
    ok(&hooks(&env, &["install", "--server", "http://a:4000/events"]));
    ok(&hooks(&env, &["install", "--server", "http://b:4000/events"]));
    let text = fs::read_to_string(&path).unwrap().replace("http://b:4000/events", "http://theirs:4000/events");
    fs::write(&path, text).unwrap();
    ok(&hooks(&env, &["uninstall"]));
    assert_eq!(read_json(&path), json(br#"{"env": {"CLAUDE_SESSION_SERVER_URL": "http://theirs:4000/events"}}"#));
}

/// Issue 16, bug 1: the user's own empty lists and objects went with ours.
#[test]
fn the_users_empty_lists_and_objects_survive_install_and_uninstall() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let theirs = r#"{"hooks":{"Notification":[],"PreToolUse":[{"matcher":"x","hooks":[]}]},"env":{}}"#;
    fs::write(&path, theirs).unwrap();
    ok(&hooks(&env, &["install", "--server", "http://127.0.0.1:4000/events"]));
    // Not byte for byte through the kept original: an edit of theirs makes uninstall merge.
    let mut v = read_json(&path);
    v["theme"] = "dark".into();
    fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    ok(&hooks(&env, &["uninstall"]));
    let mut expected = json(theirs.as_bytes());
    expected["theme"] = "dark".into();
    assert_eq!(read_json(&path), expected);
}

/// Issue 9: uninstall left `settings.json.claude-session.bak` and a 0-byte `.orig`. It leaves
/// nothing beside the file, also after an older version's install that left those two.
#[test]
fn uninstall_leaves_no_backup_and_no_empty_orig() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let dir = path.parent().unwrap().to_path_buf();
    ok(&hooks(&env, &["install", "--server", "http://127.0.0.1:4000/events"]));
    assert_eq!(list(&dir), ["hooks", "settings.json", "settings.json.claude-session.state"], "the applet links' dir");
    ok(&hooks(&env, &["uninstall"]));
    assert!(list(&dir).is_empty(), "{:?}", list(&dir));

    // An older version's leftovers: the .orig said "there was no file".
    ok(&hooks(&env, &["install"]));
    fs::remove_file(dir.join("settings.json.claude-session.state")).unwrap();
    fs::write(dir.join("settings.json.claude-session.orig"), "").unwrap();
    fs::write(dir.join("settings.json.claude-session.bak"), "{}").unwrap();
    ok(&hooks(&env, &["uninstall"]));
    assert!(list(&dir).is_empty(), "{:?}", list(&dir));
}

/// Issue 9: `--server notaurl` was accepted and written into the settings.
#[test]
fn an_invalid_server_url_is_refused_before_anything_is_written() {
    let env = TestEnv::new();
    let project = env.root.join("proj");
    fs::create_dir_all(&project).unwrap();
    for url in ["notaurl", "https://127.0.0.1:4000/events", "http://127.0.0.1:99999/events"] {
        let out = hooks(&env, &["install", "--project", project.to_str().unwrap(), "--server", url]);
        assert_ne!(out.status.code(), Some(0), "{url}");
        assert!(stderr(&out).contains("is not a server URL"), "{}", stderr(&out));
        assert!(list(&project).is_empty(), "{url}: {:?}", list(&project));
    }
}

/// Issue 10, finding 3: reads are bounded; a huge file is refused, not read whole.
#[test]
fn a_settings_file_over_the_size_bound_is_refused() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(2 << 20));
    fs::write(&path, &big).unwrap();
    refused(&hooks(&env, &["install"]), "larger than");
    assert_eq!(fs::read_to_string(&path).unwrap(), big);
}

/// An install by an older version wired fewer events: installing again adds the new ones, once.
#[test]
fn an_older_wiring_gains_the_new_events_once() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    let dir = hook_dir(&env);
    let group = |applet: &str| serde_json::json!([{"matcher": "", "hooks": [{"type": "command", "command": dir.join(applet), "timeout": 10}]}]);
    let older = serde_json::json!({"model": "opus", "hooks": {"SessionStart": group("session-start"), "PreToolUse": group("pre-tool")}});
    fs::write(&path, older.to_string()).unwrap();
    ok(&hooks(&env, &["install"]));
    assert_eq!(ours_per_event(&read_json(&path), &dir), vec![1; claude_session::applets::wiring().count()]);
    let out = hooks(&env, &["install"]);
    assert!(stdout(&out).contains("nothing changed"), "{}", stdout(&out));
    ok(&hooks(&env, &["uninstall"]));
    assert_eq!(read_json(&path), serde_json::json!({"model": "opus"}), "the older version's containers go too");
}

/// Issue 10, finding 3: no lock is waited on without a bound. Another writer that holds the lock
/// for good makes install give up with a message, the file untouched.
#[test]
fn a_lock_held_for_good_is_waited_on_for_a_bounded_time() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    fs::write(&path, "{}").unwrap();
    let dir = fs::File::open(path.parent().unwrap()).unwrap();
    let _held = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    let started = Instant::now();
    refused(&hooks(&env, &["install"]), "kept it locked");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
    assert_eq!(list(path.parent().unwrap()), ["settings.json"]);
}

/// Settings files as users write them (issue 30): each style must come back byte for byte.
const STYLES: &[(&str, &str)] = &[
    (
        "crlf",
        "{\r\n  \"model\": \"opus\",\r\n  \"permissions\": {\r\n    \"allow\": [\r\n      \"Bash(ls)\"\r\n    ]\r\n  }\r\n}\r\n",
    ),
    ("tabs", "{\n\t\"model\": \"opus\",\n\t\"permissions\": {\n\t\t\"allow\": [\"Bash(ls)\", \"Read\"]\n\t}\n}\n"),
    (
        "compact arrays and key order",
        "{\n    \"zeta\": 1,\n    \"alpha\": [1, 2, 3],\n    \"hooks\": {\n        \"Stop\": [{\"matcher\": \"\", \"hooks\": [{\"type\": \"command\", \"command\": \"/bin/true\"}]}]\n    },\n    \"mid\": {\"b\": 2, \"a\": 1}\n}",
    ),
    ("bom", "\u{feff}{\n  \"model\": \"opus\"\n}\n"),
    ("one line", "{\"model\":\"opus\",\"env\":{\"FOO\":\"bar\"},\"hooks\":{\"PreToolUse\":[]}}"),
    (
        "user hooks in our events",
        "{\n  \"hooks\": {\n    \"PreToolUse\": [\n      {\n        \"matcher\": \"Bash\",\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"/usr/local/bin/audit\"\n          }\n        ]\n      }\n    ]\n  }\n}\n",
    ),
];

/// Each line of `theirs` is still in `ours`, in order: as it was, with a comma for a member added
/// after it, or (a one-line list of an event we wire) with our entry before its last `]`.
fn lines_kept(theirs: &str, ours: &str) -> bool {
    let mut lines = ours.split_inclusive('\n');
    theirs.split_inclusive('\n').all(|want| {
        let bare = want.trim_end_matches(['\r', '\n']);
        let end = &want[bare.len()..];
        lines.any(|got| {
            let got_bare = got.trim_end_matches(['\r', '\n']);
            let got_bare = if bare.ends_with(',') { got_bare } else { got_bare.strip_suffix(',').unwrap_or(got_bare) };
            let grown = bare.rfind(']').is_some_and(|i| {
                got_bare.len() > bare.len() && got_bare.starts_with(&bare[..i]) && got_bare.ends_with(&bare[i..])
            });
            got.ends_with(end) && (got_bare == bare || grown)
        })
    })
}

/// Issue 30: install re-serialized the whole file (CRLF became LF, tabs two spaces, a one-line
/// array was spread over lines; a BOM was refused), so after an edit of the user's, uninstall
/// could not give their bytes back. Now our entries are spliced in and out of their text.
#[test]
fn install_and_uninstall_keep_every_byte_of_the_users_text() {
    for (style, theirs) in STYLES {
        let env = TestEnv::new();
        let path = user_settings(&env);
        fs::write(&path, theirs).unwrap();
        ok(&hooks(&env, &["install", "--server", "http://127.0.0.1:4000/events"]));
        let installed = fs::read_to_string(&path).unwrap();
        assert_eq!(
            ours_per_event(&read_json_text(&installed), &hook_dir(&env)),
            vec![1; claude_session::applets::wiring().count()],
            "{style}"
        );
        let one_line = !theirs.trim_end().contains('\n');
        assert!(one_line || lines_kept(theirs, &installed), "{style}: their lines are kept:\n{installed}");
        assert_eq!(installed.starts_with('\u{feff}'), theirs.starts_with('\u{feff}'), "{style}");
        if theirs.contains("\r\n") {
            assert_eq!(
                installed.matches('\n').count(),
                installed.matches("\r\n").count(),
                "{style}: CRLF only:\n{installed}"
            );
        }
        if theirs.contains('\t') {
            assert!(!installed.lines().any(|l| l.starts_with(' ')), "{style}: tabs only:\n{installed}");
        }
        if one_line {
            assert!(!installed.trim_end().contains('\n'), "{style}: still one line:\n{installed}");
        }
        ok(&hooks(&env, &["uninstall"]));
        assert_eq!(fs::read_to_string(&path).unwrap(), *theirs, "{style}: uninstall gives their bytes back");
    }
}

fn read_json_text(text: &str) -> Value {
    json(text.trim_start_matches('\u{feff}').as_bytes())
}

/// Issue 30: an edit the user made while we were installed stays on uninstall, byte for byte,
/// and only ours go: whatever they changed, before, after or between our entries.
#[test]
fn uninstall_after_the_users_own_edits_keeps_them_and_removes_only_ours() {
    for (style, theirs) in STYLES {
        let env = TestEnv::new();
        let path = user_settings(&env);
        fs::write(&path, theirs).unwrap();
        ok(&hooks(&env, &["install"]));
        let installed = fs::read_to_string(&path).unwrap();
        // Their edit: a value changed in place, and a member added at the top in their style.
        let (from, to) =
            if theirs.contains("\"opus\"") { ("\"opus\"", "\"sonnet\"") } else { ("{", "{\"theme\": \"dark\", ") };
        let edited = installed.replacen(from, to, 1);
        fs::write(&path, &edited).unwrap();
        ok(&hooks(&env, &["uninstall"]));
        assert_eq!(fs::read_to_string(&path).unwrap(), theirs.replacen(from, to, 1), "{style}");
    }
}

/// Issue 30: an upgrade (install again with more to wire: a server URL, then another one; an
/// older wiring missing events) still splices, and uninstall gives back the user's bytes.
#[test]
fn an_upgrade_keeps_every_byte_of_the_users_text() {
    for (style, theirs) in STYLES {
        let env = TestEnv::new();
        let path = user_settings(&env);
        fs::write(&path, theirs).unwrap();
        ok(&hooks(&env, &["install"]));
        ok(&hooks(&env, &["install", "--server", "http://127.0.0.1:4000/events"]));
        ok(&hooks(&env, &["install", "--server", "http://127.0.0.1:4001/events"]));
        let installed = fs::read_to_string(&path).unwrap();
        let one_line = !theirs.trim_end().contains('\n');
        assert!(one_line || lines_kept(theirs, &installed), "{style}:\n{installed}");
        assert!(installed.contains("4001") && !installed.contains("4000"), "{style}:\n{installed}");
        ok(&hooks(&env, &["uninstall"]));
        assert_eq!(fs::read_to_string(&path).unwrap(), *theirs, "{style}");
    }
}

/// A new settings file on a file system without hard links (vfat, exFAT, some network and FUSE
/// mounts: `link` says EPERM) could not be made: it is put in place by a link, which fails if one
/// appeared meanwhile, and install failed with "Operation not permitted". There it is put in
/// place by the last look and a rename, as an existing file is where there is no exchange. (From
/// two sessions ago, never landed.) The C library's `link` is made to fail as such a file system
/// does, through `LD_PRELOAD`.
#[test]
fn a_new_settings_file_on_a_file_system_without_hard_links_is_made() {
    let env = TestEnv::new();
    let shim = env.root.join("nolink.c");
    fs::write(
        &shim,
        r#"#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
static int refuse(void) {
    const char *mark = getenv("NOLINK_MARK");
    int fd = mark ? open(mark, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
    if (fd >= 0) close(fd);
    errno = EPERM;
    return -1;
}
int link(const char *a, const char *b) { (void)a; (void)b; return refuse(); }
int linkat(int fa, const char *a, int fb, const char *b, int flags) {
    (void)fa; (void)a; (void)fb; (void)b; (void)flags; return refuse();
}
"#,
    )
    .unwrap();
    let library = env.root.join("nolink.so");
    let built =
        std::process::Command::new("cc").arg("-shared").arg("-fPIC").arg("-o").arg(&library).arg(&shim).output();
    if !built.is_ok_and(|o| o.status.success()) {
        println!(
            "skipped: no C compiler to build the LD_PRELOAD library that stands in for a file system without hard links"
        );
        return;
    }
    let mark = env.root.join("link-refused");
    let mut cmd = env.command(env.bin.join("claude-session"));
    cmd.args(["hooks", "install"]).env("LD_PRELOAD", &library).env("NOLINK_MARK", &mark);
    let out = feed(cmd, b"");
    if !mark.exists() {
        println!("skipped: this binary does not link through the C library (static), so LD_PRELOAD cannot refuse it");
        return;
    }
    ok(&out);
    let settings = user_settings(&env);
    let ours = ours_per_event(&read_json(&settings), &hook_dir(&env));
    assert!(ours.iter().all(|&n| n == 1), "wired once each: {ours:?}");
    assert_eq!(fs::metadata(&settings).unwrap().permissions().mode() & 0o777, 0o600);
    let left: Vec<String> = list(settings.parent().unwrap()).into_iter().filter(|n| n.ends_with(".tmp")).collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
    let mut cmd = env.command(env.bin.join("claude-session"));
    cmd.args(["hooks", "uninstall"]).env("LD_PRELOAD", &library).env("NOLINK_MARK", &mark);
    ok(&feed(cmd, b""));
    assert!(!settings.exists(), "the file install made is gone again");
}
