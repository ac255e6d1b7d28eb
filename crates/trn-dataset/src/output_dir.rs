//! An output directory written whole or not at all: the files go into a staging directory
//! beside it, which replaces it only once complete, under a lock that keeps a second run
//! off the same output.
//!
//! For `OUT`, the lock is `.OUT.lock` and the staging directory `.OUT.partial-PID`, both in
//! `OUT`'s parent. The lock is an advisory `flock` held for the writer's life: the system
//! releases it when the process ends, however it ends. The previous `OUT` stays in place
//! until [`OutputDir::commit`] swaps the new one in with two renames; a crash between them
//! leaves `OUT` absent and the previous output as `.OUT.old-PID`, never a mix. The next run
//! that takes the lock puts such a previous output back and removes whatever else a dead
//! run left. A signal handler calls [`abandon_all_then`] to remove the staging directories
//! of the writers still open and exit while no commit can start.

use crate::error::DatasetError;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The staging directories and lock files of the writers open in this process.
static OPEN: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

/// A directory being written: files go to [`OutputDir::path`], and [`OutputDir::commit`]
/// puts them in place. Dropped without a commit, it removes what it wrote and leaves the
/// previous output as it was.
#[derive(Debug)]
pub struct OutputDir {
    target: PathBuf,
    staging: PathBuf,
    lock_path: PathBuf,
    /// Holds the lock while open.
    lock: Option<File>,
}

/// The sibling of `target` named `.NAME` + `suffix`.
fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(suffix);
    target.with_file_name(name)
}

impl OutputDir {
    /// Takes the lock on `target` and makes an empty staging directory for it. `marker` is
    /// a file that the command's own output always holds: an existing non-empty `target`
    /// without it is not replaced (it may be anything, the user's home included).
    ///
    /// # Errors
    ///
    /// [`DatasetError::Busy`] when another process holds the lock (naming it);
    /// [`DatasetError::Invalid`] when `target` is a file or a symbolic link, the working
    /// directory or one of its parents (it would be renamed away from under the run), or a
    /// non-empty directory without `marker`; [`DatasetError::Write`] naming the path that
    /// cannot be made.
    ///
    /// ```
    /// use trn_dataset::output_dir::OutputDir;
    /// let out = std::env::temp_dir().join(format!("trn-outdir-doc-{}", std::process::id()));
    /// let dir = OutputDir::create(&out, "summary.json").unwrap();
    /// trn_dataset::atomic::write_atomic(&dir.path().join("summary.json"), b"{}\n").unwrap();
    /// assert!(!out.exists()); // nothing in place until the commit
    /// dir.commit().unwrap();
    /// assert!(out.join("summary.json").is_file());
    /// # std::fs::remove_dir_all(&out).unwrap();
    /// ```
    pub fn create(target: &Path, marker: &str) -> Result<Self, DatasetError> {
        let target = target.to_path_buf();
        refuse_working_directory(&target)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| DatasetError::write(&parent, e))?;
        check_replaceable(&target, marker)?;
        let lock_path = sibling(&target, ".lock");
        let lock = take_lock(&lock_path, &target)?;
        // Holding the lock, nothing else writes this output: whatever a dead run left
        // (its staging directory, a previous output moved aside) goes.
        remove_leftovers(&target);
        let staging = sibling(&target, &format!(".partial-{}", std::process::id()));
        std::fs::create_dir(&staging).map_err(|e| DatasetError::write(&staging, e))?;
        if let Ok(mut open) = OPEN.lock() {
            open.push((staging.clone(), lock_path.clone()));
        }
        Ok(Self {
            target,
            staging,
            lock_path,
            lock: Some(lock),
        })
    }

    /// Where to write the files.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The directory the output goes to.
    #[must_use]
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Puts the staged files in place of the target (the previous output, if any, removed
    /// after) and releases the lock.
    ///
    /// # Errors
    ///
    /// [`DatasetError::Write`] naming the path that cannot be renamed, or the target when
    /// a signal handler has abandoned this output; the staging directory is removed and the
    /// previous output kept.
    pub fn commit(self) -> Result<(), DatasetError> {
        // A signal handler's [`abandon_all_then`] waits for the swap and the removal of the
        // previous output, and a commit after it finds its entry gone: an interrupt leaves
        // neither half done.
        let mut open = match OPEN.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let Some(i) = open.iter().position(|(s, _)| *s == self.staging) else {
            return Err(DatasetError::write(
                &self.target,
                std::io::Error::other("the run was interrupted; the previous output is kept"),
            ));
        };
        open.swap_remove(i);
        let old = sibling(&self.target, &format!(".old-{}", std::process::id()));
        let moved_aside = if self.target.exists() {
            std::fs::rename(&self.target, &old)
                .map_err(|e| DatasetError::write(&self.target, e))?;
            true
        } else {
            false
        };
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if moved_aside {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(DatasetError::write(&self.target, e));
        }
        sync_dir(self.target.parent());
        if moved_aside {
            let _ = std::fs::remove_dir_all(&old);
        }
        drop(open);
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        // After a commit the staging directory is gone and this removes nothing.
        let _ = std::fs::remove_dir_all(&self.staging);
        if let Ok(mut open) = OPEN.lock() {
            open.retain(|(s, _)| *s != self.staging);
        }
        // The lock file goes while still locked, so no other process locks a file that is
        // then unlinked under it (one that opened it before checks the inode it locked).
        let _ = std::fs::remove_file(&self.lock_path);
        if let Some(f) = self.lock.take() {
            let _ = f.unlock();
        }
    }
}

/// For a signal handler: removes the staging directory and the lock file of every
/// [`OutputDir`] still open in this process, then runs `then` with how many there were
/// (to say so and exit) while no commit can start: a commit waiting for it finds its
/// output abandoned. The locks themselves are released when the process exits.
pub fn abandon_all_then<T>(then: impl FnOnce(usize) -> T) -> T {
    // A handler may run while a writer holds the list: it is taken even if poisoned.
    let mut open = match OPEN.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let n = abandon(&mut open, |_| true);
    then(n)
}

/// Removes the writers `pick` chooses (by staging directory) from `open`, with their
/// staging directories and lock files; how many.
fn abandon(open: &mut Vec<(PathBuf, PathBuf)>, pick: impl Fn(&Path) -> bool) -> usize {
    let mut n = 0;
    open.retain(|(staging, lock)| {
        if !pick(staging) {
            return true;
        }
        // The writer may still be adding files (a handler runs beside it): tried again
        // while the directory is there. What stays is a dead run's leftover for the next.
        for _ in 0..5 {
            if std::fs::remove_dir_all(staging).is_ok() || !staging.exists() {
                break;
            }
        }
        let _ = std::fs::remove_file(lock);
        n += 1;
        false
    });
    n
}

/// Refuses a target without a name of its own (`.`, `..`, `/`) or that is the working
/// directory or one of its parents: the swap would rename it away from under the run.
fn refuse_working_directory(target: &Path) -> Result<(), DatasetError> {
    let named = matches!(
        target.components().next_back(),
        Some(std::path::Component::Normal(_))
    );
    let holds_cwd = match (std::fs::canonicalize(target), std::env::current_dir()) {
        (Ok(t), Ok(cwd)) => cwd.starts_with(t),
        _ => false,
    };
    if named && !holds_cwd {
        return Ok(());
    }
    Err(DatasetError::invalid_file(
        target,
        "output",
        "is the working directory or one of its parents (or has no name of its own); \
         name a directory below it",
    ))
}

/// Refuses an existing `dir` that is not an empty directory: for outputs written in place,
/// file by file (a campaign of many datasets), which must not mix with anything.
///
/// # Errors
///
/// [`DatasetError::Invalid`] naming `dir` when it exists and is not empty.
pub fn require_empty(dir: &Path) -> Result<(), DatasetError> {
    let empty = match std::fs::read_dir(dir) {
        Ok(mut d) => d.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(_) => false,
    };
    if empty {
        Ok(())
    } else {
        Err(DatasetError::invalid_file(
            dir,
            "output",
            "exists and is not empty (or is not a directory)",
        ))
    }
}

/// Refuses a `target` that is a file, or a non-empty directory without `marker`.
fn check_replaceable(target: &Path, marker: &str) -> Result<(), DatasetError> {
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Err(DatasetError::invalid_file(
            target,
            "output",
            "is a symbolic link; name the directory it points to",
        ));
    }
    if !meta.is_dir() {
        return Err(DatasetError::invalid_file(
            target,
            "output",
            "exists and is not a directory",
        ));
    }
    let empty = std::fs::read_dir(target)
        .map_err(|e| DatasetError::io(target, e))?
        .next()
        .is_none();
    if !empty && !target.join(marker).is_file() {
        return Err(DatasetError::invalid_file(
            target,
            "output",
            format!(
                "exists, is not empty and holds no {marker}, so it is not an output of this \
                 command; it would be replaced whole: choose another directory or empty it"
            ),
        ));
    }
    Ok(())
}

/// Opens and locks `lock_path` (created), writing this process's id into it; fails at once
/// when another process holds it.
fn take_lock(lock_path: &Path, target: &Path) -> Result<File, DatasetError> {
    use std::os::unix::fs::MetadataExt;
    for _ in 0..3 {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path)
            .map_err(|e| DatasetError::write(lock_path, e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(lock_path).unwrap_or_default();
                let holder = holder.trim();
                return Err(DatasetError::Busy {
                    file: target.to_path_buf(),
                    holder: if holder.is_empty() {
                        format!("another process (lock {})", lock_path.display())
                    } else {
                        format!("process {holder} (lock {})", lock_path.display())
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(DatasetError::write(lock_path, e)),
        }
        // The holder before us may have unlinked the file between our open and our lock:
        // then the lock is on a dead inode, and the path is tried again.
        let same = match (f.metadata(), std::fs::metadata(lock_path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if same {
            f.set_len(0)
                .and_then(|()| f.write_all(format!("{}\n", std::process::id()).as_bytes()))
                .map_err(|e| DatasetError::write(lock_path, e))?;
            return Ok(f);
        }
    }
    Err(DatasetError::Busy {
        file: target.to_path_buf(),
        holder: format!("processes racing for {}", lock_path.display()),
    })
}

/// Removes the staging directories and moved-aside outputs of `target` that a dead run
/// left, putting a moved-aside output back when there is no `target`.
fn remove_leftovers(target: &Path) {
    let Some(parent) = target.parent() else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let (partial, old) = (format!(".{name}.partial-"), format!(".{name}.old-"));
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let mut olds: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let n = e.file_name();
        let Some(n) = n.to_str() else { continue };
        let pid_tail = |prefix: &str| {
            n.strip_prefix(prefix)
                .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        };
        if pid_tail(&partial) {
            let _ = std::fs::remove_dir_all(e.path());
        } else if pid_tail(&old) {
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            olds.push((modified, e.path()));
        }
    }
    // A run that died between the swap's two renames left the previous output moved aside
    // and no output: the newest such is put back.
    olds.sort();
    if !target.exists()
        && let Some((_, newest)) = olds.pop()
    {
        let _ = std::fs::rename(&newest, target);
    }
    for (_, p) in olds {
        let _ = std::fs::remove_dir_all(p);
    }
}

/// Syncs a directory's entries to disk where the platform allows.
fn sync_dir(dir: Option<&Path>) {
    let dir = match dir {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("trn-outdir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_previous_output_stays_until_the_new_one_is_whole() {
        let root = scratch("replace");
        let out = root.join("out");
        let first = OutputDir::create(&out, "summary.json").unwrap();
        std::fs::write(first.path().join("summary.json"), "1").unwrap();
        std::fs::write(first.path().join("extra.csv"), "1").unwrap();
        first.commit().unwrap();
        // A second run that fails half-way leaves the first whole.
        let second = OutputDir::create(&out, "summary.json").unwrap();
        std::fs::write(second.path().join("summary.json"), "2").unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("summary.json")).unwrap(),
            "1"
        );
        drop(second);
        assert_eq!(names(&out), ["extra.csv", "summary.json"]);
        assert_eq!(names(&root), ["out"]);
        // One that completes replaces it whole: no file of the first remains.
        let third = OutputDir::create(&out, "summary.json").unwrap();
        std::fs::write(third.path().join("summary.json"), "3").unwrap();
        third.commit().unwrap();
        assert_eq!(names(&out), ["summary.json"]);
        assert_eq!(
            std::fs::read_to_string(out.join("summary.json")).unwrap(),
            "3"
        );
        assert_eq!(names(&root), ["out"]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_holder() {
        let root = scratch("busy");
        let out = root.join("out");
        let first = OutputDir::create(&out, "summary.json").unwrap();
        // Another open file description of the lock, as another process would have.
        let err = OutputDir::create(&out, "summary.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("process {}", std::process::id()))
                && err.contains(&*out.to_string_lossy()),
            "{err}"
        );
        drop(first);
        let again = OutputDir::create(&out, "summary.json").unwrap();
        drop(again);
        assert!(names(&root).is_empty(), "{:?}", names(&root));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_directory_that_is_not_an_output_is_not_replaced() {
        let root = scratch("foreign");
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("thesis.tex"), "years").unwrap();
        let err = OutputDir::create(&home, "summary.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("home") && err.contains("summary.json"),
            "{err}"
        );
        std::fs::write(root.join("file"), "x").unwrap();
        assert!(OutputDir::create(&root.join("file"), "summary.json").is_err());
        std::os::unix::fs::symlink(&home, root.join("link")).unwrap();
        let err = OutputDir::create(&root.join("link"), "summary.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("symbolic link"), "{err}");
        for bad in [Path::new("."), Path::new(".."), Path::new("/")] {
            let err = OutputDir::create(bad, "summary.json")
                .unwrap_err()
                .to_string();
            assert!(err.contains("working directory"), "{err}");
        }
        // An empty directory is fine.
        let empty = root.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        OutputDir::create(&empty, "summary.json")
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(home.join("thesis.tex")).unwrap(),
            "years"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_dead_runs_leftovers_are_removed_by_the_next() {
        let root = scratch("leftovers");
        let out = root.join("out");
        for stale in [".out.partial-123", ".out.old-456"] {
            std::fs::create_dir_all(root.join(stale).join("sub")).unwrap();
        }
        std::fs::create_dir_all(root.join(".out.partial-notapid")).unwrap();
        let dir = OutputDir::create(&out, "summary.json").unwrap();
        std::fs::write(dir.path().join("summary.json"), "1").unwrap();
        dir.commit().unwrap();
        assert_eq!(names(&root), [".out.partial-notapid", "out"]);
        // Killed between the swap's renames: the previous output is put back.
        std::fs::rename(&out, root.join(".out.old-789")).unwrap();
        let dir = OutputDir::create(&out, "summary.json").unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("summary.json")).unwrap(),
            "1"
        );
        drop(dir);
        assert_eq!(names(&root), [".out.partial-notapid", "out"]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn abandoning_removes_the_staging_directories() {
        let root = scratch("abandon");
        let dir = OutputDir::create(&root.join("out"), "summary.json").unwrap();
        std::fs::write(dir.path().join("results.csv"), "half").unwrap();
        // Other tests' writers are open in this process too: only this one is abandoned.
        let n = {
            let mut open = OPEN.lock().unwrap();
            abandon(&mut open, |s| s.starts_with(&root))
        };
        assert_eq!(n, 1);
        assert!(names(&root).is_empty(), "{:?}", names(&root));
        // Its commit then keeps nothing.
        assert!(dir.commit().is_err());
        assert!(names(&root).is_empty(), "{:?}", names(&root));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
