//! What a hostile environment does to the files we read and the input we are given: each test is
//! one thing that broke, named for it.

mod common;

use std::fs;
use std::os::unix::fs::{FileExt, PermissionsExt};

use common::*;
use serde_json::json;

/// A day file with 300 MB without a newline (what a power cut leaves as a zero-filled region, or
/// a sparse file): every reader (show, export, cleanup, the OTLP deliverer) held it as one line,
/// 1 GB of it took 1 GB of memory, 10 GB an OOM kill. A line longer than any a hook writes is
/// now skipped as it is read; the events after it are read as before.
#[test]
fn a_journal_line_longer_than_any_event_is_skipped_not_held() {
    let env = TestEnv::new();
    let cwd = env.cwd.to_str().unwrap();
    env.hook("session-start", &payload("SessionStart", Some("before"), cwd, json!({})));
    let journal = env.journal_dir();
    let day = list(&journal).into_iter().find(|n| n.ends_with(".jsonl")).unwrap();
    let file = fs::OpenOptions::new().write(true).open(journal.join(&day)).unwrap();
    let end = file.metadata().unwrap().len() + (300 << 20);
    file.set_len(end).unwrap();
    file.write_at(b"\n", end).unwrap();
    drop(file);
    env.hook("session-start", &payload("SessionStart", Some("after"), cwd, json!({})));
    fs::set_permissions(journal.join(&day), fs::Permissions::from_mode(0o600)).unwrap();

    // The run is bounded to half the planted line's size: holding it would abort the command.
    let mut show = env.command(env.bin.join("show"));
    show.args(["--sessions", "--json"]);
    let out = within_address_space(show, 160 << 20, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out.stdout);
    let ids: Vec<&str> = v["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["before", "after"]);
}

/// Claude Code writes a lone UTF-16 surrogate as `\ud83d` (`JSON.stringify` of a tool output cut
/// in the middle of an emoji); serde_json refuses it, and the whole member holding it was dropped:
/// the Bash command, or the tool's output. The lone half is now U+FFFD and the rest is kept.
#[test]
fn a_lone_surrogate_in_a_tool_output_keeps_the_output() {
    let env = TestEnv::new();
    let fixture = String::from_utf8(fixture("PostToolUse-Bash.json")).unwrap();
    let cut = fixture
        .replace(r#""stdout":"hello""#, r#""stdout":"hello \ud83d""#)
        .replace(r#""command":"echo hello""#, r#""command":"echo \ud83d\ude00 \udc00""#);
    assert_ne!(cut, fixture);
    assert!(serde_json::from_str::<serde_json::Value>(&cut).is_err(), "serde_json refuses it");
    env.hook("post-tool", cut.as_bytes());
    let line = env.journal().pop().unwrap();
    assert_eq!(line["parameters"]["command"], "echo 😀 \u{fffd}", "{line}");
    assert_eq!(line["tool_response"]["stdout"], "hello \u{fffd}", "{line}");
    assert_eq!(line["tool_use_id"], "toolu_fake0001132657d176d1");
    assert!(line["extra"].get("…[cut]").is_none(), "{line}");
}

/// `lost` grown past 16 MiB (a long full disk, each event a line) was read with a cap, and past
/// it `hooks status` said no event had been lost. It is read line by line now.
#[test]
fn a_lost_file_over_sixteen_mib_still_counts_every_loss() {
    let env = TestEnv::new();
    env.hook("session-start", &payload("SessionStart", Some("s"), env.cwd.to_str().unwrap(), json!({})));
    let line = format!("2026-12-06T09:00:00Z PreToolUse {}: No space left on device\n", "x".repeat(150));
    let lines = (17 << 20) / line.len() + 1;
    let lost = env.journal_dir().join("lost");
    fs::write(&lost, line.repeat(lines)).unwrap();
    fs::set_permissions(&lost, fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.run("claude-session", &["hooks", "status"], b"");
    let text = stdout(&out);
    assert!(text.contains(&format!("{lines} events could not be journaled; the last: {}", line.trim_end())), "{text}");
}

/// `--since 99999999d` reaches past year -9999: the subtraction overflowed and `show` and
/// `export` aborted (SIGABRT, a core file) instead of saying what is wrong.
#[test]
fn an_age_further_back_than_any_day_is_an_error_not_an_abort() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", "http://127.0.0.1:9/events");
    for args in [&["show", "--cost", "--since", "99999999d"][..], &["export", "--since", "1000000000000h"]] {
        let out = env.run("claude-session", args, b"");
        assert!(out.status.code().is_some_and(|c| c != 0), "{args:?}: {:?} {}", out.status, stderr(&out));
        assert!(stderr(&out).contains("further back than any day"), "{args:?}: {}", stderr(&out));
    }
}

/// `show --timeline` summed the calls' `duration_ms` unsaturated: two near `u64::MAX` (a
/// hand-edited journal, a client's garbage) aborted it in a debug build and wrapped in release.
#[test]
fn absurd_tool_durations_neither_abort_nor_wrap_the_timeline() {
    let env = TestEnv::new();
    let cwd = env.cwd.to_str().unwrap();
    for id in ["toolu_1", "toolu_2"] {
        let call = json!({"tool_name": "Bash", "tool_use_id": id, "tool_input": {"command": "true"}});
        env.hook("pre-tool", &payload("PreToolUse", Some("s"), cwd, call.clone()));
        let mut done = call;
        done["tool_response"] = json!({"stdout": ""});
        done["duration_ms"] = u64::MAX.into();
        env.hook("post-tool", &payload("PostToolUse", Some("s"), cwd, done));
    }
    let out = env.run("show", &["--timeline", "s", "--json"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out.stdout)["summary"]["tool_time_ms"], u64::MAX);
    let out = env.run("show", &["--timeline", "s"], b"");
    assert!(stdout(&out).contains(&format!("tool time {} ms", u64::MAX)), "{}", stdout(&out));
}

/// `cleanup --redact` stopped at the first journal file it could not rewrite: one line that is
/// not UTF-8 (a damaged block), or a day file that is a planted link, and every file after it
/// kept its secrets. Each file is redacted now; a line that is not text is redacted as the text
/// it holds, and one that cannot be rewritten is named while the others are still done.
#[test]
fn one_damaged_journal_file_does_not_stop_redacting_the_others() {
    let env = TestEnv::new();
    let key = "AKIAIOSFODNN7EXAMPLE";
    let dir = env.journal_dir();
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    let line = |day: &str| {
        format!(
            r#"{{"timestamp":"{day}T09:00:00Z","event":"PreToolUse","session_id":"s","parameters":{{"command":"aws configure set aws_access_key_id {key}"}}}}"#
        )
        .into_bytes()
    };
    std::os::unix::fs::symlink(env.root.join("elsewhere.jsonl"), dir.join("2026-12-01.jsonl")).unwrap();
    let mut damaged = line("2026-12-02");
    damaged.extend_from_slice(b"\n{\"summary\":\"caf\xe9 aws_access_key_id ");
    damaged.extend_from_slice(format!("{key}\"}}\n").as_bytes());
    damaged.extend_from_slice(b"{\"event\":\"Stop\",\"summary\":\"caf\xe9\"}\n");
    for (day, text) in [("2026-12-02", damaged.clone()), ("2026-12-03", [line("2026-12-03"), b"\n".to_vec()].concat())]
    {
        let path = dir.join(format!("{day}.jsonl"));
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = env.run("cleanup", &["--redact"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("2026-12-01.jsonl: is a symlink"), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 lines redacted in 2 journal files"), "{}", stdout(&out));
    let second = fs::read(dir.join("2026-12-02.jsonl")).unwrap();
    let third = fs::read(dir.join("2026-12-03.jsonl")).unwrap();
    for text in [&second, &third] {
        assert!(!String::from_utf8_lossy(text).contains(key), "{}", String::from_utf8_lossy(text));
    }
    assert!(second.ends_with(b"\n{\"event\":\"Stop\",\"summary\":\"caf\xe9\"}\n"), "kept byte for byte");
}

/// A cloned repository can ship `.claude/settings.json`, `settings.local.json` (where install puts
/// credentials) or `.claude` itself as a link to any file of the user's: `hooks install --project
/// .` followed it and wrote our hooks and env into that file (a Docker config, say). A project's settings are now written only inside the project;
/// a link within it is followed as before.
#[test]
fn a_projects_settings_link_leading_out_of_it_is_never_written() {
    let env = TestEnv::new();
    let outside = env.home.join("docker-config.json");
    fs::write(&outside, "{\"auths\":{}}\n").unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o600)).unwrap();
    let dir_outside = env.home.join(".config/tool");
    fs::create_dir_all(&dir_outside).unwrap();
    let file_link = env.cwd.join("cloned");
    fs::create_dir_all(file_link.join(".claude")).unwrap();
    std::os::unix::fs::symlink(&outside, file_link.join(".claude/settings.json")).unwrap();
    let local_link = env.cwd.join("cloned-local");
    fs::create_dir_all(local_link.join(".claude")).unwrap();
    std::os::unix::fs::symlink(&outside, local_link.join(".claude/settings.local.json")).unwrap();
    let dir_link = env.cwd.join("cloned-dir");
    fs::create_dir_all(&dir_link).unwrap();
    std::os::unix::fs::symlink(&dir_outside, dir_link.join(".claude")).unwrap();
    for project in [&file_link, &local_link, &dir_link] {
        let install = ["install", "--otlp", "http://127.0.0.1:9", "--otlp-header", "Authorization=Bearer%20tok3n"];
        for command in [&install[..], &["uninstall"]] {
            let mut args = vec!["hooks"];
            args.extend_from_slice(command);
            args.extend_from_slice(&["--project", project.to_str().unwrap()]);
            let out = env.run("claude-session", &args, b"");
            assert_eq!(out.status.code(), Some(1), "{command:?} {}: {}", project.display(), stderr(&out));
            assert!(stderr(&out).contains("outside the project"), "{}", stderr(&out));
        }
    }
    assert_eq!(fs::read_to_string(&outside).unwrap(), "{\"auths\":{}}\n");
    assert_eq!(list(&dir_outside), Vec::<String>::new());

    // A link inside the project is the project's own file.
    let inside = env.cwd.join("linked");
    fs::create_dir_all(inside.join(".claude")).unwrap();
    fs::write(inside.join("shared.json"), "{}\n").unwrap();
    std::os::unix::fs::symlink(inside.join("shared.json"), inside.join(".claude/settings.json")).unwrap();
    let out = env.run("claude-session", &["hooks", "install", "--project", inside.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fs::read_to_string(inside.join("shared.json")).unwrap().contains("pre-tool"));
}

/// `hooks install` racing `hooks uninstall` (two terminals, a dotfiles script and a user): the
/// uninstall removed the hook directory install had just made, and install failed with "No such
/// file or directory" while linking into it. The two now take turns (a lock on the home
/// directory, as `concurrency::install_racing_uninstall_never_finds_the_hook_dir_gone` checks too).
#[test]
fn an_install_racing_an_uninstall_never_fails_on_a_vanished_hook_directory() {
    let env = TestEnv::new();
    // The user's settings are there before (uninstall then keeps `~/.claude`).
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    fs::write(env.home.join(".claude/settings.json"), "{\n  \"model\": \"opus\"\n}\n").unwrap();
    std::thread::scope(|s| {
        let run = |args: &'static [&'static str]| {
            let env = &env;
            s.spawn(move || {
                for _ in 0..60 {
                    let out = env.run("claude-session", args, b"");
                    let text = stderr(&out);
                    assert!(out.status.code() == Some(0) || text.contains("kept changing"), "{args:?}: {text}");
                }
            })
        };
        for handle in [run(&["hooks", "install"]), run(&["hooks", "uninstall"])] {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}
