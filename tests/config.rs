//! One configuration for every command: the environment first, then the `env` block of the
//! settings that wire us, so a shell and cron see what the hooks see. Bad values are named by
//! `hooks status`, never silently replaced (issue 9).

mod common;

use std::fs;
use std::time::Duration;

use common::server::{Mode, TestServer};
use common::*;

fn install(env: &TestEnv, args: &[&str]) {
    let mut all = vec!["hooks", "install"];
    all.extend_from_slice(args);
    let out = env.run("claude-session", &all, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A hook as Claude Code runs it: the settings' env block applied to its environment.
fn hook_under_claude_code(env: &TestEnv, url: &str, payload: &[u8]) {
    let mut cmd = env.command(env.bin.join("post-tool"));
    cmd.env("CLAUDECODE", "1").env("CLAUDE_SESSION_SERVER_URL", url).env("CLAUDE_SESSION_SERVER_TIMEOUT", "300ms");
    let out = feed(cmd, payload);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
}

#[test]
fn server_from_install_is_seen_by_status_and_flush_from_a_shell() {
    let server = TestServer::start();
    let env = TestEnv::new();
    install(&env, &["--server", &server.url]);
    server.set(Mode::Fail);
    hook_under_claude_code(&env, &server.url, &fixture("PostToolUse-Bash.json"));

    // From a shell: no CLAUDE_SESSION_SERVER_URL in the environment.
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert!(stdout(&out).contains(&server.url), "{}", stdout(&out));
    server.set(Mode::Up);
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(server.wait_for(1, Duration::from_secs(10)).len(), 1);
}

#[test]
fn cron_cleanup_with_an_empty_environment_delivers_to_the_installed_server() {
    let server = TestServer::start();
    let env = TestEnv::new();
    install(&env, &["--server", &server.url]);
    server.set(Mode::Fail);
    // Cron gives HOME, PATH and little else: the journal is in the default place under HOME.
    let mut cmd = env.command(env.bin.join("post-tool"));
    cmd.env_remove("XDG_STATE_HOME").env("CLAUDECODE", "1").env("CLAUDE_SESSION_SERVER_URL", &server.url);
    feed(cmd, &fixture("PostToolUse-Bash.json"));
    // Let the failing deliverer finish before the server comes back.
    let mut cmd = env.command(env.bin.join("claude-session"));
    cmd.env_remove("XDG_STATE_HOME").arg("flush");
    feed(cmd, b"");
    assert!(server.accepted().is_empty());

    server.set(Mode::Up);
    let mut cron = std::process::Command::new(env.bin.join("cleanup"));
    cron.env_clear().env("HOME", &env.home).env("PATH", "/usr/bin:/bin").current_dir("/");
    let out = feed(cron, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = server.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1, "cron's cleanup delivered the pending event");
    assert_eq!(got[0]["session_id"], "a3008a2b-25c3-4791-b916-3ad5effae209");
}

#[test]
fn status_names_every_bad_value_and_exits_1() {
    let env = TestEnv::new();
    install(&env, &[]);
    assert_eq!(env.run("claude-session", &["hooks", "status"], b"").status.code(), Some(0));
    for (var, value) in [
        ("CLAUDE_SESSION_TTL", "bogus"),
        ("CLAUDE_SESSION_SERVER_TIMEOUT", "forever"),
        ("CLAUDE_SESSION_SERVER_TIMEOUT", "18446744073709551615"),
        ("CLAUDE_SESSION_SERVER_TIMEOUT", "0"),
        ("CLAUDE_SESSION_DIR", "sess"),
        ("CLAUDE_SESSION_LOG_DIR", "logs"),
        ("CLAUDE_SESSION_SERVER_URL", "notaurl"),
        ("CLAUDE_SESSION_LOG_DAYS", "-1"),
    ] {
        let mut cmd = env.command(env.bin.join("claude-session"));
        cmd.env(var, value).args(["hooks", "status"]);
        let out = feed(cmd, b"");
        assert_eq!(out.status.code(), Some(1), "{var}={value}: {}", stdout(&out));
        assert!(stdout(&out).contains(var), "{var}={value}: {}", stdout(&out));
    }
}

#[test]
fn a_relative_store_directory_is_refused_not_made_in_the_project() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_DIR", "sess").set("CLAUDE_SESSION_DEBUG", "1");
    let out = env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    assert!(!env.cwd.join("sess").exists(), "sess/ was made in the working directory");
    assert!(stderr(&out).contains("CLAUDE_SESSION_DIR"), "{}", stderr(&out));
    assert!(stderr(&out).contains("relative"), "{}", stderr(&out));
}

#[test]
fn a_hook_falls_back_to_the_default_with_one_debug_line() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_TTL", "bogus").set("CLAUDE_SESSION_DEBUG", "1");
    let out = env.hook("session-start", &fixture("SessionStart-startup.json"));
    let err = stderr(&out);
    assert!(err.contains("CLAUDE_SESSION_TTL: \"bogus\" is not a duration"), "{err}");
    assert!(err.contains("using the default"), "{err}");
    assert_eq!(env.show("/home/dev/src/proj").0, "a3008a2b-25c3-4791-b916-3ad5effae209");
}

#[test]
fn install_refuses_a_bad_server_url_and_changes_nothing() {
    let env = TestEnv::new();
    let out = env.run("claude-session", &["hooks", "install", "--server", "notaurl"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("notaurl"), "{}", stderr(&out));
    assert!(list(&env.home).is_empty(), "{:?}", list(&env.home.join(".claude")));
}

#[test]
fn install_dry_run_changes_nothing() {
    let env = TestEnv::new();
    let out = env.run("claude-session", &["hooks", "install", "--dry-run"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("would wire"), "{}", stdout(&out));
    assert!(list(&env.home).is_empty());
}

#[test]
fn status_fails_with_an_unreachable_server_and_pending_events() {
    let env = TestEnv::new();
    let url = format!("http://127.0.0.1:{}/events", TestServer::closed_port());
    install(&env, &["--server", &url]);
    hook_under_claude_code(&env, &url, &fixture("PostToolUse-Bash.json"));
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(1), "an event is still pending");
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("waiting"), "{}", stdout(&out));
    let status = json(&env.run("claude-session", &["hooks", "status", "--json"], b"").stdout);
    assert_eq!(status["ok"], false);
    assert!(fs::metadata(user_settings(&env)).is_ok());
}

fn user_settings(env: &TestEnv) -> std::path::PathBuf {
    env.home.join(".claude/settings.json")
}

#[test]
fn install_wires_an_otlp_endpoint_and_uninstall_takes_it_out() {
    let env = TestEnv::new();
    install(&env, &["--otlp", "http://127.0.0.1:4318"]);
    let settings = json(&fs::read(user_settings(&env)).unwrap());
    assert_eq!(settings["env"]["CLAUDE_SESSION_OTLP_ENDPOINT"], "http://127.0.0.1:4318");
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert!(stdout(&out).contains("otlp     http://127.0.0.1:4318/v1/logs"), "{}", stdout(&out));
    let out = env.run("claude-session", &["hooks", "uninstall"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!user_settings(&env).exists(), "the file we made is gone again");
}

/// Variables are read from the environment in place (src/config.rs `env`): a name is only ever
/// itself, never a variable whose name starts or ends with it, and an empty value is unset.
#[test]
fn a_variable_is_found_by_its_whole_name_only() {
    let env = TestEnv::new();
    let decoy = env.root.join("decoy");
    let mut cmd = env.command(env.bin.join("pre-tool"));
    cmd.env("CLAUDE_SESSION_LOG_DIRX", &decoy)
        .env("XCLAUDE_SESSION_LOG_DIR", &decoy)
        .env("CLAUDE_SESSION_LOG_DI", &decoy)
        .env("CLAUDE_SESSION_LOG_DIR", "");
    let out = feed(cmd, &fixture("PreToolUse-Bash.json"));
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0), "{}", stderr(&out));
    assert!(!decoy.exists(), "a look-alike name was taken for CLAUDE_SESSION_LOG_DIR");
    assert_eq!(list(&env.journal_dir()).len(), 1, "the journal went to its default place");

    let chosen = env.root.join("chosen");
    let mut cmd = env.command(env.bin.join("pre-tool"));
    cmd.env("CLAUDE_SESSION_LOG_DIRX", &decoy).env("CLAUDE_SESSION_LOG_DIR", &chosen);
    feed(cmd, &fixture("PreToolUse-Bash.json"));
    assert_eq!(list(&chosen).len(), 1);
    assert!(!decoy.exists());
}

/// `~/.claude.json` as Claude Code writes it once its trust dialog was accepted for `dir`.
fn trust(env: &TestEnv, dir: &std::path::Path) {
    let config = serde_json::json!({"numStartups": 3, "projects": {
        "/elsewhere": {"hasTrustDialogAccepted": true},
        dir.to_str().unwrap(): {"allowedTools": [], "hasTrustDialogAccepted": true},
    }});
    fs::write(env.home.join(".claude.json"), config.to_string()).unwrap();
}

/// Finding F9: the trust check (F7) parsed all of `~/.claude.json` for every command run outside
/// Claude Code, project settings or not; Claude Code keeps every project's history there, and a
/// 43 MB one made `show --sessions` take 0.3 s and 175 MB (release build). It is read only when the
/// project has settings to trust, and then only its own entries are parsed.
#[test]
fn claude_json_is_read_only_when_a_project_has_settings_to_trust() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_DEBUG", "1");
    trust(&env, &env.cwd);
    let reads = |env: &TestEnv| {
        let out = env.run("claude-session", &["show", "--sessions"], b"");
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out).lines().filter(|l| l.contains(".claude.json")).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(reads(&env), Vec::<String>::new(), "no project settings: nothing to trust");
    fs::create_dir_all(env.cwd.join(".claude")).unwrap();
    fs::write(env.cwd.join(".claude/settings.local.json"), r#"{"env": {"CLAUDE_SESSION_LOG_DAYS": "9"}}"#).unwrap();
    let lines = reads(&env);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(&format!("Claude Code trusts {}", env.cwd.display())), "{lines:?}");
}

/// Finding F7: outside Claude Code, `flush`, `export` and `hooks status` applied a project's
/// `.claude/settings.json` `env` unasked: a cloned repository naming its own server got the user's
/// queued events and journal (and a GET from `hooks status`). Claude Code applies a project's
/// settings only once its trust dialog was accepted there; so do we, and `hooks status` says
/// when it left a project's settings out.
#[test]
fn an_untrusted_projects_settings_are_not_applied_by_shell_commands() {
    let server = TestServer::start();
    let env = TestEnv::new();
    let cwd = env.cwd.to_str().unwrap().to_owned();
    env.hook("pre-tool", &payload("PreToolUse", Some("s-f7"), &cwd, serde_json::json!({"tool_name": "Bash"})));
    fs::create_dir_all(env.cwd.join(".claude")).unwrap();
    let settings = serde_json::json!({"env": {"CLAUDE_SESSION_SERVER_URL": server.url}});
    fs::write(env.cwd.join(".claude/settings.json"), settings.to_string()).unwrap();

    for (untrusted, why) in [(None, "no ~/.claude.json"), (Some("/elsewhere"), "another project trusted")] {
        if let Some(dir) = untrusted {
            trust(&env, std::path::Path::new(dir));
        }
        for args in [&["export", "--since", "7d"][..], &["flush"]] {
            let out = env.run("claude-session", args, b"");
            assert_ne!(out.status.code(), Some(0), "{why}: {args:?}: {}", stdout(&out));
            assert!(stderr(&out).contains("no sink configured"), "{why}: {args:?}: {}", stderr(&out));
        }
        let out = env.run("claude-session", &["hooks", "status"], b"");
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l.starts_with("warning:") && l.contains("trust"))
            .unwrap_or_else(|| panic!("{why}: {text}"));
        assert!(line.contains(&env.cwd.join(".claude/settings.json").display().to_string()), "{line}");
        assert!(!text.contains(&server.url), "{why}: {text}");
        assert_eq!(server.requests(), 0, "{why}: nothing reached the project's server");
    }

    // Trusted in Claude Code: the project's settings count, as they do for its hooks.
    trust(&env, &env.cwd);
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert!(stdout(&out).contains(&server.url) && !stdout(&out).contains("trust"), "{}", stdout(&out));
    let out = env.run("claude-session", &["export", "--since", "7d"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(server.wait_for(1, Duration::from_secs(10)).len(), 1);

    // A folder above a trusted one is not; one below it is (Claude Code looks up the ancestors).
    let below = env.cwd.join("sub");
    fs::create_dir_all(below.join(".claude")).unwrap();
    fs::write(below.join(".claude/settings.json"), settings.to_string()).unwrap();
    let mut cmd = env.command(env.bin.join("claude-session"));
    cmd.current_dir(&below).args(["hooks", "status"]);
    let text = stdout(&feed(cmd, b""));
    assert!(text.contains(&server.url) && !text.contains("trust"), "{text}");
    trust(&env, &below);
    let text = stdout(&env.run("claude-session", &["hooks", "status"], b""));
    assert!(!text.contains(&server.url) && text.contains("trust"), "{text}");
}

/// Finding F7, `export`'s part: it sent every project's journal to whichever server the current
/// directory's settings named. It sends the current project's sessions, and every project's
/// with `--all-projects`.
#[test]
fn export_sends_only_the_current_projects_sessions_unless_all_projects() {
    let server = TestServer::start();
    let mut env = TestEnv::new();
    let here = env.cwd.to_str().unwrap().to_owned();
    let other = env.root.join("other");
    fs::create_dir_all(&other).unwrap();
    let bash = serde_json::json!({"tool_name": "Bash"});
    env.hook("pre-tool", &payload("PreToolUse", Some("s-here"), &here, bash.clone()));
    env.hook("pre-tool", &payload("PreToolUse", Some("s-other"), other.to_str().unwrap(), bash));
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url);

    let out = env.run("claude-session", &["export", "--since", "7d"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("1 of other projects left out (--all-projects"), "{}", stdout(&out));
    let got = server.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.iter().map(|e| e["session_id"].as_str().unwrap()).collect::<Vec<_>>(), ["s-here"]);

    let out = env.run("claude-session", &["export", "--since", "7d", "--all-projects"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let got = server.wait_for(3, Duration::from_secs(10));
    let mut sessions: Vec<&str> = got[1..].iter().map(|e| e["session_id"].as_str().unwrap()).collect();
    sessions.sort();
    assert_eq!(sessions, ["s-here", "s-other"]);
}
