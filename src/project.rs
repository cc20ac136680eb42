//! Project identity: which directory a hook belongs to, its name, and its store key. A pure
//! function of the directories it is given: `config` asks it where the project's settings are.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

pub struct Project {
    /// The git root enclosing the starting directory, else that directory.
    pub dir: PathBuf,
    /// The directory's name, as text (lossy for non-UTF-8 bytes).
    pub name: String,
    /// A file name unique to `dir`: the sanitised name plus a hash of the whole path.
    pub key: String,
}

impl Project {
    /// `project_dir` (`$CLAUDE_PROJECT_DIR`, from `config`), else the payload's `cwd`, else the
    /// working directory; then up to the enclosing git root.
    pub fn resolve(project_dir: Option<PathBuf>, payload_cwd: Option<&str>) -> Project {
        let start = project_dir
            .or_else(|| payload_cwd.filter(|c| !c.is_empty()).map(PathBuf::from))
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        Project::at(&git_root(&absolute(&start)))
    }

    pub fn at(dir: &Path) -> Project {
        let name = dir.file_name().unwrap_or(OsStr::new("/")).to_string_lossy().into_owned();
        let key = key(dir);
        Project { dir: dir.to_path_buf(), name, key }
    }
}

/// Lexically absolute and normalised (`a//b/./c/` → `a/b/c`); `..` is kept as given, since
/// resolving it without the file system could name another directory.
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")).join(path)
    };
    joined.components().filter(|c| !matches!(c, Component::CurDir)).collect()
}

/// The nearest ancestor holding `.git` (a directory, or a file in worktrees and submodules).
fn git_root(start: &Path) -> PathBuf {
    start.ancestors().find(|dir| dir.join(".git").symlink_metadata().is_ok()).unwrap_or(start).to_path_buf()
}

/// `<name>-<16 hex digits>`: the name made safe for a file name (only `[A-Za-z0-9_-]`, at most
/// 48 bytes, never empty), then a hash of the full path so that same-named projects differ.
pub fn key(dir: &Path) -> String {
    let name = dir.file_name().unwrap_or(OsStr::new(""));
    let mut safe: String = name
        .as_bytes()
        .iter()
        .take(48)
        .map(|&b| if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' { b as char } else { '_' })
        .collect();
    if safe.is_empty() {
        safe.push_str("root");
    }
    crate::hash::named(&safe, crate::hash::fnv64(dir.as_os_str().as_bytes()))
}

/// Whether a file name has the shape [`key`] gives, so `cleanup` touches nothing else.
pub fn is_key(name: &str) -> bool {
    let Some((safe, hash)) = name.rsplit_once('-') else {
        return false;
    };
    !safe.is_empty()
        && safe.len() <= 48
        && safe.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && crate::hash::is_hex(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn keys_are_safe_file_names() {
        let hostile: Vec<Vec<u8>> = vec![
            b"/a/..".to_vec(),
            b"/".to_vec(),
            b"/x/with/slash".to_vec(),
            b"/x/new\nline".to_vec(),
            b"/x/\xff\xfe-latin".to_vec(),
            [b"/x/".as_slice(), &[b'a'; 300]].concat(),
            b"/x/.hidden".to_vec(),
        ];
        for raw in hostile {
            let path = PathBuf::from(std::ffi::OsString::from_vec(raw));
            let k = key(&path);
            assert!(is_key(&k), "{k:?}");
            assert!(k.len() <= 48 + 17, "{k:?}");
            assert!(!k.contains('/') && !k.starts_with('.') && k != ".." && !k.is_empty());
        }
    }

    #[test]
    fn same_name_different_paths() {
        assert_ne!(key(Path::new("/a/proj")), key(Path::new("/b/proj")));
        assert_eq!(key(Path::new("/a/proj")), key(Path::new("/a/proj")));
    }

    #[test]
    fn normalises() {
        assert_eq!(absolute(Path::new("/a//b/./c/")), PathBuf::from("/a/b/c"));
    }
}
