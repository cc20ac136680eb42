//! OTLP settings that reach the hooks under Claude Code (issue 25). Claude Code removes every
//! `OTEL_*` variable from a hook's environment, from the shell and from both settings files; ours
//! pass. So each standard variable is also read as `CLAUDE_SESSION_` + its name, `hooks install`
//! writes those, plugin options count too, and `hooks status` names an `OTEL_*` setting the hooks
//! will never see. A header's value is a credential: never printed, never in our own files.

mod common;

use std::fs;
use std::path::Path;

use common::claude::{self, FakeApi, Step};
use common::server::{Recorder, Request};
use common::*;
use serde_json::{Value, json};

const SECRET: &str = "Bearer s3cr3t-t0ken-a1b2";

/// A collector that refuses every request with 401, its message echoing the `Authorization` header
/// it got, as some collectors and proxies do.
fn echoing_401(request: &Request) -> (u16, String) {
    let message = format!("invalid credentials: {}", request.header("authorization").unwrap_or_default());
    (401, json!({ "message": message }).to_string())
}

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

/// `flush`, then `flush --adopt` of each queue it names as another destination's.
fn flush_adopting(env: &TestEnv) {
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    for note in stderr(&out).split("`flush --adopt ").skip(1) {
        let queue = note.split('`').next().unwrap();
        let out = env.run("claude-session", &["flush", "--adopt", queue], b"");
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    }
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
    assert!(env.queues("otlp-logs").is_empty(), "no logs queue");

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
    // Outside Claude Code (a hook run by hand, flush from a shell) the standard name works; a
    // header, beside the standard endpoint naming the same collector (F5).
    env.set("OTEL_EXPORTER_OTLP_ENDPOINT", format!("{}/", collector.url));
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

#[test]
fn a_collector_echoing_the_header_in_its_refusal_never_gets_it_stored_or_shown() {
    let collector = Recorder::answering(echoing_401);
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url);
    // Neither value has a form the secrets filter knows: only knowing our own headers finds them.
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Token%20zq7Wd2kLmP4x,x-key=plainEchoVal9");
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_LOGS_HEADERS", "Authorization=zz81QbMnQrtY");
    env.hook("session-start", &payload("SessionStart", Some("s1"), "/w/p", json!({"source": "startup"})));
    // The hook's deliverer or this flush sets it aside.
    env.run("claude-session", &["flush"], b"");
    let status = json(&env.run("claude-session", &["hooks", "status", "--json"], b"").stdout);
    let logs = status["outbox"]["sinks"].as_array().unwrap().iter().find(|s| s["sink"] == "otlp-logs").unwrap().clone();
    assert_eq!(logs["to_resend"], 1, "{logs}");
    let got = collector.requests();
    assert!(got.iter().any(|r| r.header("authorization") == Some("zz81QbMnQrtY")), "{got:?}");
    for secret in ["zz81QbMnQrtY", "zq7Wd2kLmP4x"] {
        assert_eq!(files_holding(&env.state, secret), Vec::<String>::new(), "queue state, rejected/");
        for args in [&["hooks", "status"][..], &["show", "--all"], &["show", "--all", "--json"]] {
            let out = env.run("claude-session", args, b"");
            let text = format!("{}{}", stdout(&out), stderr(&out));
            assert!(text.contains("401"), "{args:?}: {text}");
            assert!(!text.contains(secret), "{args:?} shows {secret}: {text}");
        }
    }
    // `export` sends the journal again; its refusals are said under debug.
    env.set("CLAUDE_SESSION_DEBUG", "1");
    let out = env.run("claude-session", &["export", "--since", "1d", "--all-projects"], b"");
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("zz81QbMnQrtY"), "{}", stderr(&out));
}

#[test]
fn install_never_writes_a_header_into_settings_other_users_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let settings = env.home.join(".claude/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    for dir in [&env.root, &env.home, &settings.parent().unwrap().to_path_buf()] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    // As an editor or Claude Code itself leaves it: readable by everyone.
    fs::write(&settings, "{}\n").unwrap();
    fs::set_permissions(&settings, fs::Permissions::from_mode(0o644)).unwrap();
    let install =
        ["hooks", "install", "--otlp", "http://127.0.0.1:4318", "--otlp-header", "Authorization=Bearer m0deT0ken"];
    let out = env.run("claude-session", &install, b"");
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("m0deT0ken"), "{}", stderr(&out));
    assert_eq!(files_holding(&env.home, "m0deT0ken"), Vec::<String>::new(), "written where others read it");
    fs::set_permissions(&settings, fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.run("claude-session", &install, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let state = settings.with_file_name("settings.json.claude-session.state");
    for file in [&settings, &state] {
        assert_eq!(fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600, "{}", file.display());
    }
}

/// Finding F1: a header written as curl writes it (`Name: value`), with `=` in its value, was
/// split at the `=` and its "name" (holding the value) printed in the error. Now that form is
/// taken, and a member that is neither form is named by its number, never its text.
#[test]
fn otlp_header_in_curls_form_with_base64_padding_is_taken_and_never_printed() {
    let collector = Recorder::start();
    let mut env = TestEnv::new();
    let args = ["hooks", "install", "--otlp", &collector.url, "--otlp-header", "X-Key: abcS3CRET=="];
    let out = env.run("claude-session", &args, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains("S3CRET"), "{}", stdout(&out));
    as_claude_code(&mut env);
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    flush(&env);
    let got = collector.wait_for(1);
    assert!(!got.is_empty());
    for r in &got {
        assert_eq!(r.header("x-key"), Some("abcS3CRET=="), "{r:?}");
    }

    let env = TestEnv::new();
    for bad in ["X Key: abcS3CRET==", "abcS3CRET", "Bearer abcS3CRET", "X-Key: abc\u{1}S3CRET"] {
        let args =
            ["hooks", "install", "--otlp", "http://127.0.0.1:4318", "--otlp-header", "a=b", "--otlp-header", bad];
        let out = env.run("claude-session", &args, b"");
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let said = format!("{}{}", stdout(&out), stderr(&out));
        assert!(said.contains("--otlp-header 2") && !said.contains("S3CRET"), "{bad}: {said}");
        assert!(!env.home.join(".claude/settings.json").exists(), "nothing written for {bad}");
    }
}

/// Finding F2: `Name: value=…` or `name value=…` in a header list parsed, the value became the
/// header's name: `hooks status` listed it as a name, and every request failed in the client
/// (`invalid HTTP header name`), which was retried forever with no configuration problem said.
/// Now it is a configuration error naming the variable and the member's number, in `hooks
/// status`, `flush` and the deliverer's state.
#[test]
fn a_header_list_with_a_value_taken_for_a_name_is_a_configuration_error_not_a_retry_loop() {
    const TOKEN: &str = "9f8e7d6c5b4a39281706";
    for list in [format!("api-key {TOKEN}=x"), format!("x-team=blue,x-api-key: {TOKEN}="), format!("k=a%01{TOKEN}")] {
        let collector = Recorder::start();
        let mut env = TestEnv::new();
        let var = "CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS";
        env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url).set(var, &list);
        env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
        // Headers that do not parse name no destination (F6: a queue is its URL and credentials):
        // nothing is queued, and the journal has the event.
        assert!(env.queues("otlp-logs").is_empty(), "{list}");
        assert_eq!(env.journal().len(), 1, "{list}");

        let out = env.run("claude-session", &["flush"], b"");
        assert_ne!(out.status.code(), Some(0), "{list}");
        assert!(stderr(&out).contains(var) && stderr(&out).contains("member "), "{list}: {}", stderr(&out));
        let out = env.run("claude-session", &["hooks", "status"], b"");
        assert_eq!(out.status.code(), Some(1), "{list}: {}", stdout(&out));
        assert!(stdout(&out).contains(var) && !stdout(&out).contains("headers set"), "{list}: {}", stdout(&out));
        for said in [stdout(&out), stderr(&out)] {
            assert!(!said.contains(TOKEN), "{list}: {said}");
        }
        assert_eq!(files_holding(&env.state, TOKEN), Vec::<String>::new(), "{list}");
        assert!(collector.requests().is_empty(), "{list}: nothing sent with a broken header");
    }
}

/// Finding F3: a base endpoint with a query got the signal's path after the query
/// (`/?token=abc/v1/logs`), and one with a fragment lost everything after it. Both are refused
/// by `hooks install --otlp` and in the variable, without showing the query; a per-signal endpoint
/// is used as given, query and all.
#[test]
fn an_otlp_base_endpoint_with_a_query_or_fragment_is_refused() {
    let collector = Recorder::start();
    for url in [format!("{}/?token=qS3CRET", collector.url), format!("{}/otlp#qS3CRET", collector.url)] {
        let env = TestEnv::new();
        let out = env.run("claude-session", &["hooks", "install", "--otlp", &url], b"");
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        assert!(stderr(&out).contains("query") && !stderr(&out).contains("qS3CRET"), "{}", stderr(&out));
        assert!(!env.home.join(".claude/settings.json").exists());

        let mut env = TestEnv::new();
        env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &url);
        env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
        let out = env.run("claude-session", &["flush"], b"");
        assert_ne!(out.status.code(), Some(0));
        assert!(stderr(&out).contains("CLAUDE_SESSION_OTLP_ENDPOINT"), "{}", stderr(&out));
        let out = env.run("claude-session", &["hooks", "status"], b"");
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).contains("CLAUDE_SESSION_OTLP_ENDPOINT") && !stdout(&out).contains("qS3CRET"));
    }
    assert!(collector.requests().is_empty(), "{:?}", collector.requests());

    // A signal's own endpoint is the whole URL: its query stays.
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url)
        .set("CLAUDE_SESSION_OTEL_TRACES_EXPORTER", "none")
        .set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", format!("{}/v1/logs?tenant=a", collector.url));
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    flush(&env);
    let got = collector.wait_for(1);
    assert!(!got.is_empty() && got.iter().all(|r| r.path == "/v1/logs?tenant=a"), "{got:?}");
}

/// Finding F5: with Claude Code's own telemetry configured in the shell (`OTEL_EXPORTER_OTLP_
/// ENDPOINT` at another collector, its key in `OTEL_EXPORTER_OTLP_HEADERS`), `flush` from that
/// shell sent the key to our collector. The plain headers, certificates and per-signal endpoints
/// are taken only beside a plain endpoint naming our collector; `hooks status` never suggests
/// copying them.
#[test]
fn claude_codes_own_otlp_credentials_in_a_shell_never_reach_our_collector() {
    let ours = Recorder::start();
    let theirs = Recorder::start();
    let mut env = TestEnv::new();
    let out = env.run("claude-session", &["hooks", "install", "--otlp", &ours.url], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A hook under Claude Code (no OTEL_* variable) whose collector is down: its events wait in
    // that destination's queue (F6), which the shell's flush, reading the installed settings,
    // names and sends to ours when asked (`--adopt`), with the headers it resolves.
    let down = format!("http://127.0.0.1:{}", common::server::TestServer::closed_port());
    let hook = |env: &TestEnv| {
        let mut cmd = env.command(env.bin.join("post-tool"));
        for name in env.env.keys().filter(|k| k.starts_with("OTEL_")) {
            cmd.env_remove(name);
        }
        cmd.env("CLAUDECODE", "1").env("CLAUDE_SESSION_OTLP_ENDPOINT", &down);
        let out = feed(cmd, &fixture("PostToolUse-Bash.json"));
        assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    };

    // Claude Code's exporter's settings, as the user exported them for it; with the standard
    // endpoint set to another collector, and with it set nowhere this shell can see.
    let claude_codes = [
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=HONEYCOMBKEY"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-trace-key=HONEYCOMBKEY"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/claude-codes-ca.pem"),
        ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", &format!("{}/v1/logs", theirs.url)),
    ];
    let mut sent = 0;
    for endpoint in [Some(theirs.url.clone()), None] {
        for (k, v) in claude_codes {
            env.set(k, v);
        }
        env.env.remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        if let Some(url) = &endpoint {
            env.set("OTEL_EXPORTER_OTLP_ENDPOINT", url);
        }
        hook(&env);
        flush_adopting(&env);
        let got = ours.wait_for(sent + 1);
        assert!(got.len() > sent, "{endpoint:?}: our collector received nothing");
        for r in &got[sent..] {
            assert!(!r.headers.values().any(|v| v.contains("HONEYCOMBKEY")), "{endpoint:?}: {r:?}");
        }
        sent = got.len();
        let text = stdout(&env.run("claude-session", &["hooks", "status"], b""));
        assert!(!text.contains("HONEYCOMBKEY"), "{text}");
        // Beside another collector's endpoint they are that collector's: not a word. Without
        // one, a warning, that never says to copy them.
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("_HEADERS") || l.contains("_CERTIFICATE")).collect();
        assert_eq!(lines.is_empty(), endpoint.is_some(), "{endpoint:?}: {text}");
        for line in lines {
            assert!(line.contains("our collector's own value") && !line.contains(" too"), "{line}");
        }
    }
    assert!(theirs.requests().is_empty(), "{:?}", theirs.requests());

    // Beside a standard endpoint naming our collector, they are ours.
    env.set("OTEL_EXPORTER_OTLP_ENDPOINT", &ours.url).set("OTEL_EXPORTER_OTLP_CERTIFICATE", "");
    env.set("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "");
    hook(&env);
    flush_adopting(&env);
    let got = ours.wait_for(sent + 1);
    assert!(got.len() > sent && got[sent..].iter().all(|r| r.headers.contains_key("x-honeycomb-team")), "{got:?}");
}

/// Finding F8: a FIFO named as the OTLP certificate (by mistake, or planted) made `hooks status`
/// and `hooks install --otlp-certificate` wait for a writer forever, and every deliverer a hook
/// forked block holding its queue's lock, so nothing was delivered again. A certificate must be a
/// regular file, opened without blocking.
#[test]
fn a_fifo_named_as_the_otlp_certificate_is_refused_at_once_not_waited_on() {
    let mut env = TestEnv::new();
    let fifo = env.home.join("cert.pem");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let limit = std::time::Duration::from_secs(30);
    let mut install = env.command(env.bin.join("claude-session"));
    install.args(["hooks", "install", "--otlp", "http://127.0.0.1:9", "--otlp-certificate"]).arg(&fifo);
    let out = within(install, b"", limit);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("not a regular file"), "{}", stderr(&out));

    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", "http://127.0.0.1:9");
    env.set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_CERTIFICATE", fifo.to_str().unwrap());
    let mut status = env.command(env.bin.join("claude-session"));
    status.args(["hooks", "status"]);
    let out = within(status, b"", limit);
    assert!(stdout(&out).contains("not a regular file"), "{}", stdout(&out));
    let out = within(env.command(env.bin.join("session-start")), &fixture("SessionStart-startup.json"), limit);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    let mut flush = env.command(env.bin.join("claude-session"));
    flush.arg("flush");
    let out = within(flush, b"", limit);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("not a regular file"), "{}", stderr(&out));
}

/// Noticed last session: `hooks install --project DIR --otlp-header …` wrote the token into the
/// project's `.claude/settings.json`, which is usually committed to git. The credential now goes
/// to the project's personal `.claude/settings.local.json` (0600 when made; refused when others can
/// read it or git tracks it), which Claude Code applies and never commits, and our reader reads for
/// a project Claude Code trusts (F7's rule holds); uninstall takes it out again.
#[test]
fn install_for_a_project_never_writes_a_header_into_its_committed_settings() {
    use std::os::unix::fs::PermissionsExt;
    const TOKEN: &str = "pr0ject-t0ken-9f8e";
    let collector = Recorder::start();
    let env = TestEnv::new();
    let project = env.cwd.clone();
    let git = |args: &[&str]| {
        std::process::Command::new("git").arg("-C").arg(&project).args(args).output().is_ok_and(|o| o.status.success())
    };
    let in_git = git(&["init", "-q"]);
    if !in_git {
        println!("skipped: git is not installed (the .gitignore checks)");
    }
    let header = format!("Authorization=Bearer {TOKEN}");
    let dir = project.to_str().unwrap();
    let install = ["hooks", "install", "--project", dir, "--otlp", &collector.url, "--otlp-header", &header];
    let out = env.run("claude-session", &install, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains(TOKEN), "{}", stdout(&out));
    let (shared, local) = (project.join(".claude/settings.json"), project.join(".claude/settings.local.json"));
    let state = project.join(".claude/settings.local.json.claude-session.state");
    let mut holding = files_holding(&project, TOKEN);
    holding.sort();
    assert_eq!(holding, [local.display().to_string(), state.display().to_string()], "only the personal settings");
    assert_eq!(json(&fs::read(&shared).unwrap())["env"]["CLAUDE_SESSION_OTLP_ENDPOINT"], collector.url.as_str());
    assert!(json(&fs::read(&local).unwrap())["env"]["CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS"].is_string());
    for file in [&local, &state] {
        assert_eq!(fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600, "{}", file.display());
    }
    if in_git {
        assert!(stderr(&out).contains("git does not ignore"), "{}", stderr(&out));
    }

    // Not trusted by Claude Code: neither file is read from a shell (F7).
    let status = |env: &TestEnv| json(&env.run("claude-session", &["hooks", "status", "--json"], b"").stdout);
    assert_eq!(status(&env)["otlp_headers"], json!([]), "an untrusted project's header was read");
    fs::write(env.home.join(".claude.json"), json!({"projects": {dir: {"hasTrustDialogAccepted": true}}}).to_string())
        .unwrap();
    assert_eq!(status(&env)["otlp_headers"], json!(["Authorization"]));

    // What Claude Code gives the hooks: both files' env blocks; then a shell's flush sends with it.
    let mut hook = env.command(env.bin.join("pre-tool"));
    for file in [&shared, &local] {
        for (k, v) in json(&fs::read(file).unwrap())["env"].as_object().unwrap() {
            hook.env(k, v.as_str().unwrap());
        }
    }
    hook.env("CLAUDECODE", "1");
    let out = feed(hook, &fixture("PreToolUse-Bash.json"));
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0), "{}", stderr(&out));
    flush(&env);
    let got = collector.wait_for(1);
    assert!(!got.is_empty());
    for r in &got {
        assert_eq!(r.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()), "{r:?}");
    }

    let out = env.run("claude-session", &["hooks", "uninstall", "--project", dir], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!local.exists() && !state.exists(), "the personal settings we made are gone");
    assert_eq!(files_holding(&project, TOKEN), Vec::<String>::new());

    // A personal file others can read, or one git tracks, is refused, and nothing is written.
    fs::create_dir_all(local.parent().unwrap()).unwrap();
    fs::write(&local, "{}\n").unwrap();
    for dir in [&env.root, &project, &local.parent().unwrap().to_path_buf()] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(&local, fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run("claude-session", &install, b"");
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    if in_git {
        fs::set_permissions(&local, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(git(&["add", ".claude/settings.local.json"]));
        let out = env.run("claude-session", &install, b"");
        assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
        assert!(stderr(&out).contains("tracked by git"), "{}", stderr(&out));
    }
    assert_eq!(files_holding(&project, TOKEN), Vec::<String>::new(), "a refused install wrote the token");
}

/// Noticed last session: a plain `OTEL_LOG_USER_PROMPTS=1` (or `OTEL_LOG_TOOL_DETAILS=1`) a user
/// exports for Claude Code's own telemetry made a shell's `flush` send prompt text (tool input) to
/// our collector, which our hooks' deliverers (which never see a plain `OTEL_*` name) would not.
/// The opt-ins follow the headers' rule: a plain one counts only beside a plain
/// `OTEL_EXPORTER_OTLP_ENDPOINT` naming our collector; ours (`CLAUDE_SESSION_OTEL_…`) always.
#[test]
fn a_plain_otel_log_opt_in_meant_for_claude_codes_telemetry_never_widens_what_we_send() {
    const PROMPT: &str = "the xyzzy prompt";
    const COMMAND: &str = "echo plugh-input";
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Vars, bool); 4] = [
        ("for Claude Code's collector", &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")], false),
        ("no plain endpoint to tell whose", &[], false),
        ("the plain endpoint is ours", &[("OTEL_EXPORTER_OTLP_ENDPOINT", "OURS")], true),
        (
            "ours given under our name",
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
                ("CLAUDE_SESSION_OTEL_LOG_USER_PROMPTS", "1"),
                ("CLAUDE_SESSION_OTEL_LOG_TOOL_DETAILS", "1"),
            ],
            true,
        ),
    ];
    for (case, vars, sent) in cases {
        let collector = Recorder::start();
        let mut env = TestEnv::new();
        env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &collector.url)
            .set("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
            .set("OTEL_LOG_USER_PROMPTS", "1")
            .set("OTEL_LOG_TOOL_DETAILS", "1");
        for (k, v) in vars {
            env.set(k, if *v == "OURS" { collector.url.as_str() } else { v });
        }
        let cwd = env.cwd.to_str().unwrap().to_owned();
        env.hook("session-start", &payload("UserPromptSubmit", Some("s-optin"), &cwd, json!({"prompt": PROMPT})));
        let call = json!({"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": COMMAND}});
        env.hook("pre-tool", &payload("PreToolUse", Some("s-optin"), &cwd, call));
        flush(&env);
        // `flush` returns once everything queued is delivered (the logs; no span has closed yet).
        let got = collector.requests();
        let bodies: String = got.iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect();
        assert!(bodies.contains("s-optin"), "{case}: nothing arrived: {bodies}");
        assert_eq!(bodies.contains(PROMPT), sent, "{case}: prompt text");
        assert_eq!(bodies.contains(COMMAND), sent, "{case}: tool input");
    }
}
