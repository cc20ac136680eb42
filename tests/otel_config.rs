//! OTLP settings that reach the hooks under Claude Code (issue 25). Claude Code removes every
//! `OTEL_*` variable from a hook's environment, from the shell and from both settings files; ours
//! pass. So each standard variable is also read as `CLAUDE_SESSION_` + its name, `hooks install`
//! writes those, plugin options count too, and `hooks status` names an `OTEL_*` setting the hooks
//! will never see. A header's value is a credential: never printed, never in our own files.

mod common;

use std::fs;
use std::path::Path;

use common::claude::{self, FakeApi, Step};
use common::server::Recorder;
use common::*;
use serde_json::{Value, json};

const SECRET: &str = "Bearer s3cr3t-t0ken-a1b2";

fn user_settings(env: &TestEnv) -> Value {
    json(&fs::read(env.home.join(".claude/settings.json")).unwrap())
}

/// What Claude Code gives a hook: the settings' `env` block (every `OTEL_*` variable removed) and
/// `CLAUDECODE=1`.
fn as_claude_code(env: &mut TestEnv) {
    let settings = user_settings(env);
    let block = settings["env"].as_object().cloned().unwrap_or_default();
    for (k, v) in block {
        if !k.starts_with("OTEL_") {
            env.set(&k, v.as_str().unwrap());
        }
    }
    env.set("CLAUDECODE", "1");
}

/// Every file under `dir` whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(files_holding(&path, needle));
        } else if fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())) {
            found.push(path.display().to_string());
        }
    }
    found
}

fn flush(env: &TestEnv) {
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn installed_otlp_settings_reach_hooks_under_claude_code_and_the_header_is_never_shown() {
    let collector = Recorder::start();
    let mut env = TestEnv::new();
    let out = env.run(
        "claude-session",
        &[
            "hooks",
            "install",
            "--otlp",
            &collector.url,
            "--otlp-header",
            &format!("Authorization={SECRET}"),
            "--otlp-header",
            "x-team=blue",
            "--otlp-protocol",
            "http/json",
            "--otlp-signals",
            "traces",
            "--otlp-service-name",
            "team-claude",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains("s3cr3t") && !stderr(&out).contains("s3cr3t"), "install printed the header");
    let block = user_settings(&env)["env"].clone();
    assert_eq!(block["CLAUDE_SESSION_OTEL_EXPORTER_OTLP_PROTOCOL"], "http/json");
    assert_eq!(block["CLAUDE_SESSION_OTEL_LOGS_EXPORTER"], "none");
    assert_eq!(block["CLAUDE_SESSION_OTEL_SERVICE_NAME"], "team-claude");
    assert!(block.as_object().unwrap().keys().all(|k| !k.starts_with("OTEL_")), "{block}");

    as_claude_code(&mut env);
    replay(&env, &recorded());
    flush(&env);
    let got = collector.wait_for(1);
    assert!(!got.is_empty(), "the collector received nothing");
    for request in &got {
        assert_eq!(request.path, "/v1/traces", "logs are off: {request:?}");
        assert_eq!(request.header("authorization"), Some(SECRET), "{request:?}");
        assert_eq!(request.header("x-team"), Some("blue"));
    }
    assert!(!list(&env.journal_dir().join("outbox")).iter().any(|q| q == "otlp-logs"), "no logs queue");

    // Status from a shell sees the same settings and shows no header value.
    env.env.clear();
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert!(!stdout(&out).contains("s3cr3t") && !stderr(&out).contains("s3cr3t"));
    assert_eq!(files_holding(&env.state, "s3cr3t"), Vec::<String>::new(), "journal, queues and states");
    assert_eq!(files_holding(&env.run, "s3cr3t"), Vec::<String>::new(), "the store");
}

#[test]
fn the_claude_session_name_wins_and_the_plain_otel_name_works_outside_claude_code() {
    let collector = Recorder::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url).set("CLAUDE_SESSION_OTEL_TRACES_EXPORTER", "none");
    env.set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    // Outside Claude Code (a hook run by hand, flush from a shell) the standard name works.
    env.set("OTEL_EXPORTER_OTLP_HEADERS", "x-which=plain");
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    flush(&env);
    let first = collector.wait_for(1);
    assert!(first.iter().all(|r| r.header("x-which") == Some("plain")), "{first:?}");

    // Where both are visible, ours wins.
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "x-which=ours");
    env.hook("post-tool", &fixture("PostToolUse-Bash.json"));
    flush(&env);
    let all = collector.wait_for(first.len() + 1);
    let later = &all[first.len()..];
    assert!(!later.is_empty());
    assert!(later.iter().all(|r| r.header("x-which") == Some("ours")), "{later:?}");
}

#[test]
fn plugin_options_configure_a_plugins_hooks_and_a_variable_wins_over_its_option() {
    let collector = Recorder::start();
    let other = Recorder::start();
    let mut env = TestEnv::new();
    env.set("CLAUDECODE", "1")
        .set("CLAUDE_PLUGIN_OPTION_OTLP_ENDPOINT", &other.url)
        .set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url)
        .set("CLAUDE_PLUGIN_OPTION_OTLP_HEADERS", "Authorization=Bearer%20from-plugin")
        .set("CLAUDE_PLUGIN_OPTION_OTLP_PROTOCOL", "http/json")
        .set("CLAUDE_SESSION_OTEL_TRACES_EXPORTER", "none");
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    flush(&env);
    let got = collector.wait_for(1);
    assert!(!got.is_empty());
    for r in &got {
        assert_eq!(r.header("authorization"), Some("Bearer from-plugin"), "{r:?}");
    }
    assert!(other.requests().is_empty(), "the explicit endpoint wins over the plugin option");
}

#[test]
fn status_names_an_otel_setting_the_hooks_never_see_and_what_to_set_instead() {
    let collector = Recorder::start();
    let env = TestEnv::new();
    let settings = json!({"env": {
        "CLAUDE_SESSION_OTLP_ENDPOINT": collector.url,
        "OTEL_EXPORTER_OTLP_HEADERS": format!("Authorization={}", SECRET.replace(' ', "%20")),
        "OTEL_LOGS_EXPORTER": "none",
        // Claude Code's own exporter's: nothing of ours would change, so nothing to say.
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_TRACES_EXPORTER": "otlp",
    }});
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    fs::write(env.home.join(".claude/settings.json"), settings.to_string()).unwrap();
    let out = env.run("claude-session", &["hooks", "status"], b"");
    let text = stdout(&out);
    for name in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_LOGS_EXPORTER"] {
        let line = text
            .lines()
            .find(|l| l.starts_with("warning:") && l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no warning for {name}:\n{text}"));
        assert!(line.contains(&format!("CLAUDE_SESSION_{name}")), "{line}");
        assert!(line.contains("user settings"), "{line}");
    }
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(!text.contains("warning: OTEL_EXPORTER_OTLP_PROTOCOL") && !text.contains("warning: OTEL_TRACES_EXPORTER"));

    // flush sees what the hooks see: not the plain header. (A hook reads no settings file: Claude
    // Code gives it the block's other variables.)
    let mut env = env;
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url)
        .set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    flush(&env);
    let got = collector.wait_for(1);
    assert!(!got.is_empty() && got.iter().all(|r| !r.headers.contains_key("authorization")), "{got:?}");

    // Given under our name too, the warning goes.
    let mut settings = settings;
    settings["env"]["CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS"] = "x-a=b".into();
    fs::write(env.home.join(".claude/settings.json"), settings.to_string()).unwrap();
    let text = stdout(&env.run("claude-session", &["hooks", "status"], b""));
    assert!(!text.contains("warning: OTEL_EXPORTER_OTLP_HEADERS"), "{text}");
    assert!(text.contains("warning: OTEL_LOGS_EXPORTER"), "{text}");
}

#[test]
fn a_bad_header_is_refused_without_showing_it() {
    let env = TestEnv::new();
    for args in [
        vec!["--otlp-header", "Authorization"],
        vec!["--otlp-header", "Authorization=Bearer s3cr3t\nX-Injected: 1"],
        vec!["--otlp-protocol", "grpc"],
        vec!["--otlp-signals", "metrics"],
    ] {
        let mut all = vec!["hooks", "install", "--otlp", "http://127.0.0.1:4318"];
        all.extend(args.iter().copied());
        let out = env.run("claude-session", &all, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("s3cr3t") && !stdout(&out).contains("s3cr3t"), "{}", stderr(&out));
        assert!(!env.home.join(".claude/settings.json").exists(), "nothing written for {args:?}");
    }
    let out = env.run("claude-session", &["hooks", "install", "--otlp-header", "a=b"], b"");
    assert_eq!(out.status.code(), Some(2), "an --otlp-… option needs --otlp");

    // A header variable that does not parse: the hook records, and neither status nor the
    // queue's state shows the value.
    let collector = Recorder::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url)
        .set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%zzs3cr3t");
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let out = env.run("claude-session", &["flush"], b"");
    assert!(!stdout(&out).contains("s3cr3t") && !stderr(&out).contains("s3cr3t"), "{}", stderr(&out));
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("s3cr3t"), "{}", stdout(&out));
    assert_eq!(files_holding(&env.state, "s3cr3t"), Vec::<String>::new());
    assert!(collector.requests().is_empty());
}

/// The real Claude Code CLI, wired by `hooks install --otlp … --otlp-header …` in the user's
/// settings: the collector sees the header on every request.
#[test]
fn the_real_client_delivers_with_the_installed_header() {
    let Some(cli) = deps::or_skip(claude::cli()) else { return };
    let collector = Recorder::start();
    let env = TestEnv::new();
    let header = format!("Authorization={SECRET}");
    let args = ["hooks", "install", "--otlp", &collector.url, "--otlp-header", &header, "--otlp-protocol", "http/json"];
    let out = env.run("claude-session", &args, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let api = FakeApi::start();
    api.script(
        "say hello",
        vec![Step::tool("Bash", json!({"command": "echo hello", "description": "say hello"})), Step::text("Hello.")],
    );
    let mut cmd = env.claude(&cli, &api);
    // Set where Claude Code removes it: the shell's OTEL_* must change nothing.
    cmd.env("OTEL_EXPORTER_OTLP_HEADERS", "authorization=from-the-shell");
    cmd.args(["-p", "say hello", "--dangerously-skip-permissions"]);
    let out = feed(cmd, b"");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    flush(&env);
    let got = collector.wait_for(2);
    assert!(got.iter().any(|r| r.path == "/v1/logs") && got.iter().any(|r| r.path == "/v1/traces"), "{got:?}");
    for r in &got {
        assert_eq!(r.header("authorization"), Some(SECRET), "{r:?}");
    }
}
