//! What `hooks uninstall` leaves, and what `--purge` takes too: the directories `hooks install`
//! made (listed in the hook directory, so that only those are removed, and only when empty), and
//! the recorded data (journal, outbox, store), each by the names we give our files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::journal;
use crate::private;
use crate::project;
use crate::session::Store;
use crate::sink::outbox::Outbox;
use crate::text::plural;

/// In the hook directory: the directories `hooks install` made, one absolute path a line.
pub const MADE: &str = ".made-by-install";

/// The directories of `dirs` missing now, deepest first: what a later `create` would make.
pub fn missing(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        for d in dir.ancestors().take_while(|d| fs::symlink_metadata(d).is_err()) {
            if !out.iter().any(|o| o == d) {
                out.push(d.to_path_buf());
            }
        }
    }
    out.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    out
}

/// Adds `made` (those that exist now) to the list in `hook_dir`.
pub fn remember(hook_dir: &Path, made: &[PathBuf]) -> std::io::Result<()> {
    let mut all = recall(hook_dir);
    for d in made.iter().filter(|d| d.is_dir()) {
        if !all.contains(d) {
            all.push(d.clone());
        }
    }
    if all.is_empty() {
        return Ok(());
    }
    let text: String = all.iter().map(|d| format!("{}\n", d.display())).collect();
    private::write_atomic(&hook_dir.join(MADE), text.as_bytes(), 0o644, private::Durability::Atomic)
}

/// The directories install made, by the list in `hook_dir`, deepest first. Only from a regular
/// file of ours, not through a link (install.sh appends to it too, under the user's umask).
pub fn recall(hook_dir: &Path) -> Vec<PathBuf> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let mut text = String::new();
    if let Ok(file) = fs::File::options().read(true).custom_flags(private::NOFOLLOW_NONBLOCK).open(hook_dir.join(MADE))
        && file.metadata().is_ok_and(|m| m.is_file() && m.uid() == private::uid_self())
    {
        let _ = file.take(64 << 10).read_to_string(&mut text);
    }
    let mut dirs: Vec<PathBuf> = text.lines().map(PathBuf::from).filter(|p| p.is_absolute()).collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs
}

/// Removes each of `dirs` that is empty, deepest first; returns those removed.
pub fn remove_empty(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = dirs.to_vec();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs.into_iter().filter(|d| fs::remove_dir(d).is_ok()).collect()
}

/// One place recorded data lives, with what it holds.
pub struct Data {
    pub what: &'static str,
    pub dir: PathBuf,
    /// `3 days`, `12 events not delivered`.
    pub holds: String,
}

/// The journal, the outbox and the store, where they exist.
pub fn data() -> Vec<Data> {
    let mut all = Vec::new();
    if let Some(dir) = journal::dir().filter(|d| checked(d).is_ok()) {
        let days = journal::days(&dir);
        all.push(Data { what: "journal", dir, holds: plural(days, "day") });
    }
    if let Some(outbox) = Outbox::existing().filter(|_| journal::dir().is_some_and(|d| checked(&d).is_ok())) {
        let status = outbox.status(&[]);
        let pending: u64 = status.sinks.iter().map(|s| s.pending).sum();
        all.push(Data { what: "outbox", dir: status.dir, holds: format!("{pending} events not delivered") });
    }
    if let Some(dir) = Store::location().filter(|d| checked(d).is_ok()) {
        let sessions = fs::read_dir(&dir)
            .map(|rd| rd.flatten().filter(|e| e.file_name().to_str().is_some_and(project::is_key)).count())
            .unwrap_or(0);
        all.push(Data { what: "store", dir, holds: plural(sessions, "session file") });
    }
    all
}

/// Removes our files from the journal, the outbox and the store, then each directory if that
/// left it empty (and the state directory above them). Returns what could not be removed.
pub fn purge() -> Vec<String> {
    let mut left = Vec::new();
    // Only in a directory the hooks would write to: one that is a link (to another program's
    // dated logs, say), or is another user's, never held our files.
    let mut ours = |dir: Option<PathBuf>| match dir.as_deref().map(checked) {
        Some(Err(Some(why))) => {
            left.push(format!("{}: {why}; not ours, so nothing in it is removed", dir.unwrap().display()));
            None
        }
        Some(Err(None)) | None => None,
        Some(Ok(())) => dir,
    };
    let (journal, store) = (ours(journal::dir()), ours(Store::location()));
    let mut remove = |path: &Path, all: bool| {
        let result = if all { fs::remove_dir_all(path) } else { fs::remove_file(path) };
        if let Err(e) = result {
            left.push(format!("{}: {e}", path.display()));
        }
    };
    if let Some(outbox) = Outbox::existing().filter(|_| journal.is_some()) {
        remove(&outbox.status(&[]).dir, true);
    }
    let ours_in = |dir: &Path, is_ours: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        let names: Vec<_> =
            fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
        names.iter().filter_map(|n| n.to_str()).filter(|n| is_ours(n)).map(|n| dir.join(n)).collect()
    };
    if let Some(dir) = &journal {
        // The day files and their late lines (`journal::files`), then what else is ours there.
        let dated = journal::files(dir).unwrap_or_default().into_iter().map(|(_, path)| path);
        let late = Some(dir.join(journal::LATE)).filter(|late| checked(late).is_ok());
        let temps = late.iter().flat_map(|late| ours_in(late, &private::is_temp_name));
        for file in dated.chain(ours_in(dir, &|n| n == journal::LOST || private::is_temp_name(n))).chain(temps) {
            remove(&file, false);
        }
        let _ = fs::remove_dir(dir.join(journal::LATE));
    }
    if let Some(dir) = &store {
        for file in ours_in(dir, &|n| project::is_key(n) || private::is_temp_name(n)) {
            remove(&file, false);
        }
    }
    let dirs = [store, journal, crate::config::state_dir()];
    for dir in dirs.iter().flatten() {
        if dir.is_dir() && fs::remove_dir(dir).is_err() {
            left.push(format!("{}: other files in it are not ours, so it is kept", dir.display()));
        }
    }
    left
}

/// Whether `dir` is a directory of ours as the hooks require it (see `private::dir`): `Err(None)`
/// when it does not exist, else why not.
fn checked(dir: &Path) -> Result<(), Option<String>> {
    if fs::symlink_metadata(dir).is_err() {
        return Err(None);
    }
    // It exists, so this only checks: not a link, a directory, ours, closed to others.
    private::dir(dir).map_err(|why| Some(why.to_string()))
}
