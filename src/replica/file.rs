//! The lease of a `file://` replica: an exclusive `flock` on `listo-lease.lock` in the replica's
//! folder. The kernel drops it when the holder dies, so it needs no expiry; `listo-lease.json`
//! beside it only names the holder for the `HeldByOther` answer.

use super::holder::LeaseHolder;
use super::terms::{Acquired, LOCK_FILE, LeaseError, OBJECT_NAME};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The lock, held while `file` is `Some`.
pub struct FileLock {
    dir: PathBuf,
    file: Mutex<Option<File>>,
}

impl FileLock {
    /// A lock in `dir` (created on the first `acquire`).
    pub fn new(dir: &Path) -> FileLock {
        FileLock {
            dir: dir.to_owned(),
            file: Mutex::new(None),
        }
    }

    fn error(&self, source: std::io::Error) -> LeaseError {
        LeaseError::File {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Takes the lock unless another open file holds it (this process's other handles included).
    pub fn acquire(&self, holder: &LeaseHolder) -> Result<Acquired, LeaseError> {
        let mut held = self.file.lock().expect("not poisoned");
        if held.is_some() {
            return Ok(Acquired::Held);
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| self.error(e))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.dir.join(LOCK_FILE))
            .map_err(|e| self.error(e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Ok(Acquired::HeldByOther {
                    holder: super::holder::read_holder(&self.dir.join(OBJECT_NAME)),
                    expires_in: None,
                });
            }
            Err(TryLockError::Error(e)) => return Err(self.error(e)),
        }
        self.write_holder(holder).map_err(|e| self.error(e))?;
        *held = Some(file);
        Ok(Acquired::Held)
    }

    /// Nothing to refresh: the lock lasts while the file is open.
    pub fn renew(&self) -> Result<(), LeaseError> {
        match *self.file.lock().expect("not poisoned") {
            Some(_) => Ok(()),
            None => Err(LeaseError::NotHeld),
        }
    }

    /// Removes the holder file, then closes the lock file (which unlocks it).
    pub fn release(&self) -> Result<(), LeaseError> {
        let mut held = self.file.lock().expect("not poisoned");
        if held.is_some() {
            match std::fs::remove_file(self.dir.join(OBJECT_NAME)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(error = %e, "removing the lease's holder file failed");
                }
                _ => {}
            }
        }
        *held = None;
        Ok(())
    }

    /// Written aside and renamed, so a reader never sees half of it.
    fn write_holder(&self, holder: &LeaseHolder) -> std::io::Result<()> {
        let aside = self
            .dir
            .join(format!("{OBJECT_NAME}.{}", std::process::id()));
        let mut file = File::create(&aside)?;
        file.write_all(&super::holder::holder_json(holder))?;
        file.sync_all()?;
        std::fs::rename(&aside, self.dir.join(OBJECT_NAME))
    }
}
