//! Issue 28, against the real Claude Code CLI (npm, offline, the tests' own fake Messages API):
//! the hooks `hooks install` wires start with `claude` as their parent (no shell); the plugin in
//! this repository installs from a local directory marketplace, its options reach its hooks, and
//! `hooks status` never prints the sensitive one; installed both ways, each event is journaled
//! once. Plus the plugin's files checked against the applet table and the configuration.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use claude_session::{applets, config};
use common::claude::{self, FakeApi, Step};
use common::server::{Recorder, Request, TestServer};
use common::*;
use serde_json::{Value, json};

const MARKETPLACE: &str = "claude-session";
/// The plugin's directory, inside the marketplace's `.claude-plugin/` (the repository's top level
/// holds only what the design card lists).
const PLUGIN_DIR: &str = ".claude-plugin/session-recorder";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    json(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The session `claude -p` ran: the one transcript under the test's HOME.
fn transcript_session(env: &TestEnv) -> String {
    let mut ids = Vec::new();
    for project in fs::read_dir(env.home.join(".claude/projects")).unwrap().flatten() {
        for file in fs::read_dir(project.path()).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            // Older releases also leave `agent-<id>.jsonl` side conversations beside it.
            if let Some(id) = name.strip_suffix(".jsonl").filter(|id| !id.starts_with("agent-")) {
                ids.push(id.to_owned());
            }
        }
    }
    assert_eq!(ids.len(), 1, "one transcript: {ids:?}");
    ids.pop().unwrap()
}

/// Each event of one Bash call's session, journaled exactly once, with the transcript's id.
fn assert_journaled_once(env: &TestEnv) {
    let id = transcript_session(env);
    let lines = env.journal();
    let ours: Vec<&str> =
        lines.iter().filter(|l| l["session_id"] == id.as_str()).map(|l| l["event"].as_str().unwrap_or("")).collect();
    for wanted in ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"] {
        assert_eq!(ours.iter().filter(|e| **e == wanted).count(), 1, "{wanted} once in {ours:?}");
    }
    // Every line is the run's session (or a SessionEnd that `claude plugin` commands fire for a
    // session of their own, when hooks are wired in settings).
    let others: Vec<&Value> = lines.iter().filter(|l| l["session_id"] != id.as_str()).collect();
    assert!(others.iter().all(|l| l["event"] == "SessionEnd"), "{others:?}");
}

fn bash_session(env: &TestEnv, cli: &PathBuf) {
    let api = FakeApi::start();
    api.script(
        "say hello",
        vec![Step::tool("Bash", json!({"command": "echo hello", "description": "say hello"})), Step::text("Said.")],
    );
    let out = env.claude_p(cli, &api, "say hello", &[]);
    assert!(stdout(&out).contains("Said."), "{}", stdout(&out));
}

/// `claude plugin ...` in the test's HOME.
fn plugin_cmd(env: &TestEnv, cli: &PathBuf, args: &[&str]) -> Output {
    let api = FakeApi::start();
    let mut cmd = env.claude(cli, &api);
    cmd.arg("plugin").args(args);
    let out = feed(cmd, b"");
    assert!(out.status.success(), "claude plugin {args:?}: {}\n{}", stdout(&out), stderr(&out));
    out
}

/// The marketplace as a release archive lays it out: this repository's marketplace and plugin
/// files, with the binary in the plugin's `bin/`.
fn marketplace(env: &TestEnv) -> PathBuf {
    let dir = env.root.join("marketplace");
    let plugin = Path::new(PLUGIN_DIR);
    for file in [
        Path::new(".claude-plugin/marketplace.json"),
        &plugin.join(".claude-plugin/plugin.json"),
        &plugin.join("hooks/hooks.json"),
    ] {
        fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
        fs::copy(repo().join(file), dir.join(file)).unwrap();
    }
    fs::create_dir_all(dir.join(plugin).join("bin")).unwrap();
    fs::copy(BIN, dir.join(plugin).join("bin/claude-session")).unwrap();
    dir
}

fn install_plugin(env: &TestEnv, cli: &PathBuf, config: &[&str]) {
    let market = marketplace(env);
    plugin_cmd(env, cli, &["marketplace", "add", market.to_str().unwrap()]);
    let id = format!("{}@{MARKETPLACE}", config::PLUGIN);
    let mut args = vec!["install", id.as_str()];
    for c in config {
        args.extend(["--config", c]);
    }
    plugin_cmd(env, cli, &args);
}

/// The hooks.json the applet table gives: each event to its applet, in the exec form, with the
/// binary in the plugin's `bin/` and `--plugin` (so that wired in settings too, it leaves the
/// event to those).
fn expected_hooks_json() -> Value {
    let mut hooks = serde_json::Map::new();
    for (event, applet) in applets::wiring() {
        let entry = json!({"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/bin/claude-session",
                           "args": [applet.name, "--plugin"], "timeout": claude_session::settings::TIMEOUT});
        hooks.insert(event.to_owned(), json!([{"matcher": "", "hooks": [entry]}]));
    }
    Value::Object(hooks)
}

#[test]
fn the_plugins_files_follow_the_applet_table_and_the_configuration() {
    let plugin = repo().join(PLUGIN_DIR);
    let hooks = read_json(&plugin.join("hooks/hooks.json"));
    assert_eq!(
        hooks["hooks"],
        expected_hooks_json(),
        "{PLUGIN_DIR}/hooks/hooks.json: regenerate it from the applet table"
    );
    let manifest = read_json(&plugin.join(".claude-plugin/plugin.json"));
    assert_eq!(manifest["name"], config::PLUGIN);
    assert!(!config::PLUGIN.starts_with("claude-"), "claude plugin validate refuses it");
    let options = manifest["userConfig"].as_object().unwrap();
    let keys: Vec<&str> = options.keys().map(String::as_str).collect();
    let ours: Vec<&str> = config::PLUGIN_OPTIONS.iter().map(|o| o.key).collect();
    assert_eq!(keys, ours);
    for o in config::PLUGIN_OPTIONS {
        assert_eq!(options[o.key]["sensitive"].as_bool().unwrap_or(false), o.sensitive, "{}", o.key);
        assert_eq!(
            o.var,
            format!("CLAUDE_PLUGIN_OPTION_{}", o.key.to_ascii_uppercase()),
            "the variable Claude Code sets"
        );
    }
    let market = read_json(&repo().join(".claude-plugin/marketplace.json"));
    assert_eq!(market["name"], MARKETPLACE);
    assert_eq!(market["plugins"][0]["name"], config::PLUGIN);
    assert_eq!(market["plugins"][0]["source"], format!("./{PLUGIN_DIR}"));
    assert_eq!(market["plugins"][0]["version"], manifest["version"]);
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"), "the plugin's version is the crate's");
}

#[test]
fn claude_plugin_validate_passes() {
    let Some(cli) = deps::or_skip(claude::cli()) else { return };
    let env = TestEnv::new();
    for dir in [repo().to_path_buf(), repo().join(PLUGIN_DIR)] {
        let out = plugin_cmd(&env, &cli, &["validate", dir.to_str().unwrap()]);
        assert!(stdout(&out).contains("Validation passed"), "{}", stdout(&out));
    }
}

/// Puts a recorder in place of each hook applet link: it appends the executable of its parent
/// process to `log`, then becomes the real hook (same process, same parent).
fn record_parents(hook_dir: &Path, log: &Path) {
    for applet in HOOKS {
        let link = hook_dir.join(applet);
        fs::remove_file(&link).unwrap();
        let script =
            format!("#!/bin/sh\nreadlink /proc/$PPID/exe >> '{}'\nexec '{BIN}' {applet} \"$@\"\n", log.display());
        fs::write(&link, script).unwrap();
        fs::set_permissions(&link, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn parents(log: &Path) -> BTreeSet<PathBuf> {
    let text = fs::read_to_string(log).unwrap_or_default();
    fs::remove_file(log).unwrap_or_default();
    text.lines().map(PathBuf::from).collect()
}

/// Issue 28: a shell-form hook is a `/bin/sh -c` child of `claude`, and pays for the shell. The
/// exec form that `hooks install` writes is started by `claude` itself. The shell form, run the
/// same way, shows the shell as the parent (so this test sees a shell when there is one).
#[test]
fn hooks_wired_by_hooks_install_run_with_claude_as_their_parent() {
    let Some(cli) = deps::or_skip(claude::cli()) else { return };
    if !Path::new("/proc/self/exe").exists() {
        println!("skipped: no /proc to read a hook's parent from");
        return;
    }
    let env = TestEnv::new();
    let out = env.run("claude-session", &["hooks", "install"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = env.root.join("parents");
    record_parents(&env.home.join(".claude/hooks/claude-session"), &log);

    bash_session(&env, &cli);
    let claude = fs::canonicalize(&cli).unwrap();
    assert_eq!(parents(&log), BTreeSet::from([claude.clone()]), "every hook a child of claude");
    assert_journaled_once(&env);

    // The same wiring in the shell form: a shell between them.
    let settings = env.home.join(".claude/settings.json");
    let text = fs::read_to_string(&settings).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for groups in v["hooks"].as_object_mut().unwrap().values_mut() {
        groups[0]["hooks"][0].as_object_mut().unwrap().remove("args");
    }
    fs::write(&settings, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    fs::remove_dir_all(env.home.join(".claude/projects")).unwrap();
    bash_session(&env, &cli);
    let shells = parents(&log);
    assert!(!shells.is_empty() && !shells.contains(&claude), "{shells:?}");
}

/// Issue 28: the plugin, installed from a local directory marketplace with `--config`, records
/// every event once; its options reach its hooks (the server gets the events, the collector the
/// sensitive header); `hooks status` shows the options and never the sensitive value.
#[test]
fn the_plugin_installs_from_a_local_marketplace_and_its_options_reach_its_hooks() {
    let Some(cli) = deps::or_skip(claude::cli()) else { return };
    let env = TestEnv::new();
    let server = TestServer::start();
    let collector = Recorder::start();
    let secret = "sk-plugin-secret-4711";
    let otlp = collector.url.clone();
    install_plugin(
        &env,
        &cli,
        &[
            &format!("server_url={}", server.url),
            &format!("otlp_endpoint={otlp}"),
            &format!("otlp_headers=authorization=Bearer%20{secret}"),
            "log_user_prompts=true",
        ],
    );
    bash_session(&env, &cli);
    assert_journaled_once(&env);

    let id = transcript_session(&env);
    let sent = server.wait_for(5, Duration::from_secs(120));
    assert!(sent.iter().filter(|e| e["session_id"] == id.as_str()).count() >= 5, "{sent:?}");
    let authorization = format!("Bearer {secret}");
    let sent_it = |r: &Request| {
        r.method == "POST" && r.path.starts_with("/v1/") && r.header("authorization") == Some(&authorization)
    };
    let requests = collector.wait_until(|got| got.iter().any(sent_it));
    assert!(requests.iter().any(sent_it), "the sensitive option reached the hooks' deliverer: {requests:?}");

    for args in [&["hooks", "status"][..], &["hooks", "status", "--json"]] {
        let out = env.run("claude-session", args, b"");
        let text = stdout(&out);
        assert!(!text.contains(secret) && !stderr(&out).contains(secret), "{text}");
        assert!(text.contains(&format!("{}@{MARKETPLACE}", config::PLUGIN)), "{text}");
        assert!(text.contains(&server.url) && text.contains(&otlp), "{text}");
        assert!(!text.contains("not wired anywhere"), "the plugin wires every event: {text}");
    }
    let text = stdout(&env.run("claude-session", &["hooks", "status"], b""));
    assert!(text.contains("otlp_headers        (sensitive: not shown)"), "{text}");
    assert!(text.contains(": installed, enabled"), "{text}");
}

/// Issue 28: the plugin and `hooks install` both wire the same events, and Claude Code runs both.
/// The plugin's hooks see `CLAUDE_SESSION_WIRED` (from the settings `hooks install` wired) and
/// leave each event to the settings' hooks: one record each, whichever was installed first.
#[test]
fn installed_both_ways_each_event_is_journaled_once() {
    let Some(cli) = deps::or_skip(claude::cli()) else { return };
    let env = TestEnv::new();
    install_plugin(&env, &cli, &[]);
    let out = env.run("claude-session", &["hooks", "install"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    bash_session(&env, &cli);
    assert_journaled_once(&env);
    let text = stdout(&env.run("claude-session", &["hooks", "status"], b""));
    assert!(text.contains("the plugin's hooks leave each event to those"), "{text}");

    // Without the mark (settings wired by an older version), status says events are doubled.
    let settings = env.home.join(".claude/settings.json");
    let mut v = read_json(&settings);
    v["env"].as_object_mut().unwrap().remove(config::WIRED);
    fs::write(&settings, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("each event is recorded twice"), "{}", stdout(&out));
}

/// Without the CLI: a hook run as the plugin's (`--plugin`) records unless the settings' hooks do
/// (`CLAUDE_SESSION_WIRED`), and reads its options from `CLAUDE_PLUGIN_OPTION_<KEY>`.
#[test]
fn a_plugin_hook_leaves_the_event_to_the_settings_hooks_and_reads_its_options() {
    let mut env = TestEnv::new();
    let input = fixture("PreToolUse-Bash.json");
    let run = |env: &TestEnv| {
        let mut cmd = env.command(BIN);
        cmd.args(["pre-tool", "--plugin"]);
        let out = feed(cmd, &input);
        assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    };
    env.set(config::WIRED, "1");
    run(&env);
    assert!(env.journal().is_empty(), "left to the settings' hook");

    let server = TestServer::start();
    env.set(config::WIRED, "").set("CLAUDE_PLUGIN_OPTION_SERVER_URL", &server.url);
    run(&env);
    assert_eq!(env.journal().len(), 1);
    assert_eq!(server.wait_for(1, Duration::from_secs(120)).len(), 1, "the option is the server URL");
}

/// A plugin option's value as `hooks status` shows it is masked as every URL it shows: a server
/// URL given with a user and password was printed whole.
#[test]
fn hooks_status_masks_credentials_in_plugin_options() {
    let env = TestEnv::new();
    let plugin = env.root.join("plugin");
    fs::create_dir_all(plugin.join("bin")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_claude-session"), plugin.join("bin/claude-session")).unwrap();
    let id = format!("{}@{MARKETPLACE}", config::PLUGIN);
    fs::create_dir_all(env.home.join(".claude/plugins")).unwrap();
    let installed = json!({"version": 2, "plugins": {&id: [{"scope": "user", "installPath": plugin}]}});
    fs::write(env.home.join(".claude/plugins/installed_plugins.json"), installed.to_string()).unwrap();
    let options = json!({"server_url": "http://admin:pluginPassw0rd@127.0.0.1:4000",
                         "otlp_endpoint": "http://127.0.0.1:4318/?token=pluginQueryTok3n"});
    let settings = json!({"enabledPlugins": {&id: true}, "pluginConfigs": {&id: {"options": options}}});
    fs::write(env.home.join(".claude/settings.json"), settings.to_string()).unwrap();
    for args in [&["hooks", "status"][..], &["hooks", "status", "--json"]] {
        let out = env.run("claude-session", args, b"");
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains("server_url"), "{text}");
        for secret in ["pluginPassw0rd", "pluginQueryTok3n"] {
            assert!(!text.contains(secret), "{args:?} shows {secret}: {text}");
        }
    }
}
