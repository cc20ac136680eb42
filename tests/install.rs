//! Wiring into Claude Code's settings (`hooks install|uninstall|status`) and `install.sh` end to
//! end, with a temp HOME, the real binary and the real script.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::{Value, json};

/// A user's own settings, formatted their way.
const USERS_OWN: &str = r#"{
    "model": "opus",
    "permissions": { "allow": ["Bash(ls)"], "deny": [] },
    "hooks": {
        "PreToolUse": [
            { "matcher": "Bash", "hooks": [ { "type": "command", "command": "/usr/local/bin/audit" } ] }
        ]
    },
    "env": { "FOO": "bar" },
    "zeta": 1
}
"#;

fn hooks(env: &TestEnv, args: &[&str]) -> Output {
    let mut full = vec!["hooks"];
    full.extend_from_slice(args);
    env.run("claude-session", &full, b"")
}

fn user_settings(env: &TestEnv) -> PathBuf {
    env.home.join(".claude/settings.json")
}

fn hook_dir(env: &TestEnv) -> PathBuf {
    env.home.join(".claude/hooks/claude-session")
}

fn read_json(path: &Path) -> Value {
    json(&fs::read(path).unwrap())
}

/// Each of our events runs its applet exactly once, with a match-all matcher and a timeout.
fn assert_wired(settings: &Value, dir: &Path) {
    // Every event the applet table wires, to its applet.
    for (event, applet) in claude_session::applets::wiring().map(|(e, a)| (e, a.name)) {
        let command = dir.join(applet).to_string_lossy().into_owned();
        let ours: Vec<&Value> = settings["hooks"][event]
            .as_array()
            .unwrap_or_else(|| panic!("{event} missing"))
            .iter()
            .filter(|g| g["hooks"].as_array().unwrap().iter().any(|h| h["command"] == command.as_str()))
            .collect();
        assert_eq!(ours.len(), 1, "{event}: {settings}");
        assert_eq!(ours[0]["matcher"], "");
        assert_eq!(ours[0]["hooks"][0]["type"], "command");
        assert_eq!(ours[0]["hooks"][0]["timeout"], 10);
        assert_eq!(ours[0]["hooks"][0]["args"], json!([]), "{event}: the exec form, no shell");
    }
}

#[test]
fn into_no_settings_file_and_back() {
    let env = TestEnv::new();
    let out = hooks(&env, &["install"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = user_settings(&env);
    assert_wired(&read_json(&path), &hook_dir(&env));
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

    let out = hooks(&env, &["uninstall"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!path.exists(), "there was no file before");
    assert!(list(&env.home.join(".claude")).is_empty(), "{:?}", list(&env.home.join(".claude")));
}

#[test]
fn the_users_own_settings_are_kept_and_restored_byte_for_byte() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, USERS_OWN).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

    assert_eq!(hooks(&env, &["install"]).status.code(), Some(0));
    let v = read_json(&path);
    assert_wired(&v, &hook_dir(&env));
    assert_eq!(v["model"], "opus");
    assert_eq!(v["permissions"], json!({"allow": ["Bash(ls)"], "deny": []}));
    assert_eq!(v["env"], json!({"FOO": "bar", "CLAUDE_SESSION_WIRED": "1"}), "the plugin's hooks defer to these");
    assert_eq!(v["hooks"]["PreToolUse"][0]["hooks"][0]["command"], "/usr/local/bin/audit", "theirs first");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "permissions", "hooks", "env", "zeta"], "key order kept");
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644, "mode kept");
    let record = read_json(&path.with_file_name("settings.json.claude-session.state"));
    assert_eq!(record["original"], USERS_OWN, "the original is kept beside the file");

    // A second run changes nothing.
    let before = fs::read(&path).unwrap();
    let out = hooks(&env, &["install"]);
    assert!(stdout(&out).contains("nothing changed"), "{}", stdout(&out));
    assert_eq!(fs::read(&path).unwrap(), before);

    assert_eq!(hooks(&env, &["uninstall"]).status.code(), Some(0));
    assert_eq!(fs::read_to_string(&path).unwrap(), USERS_OWN, "byte for byte");
}

#[test]
fn an_edit_after_install_survives_uninstall() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, USERS_OWN).unwrap();
    hooks(&env, &["install", "--server", "http://127.0.0.1:4000/events"]);
    let mut v = read_json(&path);
    assert_eq!(
        v["env"],
        json!({"FOO": "bar", "CLAUDE_SESSION_WIRED": "1", "CLAUDE_SESSION_SERVER_URL": "http://127.0.0.1:4000/events"})
    );
    v["theme"] = "dark".into();
    fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();

    let out = hooks(&env, &["uninstall"]);
    assert_eq!(out.status.code(), Some(0));
    let mut expected = json(USERS_OWN.as_bytes());
    expected["theme"] = "dark".into();
    assert_eq!(read_json(&path), expected, "ours removed, theirs kept");
}

#[test]
fn project_settings() {
    let env = TestEnv::new();
    let project = env.root.join("proj");
    fs::create_dir_all(&project).unwrap();
    let out = hooks(&env, &["install", "--project", project.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_wired(&read_json(&project.join(".claude/settings.json")), &hook_dir(&env));
    assert!(!user_settings(&env).exists());
    hooks(&env, &["uninstall", "--project", project.to_str().unwrap()]);
    assert!(!project.join(".claude/settings.json").exists());
}

#[test]
fn a_malformed_file_is_refused_and_untouched() {
    let env = TestEnv::new();
    let path = user_settings(&env);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    for bad in ["{\"model\": \"opus\",,}", "[1, 2]", "{\"hooks\": []}", ""] {
        fs::write(&path, bad).unwrap();
        for action in ["install", "uninstall"] {
            let out = hooks(&env, &[action]);
            assert_eq!(out.status.code(), Some(1), "{bad:?}");
            assert!(stderr(&out).contains("left untouched"), "{}", stderr(&out));
            assert_eq!(fs::read_to_string(&path).unwrap(), bad);
        }
    }
    assert_eq!(list(path.parent().unwrap()), ["settings.json"], "no backup of a refused file");
}

#[test]
fn status_says_what_is_wired_and_what_works() {
    let env = TestEnv::new();
    let out = hooks(&env, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("not wired anywhere: SessionStart"), "{}", stdout(&out));

    // install makes the applet links itself, pointing at the running binary.
    hooks(&env, &["install"]);
    let out = hooks(&env, &["status"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("every hook event is wired") && text.contains("store") && text.contains(": ok"), "{text}");
    let v = json(&hooks(&env, &["status", "--json"]).stdout);
    assert_eq!(v["ok"], true);
    assert_eq!(v["settings"][0]["events"].as_array().unwrap().len(), 15, "every wired event");

    fs::remove_file(hook_dir(&env).join("pre-tool")).unwrap();
    let out = hooks(&env, &["status"]);
    assert_eq!(out.status.code(), Some(1), "a link is gone");
    assert!(stdout(&out).contains("(missing or not executable)"), "{}", stdout(&out));
}

/// install.sh with the toolchain reachable from a temp HOME.
fn install_sh(env: &TestEnv, args: &[&str]) -> Output {
    let home = std::env::var("HOME").unwrap_or_default();
    let mut cmd = env.command("/bin/sh");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")).args(args);
    let cargo_bin = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    cmd.env("PATH", format!("{}:{}:/usr/local/bin:/usr/bin:/bin", env.bin.display(), cargo_bin.display()));
    for (var, default) in [("CARGO_HOME", format!("{home}/.cargo")), ("RUSTUP_HOME", format!("{home}/.rustup"))] {
        cmd.env(var, std::env::var(var).unwrap_or(default));
    }
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        cmd.env("RUSTUP_TOOLCHAIN", toolchain);
    }
    feed(cmd, b"")
}

#[test]
fn install_sh_end_to_end_and_back() {
    let mut env = TestEnv::new();
    let table = fake_crontab(&mut env);
    fs::write(&table, "0 3 * * * backup\n").unwrap();
    let bin_dir = env.root.join("opt/bin");
    let bin_dir_s = bin_dir.to_str().unwrap();

    let out = install_sh(&env, &["--bin-dir", bin_dir_s, "--cron", "--server", "http://127.0.0.1:4000/events"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    // It ends with the line that puts the binary on PATH, then the three commands to try next.
    let text = stdout(&out);
    let tail: Vec<&str> = text.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
    assert_eq!(
        tail[0],
        format!("  export PATH=\"{bin_dir_s}:$PATH\"; echo 'export PATH=\"{bin_dir_s}:$PATH\"' >> ~/.profile"),
        "{text}"
    );
    assert_eq!(tail[3], "  claude-session hooks status        # what is wired, and whether it works", "{text}");
    assert!(tail[4].starts_with("  claude-session show --timeline "), "{text}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    assert!(tail[5].starts_with(&format!("  {} --uninstall ", script.display())), "{text}");
    assert!(text.contains("server http://127.0.0.1:4000/events"), "the server is echoed: {text}");
    let binary = bin_dir.join("claude-session");
    assert!(binary.is_file());
    let dir = hook_dir(&env);
    for applet in ["session-start", "pre-tool", "post-tool", "cleanup", "show"] {
        assert_eq!(fs::read_link(dir.join(applet)).unwrap(), binary);
    }
    let settings = read_json(&user_settings(&env));
    assert_wired(&settings, &dir);
    assert_eq!(settings["env"]["CLAUDE_SESSION_SERVER_URL"], "http://127.0.0.1:4000/events");
    let cron = fs::read_to_string(&table).unwrap();
    assert!(cron.starts_with("0 3 * * * backup\n") && cron.contains("cleanup # claude-session cleanup"), "{cron}");

    // Twice: nothing doubles.
    let out = install_sh(&env, &["--bin-dir", bin_dir_s, "--cron"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&table).unwrap(), cron, "one cron line");
    assert_wired(&read_json(&user_settings(&env)), &dir);

    // The installed symlinks work as hooks.
    let mut cmd = env.command(dir.join("pre-tool"));
    cmd.env_remove("CLAUDE_SESSION_SERVER_URL");
    let run = feed(cmd, &fixture("PreToolUse-Bash.json"));
    assert_eq!((run.status.code(), run.stdout.len()), (Some(0), 0));
    let journal = fs::read_to_string(env.journal_dir().join(&list(&env.journal_dir())[0])).unwrap();
    assert!(journal.contains("\"tool\":\"Bash\""), "{journal}");

    let out = install_sh(&env, &["--bin-dir", bin_dir_s, "--uninstall"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!binary.exists() && !dir.exists());
    assert!(!user_settings(&env).exists(), "settings back to what they were: none");
    assert_eq!(fs::read_to_string(&table).unwrap(), "0 3 * * * backup\n");
    let text = stdout(&out);
    assert!(text.contains(&format!("removed {}", binary.display())), "{text}");
    assert!(text.contains("removed the hourly cleanup"), "{text}");
    assert!(text.contains(&format!("journal  {}", env.journal_dir().display())), "what is kept: {text}");
    assert!(!env.root.join("opt").exists(), "the directories install made are gone: {text}");

    // Again: nothing is left to do, and that is no error.
    let out = install_sh(&env, &["--bin-dir", bin_dir_s, "--uninstall"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("nothing to do"), "{}", stdout(&out));
}

#[test]
fn install_sh_without_home_says_what_to_set() {
    let env = TestEnv::new();
    let mut cmd = env.command("/bin/sh");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")).env_remove("HOME");
    let out = feed(cmd, b"");
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).starts_with("install.sh: HOME is not set"), "{}", stderr(&out));
    assert!(stderr(&out).contains("export HOME="), "{}", stderr(&out));
}

/// Issue 28: a shell-form hook costs Claude Code a `sh -c` before it starts. An install by an
/// older version (shell form) is converted to the exec form once by the next install; status
/// names the form; uninstall takes out both forms.
#[test]
fn a_shell_form_wiring_is_upgraded_to_exec_once_and_status_names_the_form() {
    let env = TestEnv::new();
    assert_eq!(hooks(&env, &["install"]).status.code(), Some(0));
    let path = user_settings(&env);
    // What an older version wrote: no "args".
    let mut v = read_json(&path);
    for groups in v["hooks"].as_object_mut().unwrap().values_mut() {
        groups[0]["hooks"][0].as_object_mut().unwrap().remove("args").unwrap();
    }
    fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let text = stdout(&hooks(&env, &["status"]));
    assert!(text.contains("ok PreToolUse          shell /") && text.contains("15 hooks in the shell form"), "{text}");
    assert_eq!(
        json(&hooks(&env, &["status", "--json"]).stdout)["settings"][0]["events"][0]["commands"][0]["form"],
        "shell"
    );

    let out = hooks(&env, &["install"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_wired(&read_json(&path), &hook_dir(&env));
    let converted = fs::read(&path).unwrap();
    let out = hooks(&env, &["install"]);
    assert!(stdout(&out).contains("nothing changed"), "converted once: {}", stdout(&out));
    assert_eq!(fs::read(&path).unwrap(), converted);
    let text = stdout(&hooks(&env, &["status"]));
    assert!(text.contains("ok PreToolUse          exec  /") && !text.contains(" shell /"), "{text}");

    // One entry of each form for one event (a half-converted file): uninstall takes both.
    let mut v = read_json(&path);
    let mut shell = v["hooks"]["Stop"][0].clone();
    shell["hooks"][0].as_object_mut().unwrap().remove("args");
    v["hooks"]["Stop"].as_array_mut().unwrap().push(shell);
    fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(hooks(&env, &["uninstall"]).status.code(), Some(0));
    assert!(!path.exists(), "nothing of ours left, and there was no file before");
}

#[test]
fn uninstall_removes_only_directories_install_made_whatever_the_list_says() {
    let env = TestEnv::new();
    let out = hooks(&env, &["install"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Empty directories of the user's elsewhere (a mount point, say), named in the list install
    // keeps in the hook directory: by a hand, or by a link planted in its place.
    let mount = env.root.join("mnt/backup");
    let other = env.root.join("elsewhere");
    fs::create_dir_all(&mount).unwrap();
    fs::create_dir_all(&other).unwrap();
    let list = hook_dir(&env).join(".made-by-install");
    let mut text = fs::read_to_string(&list).unwrap_or_default();
    text.push_str(&format!("{}\n", mount.display()));
    fs::write(&list, text).unwrap();
    let planted = env.root.join("planted-list");
    fs::write(&planted, format!("{}\n", other.display())).unwrap();
    let out = hooks(&env, &["uninstall"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(mount.is_dir(), "an empty directory install never made was removed");
    // Installed again, with the list a link to another file.
    hooks(&env, &["install"]);
    let _ = fs::remove_file(&list);
    std::os::unix::fs::symlink(&planted, &list).unwrap();
    hooks(&env, &["uninstall"]);
    assert!(other.is_dir(), "a directory named by a linked list was removed");
}

#[test]
fn a_hook_dir_of_the_users_keeps_their_links_and_itself() {
    let env = TestEnv::new();
    // `--hook-dir ~/bin`: a directory that was there, with a `show` of another program's.
    let bin = env.home.join("bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/usr/bin/true", bin.join("show")).unwrap();
    let dir = bin.to_str().unwrap();
    let out = hooks(&env, &["install", "--hook-dir", dir]);
    assert_ne!(out.status.code(), Some(0), "replaced the user's link: {}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/usr/bin/true"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read_link(bin.join("show")).unwrap(), Path::new("/usr/bin/true"));
    // Without it, install links there; uninstall takes our links and leaves the directory,
    // and a link of the user's made since.
    fs::remove_file(bin.join("show")).unwrap();
    let out = hooks(&env, &["install", "--hook-dir", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    fs::remove_file(bin.join("cleanup")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/false", bin.join("cleanup")).unwrap();
    let out = hooks(&env, &["uninstall", "--hook-dir", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(bin.is_dir(), "the user's directory was removed");
    assert_eq!(list(&bin), ["cleanup"], "ours gone, the user's kept");
}

/// Noticed last session: install.sh's own uninstall read `.made-by-install` through a symlink, so
/// a planted link could name any empty directory for it to remove. It now reads the list as
/// `hooks uninstall` does: a regular file of ours, never through a link, and only the directories
/// above the hook directory or the settings file that it names.
#[test]
fn install_sh_uninstall_never_follows_a_planted_made_by_install_link() {
    let env = TestEnv::new();
    // An installed binary (the one under test), so uninstall needs no build.
    let bin_dir = env.root.join("opt/bin");
    fs::create_dir_all(&bin_dir).unwrap();
    let uninstall = ["--uninstall", "--bin-dir", bin_dir.to_str().unwrap()];
    let victim = env.root.join("victim/empty");
    for planted in ["link", "elsewhere"] {
        std::os::unix::fs::symlink(BIN, bin_dir.join("claude-session")).unwrap();
        fs::create_dir_all(&victim).unwrap();
        let dir = hook_dir(&env);
        fs::create_dir_all(&dir).unwrap();
        let list = format!("{}\n{}\n", victim.display(), dir.parent().unwrap().display());
        match planted {
            // Someone's link to a list of their own.
            "link" => {
                fs::write(env.root.join("list"), &list).unwrap();
                std::os::unix::fs::symlink(env.root.join("list"), dir.join(".made-by-install")).unwrap();
            }
            // A list of ours that names a directory install never makes.
            _ => fs::write(dir.join(".made-by-install"), &list).unwrap(),
        }
        let out = install_sh(&env, &uninstall);
        assert_eq!(out.status.code(), Some(0), "{planted}: {}\n{}", stdout(&out), stderr(&out));
        assert!(victim.is_dir(), "{planted}: removed {}: {}", victim.display(), stdout(&out));
        assert!(!dir.exists(), "{planted}: the hook directory goes: {}", stdout(&out));
    }
}
