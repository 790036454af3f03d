//! A disk that fills up on demand, for stories about writes on a full disk.
//!
//! ```ignore
//! let Some(disk) = FullDisk::mount(16 << 20) else { return }; // skipped where it cannot mount
//! let app = spawn_app_with(|c| c.database = Location::Sqlite(disk.path().join("listo.db"))).await;
//! disk.fill();  // a filler file takes every free block: the next write that needs one fails
//! disk.free();  // the filler is gone: writes find room again
//! ```
//!
//! [`FullDisk::mount`] mounts a tmpfs of the given size on a fresh temporary folder. That needs
//! root (CI runs as root); where the mount fails it prints one line saying the test is skipped
//! and why, and returns `None`; under `CI=true` it panics instead, so CI never skips silently.
//! Dropping the guard unmounts (lazily if the app still holds files open) and removes the
//! folder, also when the test panics. Declare the guard before the app, so the app goes first.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs; unmounted when dropped.
pub struct FullDisk {
    mount: tempfile::TempDir,
    filler: PathBuf,
}

impl FullDisk {
    /// Mounts a tmpfs of `bytes` bytes (rounded up to whole pages); `None` when it cannot be
    /// mounted here, after saying so (a panic under `CI=true`).
    pub fn mount(bytes: u64) -> Option<Self> {
        let mount = tempfile::tempdir().expect("a temporary folder");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes},mode=0700")])
            .arg("tmpfs")
            .arg(mount.path())
            .output();
        let why = match out {
            Ok(out) if out.status.success() => {
                let filler = mount.path().join("filler");
                return Some(Self { mount, filler });
            }
            // Its first line says why (the rest points at dmesg).
            Ok(out) => String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("mount failed")
                .to_owned(),
            Err(e) => format!("mount: {e}"),
        };
        let line = format!("needs root to mount a tmpfs (CI runs as root): {why}");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true, so this test may not be skipped: it {line}");
        }
        println!("skipped: {line}");
        None
    }

    /// The mounted folder: put the app's files here.
    pub fn path(&self) -> &Path {
        self.mount.path()
    }

    /// Writes a filler file until the filesystem has no free block left; returns its size.
    /// Files already there keep the blocks they hold: a write that needs no new block (SQLite
    /// rewriting frames of a WAL that is already that long) still succeeds.
    pub fn fill(&self) -> u64 {
        let mut file = File::options()
            .create(true)
            .append(true)
            .open(&self.filler)
            .expect("creating the filler file");
        let chunk = vec![0xA5u8; 64 << 10];
        // Whole chunks, then what is left block by block; `write` stops short of a full disk.
        for size in [chunk.len(), 4096, 1] {
            loop {
                match file.write(&chunk[..size]) {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => panic!("filling the disk: {e}"),
                }
            }
        }
        file.sync_all().expect("syncing the filler");
        assert_eq!(self.available(), 0, "the filler left room on the disk");
        file.metadata().expect("the filler's size").len()
    }

    /// Deletes the filler file: its blocks are free again.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).expect("removing the filler file");
    }

    /// Bytes still free on the filesystem, as `df` counts them.
    pub fn available(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.path())
            .output()
            .expect("df runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("df's answer: {text}"))
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let path = self.mount.path();
        let unmounted = Command::new("umount").arg(path).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            // Still busy (a server left running by a failed test holds its files): detach it
            // now, the kernel frees it when the last file closes.
            let _ = Command::new("umount").arg("-l").arg(path).status();
        }
    }
}
