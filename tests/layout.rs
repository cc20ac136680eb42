//! The module graph against docs/layout.md: every source file is listed there once, says in its
//! first comment what it owns, and imports only modules listed below it (a folder's `mod.rs` and
//! its own files excepted), so there is no import circle and no import back up the graph; a
//! hook's path, as the layout names it, crosses at most 8 files and is the path the code takes.
//! And the repository's top level: the design card's entries only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/`, relative to the root (`src/sink/otlp.rs`).
fn source_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("src"), &mut files);
    let mut names: Vec<String> =
        files.iter().map(|p| p.strip_prefix(root()).unwrap().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// The files docs/layout.md lists, top first: each line `- `src/…`: what it owns`.
fn listed() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("docs/layout.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(path, _)| path.to_owned())
        .filter(|p| p.starts_with("src/"))
        .collect()
}

/// The files of "A hook's path is `src/…` → `src/…`." in docs/layout.md, in order.
fn hook_path() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("docs/layout.md")).unwrap();
    let start = text.find("A hook's path is ").expect("docs/layout.md names a hook's path");
    let sentence = &text[start..];
    let sentence = &sentence[..sentence.find(". ").expect("the sentence ends")];
    sentence.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The modules of the "Foundations" section, and `config` with its files: the helpers every
/// command uses, which a path does not count as steps.
fn foundations() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("docs/layout.md")).unwrap();
    let section = &text[text.find("\n## Foundations").expect("a Foundations section")..];
    let section = &section[1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut modules: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(path, _)| module_of(path))
        .collect();
    modules.extend(listed().iter().map(|f| module_of(f)).filter(|m| m == "config" || m.starts_with("config::")));
    modules
}

/// `src/sink/otlp.rs` → `sink::otlp`; `src/config/mod.rs` → `config`; `src/lib.rs` → `lib`.
fn module_of(file: &str) -> String {
    let path = file.strip_prefix("src/").unwrap().strip_suffix(".rs").unwrap();
    let path = path.strip_suffix("/mod").unwrap_or(path);
    path.replace('/', "::")
}

/// The module a file's `super` names.
fn parent(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(p, _)| p)
}

/// The program's code of a file: without its unit tests and comments.
fn code(file: &str) -> String {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .map(|line| match line.find(" // ") {
            _ if line.trim_start().starts_with("//") => "",
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a`, `a::b`, `a::{self, b::{c, d}}`, `{a, b}` after a path's head, as whole paths (`a`, `a::b`,
/// `a::b::c`); `self` in a group is the path before it.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim_start();
    if let Some(inner) = tree.strip_prefix('{') {
        // The group's items, split at its top-level commas.
        let mut items = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&inner[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return items.into_iter().filter(|i| !i.trim().is_empty()).flat_map(expand).collect();
    }
    let end = tree.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(tree.len());
    let path = &tree[..end];
    match path.strip_suffix("::") {
        Some(prefix) if tree[end..].starts_with('{') => expand(&tree[end..])
            .into_iter()
            .map(|p| if p == "self" { prefix.to_owned() } else { format!("{prefix}::{p}") })
            .collect(),
        _ => vec![path.trim_end_matches(':').to_owned()],
    }
}

/// The modules a file's code names: `crate::…` and `super::…` paths, and our macros.
fn imports(file: &str, modules: &BTreeMap<String, String>) -> Vec<String> {
    let module = module_of(file);
    let code = code(file);
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|m| modules.contains_key(m))
    };
    let mut out = Vec::new();
    for (head, base) in
        [("crate::", String::new()), ("super::", parent(&module).to_owned()), ("claude_session::", String::new())]
    {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(head) {
            let before = rest[..i].chars().last();
            rest = &rest[i + head.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            for path in expand(rest) {
                let full = if base.is_empty() { path.clone() } else { format!("{base}::{path}") };
                out.extend(resolve(&full).or_else(|| (!base.is_empty()).then(|| base.clone())));
            }
        }
    }
    if code.contains("debug!(") || code.contains("outln!(") {
        out.push("out".to_owned());
    }
    out.retain(|m| *m != module);
    out.sort();
    out.dedup();
    out
}

#[test]
fn layout_lists_every_source_file_once() {
    let listed = listed();
    let mut sorted = listed.clone();
    sorted.sort();
    let mut unique = sorted.clone();
    unique.dedup();
    assert_eq!(sorted, unique, "a file is listed twice in docs/layout.md");
    assert_eq!(sorted, source_files(), "docs/layout.md must list exactly the files under src/");
}

#[test]
fn every_source_file_says_what_it_owns() {
    for file in source_files() {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        assert!(text.starts_with("//! "), "{file}: its first line must be a `//!` comment saying what it owns");
    }
}

#[test]
fn imports_run_down_the_layout_only() {
    let listed = listed();
    let modules: BTreeMap<String, String> = listed.iter().map(|f| (module_of(f), f.clone())).collect();
    let height = |m: &str| listed.iter().position(|f| module_of(f) == m).unwrap();
    let mut wrong = Vec::new();
    for file in &listed {
        let module = module_of(file);
        for import in imports(file, &modules) {
            // A folder's mod.rs and the files in it are one unit: each uses the other.
            let within = |inner: &str, outer: &str| inner.starts_with(&format!("{outer}::"));
            let family = within(&import, &module) || within(&module, &import);
            if !family && height(&import) < height(&module) {
                wrong.push(format!("{module} imports {import}, which docs/layout.md lists above it"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that run back up:\n{}", wrong.join("\n"));
}

/// Issue 23: a hook's path crosses at most 8 source files, and the path docs/layout.md names is
/// the code's: each file exists and is listed, and every module the hook's code (`cmd/record.rs`)
/// uses is a foundation, `config`, or a step of the path; each step is one it uses.
#[test]
fn hook_path_is_at_most_eight_files_and_is_the_codes() {
    let path = hook_path();
    assert!(path.len() <= 8, "a hook's path crosses {} files, more than 8: {path:?}", path.len());
    assert_eq!(path.first().map(String::as_str), Some("src/cmd/record.rs"), "the path starts at the hook's code");
    let listed = listed();
    for file in &path {
        assert!(root().join(file).is_file(), "{file}, on a hook's path in docs/layout.md, does not exist");
        assert!(listed.contains(file), "{file}, on a hook's path, is not listed in docs/layout.md");
    }
    let mut unique = path.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), path.len(), "a file named twice on a hook's path: {path:?}");

    let modules: BTreeMap<String, String> = listed.iter().map(|f| (module_of(f), f.clone())).collect();
    let steps: Vec<String> = path.iter().map(|f| module_of(f)).collect();
    let foundations = foundations();
    assert!(foundations.contains(&"secrets".to_owned()) && foundations.contains(&"config::source".to_owned()));
    let used = imports("src/cmd/record.rs", &modules);
    let off_path: Vec<&String> = used.iter().filter(|m| !foundations.contains(m) && !steps.contains(m)).collect();
    assert!(off_path.is_empty(), "cmd/record.rs uses {off_path:?}, not on a hook's path in docs/layout.md ({steps:?})");
    let unused: Vec<&String> = steps[1..].iter().filter(|m| !used.contains(m)).collect();
    assert!(unused.is_empty(), "{unused:?} on a hook's path in docs/layout.md, but cmd/record.rs does not use them");
}

/// The check itself finds what it must: a group, a nested group, `self`, `super`, a macro.
#[test]
fn imports_are_read_from_every_form() {
    assert_eq!(expand("{clock, config};"), ["clock", "config"]);
    assert_eq!(expand("sink::{self, outbox, outbox::Outbox};"), ["sink", "sink::outbox", "sink::outbox::Outbox"]);
    assert_eq!(expand("{a, b::{self, c}}"), ["a", "b", "b::c"]);
    let modules: BTreeMap<String, String> = listed().iter().map(|f| (module_of(f), f.clone())).collect();
    let record = imports("src/cmd/record.rs", &modules);
    for m in ["config", "event", "journal", "out", "payload", "project", "secrets", "session", "sink::outbox"] {
        assert!(record.contains(&m.to_owned()), "{m} missing from {record:?}");
    }
    assert!(imports("src/main.rs", &modules).contains(&"cmd".to_owned()));
    assert!(imports("src/cmd/show.rs", &modules).contains(&"cmd".to_owned()));
    assert!(imports("src/config/mod.rs", &modules).contains(&"out".to_owned()), "debug! is an import of out");
    assert!(imports("src/sink/otlp/send.rs", &modules).contains(&"sink::http".to_owned()));
}

/// The repository's top level on the design card.
const TOP_LEVEL: &[&str] = &[
    "Cargo.toml",
    "src",
    "tests",
    "install.sh",
    "LICENSE",
    "README.md",
    "docs",
    ".ci",
    "benches",
    "fuzz",
    ".claude-plugin",
];
/// What any Rust project may have beside them.
const RUST_STANDARD: &[&str] = &["build.rs", "rustfmt.toml", ".cargo", ".gitignore", "Cargo.lock"];

/// Every file git tracks holds a place on the design card's top level (or is a standard Rust
/// file), and every entry of the card is there: a new script or folder goes inside one of them,
/// as the plugin went into `.claude-plugin/` and the release script into `.ci/`.
#[test]
fn the_top_level_holds_only_the_design_cards_entries() {
    let out = match Command::new("git").arg("-C").arg(root()).args(["ls-files", "-z"]).output() {
        Ok(out) if out.status.success() => out,
        _ => {
            eprintln!("skipped: not a git checkout (`git ls-files` failed), so no list of the repository's files");
            return;
        }
    };
    let files = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = files.split('\0').filter(|f| !f.is_empty()).collect();
    let top: BTreeSet<&str> = files.iter().map(|f| f.split('/').next().unwrap()).collect();
    let extra: Vec<&str> =
        top.iter().copied().filter(|e| !TOP_LEVEL.contains(e) && !RUST_STANDARD.contains(e)).collect();
    assert!(extra.is_empty(), "not on the design card's top level: {extra:?}; move each inside one of {TOP_LEVEL:?}");
    let missing: Vec<&str> = TOP_LEVEL.iter().copied().filter(|e| !top.contains(e)).collect();
    assert!(missing.is_empty(), "the design card's top level lacks {missing:?}");
    assert!(files.contains(&".ci/run"), "the card names .ci/run");
}
