//! The documentation against the binary: every option of every command (from the binary's own
//! help, which argh derives from the same structs that parse them) is in docs/commands.md under
//! that command, and nothing else is; every variable of the configuration table is in
//! docs/configuration.md, and no document names a variable the binary does not know.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use claude_session::cmd::every_usage;
use claude_session::config::VARS;
use common::*;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, by path.
fn documents() -> Vec<(PathBuf, String)> {
    let mut paths = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths.into_iter().map(|p| (p.clone(), fs::read_to_string(&p).unwrap())).collect()
}

/// The `## ` sections of docs/commands.md, by the command line in their heading's first code span.
fn command_sections() -> Vec<(String, String)> {
    let text = fs::read_to_string(repo().join("docs/commands.md")).unwrap();
    let mut sections = Vec::new();
    for part in text.split("\n## ").skip(1) {
        let (heading, body) = part.split_once('\n').unwrap_or((part, ""));
        for name in heading.split('`').skip(1).step_by(2) {
            sections.push((name.to_owned(), body.to_owned()));
        }
    }
    sections
}

/// Every `--option` a text names in code spans or tables.
fn options_named(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("`--") {
        let word: String = text[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        found.insert(word);
    }
    found
}

/// install.sh's options, from its own `--help`.
fn install_sh_options() -> BTreeSet<String> {
    let env = TestEnv::new();
    let mut cmd = env.command("/bin/sh");
    cmd.arg(repo().join("install.sh")).arg("--help");
    let out = feed(cmd, b"");
    assert_eq!(out.status.code(), Some(0));
    stdout(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("  --"))
        .map(|l| format!("--{}", l.split_whitespace().next().unwrap()))
        .collect()
}

#[test]
fn every_option_of_every_command_is_documented_under_it_and_no_other() {
    let sections = command_sections();
    let usage = every_usage();
    let mut expected: Vec<(String, BTreeSet<String>)> = usage
        .iter()
        .map(|(command, words)| {
            let options = words.iter().filter(|w| w.starts_with("--") && *w != "--help").cloned().collect();
            (command.clone(), options)
        })
        .collect();
    expected.push(("install.sh".into(), install_sh_options()));
    assert!(expected.iter().any(|(c, o)| c == "hooks install" && o.contains("--server")), "{expected:?}");
    for (command, options) in &expected {
        let Some((_, body)) = sections.iter().find(|(name, _)| name == command) else {
            // A command with no options of its own (`hooks`) needs no section.
            assert!(options.is_empty(), "docs/commands.md has no section `{command}` for {options:?}");
            continue;
        };
        let named = options_named(body);
        assert_eq!(&named, options, "docs/commands.md, `{command}`: documented vs the binary's options");
    }
    for (name, _) in &sections {
        assert!(expected.iter().any(|(c, _)| c == name), "docs/commands.md documents `{name}`, which is no command");
    }
}

#[test]
fn every_variable_is_documented_and_no_unknown_one_is_named() {
    let configuration = fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    for var in VARS {
        assert!(configuration.contains(&format!("`{}`", var.name)), "docs/configuration.md lacks {}", var.name);
    }
    // What the binary knows: the table's names, the names its descriptions give (HOOK_DEBUG), and
    // the per-signal forms of the OTLP ones (the specification's _LOGS_/_TRACES_ variants).
    let mut known: BTreeSet<String> = BTreeSet::new();
    for var in VARS {
        known.insert(var.name.to_owned());
        known.extend(names_in(var.about));
        for (a, b) in [("_LOGS_", "_TRACES_"), ("_TRACES_", "_LOGS_")] {
            known.insert(var.name.replace(a, b));
        }
        if let Some(rest) = var.name.strip_prefix("OTEL_EXPORTER_OTLP_") {
            known.insert(format!("OTEL_EXPORTER_OTLP_LOGS_{rest}"));
            known.insert(format!("OTEL_EXPORTER_OTLP_TRACES_{rest}"));
        }
    }
    // Every OTLP variable also reaches our hooks under our prefix (Claude Code strips OTEL_*).
    let prefixed: Vec<String> =
        known.iter().filter(|n| n.starts_with("OTEL_")).map(|n| format!("CLAUDE_SESSION_{n}")).collect();
    known.extend(prefixed);
    // Claude Code's own telemetry settings, which docs/otlp.md shows beside ours. The binary reads
    // the protocol ones only to leave a gRPC endpoint meant for Claude Code alone.
    known.extend(
        [
            "CLAUDE_CODE_ENABLE_TELEMETRY",
            "OTEL_LOGS_EXPORTER",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]
        .map(String::from),
    );
    for (path, text) in documents() {
        for name in names_in(&text) {
            assert!(known.contains(&name), "{} names {name}, which the binary does not know", path.display());
        }
    }
}

/// Variable names in our namespaces: `CLAUDE_SESSION_*`, `OTEL_*`, `OBSERVABILITY_*`, `HOOK_*`,
/// `CLAUDE_CODE_*`. A name cut at an underscore (`OTEL_EXPORTER_OTLP_*PROTOCOL`) is a pattern,
/// not a name.
fn names_in(text: &str) -> BTreeSet<String> {
    let ours = ["CLAUDE_SESSION_", "OTEL_", "OBSERVABILITY_", "HOOK_", "CLAUDE_CODE_"];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.ends_with('_') && ours.iter().any(|p| w.starts_with(p)))
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .map(str::to_owned)
        .collect()
}

/// The timelines README.md and docs/journal.md show are what `show --timeline` prints for the
/// recorded session, times and durations aside, row for row and in order (a document may leave
/// rows out). The README drew the background Agent call as its 17 ms launch long after `show`
/// stopped doing so.
#[test]
fn the_timelines_the_docs_show_are_what_show_prints() {
    const SID: &str = "b58b8352-cb65-4938-89b1-ca08fc4358de";
    let env = TestEnv::new();
    let session: Vec<_> = recorded().into_iter().filter(|e| e["session_id"] == SID).collect();
    // The background subagent runs longer than the 320 ms call inside it, as in the documents.
    let stop = session.iter().position(|e| e["hook_event_name"] == "SubagentStop").unwrap();
    replay(&env, &session[..stop]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    replay(&env, &session[stop..]);
    for doc in ["README.md", "docs/journal.md"] {
        let text = fs::read_to_string(repo().join(doc)).unwrap();
        let start = text.find("```console\n$ claude-session show --timeline b58b8352").expect(doc);
        let mut lines = text[start..].lines().skip(1).take_while(|l| *l != "```");
        let command = lines.next().unwrap();
        let args: Vec<&str> = command.split_whitespace().skip(3).collect();
        let out = env.run("show", &args, b"");
        assert_eq!(out.status.code(), Some(0), "{doc}: {command}: {}", stderr(&out));
        let shown = stdout(&out);
        let mut rows = shown.lines().map(without_times);
        for line in lines.filter(|l| !l.is_empty()) {
            let want = without_times(line);
            assert!(rows.any(|row| row == want), "{doc}: `{line}` is not what `{command}` prints:\n{shown}");
        }
    }
}

/// A timeline line with its date, times of day and durations replaced, and its columns closed up.
fn without_times(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let digits = |w: &str, also: &[char]| w.chars().all(|c| c.is_ascii_digit() || also.contains(&c));
        let number = word.trim_start_matches('(');
        out.push(if i == 0 && word.len() == 10 && digits(word, &['-']) {
            "DATE".to_owned()
        } else if i == 0 && word.len() == 12 && digits(word, &[':', '.']) {
            "TIME".to_owned()
        } else if !number.is_empty() && digits(number, &[]) && words.get(i + 1).is_some_and(|w| w.starts_with("ms")) {
            format!("{}N", &word[..word.len() - number.len()])
        } else {
            (*word).to_owned()
        });
    }
    out.join(" ")
}
