//! Folders that survive a power cut.
//!
//! A file or folder's name lives in its parent folder: until that folder is fsynced, a crash
//! can forget a name that was just created even though the contents behind it were synced. So
//! listo fsyncs each folder it creates (the database's, the outbox) and the folder holding it.
//! Shared by [`crate::mail`] and [`crate::store`], which must not import each other.

use std::io;
use std::path::{Path, PathBuf};

/// `std::fs::create_dir_all`, then fsyncs every folder it created and the first one that already
/// existed, so the new names are on disk. Nothing is synced when `path` already exists.
/// An error names the folder it happened at.
pub fn create_dir_all_durable(path: &Path) -> io::Result<()> {
    let (missing, existing) = missing_dirs(path)?;
    if missing.is_empty() {
        return Ok(());
    }
    // Outermost first, each in a parent that now exists; one made meanwhile by someone else
    // is fine (its name may not be synced yet: syncing it below costs nothing more).
    for dir in missing.iter().rev() {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(named(dir, e)),
        }
    }
    for dir in missing.iter().chain(std::iter::once(&existing)) {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Fsyncs a folder, making the names created in it durable. A no-op off Unix (Windows cannot
/// open a folder as a file).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| io::Error::new(e.kind(), format!("syncing {}: {e}", dir.display())))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The folder holding `path`: its parent, or `.` for a bare name.
pub fn parent_or_current(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The components of `path` that do not exist yet, innermost first, and the nearest ancestor
/// that does (`.` for a relative path none of whose components exist). An ancestor that exists
/// but is not a folder is an error naming it.
fn missing_dirs(path: &Path) -> io::Result<(Vec<PathBuf>, PathBuf)> {
    use io::ErrorKind::{NotADirectory, NotFound};
    let mut missing = Vec::new();
    for dir in path.ancestors() {
        if dir.as_os_str().is_empty() {
            return Ok((missing, PathBuf::from(".")));
        }
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => return Ok((missing, dir.to_owned())),
            Ok(_) => {
                return Err(named(dir, io::Error::new(NotADirectory, "not a folder")));
            }
            // `NotADirectory`: an ancestor is a file, which the walk up reaches and names.
            Err(e) if matches!(e.kind(), NotFound | NotADirectory) => missing.push(dir.to_owned()),
            Err(e) => return Err(named(dir, e)),
        }
    }
    // Only a path whose root does not exist gets here (a missing Windows drive, say).
    Err(named(
        path,
        io::Error::new(NotFound, "no existing ancestor"),
    ))
}

/// `e` with `path` in its message, its kind kept.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_nested_folders_and_finds_the_existing_ancestor() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a").join("b").join("c");
        let (missing, existing) = missing_dirs(&deep).unwrap();
        assert_eq!(
            missing,
            [
                deep.clone(),
                root.path().join("a").join("b"),
                root.path().join("a")
            ]
        );
        assert_eq!(existing, root.path());

        create_dir_all_durable(&deep).unwrap();
        assert!(deep.is_dir());
        assert_eq!(missing_dirs(&deep).unwrap(), (vec![], deep));
    }

    #[test]
    fn existing_folders_are_left_as_they_are() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("outbox");
        create_dir_all_durable(&dir).unwrap();
        std::fs::write(dir.join("kept.eml"), "hello").unwrap();
        create_dir_all_durable(&dir).unwrap();
        create_dir_all_durable(root.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("kept.eml")).unwrap(),
            "hello"
        );
    }

    #[test]
    fn a_file_in_the_way_is_an_error_naming_it() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("file");
        std::fs::write(&file, "").unwrap();
        for target in [file.clone(), file.join("x").join("y")] {
            let e = create_dir_all_durable(&target).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::NotADirectory, "{target:?}");
            assert!(
                e.to_string().starts_with(&format!("{}: ", file.display())),
                "{target:?}: {e}"
            );
        }
        assert!(!file.join("x").exists());
    }

    #[test]
    fn a_relative_path_with_nothing_existing_is_held_by_the_current_folder() {
        let name = Path::new("no-such-folder-durable-test").join("inner");
        let (missing, existing) = missing_dirs(&name).unwrap();
        assert_eq!(missing.len(), 2);
        assert_eq!(existing, Path::new("."));
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_that_cannot_be_synced_is_named() {
        let root = tempfile::tempdir().unwrap();
        let gone = root.path().join("gone");
        let e = sync_dir(&gone).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains(&*gone.to_string_lossy()), "{e}");
    }

    #[test]
    fn the_folder_holding_a_bare_name_is_the_current_one() {
        assert_eq!(parent_or_current(Path::new("listo.db")), Path::new("."));
        assert_eq!(
            parent_or_current(Path::new("data/listo.db")),
            Path::new("data")
        );
    }
}
